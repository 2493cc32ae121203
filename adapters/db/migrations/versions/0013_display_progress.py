"""display progress: an import's rows seen so far (counting rows of a batch a slow step, such as hashing passwords,
has prepared before the batch commits) and when that was said, for the progress bar's rows a second and time
left. For reading only: resuming an interrupted import still goes by rows_done, the rows committed.

Revision ID: 0013_display_progress
Revises: 0012_customer_invitations
Create Date: 2026-12-05 22:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0013_display_progress'
down_revision = '0012_customer_invitations'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('import_jobs') as batch:
        batch.add_column(sa.Column('rows_seen', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('progress_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('import_jobs') as batch:
        batch.drop_column('progress_at')
        batch.drop_column('rows_seen')
