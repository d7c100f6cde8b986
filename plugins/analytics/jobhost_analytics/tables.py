"""The plugin's own tables, in its own MetaData; `migrations/` creates them with Alembic."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table

# Stable constraint names, so later migrations can alter them on SQLite and PostgreSQL alike.
metadata = MetaData(naming_convention={"ix": "ix_%(column_0_label)s", "pk": "pk_%(table_name)s"})

# One row per processed flyer, from its `flyer.processed` event.
flyers = Table(
    "analytics_flyers",
    metadata,
    Column("flyer_id", String(255), primary_key=True),
    Column("owner", String(64), nullable=True),
    Column("store", String(255), nullable=True),
    Column("items", Integer, nullable=False),
    # Each priced item's price per item, as decimal strings.
    Column("prices", JSON, nullable=False),
    # Pages and deals (`Deal.as_dict()` each); NULL for flyers recorded before events carried them.
    Column("pages", Integer, nullable=True),
    Column("deals", JSON, nullable=True),
    # When the flyer was first announced: the period it counts in, even if announced again.
    Column("seen_at", DateTime(timezone=True), nullable=False, index=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # The event the row was last recorded from: a delivery of it again changes nothing.
    Column("event_id", String(64), nullable=True, unique=True, index=True),
)

# One row per uploaded flyer, from its `flyer.uploaded` event.
uploads = Table(
    "analytics_uploads",
    metadata,
    Column("flyer_id", String(255), primary_key=True),
    Column("owner", String(64), nullable=True),
    Column("pages", Integer, nullable=True),
    Column("seen_at", DateTime(timezone=True), nullable=False, index=True),
)

# One row per report kind and period; re-running a report replaces its row.
reports = Table(
    "analytics_reports",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("period", String(16), primary_key=True),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("summary", JSON, nullable=False),
    Column("generated_at", DateTime(timezone=True), nullable=False),
)
