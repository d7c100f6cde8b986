"""Deal-alert watchlists: the keywords each user wants alerts for, and whether they still do."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from jobhost_email.tables import touched, watchlists

MAX_KEYWORDS = 100
MAX_KEYWORD_LENGTH = 60


class WatchlistError(ValueError):
    """A watchlist holds something it may not; the message names the field."""


def normalize_keywords(value: Any) -> tuple[str, ...]:
    """Keywords as matching uses them: trimmed, lower-case, single-spaced, each once, in order."""
    if not isinstance(value, list | tuple):
        raise WatchlistError(f"keywords must be a list of strings, got {type(value).__name__}")
    if len(value) > MAX_KEYWORDS:
        raise WatchlistError(f"keywords: at most {MAX_KEYWORDS} keywords, got {len(value)}")
    keywords: dict[str, None] = {}
    for index, keyword in enumerate(value):
        if not isinstance(keyword, str):
            raise WatchlistError(f"keywords[{index}] must be a string, got {keyword!r}")
        cleaned = " ".join(keyword.casefold().split())
        if not 1 <= len(cleaned) <= MAX_KEYWORD_LENGTH:
            raise WatchlistError(
                f"keywords[{index}] must be 1 to {MAX_KEYWORD_LENGTH} characters, got {keyword!r}"
            )
        keywords[cleaned] = None
    return tuple(keywords)


@attrs.frozen
class Watchlist:
    user_id: int
    email: str
    keywords: tuple[str, ...]
    alerts: bool

    def as_dict(self) -> dict[str, Any]:
        """What the user sees of it."""
        return {"keywords": list(self.keywords), "alerts": self.alerts}


def _watchlist(row: Any) -> Watchlist:
    return Watchlist(row.user_id, row.email, tuple(row.keywords), row.alerts)


class Watchlists:
    """The watchlists on the host's database: `Watchlists(host.db)`."""

    def __init__(self, sessions: Callable[[], AsyncSession]) -> None:
        self._sessions = sessions

    async def get(self, user_id: int) -> Watchlist | None:
        async with self._sessions() as session:
            row = (await session.execute(select(watchlists).where(watchlists.c.user_id == user_id))).first()
        return _watchlist(row) if row else None

    async def put(self, user_id: int, email: str, keywords: Any, alerts: bool | None = None) -> Watchlist:
        """Replace the user's keywords; `alerts` turns alerts on or off (unchanged when None,
        on for a new watchlist)."""
        values: dict[str, Any] = {
            "email": email,
            "keywords": list(normalize_keywords(keywords)),
            "updated_at": datetime.now(UTC),
        }
        if alerts is not None:
            values["alerts"] = alerts
        try:
            return await self._write(user_id, values)
        except IntegrityError:
            # A concurrent first PUT of this user inserted between our update and insert.
            return await self._write(user_id, values)

    async def _write(self, user_id: int, values: dict[str, Any]) -> Watchlist:
        async with self._sessions() as session, session.begin():
            changed = await session.execute(
                update(watchlists).where(watchlists.c.user_id == user_id).values(**values)
            )
            if touched(changed) == 0:
                new = {"user_id": user_id, "alerts": True, **values}
                await session.execute(insert(watchlists).values(**new))
            row = (await session.execute(select(watchlists).where(watchlists.c.user_id == user_id))).one()
        return _watchlist(row)

    async def unsubscribe(self, user_id: int) -> bool:
        """Stop the user's alerts; False when the user has no watchlist."""
        async with self._sessions() as session, session.begin():
            changed = await session.execute(
                update(watchlists)
                .where(watchlists.c.user_id == user_id)
                .values(alerts=False, updated_at=datetime.now(UTC))
            )
        return touched(changed) > 0

    async def subscribed(self) -> list[Watchlist]:
        """Every watchlist that wants alerts and has keywords."""
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(watchlists).where(watchlists.c.alerts).order_by(watchlists.c.user_id)
                )
            ).all()
        return [w for w in map(_watchlist, rows) if w.keywords]
