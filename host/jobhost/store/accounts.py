"""Accounts: users, their passwords and their bearer tokens.

Tokens are opaque random strings handed out once; only their SHA-256 is stored, so the table is
useless to whoever reads it. Every token has a purpose and an expiry and works only for that.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

import attrs
from sqlalchemy import delete, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jobhost.store import passwords
from jobhost.store.models import TokenRow, UserRow, utcnow
from jobhost.store.user import User

API = "api"
SESSION = "session"
PASSWORD_RESET = "password-reset"
# A one-time link that signs a browser into the dashboard (the first admin's way in).
SIGN_IN = "sign-in"
PURPOSES = (API, SESSION, PASSWORD_RESET, SIGN_IN)
# Purposes a bearer token may have to authenticate a request.
BEARER = (API, SESSION)

# Expired tokens deleted per transaction, and the pauses before a refused batch is tried again.
TOKEN_BATCH = 1000
RETRY_PAUSES = (0.5, 1.0, 2.0, 4.0)

log = logging.getLogger("jobhost.accounts")
# An address mail can be sent to: no space, control character, quote or angle bracket, which
# SMTP's RCPT line cannot carry (the email plugin refuses them too).
_EMAIL = re.compile(r'^[^@\s<>"\x00-\x1f\x7f]+@[^@\s<>"\x00-\x1f\x7f]+$')


class AccountError(ValueError):
    """An account operation was refused; the message says why and what to do."""


@attrs.frozen
class IssuedToken:
    """A token as handed out: the only time its clear text exists."""

    token: str
    purpose: str
    expires_at: datetime
    user: User


def _count(result: Any) -> int:
    """Rows a DELETE or UPDATE touched (SQLAlchemy types `execute` results without `rowcount`)."""
    return int(result.rowcount)


def _passing(exc: BaseException) -> bool:
    """A database error that a later try may not meet: the server down, restarting, refusing
    connections, a connection cut, a lock held elsewhere (not: a missing table, bad SQL)."""
    if isinstance(exc, OSError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
        return True
    text = str(getattr(exc, "orig", None) or exc).lower()
    return any(word in text for word in ("connect", "locked", "terminat", "shutting down", "timeout"))


def normalize_email(email: str) -> str:
    cleaned = email.strip().lower()
    if not _EMAIL.match(cleaned) or len(cleaned) > 320:
        raise AccountError(f"{email!r} is not an email address")
    return cleaned


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user(row: UserRow) -> User:
    return User(row.id, row.email, row.is_admin, row.read_only)


class Accounts:
    """Users and tokens in the host's database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def create_user(
        self, email: str, password: str, *, is_admin: bool = False, read_only: bool = False
    ) -> User:
        """A new user; `read_only` makes an on-call viewer of the admin dashboard."""
        email = normalize_email(email)
        if is_admin and read_only:
            raise AccountError("a user is an admin or read-only, not both")
        try:
            passwords.check_new(password)
        except passwords.PasswordRejected as exc:
            raise AccountError(str(exc)) from None
        password_hash = await passwords.hash_async(password)
        async with self.sessions() as session:
            row = UserRow(email=email, password_hash=password_hash, is_admin=is_admin, read_only=read_only)
            session.add(row)
            try:
                await session.commit()
            except IntegrityError:
                raise AccountError(f"a user with email {email!r} already exists") from None
            return _user(row)

    async def admins(self) -> list[User]:
        """Every admin, by id (not the read-only viewers)."""
        async with self.sessions() as session:
            rows = await session.scalars(select(UserRow).where(UserRow.is_admin).order_by(UserRow.id))
            return [_user(row) for row in rows]

    async def find(self, email: str) -> User | None:
        try:
            email = normalize_email(email)
        except AccountError:
            return None
        async with self.sessions() as session:
            row = await session.scalar(select(UserRow).where(UserRow.email == email))
            return _user(row) if row else None

    async def authenticate(self, email: str, password: str) -> User | None:
        """The user with this email and password, or None (in the same time either way)."""
        try:
            email = normalize_email(email)
        except AccountError:
            email = ""
        async with self.sessions() as session:
            row = await session.scalar(select(UserRow).where(UserRow.email == email))
            stored = row.password_hash if row else passwords.dummy_hash()
            ok = await passwords.verify_async(password, stored)
            if not (row and ok):
                return None
            if passwords.needs_rehash(row.password_hash):
                row.password_hash = await passwords.hash_async(password)
                await session.commit()
            return _user(row)

    async def issue_token(self, user: User, purpose: str, ttl: float) -> IssuedToken:
        if purpose not in PURPOSES:
            raise AccountError(f"token purpose must be one of {', '.join(PURPOSES)}, got {purpose!r}")
        if ttl <= 0:
            raise AccountError(f"token lifetime must be > 0 seconds, got {ttl}")
        token = secrets.token_urlsafe(32)
        expires_at = utcnow() + timedelta(seconds=ttl)
        async with self.sessions() as session:
            if purpose == PASSWORD_RESET:  # only the newest reset mail works
                await session.execute(
                    delete(TokenRow).where(TokenRow.user_id == user.id, TokenRow.purpose == PASSWORD_RESET)
                )
            session.add(
                TokenRow(
                    user_id=user.id, purpose=purpose, token_hash=token_hash(token), expires_at=expires_at
                )
            )
            await session.commit()
        return IssuedToken(token, purpose, expires_at, user)

    async def user_for_token(self, token: str, purposes: tuple[str, ...] = BEARER) -> User | None:
        """The owner of a live token with one of `purposes`; expired tokens count as none."""
        async with self.sessions() as session:
            row = await session.scalar(
                select(UserRow)
                .join(TokenRow, TokenRow.user_id == UserRow.id)
                .where(
                    TokenRow.token_hash == token_hash(token),
                    TokenRow.purpose.in_(purposes),
                    TokenRow.expires_at > utcnow(),
                )
            )
            return _user(row) if row else None

    async def has_admin(self) -> bool:
        async with self.sessions() as session:
            return await session.scalar(select(UserRow.id).where(UserRow.is_admin).limit(1)) is not None

    async def redeem(self, token: str, purpose: str) -> User | None:
        """The owner of a live single-use token, which this spends; None for an unknown, used or
        expired one. Deleting the row is what spends it, so two requests cannot both win."""
        user = await self.user_for_token(token, (purpose,))
        if user is None:
            return None
        async with self.sessions() as session:
            spent = await session.execute(
                delete(TokenRow).where(TokenRow.token_hash == token_hash(token), TokenRow.purpose == purpose)
            )
            await session.commit()
        return user if _count(spent) else None

    async def revoke(self, token: str) -> bool:
        async with self.sessions() as session:
            result = await session.execute(delete(TokenRow).where(TokenRow.token_hash == token_hash(token)))
            await session.commit()
            return bool(_count(result))

    async def reset_password(self, token: str, new_password: str) -> User:
        """Set the password of a reset token's user and spend the token.

        Also ends the user's sessions and other reset tokens (whoever knew the old password
        is logged out); API tokens, which operators hand to programs, stay.
        """
        try:
            passwords.check_new(new_password)
        except passwords.PasswordRejected as exc:
            raise AccountError(str(exc)) from None
        user = await self.user_for_token(token, (PASSWORD_RESET,))
        if user is None:
            raise AccountError("the reset token is invalid, used or expired; request a new one")
        password_hash = await passwords.hash_async(new_password)
        async with self.sessions() as session:
            spent = await session.execute(
                delete(TokenRow).where(
                    TokenRow.token_hash == token_hash(token), TokenRow.purpose == PASSWORD_RESET
                )
            )
            if not _count(spent):  # another request spent it in the meantime
                raise AccountError("the reset token is invalid, used or expired; request a new one")
            row = await session.get_one(UserRow, user.id)
            row.password_hash = password_hash
            await session.execute(
                delete(TokenRow).where(
                    TokenRow.user_id == user.id, TokenRow.purpose.in_((SESSION, PASSWORD_RESET))
                )
            )
            await session.commit()
        return user

    async def delete_expired_tokens(
        self, *, batch: int = TOKEN_BATCH, pauses: tuple[float, ...] = RETRY_PAUSES
    ) -> int:
        """Delete expired tokens, `batch` rows per transaction, so a table of millions is never
        locked for long; a batch the database refuses (down, restarting, locked) is tried again
        after each of `pauses` seconds before the error goes on. How many went.

        Spent tokens (a used reset link, a revoked session) are deleted when they are spent, and
        an expired token never authenticates (`user_for_token`), whether or not this ran.
        """
        now, removed, after = utcnow(), 0, 0
        while True:
            # Walk the primary key upwards: each batch starts where the last ended, so it never
            # rescans the dead index entries the batches before it left (PostgreSQL until VACUUM).
            ids = (
                select(TokenRow.id)
                .where(TokenRow.id > after, TokenRow.expires_at <= now)
                .order_by(TokenRow.id)
                .limit(batch)
            )
            for pause in (*pauses, None):
                try:
                    async with self.sessions() as session, session.begin():
                        result = await session.execute(
                            delete(TokenRow).where(TokenRow.id.in_(ids)).returning(TokenRow.id)
                        )
                        gone = list(result.scalars())
                    break
                except (DBAPIError, OSError) as exc:
                    if pause is None or not _passing(exc):
                        raise
                    log.warning("deleting expired tokens: %s; trying again in %gs", exc, pause)
                    await asyncio.sleep(pause)
            removed += len(gone)
            if len(gone) < batch:
                return removed
            after = max(gone)
