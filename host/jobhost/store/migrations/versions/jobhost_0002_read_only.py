"""Read-only users: they see the admin dashboard and act on nothing (on-call people).

Revision ID: jobhost_0002
Revises: jobhost_0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "jobhost_0002"
down_revision = "jobhost_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("read_only", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("read_only")
