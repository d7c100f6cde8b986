"""Analytics: uploads, and each processed flyer's pages and deals.

Revision ID: analytics_0002
Revises: analytics_0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "analytics_0002"
down_revision = "analytics_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("analytics_flyers") as table:
        table.add_column(sa.Column("pages", sa.Integer, nullable=True))
        table.add_column(sa.Column("deals", sa.JSON, nullable=True))
    op.create_table(
        "analytics_uploads",
        sa.Column("flyer_id", sa.String(255), nullable=False),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("pages", sa.Integer, nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("flyer_id", name="pk_analytics_uploads"),
    )
    op.create_index("ix_analytics_uploads_seen_at", "analytics_uploads", ["seen_at"])


def downgrade() -> None:
    op.drop_table("analytics_uploads")
    with op.batch_alter_table("analytics_flyers") as table:
        table.drop_column("deals")
        table.drop_column("pages")
