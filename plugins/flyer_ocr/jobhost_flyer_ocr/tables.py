"""The plugin's own tables, in its own MetaData; `migrations/` creates them with Alembic."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

# Stable constraint names, so later migrations can alter them on SQLite and PostgreSQL alike.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

flyers = Table(
    "flyer_flyers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # The uploading user's id as jobs carry it (`str(user.id)`).
    Column("owner", String(64), nullable=False, index=True),
    # queued → processing → processed, or failed (with `error`).
    Column("status", String(16), nullable=False),
    Column("job_id", String(64), nullable=True),
    # The client's file name, kept for display only; the file is stored as `stored_name`.
    Column("filename", String(255), nullable=True),
    Column("stored_name", String(64), nullable=False),
    Column("media_type", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("pages", Integer, nullable=False),
    Column("store", String(255), nullable=True),
    Column("valid_from", Date, nullable=True),
    Column("valid_to", Date, nullable=True),
    Column("error", Text, nullable=True),
    Column("idempotency_key", String(255), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=True),
    # One answer per key and user: a retried upload gets the first one.
    UniqueConstraint("owner", "idempotency_key", name="uq_flyer_flyers_owner_idempotency_key"),
)

items = Table(
    "flyer_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "flyer_id", Integer, ForeignKey("flyer_flyers.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("position", Integer, nullable=False),
    Column("page", Integer, nullable=False),
    Column("name", String(255), nullable=False),
    Column("price", Numeric(10, 2), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit", String(16), nullable=False),
    Column("unit_price", Numeric(10, 2), nullable=True),
    Column("size", String(32), nullable=True),
    Column("save", Numeric(10, 2), nullable=True),
    Column("percent_off", Integer, nullable=True),
    Column("bogo", Boolean, nullable=False),
    Column("confidence", Float, nullable=False),
    Column("box", JSON, nullable=False),
    # The struck-out or `Reg.` price beside the deal, the line under its name, `Limit N`.
    Column("regular_price", Numeric(10, 2), nullable=True),
    Column("description", String(255), nullable=True),
    Column("purchase_limit", Integer, nullable=True),
    # A plausibility rule failed: a person should check this deal (see `plausible`).
    Column("needs_review", Boolean, nullable=False, server_default=false()),
)
