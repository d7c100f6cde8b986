"""Hook implementations of the flyer OCR plugin."""

from __future__ import annotations

from pathlib import Path

from jobhost import Backoff, QueuePolicy, hookimpl
from jobhost_flyer_ocr.config import SETTINGS
from jobhost_flyer_ocr.demo import demo
from jobhost_flyer_ocr.routes import ROUTES
from jobhost_flyer_ocr.task import QUEUE, QUEUE_TIMEOUT, process_flyer

MIGRATIONS = Path(__file__).parent / "migrations"


@hookimpl
def register_settings(register):
    for setting in SETTINGS:
        register(setting)


@hookimpl
def register_queues(register):
    register(
        QueuePolicy(
            QUEUE,
            attempts=3,
            backoff=Backoff.exponential(5),
            concurrency=1,
            concurrency_env="WORKER_CONCURRENCY",
            timeout=QUEUE_TIMEOUT,
            lease=30,
            description="OCR of uploaded grocery flyers",
        )
    )


@hookimpl
def register_tasks(register):
    register(process_flyer)


@hookimpl
def register_routes(register):
    for handler in ROUTES:
        register(handler)


@hookimpl
def register_migrations(register):
    register(MIGRATIONS)


@hookimpl
def register_commands(cli):
    cli.add_command(demo)
