"""customer fields: active, account type, external id (unique within its source); created_at already exists and
now holds the original creation time an import gives

Revision ID: 0014_customer_fields
Revises: 0013_display_progress
Create Date: 2026-12-05 22:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0014_customer_fields'
down_revision = '0013_display_progress'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('contacts') as batch:
        batch.add_column(sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column('type', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('external_id', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('external_source', sa.String(length=200), nullable=True))
        batch.create_unique_constraint('uq_contacts_external_id', ['external_id', 'external_source'])


def downgrade() -> None:
    with op.batch_alter_table('contacts') as batch:
        batch.drop_constraint('uq_contacts_external_id', type_='unique')
        batch.drop_column('external_source')
        batch.drop_column('external_id')
        batch.drop_column('type')
        batch.drop_column('active')
