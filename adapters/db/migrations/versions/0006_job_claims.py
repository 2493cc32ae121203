"""job claims: which worker runs an import (its token, host and process id), so no import runs twice at once

A worker takes an import by setting claimed_by in one UPDATE ... WHERE nobody live holds it; every write
of the import checks the claim is still its own. claim_host and claim_pid let a worker starting on the
same machine see at once that the holder's process is gone.

Revision ID: 0006_job_claims
Revises: 0005_customers_complete
Create Date: 2026-12-02 09:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0006_job_claims'
down_revision = '0005_customers_complete'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('claim_host', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('claim_pid', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.drop_column('claim_pid')
        batch_op.drop_column('claim_host')
        batch_op.drop_column('claimed_by')
