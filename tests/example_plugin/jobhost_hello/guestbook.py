"""The guestbook: everyone the plugin greeted, in its own table `hello_greetings` (created by
migrations/hello_0001_guestbook.py). Works on any async session factory, e.g. `host.db`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

greetings = Table(
    "hello_greetings",
    MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, index=True),
    Column("greeted_at", DateTime(timezone=True), nullable=False),
)


class Guestbook:
    def __init__(self, sessions: Callable[[], AsyncSession]) -> None:
        self._sessions = sessions

    async def sign(self, name: str) -> int:
        """Record that `name` was greeted; how many times they have been, this one included."""
        async with self._sessions() as session, session.begin():
            await session.execute(insert(greetings).values(name=name, greeted_at=datetime.now(UTC)))
            signed = select(func.count()).select_from(greetings).where(greetings.c.name == name)
            return await session.scalar(signed) or 0

    async def total(self) -> int:
        """How many greetings were recorded."""
        async with self._sessions() as session:
            return await session.scalar(select(func.count()).select_from(greetings)) or 0
