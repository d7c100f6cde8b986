"""Who makes a request: bearer tokens, the `user` dependency, the admin guard, the auth routes."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import datetime
from typing import Any

import attrs
from litestar import Controller, Request, post
from litestar.connection import ASGIConnection
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.params import JSONBody
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT, HTTP_429_TOO_MANY_REQUESTS

from jobhost.errors import ServiceUnavailable
from jobhost.http.config import RESET_TTL
from jobhost.http.ratelimit import hit
from jobhost.http.state import AppState, app_state
from jobhost.policy import RateLimit
from jobhost.store.accounts import PASSWORD_RESET, SESSION, AccountError
from jobhost.store.user import User

log = logging.getLogger("jobhost.http")

BEARER = "BearerToken"  # the OpenAPI security scheme's name
SECURED: list[dict[str, list[str]]] = [{BEARER: []}]
_USER = "jobhost_user"  # where a request keeps its resolved user


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def current_user(connection: ASGIConnection[Any, Any, Any, Any]) -> User | None:
    """The user of the request's bearer token, looked up once per request."""
    if _USER not in connection.state:
        token = bearer_token(connection)
        connection.state[_USER] = (
            await app_state(connection).accounts.user_for_token(token) if token else None
        )
    return connection.state[_USER]


class Unauthenticated(NotAuthorizedException):
    def __init__(self) -> None:
        super().__init__(
            detail="a valid bearer token is required: send `Authorization: Bearer <token>` "
            "(POST /api/auth/login gives one)",
            headers={"WWW-Authenticate": "Bearer"},
        )


async def provide_user(request: Request[Any, Any, Any]) -> User:
    """The `user` dependency: the request's user, or 401."""
    user = await current_user(request)
    if user is None:
        raise Unauthenticated()
    return user


