"""Hook implementations of the cleanup plugin."""

from __future__ import annotations

from jobhost import Backoff, QueuePolicy, hookimpl


@hookimpl
def register_queues(register):
    register(
        QueuePolicy(
            "file-cleanup",
            attempts=3,
            backoff=Backoff.exponential(30),
            concurrency=10,
            concurrency_env="CLEANUP_WORKER_CONCURRENCY",
            description="temporary file cleanup",
        )
    )
    register(
        QueuePolicy(
            "token-cleanup",
            attempts=2,
            backoff=Backoff.exponential(3600),
            concurrency=10,
            concurrency_env="CLEANUP_WORKER_CONCURRENCY",
            description="expired token removal",
        )
    )
