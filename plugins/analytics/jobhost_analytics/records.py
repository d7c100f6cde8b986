"""The plugin's rows: flyer facts in, reports out. `Records(host.db)`, or any session factory.

Writes are upserts (`INSERT … ON CONFLICT DO UPDATE`, on SQLite and PostgreSQL alike), so an
event announced twice, or two workers running the same report, leave one row and no error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import attrs
from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from jobhost_analytics.facts import Deal, FlyerFact
from jobhost_analytics.periods import Period
from jobhost_analytics.tables import flyers, reports, uploads


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every moment stored here is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@attrs.frozen
class Report:
    """A stored report: its period and its figures (see `figures.figures`; `version` in them)."""

    kind: str
    period: str
    starts_at: datetime
    ends_at: datetime
    generated_at: datetime
    summary: dict[str, Any]

    @classmethod
    def of(cls, period: Period, figures: dict[str, Any], generated_at: datetime) -> Report:
        return cls(period.kind, period.key, period.start, period.end, generated_at, figures)

    @property
    def complete(self) -> bool:
        """Whether the period had ended when the report was made."""
        return self.generated_at >= self.ends_at

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": 1,  # reports made before the field existed; later ones carry their own
            "kind": self.kind,
            "period": self.period,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "generated_at": self.generated_at.isoformat(),
            "complete": self.complete,
            **self.summary,
        }


def _report(row: Any) -> Report:
    return Report(
        row.kind,
        row.period,
        _aware(row.starts_at),
        _aware(row.ends_at),
        _aware(row.generated_at),
        row.summary,
    )


async def _upsert(
    session: AsyncSession,
    table: Table,
    values: dict[str, Any],
    keys: Iterable[str],
    keep: Iterable[str] = (),
    where: Any = None,
) -> None:
    """Insert the row, or update the existing one with the same `keys` (except the `keep`
    columns; only if `where` holds of it, when given)."""
    dialect = (await session.connection()).dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(**values)
    fixed = {*keys, *keep}
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=list(keys),
            set_={name: statement.excluded[name] for name in values if name not in fixed},
            where=where,
        )
    )


class Records:
    def __init__(self, sessions: Callable[[], AsyncSession]) -> None:
        self._sessions = sessions

    async def record(self, fact: FlyerFact, at: datetime, event_id: str | None = None) -> None:
        """Keep the fact; a flyer announced again keeps its first time, so it stays in its period,
        and the same event (`event_id`) delivered again changes nothing."""
        async with self._sessions() as session, session.begin():
            await _upsert(
                session,
                flyers,
                {
                    "flyer_id": fact.flyer_id,
                    "owner": fact.owner,
                    "store": fact.store,
                    "items": fact.items,
                    "prices": [str(price) for price in fact.prices],
                    "pages": fact.pages,
                    "deals": [deal.as_dict() for deal in fact.deals],
                    "seen_at": at,
                    "updated_at": at,
                    "event_id": event_id or None,
                },
                keys=("flyer_id",),
                keep=("seen_at",),
                where=None if not event_id else flyers.c.event_id.is_distinct_from(event_id),
            )

    async def facts(self, start: datetime, end: datetime) -> list[FlyerFact]:
        """The flyers first seen in `[start, end)`."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(flyers).where(flyers.c.seen_at >= start, flyers.c.seen_at < end)
            )
            return [
                FlyerFact(
                    row.flyer_id,
                    row.owner,
                    row.store,
                    row.items,
                    tuple(map(Decimal, row.prices)),
                    row.pages,
                    tuple(Deal.from_dict(deal) for deal in row.deals or ()),
                )
                for row in rows
            ]

    async def record_upload(self, flyer_id: str, owner: str | None, pages: int | None, at: datetime) -> None:
        """Keep an upload; announced again, it keeps its first time."""
        async with self._sessions() as session, session.begin():
            values = {"flyer_id": flyer_id, "owner": owner, "pages": pages, "seen_at": at}
            await _upsert(session, uploads, values, keys=("flyer_id",), keep=("seen_at",))

    async def uploads(self, start: datetime, end: datetime) -> int:
        """How many flyers were uploaded in `[start, end)`."""
        async with self._sessions() as session:
            found = await session.scalar(
                select(func.count())
                .select_from(uploads)
                .where(uploads.c.seen_at >= start, uploads.c.seen_at < end)
            )
            return found or 0

    async def save(self, report: Report) -> None:
        """Store the report, replacing any earlier one of the same kind and period."""
        async with self._sessions() as session, session.begin():
            await _upsert(
                session,
                reports,
                {
                    "kind": report.kind,
                    "period": report.period,
                    "starts_at": report.starts_at,
                    "ends_at": report.ends_at,
                    "summary": report.summary,
                    "generated_at": report.generated_at,
                },
                keys=("kind", "period"),
            )

    async def get(self, kind: str, period: str) -> Report | None:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(reports).where(reports.c.kind == kind, reports.c.period == period)
                )
            ).first()
        return None if row is None else _report(row)

    async def page(self, kind: str | None, offset: int, limit: int) -> tuple[list[Report], int]:
        """One page of reports (of one kind, or all), latest period first, and how many there are."""
        where = [] if kind is None else [reports.c.kind == kind]
        async with self._sessions() as session:
            total = await session.scalar(select(func.count()).select_from(reports).where(*where))
            rows = await session.execute(
                select(reports)
                .where(*where)
                .order_by(reports.c.starts_at.desc(), reports.c.kind)
                .offset(offset)
                .limit(limit)
            )
            return [_report(row) for row in rows], total or 0
