"""notices: the deliveries of job notices (webhook, e-mail), each attempt at them, and each person's choice about
notices by e-mail

Revision ID: 0010_notices
Revises: 0009_host_security
Create Date: 2026-12-05 00:20:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0010_notices'
down_revision = '0009_host_security'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'notice_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('job_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('target', sa.String(length=500), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_try_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_status_code', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['job_id'], ['import_jobs.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('job_id', 'channel', 'target', name='uq_notice_deliveries_target'),
    )
    op.create_index('ix_notice_deliveries_job_id', 'notice_deliveries', ['job_id'])
    op.create_index('ix_notice_deliveries_status', 'notice_deliveries', ['status'])
    op.create_table(
        'notice_attempts',
        sa.Column('delivery_id', sa.Integer(), nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('next_try_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['delivery_id'], ['notice_deliveries.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('delivery_id', 'attempt'),
    )
    op.create_table(
        'notice_email_choices',
        sa.Column('person', sa.String(length=320), nullable=False),
        sa.Column('wants_email', sa.Boolean(), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('person'),
    )


def downgrade() -> None:
    op.drop_table('notice_email_choices')
    op.drop_table('notice_attempts')
    op.drop_index('ix_notice_deliveries_status', table_name='notice_deliveries')
    op.drop_index('ix_notice_deliveries_job_id', table_name='notice_deliveries')
    op.drop_table('notice_deliveries')
