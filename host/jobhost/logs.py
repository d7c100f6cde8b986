"""The process's logging: one format for the API, the worker and the scheduler, as text or, with
JOBHOST_LOG_FORMAT=json, one JSON object a line for log shippers; a job's lines carry its id,
queue, task and try. And `Outages`: a service that goes away is one warning, not a flood.
"""

from __future__ import annotations

import contextvars
import json
import logging
import threading
import time
from datetime import UTC, datetime
from typing import IO, Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
FORMATS = ("text", "json")
JOB_FIELDS = ("job_id", "queue", "task", "try")

# The job the current asyncio task (or thread) runs, for every line it logs.
_job: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("jobhost_job", default=None)


def job_context(job_id: str, queue: str, task: str, attempt: int) -> contextvars.Context:
    """A copy of the current context in which every log line says which job (and try) it is
    about: run the job's asyncio task in it (`create_task(..., context=...)`)."""
    context = contextvars.copy_context()
    context.run(_job.set, {"job_id": job_id, "queue": queue, "task": task, "try": attempt})
    return context


class _JobFields(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (_job.get() or {}).items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class JSONFormatter(logging.Formatter):
    """One object a line: time, level, logger, message, the job's fields, the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in JOB_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def handler(fmt: str, stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing lines in `fmt` (text or json) to `stream` (default stderr)."""
    found = logging.StreamHandler(stream)
    found.setFormatter(JSONFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    found.addFilter(_JobFields())
    return found


def configure(level: str, fmt: str) -> None:
    """Set up the root logger for this process (unknown values fall back to INFO and text; the
    settings check reports them)."""
    level = level if level in LEVELS else "INFO"
    logging.basicConfig(level=level, handlers=[handler(fmt)], force=True)
    # Alembic narrates every migration step at INFO; `jobhost db upgrade` says what it applied.
    logging.getLogger("alembic").setLevel(level if level == "DEBUG" else "WARNING")


class Outages:
    """Which services this process finds unreachable, and since when.

    A failure that lasts (`warn_after` and more) logs one warning, the traceback only at DEBUG;
    later failures are silent until the service answers again, which logs one line with the
    outage's length. A blip shorter than that (a pooled connection that a restarted server
    closed) stays at DEBUG. Each failure gets a wait that doubles up to `max_wait`, so an idle
    process does not spin either.
    """

    def __init__(self, first_wait: float = 0.5, max_wait: float = 5.0, warn_after: float = 1.0) -> None:
        self.first_wait = first_wait
        self.max_wait = max_wait
        self.warn_after = warn_after
        # service → (down since, failures so far, warned)
        self._down: dict[str, tuple[float, int, bool]] = {}
        self._lock = threading.Lock()  # the worker's heartbeat thread reports too

    def failed(self, service: str, exc: BaseException, log: logging.Logger, doing: str) -> float:
        """Record a failure reaching `service` while `doing`; the seconds to wait before retrying."""
        now = time.monotonic()
        with self._lock:
            since, failures, warned = self._down.get(service, (now, 0, False))
            warn = not warned and now - since >= self.warn_after
            self._down[service] = (since, failures + 1, warned or warn)
        if warn:
            log.warning(
                "%s is unreachable (%s: %s) while %s; retrying with a backoff up to %gs",
                service,
                type(exc).__name__,
                exc,
                doing,
                self.max_wait,
            )
        log.debug("%s failed while %s", service, doing, exc_info=exc)
        return min(self.max_wait, self.first_wait * 2**failures)

    def trouble(self, service: str, exc: BaseException, log: logging.Logger, doing: str) -> float:
        """`failed` for an error that means `service` is unreachable; any other error is logged
        with its traceback. The seconds to wait before trying again."""
        if unreachable(exc):
            return self.failed(service, exc, log, doing)
        log.error("%s failed; trying again", doing, exc_info=exc)
        return 1.0

    def recovered(self, service: str, log: logging.Logger) -> None:
        if service not in self._down:  # the common case, without the lock
            return
        with self._lock:
            found = self._down.pop(service, None)
        if found is not None:
            since, _, warned = found
            log.log(
                logging.WARNING if warned else logging.DEBUG,
                "%s is back after %.1fs",
                service,
                time.monotonic() - since,
            )

    def down(self, service: str) -> bool:
        return service in self._down


def unreachable(exc: BaseException) -> bool:
    """Whether `exc` says a service (Redis, the database) cannot be reached right now."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError)
    return isinstance(exc, RedisConnectionError | RedisTimeoutError | ConnectionError | TimeoutError)


def failure(log: logging.Logger, exc: BaseException, message: str, *args: Any) -> None:
    """Log a failure with its traceback; or, when it is an outage (a failover, a restart), as one
    warning line naming the error (the traceback only at DEBUG)."""
    if not unreachable(exc):
        log.error(message, *args, exc_info=exc)
        return
    log.warning(f"{message} (unreachable: %s: %s)", *args, type(exc).__name__, exc)
    log.debug(message, *args, exc_info=exc)


# One per process: the worker's consumers, its heartbeat and the scheduler report to it, so a
# Redis outage is one warning for the whole process.
OUTAGES = Outages()
