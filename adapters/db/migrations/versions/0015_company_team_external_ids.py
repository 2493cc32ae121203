"""companies and teams carry the id another system gives them (external_id, unique within its external_source), as
customers do: a Wifox project or desk keeps matching after it is renamed here

Revision ID: 0015_company_team_external_ids
Revises: 0014_customer_fields
Create Date: 2026-12-05 23:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0015_company_team_external_ids'
down_revision = '0014_customer_fields'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ('companies', 'teams'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('external_id', sa.String(length=200), nullable=True))
            batch.add_column(sa.Column('external_source', sa.String(length=200), nullable=True))
            batch.create_unique_constraint(f'uq_{table}_external_id', ['external_id', 'external_source'])


def downgrade() -> None:
    for table in ('companies', 'teams'):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f'uq_{table}_external_id', type_='unique')
            batch.drop_column('external_source')
            batch.drop_column('external_id')
