"""What REDIS_URL names: one server, a primary watched by Redis Sentinel, or a Redis Cluster.

    redis://[[user]:password@]host[:port][/db]            one server (redis-py's own URL)
    redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service[/db]
    redis+cluster://[[user]:password@]host[:port][,host[:port]...]

`rediss+sentinel://` and `rediss+cluster://` use TLS. Sentinels default to port 26379, cluster
nodes to 6379. The password is the data nodes'; `?sentinel_password=` is the Sentinels' own.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import parse_qs, unquote

import attrs

EXAMPLES = (
    "redis://127.0.0.1:6379/0, "
    "redis+sentinel://10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/mymaster/0 or "
    "redis+cluster://10.0.0.1:6379,10.0.0.2:6379"
)
_PLAIN = ("redis", "rediss", "unix")
_DEFAULT_PORT = {"sentinel": 26379, "cluster": 6379}


@attrs.frozen
class RedisTarget:
    kind: Literal["server", "sentinel", "cluster"]
    url: str  # as given (a `server` one goes to redis-py unchanged)
    nodes: tuple[tuple[str, int], ...] = ()  # the Sentinels, or the cluster's start-up nodes
    service: str = ""  # the Sentinels' name of the primary
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None
    tls: bool = False


def is_cluster(url: str | None) -> bool:
    return url is not None and url.split("://", 1)[0].lower() in ("redis+cluster", "rediss+cluster")


def parse(url: str) -> RedisTarget:
    """Read REDIS_URL; ValueError (saying what is wrong, with examples, never the URL itself,
    which may hold a password) when it names none of the three."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep:
        raise ValueError(f"must be a Redis URL such as {EXAMPLES}")
    if scheme in _PLAIN:
        return RedisTarget("server", url)
    base, plus, kind = scheme.partition("+")
    if not plus or base not in ("redis", "rediss") or kind not in _DEFAULT_PORT:
        raise ValueError(
            f"scheme {scheme!r} is not one of redis, rediss, unix, redis+sentinel, redis+cluster "
            f"(or rediss+...); for example {EXAMPLES}"
        )
    rest, _, query = rest.partition("?")
    auth, at, hosts_path = rest.rpartition("@")
    hosts, _, path = (hosts_path if at else rest).partition("/")
    username, _, password = auth.partition(":") if at else ("", "", "")
    options = {k: v[-1] for k, v in parse_qs(query).items()}
    unknown = set(options) - {"sentinel_password"}
    if unknown:
        raise ValueError(f"unknown option {sorted(unknown)[0]!r}; the only option is sentinel_password")
    nodes = tuple(_node(node, _DEFAULT_PORT[kind]) for node in hosts.split(","))
    parts = [p for p in path.split("/") if p]
    if kind == "sentinel":
        if not parts or len(parts) > 2:
            raise ValueError(
                f"a Sentinel URL ends with /<primary's service name>[/<db>], for example {EXAMPLES}"
            )
        service, db = parts[0], _db(parts[1] if len(parts) > 1 else "0")
    else:
        if parts not in ([], ["0"]):
            raise ValueError("a Cluster URL has no database path (a Redis Cluster has only db 0)")
        service, db = "", 0
    if options.get("sentinel_password") and kind != "sentinel":
        raise ValueError("sentinel_password is an option of redis+sentinel:// URLs only")
    return RedisTarget(
        kind,  # type: ignore[arg-type]  # checked against _DEFAULT_PORT above
        url,
        nodes,
        service,
        db,
        unquote(username) or None,
        unquote(password) or None,
        options.get("sentinel_password"),
        base == "rediss",
    )


def _node(text: str, default_port: int) -> tuple[str, int]:
    host, _, port = text.strip().rpartition(":") if ":" in text else (text.strip(), "", "")
    if not host:
        raise ValueError(f"each node must be host[:port], got an empty one; for example {EXAMPLES}")
    if not port:
        return host, default_port
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"node {host!r} has port {port!r}, which is not a number in 1-65535")
    return host, int(port)


def _db(text: str) -> int:
    if not text.isdigit():
        raise ValueError(f"the database must be a number, got {text!r}")
    return int(text)
