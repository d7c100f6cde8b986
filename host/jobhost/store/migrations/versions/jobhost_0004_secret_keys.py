"""Secret keys: generated when JOBHOST_SECRET_KEY is unset, shared by every process, rotatable.

Revision ID: jobhost_0004
Revises: jobhost_0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "jobhost_0004"
down_revision = "jobhost_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "secret_keys",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_secret_keys"),
    )


def downgrade() -> None:
    op.drop_table("secret_keys")
