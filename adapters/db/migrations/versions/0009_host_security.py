"""host security: server-side sessions, sign-in failure counts shared by every host process, API token expiry

Revision ID: 0009_host_security
Revises: 0008_job_operation
Create Date: 2026-12-04 23:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0009_host_security'
down_revision = '0008_job_operation'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'web_sessions',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('password_stamp', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('token_hash'),
    )
    op.create_index('ix_web_sessions_agent_id', 'web_sessions', ['agent_id'], unique=False)
    op.create_table(
        'web_sign_in_failures',
        sa.Column('key', sa.String(length=400), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('first_failure_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    op.add_column('web_api_tokens', sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('web_api_tokens', 'expires_at')
    op.drop_table('web_sign_in_failures')
    op.drop_index('ix_web_sessions_agent_id', table_name='web_sessions')
    op.drop_table('web_sessions')
