"""leases on sources and digests, so several instances share the work

Revision ID: 0007_leases
Revises: 0006_service
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_leases"
down_revision = "0006_service"
branch_labels = None
depends_on = None

TABLES = ("sources", "digests")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
            batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("lease_until")
            batch.drop_column("lease_owner")
