"""Expired-token cleanup on 100,000 tokens: one DELETE (the baseline, how cleanup.tokens worked
before) against the batched delete `Accounts.delete_expired_tokens` does, in the same run, on
SQLite and on PostgreSQL (a throwaway database on 127.0.0.1:5432, dropped afterwards).

    python bench/token_cleanup.py [--tokens 100000] [--batch 1000]

Besides the time each takes: its longest transaction, how long the delete held its locks (on
SQLite the whole database's write lock: every other writer waits that long; on PostgreSQL the
rows' and the table's autovacuum). Not a test: prints figures and ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, event, insert

from jobhost import Host
from jobhost.settings import Settings
from jobhost.store.accounts import API, Accounts
from jobhost.store.models import TokenRow, UserRow, utcnow
from jobhost.store.scratch import scratch_postgres


async def fill(host: Host, user_id: int, tokens: int) -> None:
    now = utcnow()
    rows = [
        {
            "user_id": user_id,
            "purpose": API,
            "token_hash": f"e{n:063d}",
            "created_at": now,
            "expires_at": now - timedelta(seconds=1 + n % 3600),
        }
        for n in range(tokens)
    ]
    async with host.db() as session, session.begin():
        for start in range(0, tokens, 10_000):
            await session.execute(insert(TokenRow), rows[start : start + 10_000])


async def single_delete(host: Host) -> int:
    async with host.db() as session, session.begin():
        result = await session.execute(delete(TokenRow).where(TokenRow.expires_at <= utcnow()))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def timed(host: Host, work) -> tuple[float, float, float, int]:
    """Seconds `work` took, its median and longest transaction, and what it returned."""
    opened: dict[int, float] = {}
    spans: list[float] = []

    def begin(conn) -> None:
        opened[id(conn)] = time.perf_counter()

    def commit(conn) -> None:
        spans.append(time.perf_counter() - opened.pop(id(conn)))

    engine = host.database.engine.sync_engine
    event.listen(engine, "begin", begin)
    event.listen(engine, "commit", commit)
    began = time.perf_counter()
    removed = await work()
    took = time.perf_counter() - began
    event.remove(engine, "begin", begin)
    event.remove(engine, "commit", commit)
    return took, statistics.median(spans), max(spans), removed


async def run(url: str, tokens: int, batch: int, label: str) -> None:
    host = Host.load(Settings.from_env({"DATABASE_URL": url, "JOBHOST_LOAD_PLUGINS": ""}))
    await host.migrate()
    async with host.db() as session, session.begin():
        row = UserRow(email="bench@example.test", password_hash="-", is_admin=False)
        session.add(row)
    user = await Accounts(host.db).find("bench@example.test")
    assert user is not None
    figures = {}
    for name, work in (
        ("one DELETE", lambda: single_delete(host)),
        (f"batches of {batch}", lambda: Accounts(host.db).delete_expired_tokens(batch=batch)),
    ):
        await fill(host, user.id, tokens)
        took, median, longest, removed = await timed(host, work)
        assert removed == tokens, (name, removed)
        figures[name] = (took, median, longest)
        print(
            f"{label:10} {name:18} {took:6.2f} s total; transactions: median {median * 1000:7.1f} ms, "
            f"longest {longest * 1000:7.1f} ms"
        )
    (base_took, _, base_longest), (took, median, longest) = figures.values()
    print(
        f"{label:10} batched/one: time x{took / base_took:.2f}, median transaction "
        f"x{median / base_longest:.3f}, longest x{longest / base_longest:.3f}"
    )
    await host.database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(f"sqlite:///{Path(folder) / 'bench.db'}", args.tokens, args.batch, "SQLite"))
    with scratch_postgres(prefix="jobhost_bench") as url:
        asyncio.run(run(url, args.tokens, args.batch, "PostgreSQL"))


if __name__ == "__main__":
    main()
