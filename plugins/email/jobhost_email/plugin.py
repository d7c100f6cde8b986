"""Hook implementations of the email plugin."""

from __future__ import annotations

from jobhost import Backoff, QueuePolicy, hookimpl

QUEUE = "email-sending"


@hookimpl
def register_queues(register):
    register(
        QueuePolicy(
            QUEUE,
            attempts=5,
            backoff=Backoff.exponential(10),
            concurrency=10,
            concurrency_env="EMAIL_WORKER_CONCURRENCY",
            timeout=60,
            rate_limit_env="EMAIL_RATE_LIMIT",
            description="email delivery over SMTP",
        )
    )
