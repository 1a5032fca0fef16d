"""feeds: last HTTP status per source, and sources imported from OPML

Revision ID: 0003_feeds
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa


revision = "0003_feeds"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_status", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("origin", sa.String(length=20), nullable=False, server_default="config"))
        batch_op.add_column(sa.Column("interval_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("language", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("tags", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        for column in ("tags", "language", "interval_minutes", "origin", "last_status"):
            batch_op.drop_column(column)
