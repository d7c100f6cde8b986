"""Exceptions as JSON answers `{"status_code", "detail"}` that say what went wrong.

A backing service that is down (Redis, the database, a plugin's service) gives 503 with a
Retry-After, never a 500 and never a half-done success: the request did nothing. Except an
enqueue whose outcome is unknown (Redis took it and went silent, or no replica confirmed it):
its 503 says `"outcome": "unknown"` and names the job ids, to look up or to retry with the same
Idempotency-Key.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException
from litestar.exceptions.responses import create_exception_response
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from jobhost.errors import ServiceUnavailable
from jobhost.queue.errors import (
    EnqueueIncomplete,
    IdempotencyKeyReused,
    JobInputError,
    JobNotFound,
    JobStateError,
    OutcomeUnknown,
)

log = logging.getLogger("jobhost.http")

RETRY_AFTER = "5"


def error(
    status: int, detail: str, headers: dict[str, str] | None = None, **fields: Any
) -> Response[dict[str, Any]]:
    body = {"status_code": status, "detail": detail, **fields}
    return Response(body, status_code=status, headers=headers)


def unavailable(detail: str, **fields: Any) -> Response[dict[str, Any]]:
    return error(503, detail, {"Retry-After": RETRY_AFTER}, **fields)


def _service(_: Request[Any, Any, Any], exc: ServiceUnavailable) -> Response[dict[str, Any]]:
    return unavailable(str(exc))


def _redis(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.warning("%s %s: Redis unavailable: %s", request.method, request.url.path, exc)
    return unavailable("Redis is unavailable, so nothing was done; retry shortly")


def _outcome_unknown(request: Request[Any, Any, Any], exc: OutcomeUnknown) -> Response[dict[str, Any]]:
    # Not "nothing was done": the jobs may exist; the caller reconciles by id instead of resending.
    log.warning("%s %s: %s", request.method, request.url.path, exc)
    return unavailable(str(exc), outcome="unknown", job_ids=exc.job_ids, **exc.about)


def _incomplete(request: Request[Any, Any, Any], exc: EnqueueIncomplete) -> Response[dict[str, Any]]:
    # Not "nothing was done" either: some jobs exist; the caller sends again only the others.
    log.warning("%s %s: %s", request.method, request.url.path, exc)
    return unavailable(str(exc), outcome="partial", job_ids=exc.job_ids, stored=exc.stored)


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


def _out_of_range(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # The last line behind jobhost.http.inputs' bounds: a number a route computed from its input
    # is out of the database's range.
    log.warning("%s %s: a value out of the database's range: %s", request.method, request.url.path, exc)
    return error(400, "a number in the request is out of range; use smaller values")


def _undecodable(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # Litestar decodes every multipart part without a filename as text in its declared charset
    # (UTF-8 by default); binary content, or an unknown charset, fails there.
    if any(
        frame.filename.endswith("litestar/_multipart.py") for frame in traceback.extract_tb(exc.__traceback__)
    ):
        return error(
            400,
            "request body: a multipart part without a filename is a text field and must be UTF-8 text; "
            'send files as parts with a plain filename="..." parameter',
        )
    return _internal(request, exc)


# What the multipart parser's limits mean to a client, by the parser's reason.
_MULTIPART_LIMITS = {
    "Maximum segment header length exceeded": "a part's header line is too long (a file name may have "
    "at most about 4,000 characters)",
    "Maximum segment header count exceeded": "a part has too many header lines",
    "Maximum segment count exceeded": "the body has too many parts",
}


def _bad_request(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Litestar's 400s, but a multipart limit says which one instead of "Request Entity Too Large"
    (which is neither the status nor the reason)."""
    if exc.detail == "Request Entity Too Large" and exc.__context__ is not None:
        reason = str(exc.__context__)
        return error(400, f"request body (multipart): {_MULTIPART_LIMITS.get(reason, reason)}")
    return _http_error(request, exc)


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Litestar's answer to an HTTPException, always as JSON: Litestar gives it the route's media
    type, so a page route's 400 was JSON labelled text/html."""
    response = create_exception_response(request, exc)
    response.media_type = MediaType.JSON
    return response


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """A bug: logged with its traceback (Litestar logs 500s only in debug mode), answered
    without the server's insides."""
    log.error("%s %s: unhandled %s", request.method, request.url.path, type(exc).__name__, exc_info=exc)
    return error(500, "internal server error; it has been logged")


def _status(status: int) -> Any:
    def handle(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
        return error(status, str(exc))

    return handle


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    JobInputError: _status(400),
    IdempotencyKeyReused: _status(422),
    JobNotFound: _status(404),
    JobStateError: _status(409),
    ServiceUnavailable: _service,
    RedisConnectionError: _redis,
    ReadOnlyError: _redis,  # a replica, until the client finds the new primary
    OutcomeUnknown: _outcome_unknown,  # before the Redis errors: EnqueueUnanswered is one
    EnqueueIncomplete: _incomplete,  # a Redis TimeoutError too
    RedisTimeoutError: _redis,
    OperationalError: _database,
    InterfaceError: _database,
    PoolTimeout: _database,
    OSError: _network,
    UnicodeDecodeError: _undecodable,
    LookupError: _undecodable,  # an unknown charset
    OverflowError: _out_of_range,  # SQLite
    DataError: _out_of_range,  # PostgreSQL
    HTTPException: _http_error,
    400: _bad_request,
    500: _internal,  # every other exception that is not an HTTPException, and a deliberate 500
}
