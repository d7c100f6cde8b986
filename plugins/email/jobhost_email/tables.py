"""The plugin's own tables, in its own MetaData; `migrations/` creates them with Alembic."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import JSON, Boolean, Column, DateTime, Integer, MetaData, String, Table, Text
from sqlalchemy.engine import CursorResult, Result

# Stable constraint names, so later migrations can alter them on SQLite and PostgreSQL alike.
metadata = MetaData(naming_convention={"ix": "ix_%(column_0_label)s", "pk": "pk_%(table_name)s"})

deliveries = Table(
    "email_deliveries",
    metadata,
    Column("message_id", String(255), primary_key=True),
    Column("recipients", JSON, nullable=False),
    Column("refused", JSON, nullable=False),
    Column("reply", Text, nullable=False),
    Column("accepted_at", DateTime(timezone=True), nullable=False, index=True),
)

# A try that is sending a message right now holds its claim, so a concurrent duplicate of the
# message (an event announced twice, a job whose lease ran out while it still ran) waits.
claims = Table(
    "email_claims",
    metadata,
    Column("message_id", String(255), primary_key=True),
    # The job whose try holds the claim: its own retry may take it over.
    Column("holder", String(255), nullable=False),
    Column("until", DateTime(timezone=True), nullable=False),
)

failures = Table(
    "email_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(255), nullable=False, index=True),
    Column("recipients", JSON, nullable=False),
    Column("reply", Text, nullable=False),
    # The server refused for good (5xx), as opposed to a passing failure.
    Column("permanent", Boolean, nullable=False),
    # No try follows: the message is given up (permanent, or the job's last try).
    Column("final", Boolean, nullable=False),
    Column("failed_at", DateTime(timezone=True), nullable=False, index=True),
)

# A user's deal-alert keywords. The address is copied from the user at each change, so sending
# alerts needs no access to the host's own tables.
watchlists = Table(
    "email_watchlists",
    metadata,
    Column("user_id", Integer, primary_key=True, autoincrement=False),
    Column("email", String(320), nullable=False),
    Column("keywords", JSON, nullable=False),
    # False once the user followed an unsubscribe link: no more alerts.
    Column("alerts", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


def touched(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (SQLAlchemy types `execute` results without `rowcount`)."""
    return cast("CursorResult[Any]", result).rowcount
