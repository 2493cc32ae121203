"""leads: a contact can be a lead (imported or captured as one) until it is imported or captured as a customer;
a mailbox can capture its new correspondents as leads

Revision ID: 0011_leads
Revises: 0010_notices
Create Date: 2026-12-05 01:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0011_leads'
down_revision = '0010_notices'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('contacts') as batch:
        batch.add_column(sa.Column('is_lead', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('mailboxes') as batch:
        batch.add_column(sa.Column('captures_leads', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('mailboxes') as batch:
        batch.drop_column('captures_leads')
    with op.batch_alter_table('contacts') as batch:
        batch.drop_column('is_lead')
