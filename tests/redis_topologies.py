"""Real redis-server processes on loopback, in a temp dir, for the tests and benchmarks that need
Redis as operators run it: one server with AOF, a 3-master Cluster (`redis-cli --cluster
create`), or a primary, a replica and 3 Sentinels. Every process is stopped by its pid."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import redis

from tests.ports import free_port

SERVICE = "jobhost"  # the Sentinels' name for the primary


def _until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(redis.RedisError, OSError):
            if check():
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} within {timeout} s")


class RedisProcess:
    """One redis-server (or Sentinel) with its own port and directory; `kill()` is a crash."""

    def __init__(self, workdir: Path, *args: str, port: int | None = None, config: str = "") -> None:
        self.port = port or free_port()
        self.config = config  # more lines for its config file (which Sentinel may rewrite)
        self.dir = workdir / str(self.port)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self, password: str | None = None) -> redis.Redis:
        return redis.Redis(port=self.port, password=password, decode_responses=True, socket_timeout=5)

    def start(self) -> RedisProcess:
        conf = self.dir / "redis.conf"
        if not conf.exists():  # a Sentinel rewrites its config file: it must be one of its own
            conf.write_text(f"port {self.port}\nbind 127.0.0.1\ndir {self.dir}\n{self.config}")
        log = open(self.dir / "log", "ab")  # noqa: SIM115 - the child holds it
        self.proc = subprocess.Popen(["redis-server", str(conf), *self.args], stdout=log, stderr=log)
        log.close()
        _until(lambda: self.client().ping(), 10, f"redis-server on {self.port} did not answer")
        return self

    def stop(self) -> None:
        """A clean shutdown (SIGTERM: a server writes its AOF/RDB first)."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(20)
            self.proc = None

    def kill(self) -> None:
        """SIGKILL: what a crash or a lost machine does."""
        if self.proc is not None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None


class Cluster:
    """Three masters joined with `redis-cli --cluster create` (no replicas)."""

    def __init__(self, workdir: Path, masters: int = 3) -> None:
        self.nodes = [
            RedisProcess(workdir, "--cluster-enabled", "yes", "--save", "", "--appendonly", "no")
            for _ in range(masters)
        ]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(n.address for n in self.nodes)

    def start(self) -> Cluster:
        for node in self.nodes:
            node.start()
        create = ["redis-cli", "--cluster", "create", *(n.address for n in self.nodes), "--cluster-yes"]
        subprocess.run(create, check=True, capture_output=True, timeout=60)
        _until(lambda: self.nodes[0].client().cluster("info")["cluster_state"] == "ok", 30, "cluster not ok")
        return self

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


class SentinelGroup:
    """A primary, a replica of it, and 3 Sentinels watching them (quorum 2, by default a fast
    failover: the primary is down after 1 s without an answer)."""

    def __init__(
        self, workdir: Path, *persistence: str, down_after_ms: int = 1000, failover_timeout_ms: int = 5000
    ) -> None:
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        keep = persistence or ("--save", "", "--appendonly", "no")
        self.primary = RedisProcess(workdir, *keep)
        # `replicaof` in the file, not on the command line: Sentinel rewrites the file when it
        # turns a node into a primary or a replica, so a restart keeps the node's current role.
        self.replica = RedisProcess(workdir, *keep, config=f"replicaof 127.0.0.1 {self.primary.port}\n")
        self.sentinels = [RedisProcess(workdir, "--sentinel") for _ in range(3)]

    @property
    def url(self) -> str:
        return "redis+sentinel://" + ",".join(s.address for s in self.sentinels) + f"/{SERVICE}/0"

    def start(self) -> SentinelGroup:
        self.primary.start()
        self.replica.start()
        _until(
            lambda: self.replica.client().info("replication")["master_link_status"] == "up",
            20,
            "replica did not sync",
        )
        for sentinel in self.sentinels:
            (sentinel.dir / "redis.conf").write_text(
                f"port {sentinel.port}\nbind 127.0.0.1\ndir {sentinel.dir}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary.port} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} {self.down_after_ms}\n"
                f"sentinel failover-timeout {SERVICE} {self.failover_timeout_ms}\n"
                f"sentinel parallel-syncs {SERVICE} 1\n"
            )
            sentinel.start()
        _until(lambda: self._sentinels_know_replica(), 30, "sentinels did not find the replica")
        return self

    def _sentinels_know_replica(self) -> bool:
        return all(
            int(s.client().sentinel_master(SERVICE)["num-slaves"]) >= 1
            and int(s.client().sentinel_master(SERVICE)["num-other-sentinels"]) >= 2
            for s in self.sentinels
        )

    def primaries(self) -> set[int]:
        """The ports the Sentinels name as primary now (one, once they agree)."""
        return {int(s.client().sentinel_get_master_addr_by_name(SERVICE)[1]) for s in self.sentinels}

    def wait_promoted(self, old_port: int, timeout: float = 30) -> None:
        """Until every Sentinel names another primary (before that, a restarted old primary
        would still be taken for the primary by some, and take writes it then drops)."""
        _until(
            lambda: old_port not in self.primaries() and len(self.primaries()) == 1,
            timeout,
            "sentinels did not fail over",
        )

    def stop(self) -> None:
        for process in (*self.sentinels, self.replica, self.primary):
            process.stop()


@contextlib.contextmanager
def running(topology):
    """Start a Cluster or SentinelGroup, and stop every process of it after."""
    try:
        yield topology.start()
    finally:
        topology.stop()
