"""The database blob store: uploads every process of a deployment reads.

Revision ID: jobhost_0003
Revises: jobhost_0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from jobhost.store.models import UTCDateTime

revision = "jobhost_0003"
down_revision = "jobhost_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blobs",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("stored_at", UTCDateTime, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_blobs"),
    )


def downgrade() -> None:
    op.drop_table("blobs")
