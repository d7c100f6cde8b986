"""Throwaway PostgreSQL databases for tests and benchmarks: created under a unique name, dropped
after, so runs never share tables."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator

import asyncpg

SERVER = "postgresql://postgres@127.0.0.1:5432"


async def _admin(sql: str, server: str) -> None:
    conn = await asyncpg.connect(f"{server}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def scratch_postgres(server: str = SERVER, prefix: str = "jobhost_scratch") -> Iterator[str]:
    """A new empty database on `server`; yields its URL and drops it (closing its connections)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"', server))
    try:
        yield f"{server}/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', server))
