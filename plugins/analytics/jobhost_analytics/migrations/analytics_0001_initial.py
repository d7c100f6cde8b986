"""Analytics: flyer facts and the daily and weekly reports.

Revision ID: analytics_0001
Revises:
Create Date: 2026-01-01
"""

import sqlalchemy as sa
from alembic import op

revision = "analytics_0001"
down_revision = None
branch_labels = ("analytics",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_flyers",
        sa.Column("flyer_id", sa.String(255), nullable=False),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("store", sa.String(255), nullable=True),
        sa.Column("items", sa.Integer, nullable=False),
        sa.Column("prices", sa.JSON, nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("flyer_id", name="pk_analytics_flyers"),
    )
    op.create_index("ix_analytics_flyers_seen_at", "analytics_flyers", ["seen_at"])
    op.create_table(
        "analytics_reports",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "period", name="pk_analytics_reports"),
    )


def downgrade() -> None:
    op.drop_table("analytics_reports")
    op.drop_table("analytics_flyers")