async def user_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Every route that takes the `user` refuses an unauthenticated request before anything else
    happens, its body unread: an anonymous 24 MB upload gets its 401 at once."""
    if "user" in handler.parsed_fn_signature.parameters and await current_user(connection) is None:
        raise Unauthenticated()


async def admin_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    user = await current_user(connection)
    if user is None:
        raise Unauthenticated()
    if not user.is_admin:
        raise PermissionDeniedException(detail=f"{connection.url.path} is for administrators only")


class TooManyAttempts(HTTPException):
    status_code = HTTP_429_TOO_MANY_REQUESTS


async def _limit(state: AppState, what: str, key: str, limit: RateLimit) -> None:
    wait = await hit(state.host.engine.redis, f"{state.host.settings.redis_prefix}:ratelimit:{key}", limit)
    if wait is not None:
        raise TooManyAttempts(
            detail=f"too many attempts from this {what}; retry in {wait:.0f} s",
            headers={"Retry-After": str(max(1, round(wait)))},
        )


def _address(request: Request[Any, Any, Any]) -> str:
    """The client's address: the connection's, or a trusted proxy's X-Forwarded-For (uvicorn
    resolves it from JOBHOST_TRUSTED_PROXIES)."""
    return request.client.host if request.client else "unknown"


async def _limit_address(request: Request[Any, Any, Any]) -> None:
    state = app_state(request)
    await _limit(state, "address", f"address:{_address(request)}", state.config.login_address_limit)


@attrs.frozen
class Login:
    email: str
    password: str


@attrs.frozen
class UserInfo:
    id: int
    email: str
    is_admin: bool


@attrs.frozen
class IssuedSession:
    token: str
    expires_at: datetime
    user: UserInfo


@attrs.frozen
class ResetRequest:
    email: str


@attrs.frozen
class ResetConfirm:
    token: str
    password: str


@attrs.frozen
class Message:
    detail: str


RESET_ANSWER = "if an account with this address exists, a password-reset mail is on its way"


def _reset_mail(token: str, reset_url: str | None) -> str:
    how = (
        f"open this link within the hour:\n\n  {reset_url.replace('{token}', token)}\n"
        if reset_url
        else f"use this code within the hour:\n\n  {token}\n"
    )
    return (
        f"Someone (hopefully you) asked to reset your password. To choose a new one, {how}\n"
        "If you did not ask, ignore this mail: your password stays as it is.\n"
    )


# Reset mails still being sent after their request was answered (kept so they are not collected).
_background: set[asyncio.Task[None]] = set()


async def _mail_reset(state: AppState, mail: Any, email: str) -> None:
    """Mail a reset token to the account of `email`, if there is one. Says nothing to the caller:
    whatever happens shows only in the log."""
    user = await state.accounts.find(email)
    if user is None:
        return
    key = f"{state.host.settings.redis_prefix}:ratelimit:reset:{user.id}"
    try:
        if await hit(state.host.engine.redis, key, state.config.reset_account_limit) is not None:
            log.info("password reset for user %s: over the per-account limit, no mail sent", user.id)
            return
        issued = await state.accounts.issue_token(user, PASSWORD_RESET, RESET_TTL)
        # Sent now when the server is up (the user is waiting); else queued on the mail queue.
        await mail.send_or_queue(
            user.email, "Reset your password", _reset_mail(issued.token, state.config.reset_url)
        )
    except Exception:
        log.exception("password reset for user %s: the mail could neither be sent nor queued", user.id)


class AuthController(Controller):
    path = "/api/auth"
    tags = ["auth"]
    # Answers carry session tokens: no cache may keep them.
    response_headers = [ResponseHeader(name="Cache-Control", value="no-store")]

    @post(
        "/login",
        status_code=200,
        summary="Log in: exchange email and password for a session token",
        raises=[NotAuthorizedException, TooManyAttempts],
    )
    async def login(self, request: Request[Any, Any, Any], data: JSONBody[Login]) -> IssuedSession:
        state = app_state(request)
        await _limit_address(request)
        # Per account and address: the owner's own devices log in while a stranger is locked out.
        account = hashlib.sha256(f"{data.email.strip().lower()}|{_address(request)}".encode()).hexdigest()[
            :32
        ]
        await _limit(state, "account", f"account:{account}", state.config.login_account_limit)
        wait = await hit(
            state.host.engine.redis,
            f"{state.host.settings.redis_prefix}:login-budget",
            state.config.login_budget,
        )
        if wait is not None:
            raise TooManyAttempts(
                detail=f"the server is checking too many passwords right now; retry in {wait:.1f} s",
                headers={"Retry-After": str(max(1, round(wait)))},
            )
        user = await state.accounts.authenticate(data.email, data.password)
        if user is None:
            raise NotAuthorizedException(detail="wrong email or password")
        issued = await state.accounts.issue_token(user, SESSION, state.config.session_ttl)
        return IssuedSession(issued.token, issued.expires_at, UserInfo(user.id, user.email, user.is_admin))

    @post("/logout", status_code=HTTP_204_NO_CONTENT, security=SECURED, summary="End the token used")
    async def logout(self, request: Request[Any, Any, Any], user: NamedDependency[User]) -> None:
        await app_state(request).accounts.revoke(bearer_token(request) or "")

    @post(
        "/password-reset/request",
        status_code=HTTP_202_ACCEPTED,
        summary="Mail a one-hour password-reset token; the same answer whether the address exists",
        raises=[TooManyAttempts],
        description="Answered a fixed time (JOBHOST_PASSWORD_RESET_ANSWER_TIME) after the request "
        "arrived, with the same body for every address, whether the mail server is up or not.",
    )
    async def request_reset(self, request: Request[Any, Any, Any], data: JSONBody[ResetRequest]) -> Message:
        state = app_state(request)
        try:
            mail = state.host.service("mail")
        except ServiceUnavailable as exc:  # the same for every address: the host has no mail at all
            raise ServiceUnavailable(f"password reset needs the mail service: {exc}") from None
        await _limit_address(request)
        loop = asyncio.get_running_loop()
        answer_at = loop.time() + state.config.reset_answer_time
        # The mail goes out while the answer waits for its time; one not sent by then still goes.
        work = asyncio.create_task(_mail_reset(state, mail, data.email))
        _background.add(work)
        work.add_done_callback(_background.discard)
        await asyncio.wait({work}, timeout=state.config.reset_answer_time)
        await asyncio.sleep(max(0.0, answer_at - loop.time()))
        return Message(RESET_ANSWER)

    @post("/password-reset/confirm", status_code=200, summary="Set a new password with a reset token")
    async def confirm_reset(self, request: Request[Any, Any, Any], data: JSONBody[ResetConfirm]) -> Message:
        try:
            await app_state(request).accounts.reset_password(data.token, data.password)
        except AccountError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        return Message("password changed; log in with the new one")
