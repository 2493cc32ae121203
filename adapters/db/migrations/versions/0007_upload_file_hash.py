"""upload file hash: the SHA-256 of each uploaded file, so the same file submitted twice is recognised

Added in place (ALTER TABLE ... ADD COLUMN, no batch copy): web_queued_imports cascades from web_uploads, so
SQLite must never drop and recreate the uploads table. Earlier uploads keep no hash and match nothing.

Revision ID: 0007_upload_file_hash
Revises: 0006_job_claims
Create Date: 2026-11-25 12:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0007_upload_file_hash'
down_revision = '0006_job_claims'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('web_uploads', sa.Column('file_hash', sa.String(length=64), nullable=True))
    op.create_index('ix_web_uploads_file_hash', 'web_uploads', ['file_hash'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_web_uploads_file_hash', table_name='web_uploads')
    op.drop_column('web_uploads', 'file_hash')
