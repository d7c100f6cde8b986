"""A worker's heartbeat, on a blocking connection of its own, for a thread to send.

The reaper takes a worker that stopped beating for dead and runs its jobs elsewhere within
seconds. Beating from a thread keeps a live worker alive while its event loop is busy (many
jobs starting at once, a task blocking the loop for a while); only the end of the process (or
a frozen one) stops it. A hung event loop is still caught, later, by the lease it stops renewing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jobhost.queue import codec
from jobhost.queue.connection import connect_sync
from jobhost.queue.keys import Keys
from jobhost.queue.scripts import Resilient, script_source
from jobhost.settings import Settings


class Heartbeat:
    def __init__(self, settings: Settings) -> None:
        self.keys = Keys(settings.redis_prefix)
        self.redis = connect_sync(settings)
        self._beat = Resilient(self.redis.register_script(script_source("beat")))

    def send(
        self, worker_id: str, info: dict[str, Any], ttl: float, running: Mapping[str, Sequence[str]]
    ) -> list[str]:
        """Publish the worker's details for `ttl` s, and keep it alive for as long on the queues of
        `running` (queue → ids of the jobs it runs there). Returns the running jobs an operator
        cancelled."""
        ttl_ms = int(ttl * 1000)
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(self.keys.worker(worker_id), codec.dumps(info), px=ttl_ms)
        pipe.zadd(self.keys.workers, {worker_id: info["last_seen"]})
        for queue, ids in running.items():
            self._beat(keys=[self.keys.base(queue)], args=[worker_id, ttl_ms, *ids], client=pipe)
        replies = pipe.execute()
        return [job_id for cancelled in replies[2:] for job_id in cancelled]

    def close(self) -> None:
        self.redis.close()
