"""Hosts with the installed cleanup plugin on the shared real Redis (under key prefixes of their
own, deleted after the test) and on a real SQLite or PostgreSQL database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jobhost.store.scratch import scratch_postgres

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite by default; `@pytest.mark.parametrize("database_url", [...], indirect=True)` for more."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield f"sqlite:///{tmp_path / 'cleanup.db'}"
    else:
        with scratch_postgres() as url:
            yield url


@pytest.fixture
async def cleanup_host(make_host, database_url: str) -> AsyncIterator[Callable[..., Any]]:
    """`cleanup_host(**env)`: a host running the installed cleanup plugin."""
    made = []

    def make(**env: str) -> Any:
        made.append(make_host(installed=("cleanup",), REDIS_URL=REDIS_URL, DATABASE_URL=database_url, **env))
        return made[-1]

    yield make
    for host in made:
        redis = host.engine.redis
        keys = [key async for key in redis.scan_iter(match=f"{host.settings.redis_prefix}:*", count=1000)]
        if keys:
            await redis.delete(*keys)
        await host.engine.close()
        await host.database.dispose()
