"""Who is looking at the dashboard: its session cookie, its CSRF token, and what they may do.

The cookie holds an ordinary session token (`Accounts.issue_token(..., SESSION)`), HttpOnly and
SameSite=Strict, scoped to the dashboard's path. The CSRF token is derived from it (an HMAC with
the session token as key), so it needs no storage, changes with every login, and cannot be
guessed by a page that cannot read the cookie. Every POST must carry it, as the form field
`csrf` or the header `X-CSRF-Token`.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import attrs
from litestar import Request
from litestar.connection import ASGIConnection

from jobhost.http.state import app_state
from jobhost.store.accounts import SESSION
from jobhost.store.user import User

BASE = "/api/admin/jobs"
COOKIE = "jobhost_dashboard"
# Where a one-time sign-in link (`?token=`) lands, under BASE.
SIGN_IN_PATH = "/sign-in"
_VIEWER = "jobhost_dashboard_viewer"


class LoginRequired(Exception):
    """Anonymous: the page sends the visitor to the login page (and back afterwards)."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


class Forbidden(Exception):
    """Signed in, but not allowed: the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


ADMINS_ONLY = "The job dashboard is for administrators only."
READ_ONLY = "Your account is read-only: you can look at everything here, and change nothing."
BAD_CSRF = "This action was refused: its CSRF token is missing or wrong. Reload the page and try again."


def csrf_for(token: str) -> str:
    return hmac.new(token.encode(), b"jobhost-dashboard-csrf", hashlib.sha256).hexdigest()


@attrs.frozen
class Viewer:
    """A signed-in user of the dashboard."""

    user: User
    token: str

    @property
    def csrf(self) -> str:
        return csrf_for(self.token)

    @property
    def can_act(self) -> bool:
        return self.user.is_admin

    @property
    def role(self) -> str:
        return "admin" if self.user.is_admin else "read-only" if self.user.read_only else "user"


async def signed_in(connection: ASGIConnection[Any, Any, Any, Any]) -> Viewer | None:
    """The user of the request's dashboard cookie (looked up once per request), or None."""
    if _VIEWER not in connection.state:
        token = connection.cookies.get(COOKIE)
        user = await app_state(connection).accounts.user_for_token(token, (SESSION,)) if token else None
        connection.state[_VIEWER] = Viewer(user, token) if user and token else None
    return connection.state[_VIEWER]


def known(connection: ASGIConnection[Any, Any, Any, Any]) -> Viewer | None:
    """The signed-in user this request already looked up (exception handlers cannot await)."""
    return connection.state.get(_VIEWER)


async def viewer(request: Request[Any, Any, Any]) -> Viewer:
    """Someone who may look: an admin or a read-only user."""
    found = await signed_in(request)
    if found is None:
        raise LoginRequired(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    if not found.user.sees_admin:
        raise Forbidden(ADMINS_ONLY)
    return found


async def actor(request: Request[Any, Any, Any], sent_csrf: str | None) -> Viewer:
    """Someone who may act (an admin) and sent the right CSRF token with the action."""
    found = await viewer(request)
    sent = sent_csrf or request.headers.get("x-csrf-token") or ""
    if not hmac.compare_digest(sent, found.csrf):
        raise Forbidden(BAD_CSRF)
    if not found.can_act:
        raise Forbidden(READ_ONLY)
    return found


def safe_next(target: str | None) -> str:
    """Where to go after login: a dashboard path only, never another site."""
    if target and target.startswith(BASE) and not target.startswith("//") and "\\" not in target:
        return target
    return BASE
