"""REDIS_URL names one server, a Sentinel-watched primary or a Cluster; a wrong one stops start-up
with the variable's name and examples, never the URL (it may hold a password)."""

from __future__ import annotations

import pytest

from jobhost.redis_url import RedisTarget, parse
from jobhost.settings import Settings, SettingsError


def test_plain_urls_go_to_redis_py_unchanged():
    for url in ("redis://127.0.0.1:6379/0", "rediss://:pw@h/2", "unix:///run/redis.sock"):
        assert parse(url) == RedisTarget("server", url)


def test_sentinel_url():
    target = parse("redis+sentinel://:s3cret@a:26380,b,c:26381/mymaster/2?sentinel_password=x")
    assert target.kind == "sentinel"
    assert target.nodes == (("a", 26380), ("b", 26379), ("c", 26381))
    assert (target.service, target.db, target.password, target.sentinel_password) == (
        "mymaster",
        2,
        "s3cret",
        "x",
    )
    assert not target.tls and parse("rediss+sentinel://a/m").tls


def test_cluster_url():
    target = parse("redis+cluster://user:pw@n1:7000,n2")
    assert (target.kind, target.nodes, target.username, target.password) == (
        "cluster",
        (("n1", 7000), ("n2", 6379)),
        "user",
        "pw",
    )


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("localhost:6379", "must be a Redis URL such as"),
        ("redis+sentinal://a/m", "scheme 'redis+sentinal' is not one of"),
        ("redis+sentinel://a:26379", "ends with /<primary's service name>"),
        ("redis+sentinel://a:port/m", "node 'a' has port 'port'"),
        ("redis+sentinel://a/m/zero", "the database must be a number"),
        ("redis+cluster://a/3", "has no database path"),
        ("redis+cluster://a?sentinel_password=x", "of redis+sentinel:// URLs only"),
        ("redis+cluster://a?timeout=3", "unknown option 'timeout'"),
        ("redis+cluster://a,,b", "got an empty one"),
    ],
)
def test_a_wrong_url_stops_start_up_saying_why(url, says):
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"REDIS_URL": url.replace("://", "://:hunter2@", 1) if "@" not in url else url})
    assert str(info.value).startswith("REDIS_URL=") and says in str(info.value)
    assert "hunter2" not in str(info.value)


def test_on_a_cluster_the_prefix_is_the_hash_tag():
    """One slot for the deployment: scripts and transactions across queues stay atomic."""
    assert Settings.from_env({"REDIS_URL": "redis+cluster://a"}).redis_prefix == "{jobhost}"
    assert (
        Settings.from_env({"REDIS_URL": "redis+cluster://a", "JOBHOST_REDIS_PREFIX": "{x}y"}).redis_prefix
        == "{x}y"
    )
    assert Settings.from_env({"REDIS_URL": "redis://a"}).redis_prefix == "jobhost"


def test_min_replicas_needs_a_server_with_replicas():
    assert (
        Settings.from_env({"REDIS_URL": "redis://a", "JOBHOST_REDIS_MIN_REPLICAS": "1"}).redis_min_replicas
        == 1
    )
    for env in ({}, {"REDIS_URL": "redis+cluster://a"}):
        with pytest.raises(SettingsError, match="JOBHOST_REDIS_MIN_REPLICAS needs REDIS_URL"):
            Settings.from_env({**env, "JOBHOST_REDIS_MIN_REPLICAS": "1"})
    with pytest.raises(SettingsError, match="JOBHOST_REDIS_MIN_REPLICAS='some': must be a whole number"):
        Settings.from_env({"REDIS_URL": "redis://a", "JOBHOST_REDIS_MIN_REPLICAS": "some"})
