"""Fixtures for the queue-engine tests: a host per test with its own Redis key prefix, on the
shared real Redis, a Redis Cluster and a Sentinel-watched primary of the session's own
(tests/redis_topologies.py), or on the embedded in-process store."""

from __future__ import annotations

import uuid

import pytest

from jobhost.testing import discard
from tests.queue.queue_support import TOPOLOGY_URLS, load_host, make_settings
from tests.redis_topologies import Cluster, SentinelGroup, running


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory):
    with running(Cluster(tmp_path_factory.mktemp("cluster"))) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def redis_sentinel(tmp_path_factory):
    with running(SentinelGroup(tmp_path_factory.mktemp("sentinel"))) as group:
        yield group


@pytest.fixture(params=["redis", "embedded", "cluster", "sentinel"])
def mode(request) -> str:
    if request.param in ("cluster", "sentinel"):
        TOPOLOGY_URLS[request.param] = request.getfixturevalue(f"redis_{request.param}").url
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
