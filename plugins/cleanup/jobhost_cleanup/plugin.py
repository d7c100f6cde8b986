"""Hook implementations of the cleanup plugin."""

from __future__ import annotations

from jobhost import Backoff, QueuePolicy, hookimpl
from jobhost_cleanup.config import CLEANUP_FILE_MAX_AGE
from jobhost_cleanup.jobs import FILES_QUEUE, FILES_TASK, TOKENS_QUEUE, TOKENS_TASK, files, tokens


@hookimpl
def register_settings(register):
    register(CLEANUP_FILE_MAX_AGE)


@hookimpl
def register_queues(register):
    register(
        QueuePolicy(
            FILES_QUEUE,
            attempts=3,
            backoff=Backoff.exponential(30),
            concurrency=10,
            concurrency_env="CLEANUP_WORKER_CONCURRENCY",
            description="temporary file cleanup",
        )
    )
    register(
        QueuePolicy(
            TOKENS_QUEUE,
            attempts=2,
            backoff=Backoff.exponential(3600),
            concurrency=10,
            concurrency_env="CLEANUP_WORKER_CONCURRENCY",
            description="expired token removal",
        )
    )


@hookimpl
def register_tasks(register):
    register(files)
    register(tokens)


@hookimpl
def register_schedules(register):
    # Cron times are UTC; off the full hour, when other jobs pile up.
    register("cleanup.files-hourly", cron="17 * * * *", task=FILES_TASK)
    register("cleanup.tokens-daily", cron="40 3 * * *", task=TOKENS_TASK)
