"""Hook implementations of the flyer OCR plugin."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from jobhost import Backoff, CleanupTarget, Host, QueuePolicy, hookimpl
from jobhost_flyer_ocr.config import SETTINGS
from jobhost_flyer_ocr.demo import demo
from jobhost_flyer_ocr.records import Flyers
from jobhost_flyer_ocr.routes import ROUTES
from jobhost_flyer_ocr.task import QUEUE, QUEUE_TIMEOUT, REQUEUE_TASK, process_flyer, requeue_stranded_flyers
from jobhost_flyer_ocr.uploads import PREFIX

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
            search_fields=("flyer_id",),
            lease=30,
            description="OCR of uploaded grocery flyers",
        )
    )


@hookimpl
def register_tasks(register):
    register(process_flyer)
    register(requeue_stranded_flyers)


@hookimpl
def register_schedules(register):
    register("flyer_ocr.requeue-stranded", cron="*/15 * * * *", task=REQUEUE_TASK)


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


async def _upload_owners(host: Host, keys: Sequence[str], done_before: datetime) -> dict[str, bool]:
    return await Flyers(host.db).upload_owners(keys, done_before)


@hookimpl
def register_cleanup(register):
    register(CleanupTarget("flyer uploads", blob_prefix=PREFIX, owners=_upload_owners))
