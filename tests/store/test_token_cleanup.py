"""Expired tokens deleted in batches on real SQLite and PostgreSQL, and a batch the database
refuses tried again: a real PostgreSQL database that takes no connections for a while."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import asyncpg
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url

from jobhost.store.accounts import API, PASSWORD_RESET, SESSION, Accounts
from jobhost.store.models import TokenRow, UserRow, utcnow


async def add_tokens(host, expired: int, live: int) -> int:
    """A user with `expired` expired and `live` live tokens of every purpose; the user's id."""
    async with host.db() as session, session.begin():
        user = UserRow(email=f"u{expired}@example.test", password_hash="-", is_admin=False)
        session.add(user)
        await session.flush()
        now, purposes = utcnow(), (API, SESSION, PASSWORD_RESET)
        rows = [
            {
                "user_id": user.id,
                "purpose": purposes[n % 3],
                "token_hash": f"{n:064d}",
                "created_at": now,
                "expires_at": now + (timedelta(hours=1) if n >= expired else -timedelta(seconds=n % 90 + 1)),
            }
            for n in range(expired + live)
        ]
        for start in range(0, len(rows), 5000):
            await session.execute(insert(TokenRow), rows[start : start + 5000])
        return user.id


async def count(host, *, expired: bool) -> int:
    since = TokenRow.expires_at <= utcnow() if expired else TokenRow.expires_at > utcnow()
    async with host.db() as session:
        return int(await session.scalar(select(func.count()).select_from(TokenRow).where(since)) or 0)


async def test_expired_tokens_go_in_batches_and_live_ones_stay(host):
    await add_tokens(host, expired=2345, live=17)
    accounts = Accounts(host.db)
    assert await accounts.delete_expired_tokens(batch=500) == 2345
    assert (await count(host, expired=True), await count(host, expired=False)) == (0, 17)
    assert await accounts.delete_expired_tokens(batch=500) == 0


@contextlib.asynccontextmanager
async def database_away(database_url: str) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """The host's PostgreSQL database takes no new connections and its open ones are cut, until
    the yielded `back()` is awaited (or the block ends)."""
    name = make_url(database_url).database
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")

    async def back() -> None:
        await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')

    try:
        await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
        yield back
    finally:
        await back()
        await admin.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_batch_refused_while_the_database_takes_no_connections_is_tried_again(
    host, database_url, caplog
):
    await add_tokens(host, expired=3000, live=5)
    accounts = Accounts(host.db)
    async with database_away(database_url) as back:
        with caplog.at_level(logging.WARNING, "jobhost.accounts"):
            cleanup = asyncio.create_task(accounts.delete_expired_tokens(batch=1000, pauses=(0.3,) * 10))
            await asyncio.sleep(1.0)
            assert not cleanup.done(), "the cleanup gave up while the database was away"
            await back()
            assert await asyncio.wait_for(cleanup, 30) == 3000
    assert "not currently accepting connections" in caplog.text
    assert "trying again in 0.3s" in caplog.text
    assert (await count(host, expired=True), await count(host, expired=False)) == (0, 5)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_database_away_for_longer_than_the_pauses_fails_the_run(host, database_url):
    await add_tokens(host, expired=10, live=0)
    async with database_away(database_url):
        with pytest.raises(Exception, match="not currently accepting connections"):
            await Accounts(host.db).delete_expired_tokens(pauses=(0.1, 0.1))
    assert await count(host, expired=True) == 10  # nothing lost: the next run deletes them
