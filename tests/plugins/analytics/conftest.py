"""Hosts with the installed analytics plugin on the shared real Redis (under key prefixes of their
own, deleted after the test) and a migrated SQLite or PostgreSQL database; and the HTTP helper's
fixtures for the admin routes over real HTTP."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jobhost.store.migrate import upgrade
from jobhost.store.scratch import scratch_postgres

REDIS_URL = "redis://127.0.0.1:6379/0"


def _load_http_fixtures() -> Any:
    # `make_api` (an app served over loopback, with users and tokens) lives in the HTTP tests'
    # conftest; loaded under a name of its own so it cannot clash with another `conftest`.
    path = Path(__file__).parents[2] / "http" / "conftest.py"
    spec = importlib.util.spec_from_file_location("jobhost_http_fixtures", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_http = _load_http_fixtures()
make_api = _http.make_api
password_hash = _http.password_hash


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite by default; `@pytest.mark.parametrize("database_url", [...], indirect=True)` for more."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield f"sqlite:///{tmp_path / 'analytics.db'}"
    else:
        with scratch_postgres() as url:
            yield url


@pytest.fixture
async def analytics_host(make_host, database_url: str) -> AsyncIterator[Callable[..., Any]]:
    """`await analytics_host(**env)`: a host running the installed analytics plugin, migrated."""
    made = []

    async def make(**env: str) -> Any:
        host = make_host(installed=("analytics",), REDIS_URL=REDIS_URL, DATABASE_URL=database_url, **env)
        made.append(host)
        await upgrade(host)
        return host

    yield make
    for host in made:
        redis = host.engine.redis
        keys = [key async for key in redis.scan_iter(match=f"{host.settings.redis_prefix}:*", count=1000)]
        if keys:
            await redis.delete(*keys)
        await host.engine.close()
        await host.database.dispose()
