"""The deployment's secret keys, for signing what is mailed out (unsubscribe links, tokens).

`JOBHOST_SECRET_KEY` wins when it is set. Without it the first process that needs a key
generates one and stores it in the database, where every process of the deployment (API,
workers, scheduler) finds the same one. `jobhost secret rotate` adds a new key: the newest
signs, the older ones still verify, so links already sent keep working.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

import attrs
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from jobhost.store.models import SecretKeyRow

log = logging.getLogger("jobhost")


@attrs.frozen
class SecretKeys:
    """`signing` signs; a signature made with any of `verifying` (signing first) is good."""

    signing: str
    verifying: tuple[str, ...]


class KeyStore:
    """The generated keys in the host's database: `KeyStore(host.db)`."""

    def __init__(self, sessions: Callable[[], AsyncSession]) -> None:
        self._sessions = sessions

    async def stored(self) -> list[str]:
        """Every stored key, newest first."""
        async with self._sessions() as session:
            rows = await session.scalars(select(SecretKeyRow.key).order_by(SecretKeyRow.id.desc()))
            return list(rows)

    async def add(self) -> int:
        """Store a new key that signs from now on; the number it has. Two processes racing
        each store one of their own, one after the other."""
        while True:
            try:
                async with self._sessions() as session, session.begin():
                    newest = await session.scalar(select(func.max(SecretKeyRow.id)))
                    number = (newest or 0) + 1
                    session.add(SecretKeyRow(id=number, key=secrets.token_urlsafe(32)))
                return number
            except IntegrityError:
                continue  # another process took that number: take the next

    async def keys(self, explicit: str | None) -> SecretKeys:
        """The keys to sign and verify with: `explicit` (JOBHOST_SECRET_KEY) signs when set;
        else the newest stored key, the first one generated now if there is none."""
        stored = await self.stored()
        if explicit:
            return SecretKeys(explicit, (explicit, *stored))
        if not stored:
            stored = await self._first()
        return SecretKeys(stored[0], tuple(stored))

    async def _first(self) -> list[str]:
        try:
            async with self._sessions() as session, session.begin():
                session.add(SecretKeyRow(id=1, key=secrets.token_urlsafe(32)))
        except IntegrityError:
            pass  # another process generated it first: use theirs
        else:
            log.warning(
                "JOBHOST_SECRET_KEY is unset: generated a secret key and stored it in the database "
                "(table secret_keys), where every process of this deployment finds it; rotate it with "
                "`jobhost secret rotate`, or set JOBHOST_SECRET_KEY to use your own"
            )
        return await self.stored()
