"""Hosts with the installed cleanup plugin on the shared real Redis (under key prefixes of their
own, deleted after the test) and on a real SQLite or PostgreSQL database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from jobhost.testing import discard

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def cleanup_host(make_host, database_url: str) -> AsyncIterator[Callable[..., Any]]:
    """`cleanup_host(**env)`: a host running the installed cleanup plugin."""
    made = []

    def make(**env: str) -> Any:
        made.append(make_host(installed=("cleanup",), REDIS_URL=REDIS_URL, DATABASE_URL=database_url, **env))
        return made[-1]

    yield make
    for host in made:
        await discard(host)
