"""customer invitations: a customer can get the agents' set-password invitation (import option invite) and keeps
only the hash of the password they choose

Revision ID: 0012_customer_invitations
Revises: 0011_leads
Create Date: 2026-12-05 22:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0012_customer_invitations'
down_revision = '0011_leads'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('contacts') as batch:
        batch.add_column(sa.Column('password_hash', sa.String(length=255), nullable=True))
    with op.batch_alter_table('invitations') as batch:
        batch.alter_column('agent_id', existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column('customer_id', sa.Integer(), sa.ForeignKey('contacts.id', ondelete='CASCADE', name='fk_invitations_customer_id'),
                                   nullable=True))
        batch.create_index(batch.f('ix_invitations_customer_id'), ['customer_id'], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM invitations WHERE agent_id IS NULL")
    with op.batch_alter_table('invitations') as batch:
        batch.drop_index(batch.f('ix_invitations_customer_id'))
        batch.drop_column('customer_id')
        batch.alter_column('agent_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('contacts') as batch:
        batch.drop_column('password_hash')
