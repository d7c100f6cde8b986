"""The admin dashboard at /api/admin/jobs: server-rendered pages, one small script, live by SSE.

Why this shape: every page is plain HTML from Jinja templates, so it works, and is tested, with
no build step and no framework; links and forms do all the actions, so it is keyboard-usable and
degrades to full page loads. One vendored-free script (`static/dashboard.js`, plain JS, ~250
lines) adds what HTML cannot: the live updates over EventSource, shift-click selection, and
confirmations. htmx would have cost a 50 KB library to save little, since live updates need
our own small DOM patching anyway. No inline script or handler anywhere, so a CSP of 'self'
holds. Sign-in is the dashboard's own cookie session on top of `Accounts` (see session.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from litestar import MediaType, Request, Response, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from jobhost.http.dashboard import actions, live, pages, session
from jobhost.http.dashboard.render import page
from jobhost.http.ratelimit import hit
from jobhost.http.state import app_state
from jobhost.queue.errors import JobInputError, JobNotFound, JobStateError
from jobhost.store.accounts import SESSION, SIGN_IN

STATIC = Path(__file__).parent / "static"


def _cookie(request: Request[Any, Any, Any], response: Response[Any], token: str, max_age: int) -> None:
    response.set_cookie(
        session.COOKIE,
        token,
        max_age=max_age,
        path=session.BASE,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


@get("/login", name="dashboard:login-page", include_in_schema=False)
async def login_page(request: Request[Any, Any, Any]) -> Response[str]:
    return page("login.html", None, next=session.safe_next(request.query_params.get("next")), error=None)


@post("/login", name="dashboard:login", include_in_schema=False)
async def login(request: Request[Any, Any, Any]) -> Response[Any]:
    form = await request.form()
    state = app_state(request)
    target = session.safe_next(form.get("next"))
    address = request.client.host if request.client else "unknown"
    wait = await hit(
        state.host.engine.redis,
        f"{state.host.settings.redis_prefix}:ratelimit:address:{address}",
        state.config.login_address_limit,
    )
    if wait is not None:
        message = f"Too many attempts from this address; try again in {wait:.0f} s."
        return page("login.html", None, status=429, next=target, error=message)
    user = await state.accounts.authenticate(form.get("email") or "", form.get("password") or "")
    if user is None:
        return page("login.html", None, status=401, next=target, error="Wrong email or password.")
    issued = await state.accounts.issue_token(user, SESSION, state.config.session_ttl)
    response: Response[Any] = Redirect(target, status_code=303)
    _cookie(request, response, issued.token, int(state.config.session_ttl))
    return response


@get(session.SIGN_IN_PATH, name="dashboard:sign-in", include_in_schema=False)
async def sign_in(request: Request[Any, Any, Any]) -> Response[Any]:
    """A one-time sign-in link (`jobhost run`'s first-admin link, `jobhost users link`): opening it
    spends it and signs the browser in."""
    state = app_state(request)
    token = request.query_params.get("token") or ""
    user = await state.accounts.redeem(token, SIGN_IN) if token else None
    if user is None:
        message = (
            "This sign-in link is used, expired or wrong. Make a new one with "
            "`jobhost users link EMAIL`, or sign in with a password."
        )
        return page("message.html", None, status=403, title="Link not valid", message=message)
    issued = await state.accounts.issue_token(user, SESSION, state.config.session_ttl)
    response: Response[Any] = Redirect(session.BASE, status_code=303)
    _cookie(request, response, issued.token, int(state.config.session_ttl))
    return response


@post("/logout", name="dashboard:logout", include_in_schema=False)
async def logout(request: Request[Any, Any, Any]) -> Response[Any]:
    form = await request.form()
    who = await session.signed_in(request)
    if who is not None and form.get("csrf") == who.csrf:
        await app_state(request).accounts.revoke(who.token)
    response: Response[Any] = Redirect(f"{session.BASE}/login", status_code=303)
    response.delete_cookie(session.COOKIE, path=session.BASE)
    return response


def _to_login(request: Request[Any, Any, Any], exc: session.LoginRequired) -> Response[Any]:
    if request.headers.get("accept", "").startswith("text/event-stream"):
        return Response("sign in first", status_code=401, media_type=MediaType.TEXT)
    return Redirect(f"{session.BASE}/login?{urlencode({'next': exc.path})}", status_code=303)


def _denied(request: Request[Any, Any, Any], exc: session.Forbidden) -> Response[str]:
    return page("message.html", session.known(request), status=403, title="Not allowed", message=exc.message)


def _refused(status: int, title: str) -> Any:
    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[str]:
        return page(
            "message.html",
            session.known(request),
            status=status,
            title=title,
            message=getattr(exc, "detail", None) or str(exc),
        )

    return handle


def dashboard_router() -> Router:
    return Router(
        session.BASE,
        route_handlers=[
            login_page,
            login,
            sign_in,
            logout,
            *pages.PAGES,
            *actions.ACTIONS,
            *live.STREAMS,
            create_static_files_router("/static", directories=[STATIC], include_in_schema=False),
        ],
        exception_handlers={
            session.LoginRequired: _to_login,
            session.Forbidden: _denied,
            JobInputError: _refused(400, "Refused"),
            JobStateError: _refused(409, "Not possible now"),
            JobNotFound: _refused(404, "Not found"),
            NotFoundException: _refused(404, "Not found"),
        },
        include_in_schema=False,
    )
