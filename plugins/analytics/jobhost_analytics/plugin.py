"""Hook implementations of the analytics plugin."""

from __future__ import annotations

from jobhost import Backoff, QueuePolicy, hookimpl


@hookimpl
def register_queues(register):
    register(
        QueuePolicy(
            "analytics-reporting",
            attempts=2,
            backoff=Backoff.exponential(60),
            concurrency=1,
            concurrency_env="ANALYTICS_WORKER_CONCURRENCY",
            description="daily report generation",
        )
    )
    register(
        QueuePolicy(
            "weekly-analytics-reporting",
            attempts=2,
            backoff=Backoff.exponential(3600),
            concurrency=1,
            concurrency_env="ANALYTICS_WORKER_CONCURRENCY",
            description="weekly report generation",
        )
    )
