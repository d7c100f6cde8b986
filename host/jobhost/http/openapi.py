"""The OpenAPI description made true for every route, the plugins' included: the bearer
security of routes that need a user, and the error answers each kind of route can give."""

from __future__ import annotations

from litestar import Litestar
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.handlers import HTTPRouteHandler
from litestar.params import BodyKwarg
from litestar.status_codes import HTTP_413_REQUEST_ENTITY_TOO_LARGE, HTTP_503_SERVICE_UNAVAILABLE

from jobhost.http.auth import SECURED, admin_guard
from jobhost.http.limits import BodyTooSlow


class BackendUnavailable(HTTPException):
    """Redis, the database or a plugin's service is down: nothing was done (with Retry-After).
    Unless the body says `"outcome": "unknown"`: an enqueue Redis took but did not answer, whose
    jobs (`job_ids`) may exist; look them up, or retry with the same Idempotency-Key."""

    status_code = HTTP_503_SERVICE_UNAVAILABLE


class BodyTooLarge(HTTPException):
    """The body is larger than JOBHOST_MAX_BODY_SIZE."""

    status_code = HTTP_413_REQUEST_ENTITY_TOO_LARGE


def _errors(handler: HTTPRouteHandler, path: str) -> list[type[HTTPException]]:
    parameters = handler.parsed_fn_signature.parameters
    admin = admin_guard in handler.resolve_guards()
    # 400 is Litestar's own (ValidationException) on every route that takes input.
    found: list[type[HTTPException]] = [BackendUnavailable]
    if admin or "user" in parameters:
        found.append(NotAuthorizedException)
    if admin:
        found.append(PermissionDeniedException)
    if "{" in path:
        found.append(NotFoundException)
    if any(isinstance(p.kwarg_definition, BodyKwarg) for p in parameters.values()):
        found += [BodyTooSlow, BodyTooLarge]
    return found


def describe(app: Litestar) -> None:
    """Declare security and error answers on every route (call once every route is registered)."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if not isinstance(handler, HTTPRouteHandler) or "OPTIONS" in handler.http_methods:
                continue
            errors = _errors(handler, route.path)
            handler.raises = [
                *(handler.raises or ()),
                *(e for e in errors if e not in (handler.raises or ())),
            ]
            if NotAuthorizedException in errors and not handler.security:
                handler.security = SECURED
