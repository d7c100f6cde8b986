"""The host's SQL database: one async engine and its sessions, on SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from jobhost.settings import mask_url

# Operators paste the URLs their providers hand out; these schemes get the async driver we ship.
_DRIVERS = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}


class DatabaseURLError(ValueError):
    """DATABASE_URL names a database jobhost cannot use."""


def async_url(url: str) -> str:
    """`url` with the async driver jobhost uses: `postgres://…` → `postgresql+asyncpg://…`."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in _DRIVERS:
        raise DatabaseURLError(
            f"DATABASE_URL: unsupported database {scheme if sep else 'URL'!r}; use postgresql://user@host/db "
            "or sqlite:///path/to/file.db"
        )
    return f"{_DRIVERS[scheme]}://{rest}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets the API read while a worker writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class Database:
    """An engine and a session factory for one database URL, created lazily on first use."""

    def __init__(self, url: str) -> None:
        self.url = async_url(url)
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            if self.is_sqlite:
                path = make_url(self.url).database
                if path and path != ":memory:":
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                self._engine = create_async_engine(self.url)
                event.listen(self._engine.sync_engine, "connect", _sqlite_pragmas)
            else:
                # pool_pre_ping: after a database restart the first request gets a fresh
                # connection instead of an error.
                self._engine = create_async_engine(self.url, pool_pre_ping=True, pool_size=10)
        return self._engine

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        if self._sessions is None:
            self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        return self._sessions

    async def ping(self, timeout: float = 2.0) -> None:
        """Raise when the database cannot answer a trivial query within `timeout` seconds."""

        async def probe() -> None:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

        await asyncio.wait_for(probe(), timeout)

    async def dispose(self) -> None:
        """Close pooled connections; the next use opens new ones (on the running event loop)."""
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
            self._sessions = None

    def __str__(self) -> str:
        """The URL with its passwords masked (the user's and any in the query), for messages."""
        return mask_url(self.url)
