"""Hook implementations of the flyer OCR plugin."""

from __future__ import annotations

from jobhost import Backoff, QueuePolicy, hookimpl

QUEUE = "flyer-processing"


@hookimpl
def register_queues(register):
    register(
        QueuePolicy(
            QUEUE,
            attempts=3,
            backoff=Backoff.exponential(5),
            concurrency=1,
            concurrency_env="WORKER_CONCURRENCY",
            timeout=600,
            lease=30,
            description="OCR of uploaded grocery flyers",
        )
    )
