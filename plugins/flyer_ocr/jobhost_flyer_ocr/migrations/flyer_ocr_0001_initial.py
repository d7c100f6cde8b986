"""Flyer OCR: uploaded flyers and the deals read from them.

Revision ID: flyer_ocr_0001
Revises:
Create Date: 2026-01-01
"""

import sqlalchemy as sa
from alembic import op

revision = "flyer_ocr_0001"
down_revision = None
branch_labels = ("flyer_ocr",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flyer_flyers",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=True),
        sa.Column("filename", sa.String(255), nullable=True),
        sa.Column("stored_name", sa.String(64), nullable=False),
        sa.Column("media_type", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("pages", sa.Integer, nullable=False),
        sa.Column("store", sa.String(255), nullable=True),
        sa.Column("valid_from", sa.Date, nullable=True),
        sa.Column("valid_to", sa.Date, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_flyer_flyers"),
        sa.UniqueConstraint("owner", "idempotency_key", name="uq_flyer_flyers_owner_idempotency_key"),
    )
    op.create_index("ix_flyer_flyers_owner", "flyer_flyers", ["owner"])
    op.create_table(
        "flyer_items",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("flyer_id", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("page", sa.Integer, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("price", sa.Numeric(10, 2), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("unit_price", sa.Numeric(10, 2), nullable=True),
        sa.Column("size", sa.String(32), nullable=True),
        sa.Column("save", sa.Numeric(10, 2), nullable=True),
        sa.Column("percent_off", sa.Integer, nullable=True),
        sa.Column("bogo", sa.Boolean, nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("box", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_flyer_items"),
        sa.ForeignKeyConstraint(
            ["flyer_id"],
            ["flyer_flyers.id"],
            name="fk_flyer_items_flyer_id_flyer_flyers",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_flyer_items_flyer_id", "flyer_items", ["flyer_id"])


def downgrade() -> None:
    op.drop_table("flyer_items")
    op.drop_table("flyer_flyers")
