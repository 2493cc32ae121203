"""job operation: each job says whether it is an import (a retry is an import with retry_of) or an undo, and an
undo keeps its own counts (removed, restored, deactivated, left alone) instead of an import's.

Added in place (ALTER TABLE ... ADD COLUMN with server defaults): earlier jobs are imports; earlier undos (options
{"undo_of": N}) are marked as undos and their counts are taken from their per-row results.

Revision ID: 0008_job_operation
Revises: 0007_upload_file_hash
Create Date: 2026-12-04 23:45:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0008_job_operation'
down_revision = '0007_upload_file_hash'
branch_labels = None
depends_on = None

UNDO_COUNTS = {"remove": "removed", "restore": "restored", "deactivate": "deactivated", "skip": "left_alone"}


def upgrade() -> None:
    op.add_column('import_jobs', sa.Column('operation', sa.String(length=10), nullable=False, server_default='import'))
    for column in UNDO_COUNTS.values():
        op.add_column('import_jobs', sa.Column(column, sa.Integer(), nullable=False, server_default='0'))
    connection = op.get_bind()
    jobs = sa.table('import_jobs', sa.column('id', sa.Integer), sa.column('options', sa.JSON),
                    sa.column('operation', sa.String), *(sa.column(name, sa.Integer) for name in UNDO_COUNTS.values()))
    rows = sa.table('import_rows', sa.column('job_id', sa.Integer), sa.column('action', sa.String))
    for job_id, options in connection.execute(sa.select(jobs.c.id, jobs.c.options)).all():
        if not isinstance(options, dict) or options.get("undo_of") is None:
            continue
        counts = dict(connection.execute(sa.select(rows.c.action, sa.func.count()).where(rows.c.job_id == job_id)
                                         .group_by(rows.c.action)).all())
        connection.execute(sa.update(jobs).where(jobs.c.id == job_id).values(
            operation='undo', **{column: counts.get(action, 0) for action, column in UNDO_COUNTS.items()}))


def downgrade() -> None:
    for column in ('left_alone', 'deactivated', 'restored', 'removed', 'operation'):
        op.drop_column('import_jobs', column)
