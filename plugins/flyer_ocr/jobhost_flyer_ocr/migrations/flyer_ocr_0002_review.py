"""Flyer OCR: a deal's regular price, description, purchase limit and review flag (issue 11).

Revision ID: flyer_ocr_0002
Revises: flyer_ocr_0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "flyer_ocr_0002"
down_revision = "flyer_ocr_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("flyer_items") as table:
        table.add_column(sa.Column("regular_price", sa.Numeric(10, 2), nullable=True))
        table.add_column(sa.Column("description", sa.String(255), nullable=True))
        table.add_column(sa.Column("purchase_limit", sa.Integer, nullable=True))
        table.add_column(sa.Column("needs_review", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("flyer_items") as table:
        table.drop_column("needs_review")
        table.drop_column("purchase_limit")
        table.drop_column("description")
        table.drop_column("regular_price")
