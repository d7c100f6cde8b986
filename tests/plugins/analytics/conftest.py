"""Hosts with the installed analytics plugin on the shared real Redis (under key prefixes of their
own, deleted after the test) and a migrated SQLite or PostgreSQL database; and the HTTP helper's
fixtures for the admin routes over real HTTP, and aiosmtpd for the mailed reports."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from jobhost.testing import discard
from tests.http.conftest import make_api, password_hash  # noqa: F401 (fixtures for the admin routes)
from tests.plugins.email.conftest import smtp_server  # noqa: F401 (a real SMTP server for the mailed reports)

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def analytics_host(make_host, database_url: str) -> AsyncIterator[Callable[..., Any]]:
    """`await analytics_host(**env)`: a host running the installed analytics plugin (or the
    `installed` ones, and `plugins`), migrated."""
    made = []

    async def make(
        installed: tuple[str, ...] = ("analytics",), plugins: tuple[Any, ...] = (), **env: str
    ) -> Any:
        host = make_host(*plugins, installed=installed, REDIS_URL=REDIS_URL, DATABASE_URL=database_url, **env)
        made.append(host)
        await host.migrate()
        return host

    yield make
    for host in made:
        await discard(host)
