"""Analytics: each flyer fact keeps the id of the event it came from, once.

Revision ID: analytics_0003
Revises: analytics_0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "analytics_0003"
down_revision = "analytics_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("analytics_flyers", sa.Column("event_id", sa.String(64), nullable=True))
    op.create_index("ix_analytics_flyers_event_id", "analytics_flyers", ["event_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_analytics_flyers_event_id", "analytics_flyers")
    op.drop_column("analytics_flyers", "event_id")
