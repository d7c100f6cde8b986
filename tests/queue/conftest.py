"""Fixtures for the queue-engine tests: a host per test with its own Redis key prefix, on the
shared real Redis or on the embedded in-process store."""

from __future__ import annotations

import uuid

import pytest

from jobhost.testing import discard
from tests.queue.queue_support import load_host, make_settings


@pytest.fixture(params=["redis", "embedded"])
def mode(request) -> str:
    return request.param


@pytest.fixture
def prefix() -> str:
    return f"jhtest-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def host(mode, prefix, tmp_path):
    host = load_host(make_settings(mode, prefix, tmp_path, shutdown_timeout=5.0))
    yield host
    await discard(host)


@pytest.fixture
async def redis_host(prefix, tmp_path):
    """A host on the real Redis only (for tests with worker processes)."""
    host = load_host(make_settings("redis", prefix, tmp_path, shutdown_timeout=1.0))
    yield host
    await discard(host)
