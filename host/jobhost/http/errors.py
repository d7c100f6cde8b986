"""Exceptions as JSON answers `{"status_code", "detail"}` that say what went wrong.

A backing service that is down (Redis, the database, a plugin's service) gives 503 with a
Retry-After, never a 500 and never a half-done success: the request did nothing.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from litestar import Request, Response
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from jobhost.errors import ServiceUnavailable
from jobhost.queue.errors import JobInputError, JobNotFound, JobStateError

log = logging.getLogger("jobhost.http")

RETRY_AFTER = "5"


def error(status: int, detail: str, headers: dict[str, str] | None = None) -> Response[dict[str, Any]]:
    return Response({"status_code": status, "detail": detail}, status_code=status, headers=headers)


def unavailable(detail: str) -> Response[dict[str, Any]]:
    return error(503, detail, {"Retry-After": RETRY_AFTER})


def _service(_: Request[Any, Any, Any], exc: ServiceUnavailable) -> Response[dict[str, Any]]:
    return unavailable(str(exc))


def _redis(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.warning("%s %s: Redis unavailable: %s", request.method, request.url.path, exc)
    return unavailable("Redis is unavailable, so nothing was done; retry shortly")


def _database(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.warning("%s %s: database unavailable: %s", request.method, request.url.path, exc)
    return unavailable("the database is unavailable, so nothing was done; retry shortly")


def _network(request: Request[Any, Any, Any], exc: OSError) -> Response[dict[str, Any]]:
    # Drivers raise bare socket errors when they cannot connect at all (asyncpg does); where
    # the error came from tells which service is down.
    files = " ".join(frame.filename for frame in traceback.extract_tb(exc.__traceback__))
    service = "a backing service"
    if "sqlalchemy" in files:
        service = "the database"
    elif "redis" in files:
        service = "Redis"
    log.warning("%s %s: %s unreachable: %s", request.method, request.url.path, service, exc)
    return unavailable(f"{service} is unavailable, so nothing was done; retry shortly")


def _status(status: int) -> Any:
    def handle(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
        return error(status, str(exc))

    return handle


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    JobInputError: _status(400),
    JobNotFound: _status(404),
    JobStateError: _status(409),
    ServiceUnavailable: _service,
    RedisConnectionError: _redis,
    RedisTimeoutError: _redis,
    OperationalError: _database,
    InterfaceError: _database,
    PoolTimeout: _database,
    OSError: _network,
}
