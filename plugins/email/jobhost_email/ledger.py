"""The delivery ledger: which messages the SMTP server accepted, which are being sent right now,
and which tries failed and why.

A send job claims its Message-ID and looks it up here before it connects, and records the
server's acceptance before it quits the connection and lets its job finish, so neither a retry
nor a concurrent duplicate of the job sends the message twice. The same rows give the admin
status its counts and recent failures.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Delete, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from jobhost_email.mail import Mail
from jobhost_email.smtp import Accepted, MailFailure
from jobhost_email.tables import claims, deliveries, failures, touched


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every moment stored here is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _accepted(row: Any) -> Accepted:
    return Accepted(
        message_id=row.message_id,
        recipients=tuple(row.recipients),
        refused=dict(row.refused),
        reply=row.reply,
        at=_aware(row.accepted_at),
    )


def _unclaim(message_id: str, holder: str) -> Delete:
    return delete(claims).where(claims.c.message_id == message_id).where(claims.c.holder == holder)


class Busy(Exception):
    """Another job is sending the message right now; its claim runs `seconds` more."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"claimed by another job for {seconds:.0f} s more")
        self.seconds = seconds


class Ledger:
    """The ledger on the host's database: `Ledger(host.db)`, or any async session factory."""

    def __init__(self, sessions: Callable[[], AsyncSession]) -> None:
        self._sessions = sessions

    async def claim(self, message_id: str, holder: str, seconds: float) -> Accepted | None:
        """The message's acceptance if it went out already; else claim it for the job `holder`
        for `seconds` and return None. A lapsed claim, or the holder's own, is taken over;
        `Busy` when another job's claim still runs. One transaction in the usual case."""
        now = datetime.now(UTC)
        until = now + timedelta(seconds=seconds)
        try:
            async with self._sessions() as session, session.begin():
                taken = await session.execute(
                    update(claims)
                    .where(claims.c.message_id == message_id)
                    .where(or_(claims.c.holder == holder, claims.c.until < now))
                    .values(holder=holder, until=until)
                )
                if not touched(taken):
                    await session.execute(
                        insert(claims).values(message_id=message_id, holder=holder, until=until)
                    )
                # Looked up only now, claim in hand: a try that held the message before us has
                # committed its acceptance by the time our claim went through.
                done = (
                    await session.execute(select(deliveries).where(deliveries.c.message_id == message_id))
                ).first()
                if done is not None:
                    await session.execute(_unclaim(message_id, holder))
                    return _accepted(done)
            return None
        except IntegrityError:
            pass  # another job holds it
        async with self._sessions() as session:
            held = await session.scalar(select(claims.c.until).where(claims.c.message_id == message_id))
        # Released between our statements: call it a moment's wait rather than loop.
        raise Busy(max((_aware(held) - now).total_seconds(), 0.0) if held else 0.0)

    async def release(self, message_id: str, holder: str) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(_unclaim(message_id, holder))

    async def accepted(self, message_id: str) -> Accepted | None:
        """The server's acceptance of this message, if an earlier try got one."""
        async with self._sessions() as session:
            row = (
                await session.execute(select(deliveries).where(deliveries.c.message_id == message_id))
            ).first()
        return None if row is None else _accepted(row)

    async def record_accepted(self, accepted: Accepted, holder: str | None = None) -> None:
        """Remember that the server took the message (and let go of `holder`'s claim on it);
        a second record of it changes nothing."""
        try:
            async with self._sessions() as session, session.begin():
                if holder is not None:
                    await session.execute(_unclaim(accepted.message_id, holder))
                await session.execute(
                    insert(deliveries).values(
                        message_id=accepted.message_id,
                        recipients=list(accepted.recipients),
                        refused=accepted.refused,
                        reply=accepted.reply,
                        accepted_at=accepted.at,
                    )
                )
        except IntegrityError:
            pass  # a concurrent try recorded it first: the message went out once either way

    async def record_failure(self, mail: Mail, failure: MailFailure, *, final: bool) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                insert(failures).values(
                    message_id=mail.message_id,
                    recipients=list(mail.envelope_recipients),
                    reply=failure.reply,
                    permanent=failure.permanent,
                    final=final,
                    failed_at=datetime.now(UTC),
                )
            )

    async def status(self, recent: int = 20) -> dict[str, Any]:
        """Counts of accepted messages, given-up messages and failed tries, and the latest failures."""
        async with self._sessions() as session:
            sent = await session.scalar(select(func.count()).select_from(deliveries))
            failed = await session.scalar(select(func.count()).select_from(failures).where(failures.c.final))
            retried = await session.scalar(
                select(func.count()).select_from(failures).where(~failures.c.final)
            )
            rows = (
                await session.execute(
                    select(failures).order_by(failures.c.failed_at.desc(), failures.c.id.desc()).limit(recent)
                )
            ).all()
        return {
            "sent": sent,
            "failed": failed,
            "failed_tries": retried,
            "recent_failures": [
                {
                    "message_id": row.message_id,
                    "recipients": row.recipients,
                    "reply": row.reply,
                    "permanent": row.permanent,
                    "final": row.final,
                    "at": _aware(row.failed_at).isoformat(),
                }
                for row in rows
            ],
        }

    async def counts(self, start: datetime, end: datetime) -> dict[str, int]:
        """What happened to mail in `[start, end)`: messages the server accepted (`sent`), given up
        after their tries (`failed`), and refused for good by the server, a 5xx (`bounced`)."""
        at, given_up = failures.c.failed_at, failures.c.final
        async with self._sessions() as session:
            sent = await session.scalar(
                select(func.count())
                .select_from(deliveries)
                .where(deliveries.c.accepted_at >= start, deliveries.c.accepted_at < end)
            )
            found = await session.execute(
                select(failures.c.permanent, func.count())
                .where(given_up, at >= start, at < end)
                .group_by(failures.c.permanent)
            )
            given = {bool(permanent): n for permanent, n in found}
        return {"sent": sent or 0, "failed": given.get(False, 0), "bounced": given.get(True, 0)}

    async def prunable(self, before: datetime) -> int:
        """How many deliveries and failures `prune(before)` would forget."""
        async with self._sessions() as session:
            old = await session.scalar(
                select(func.count()).select_from(deliveries).where(deliveries.c.accepted_at < before)
            )
            old_failures = await session.scalar(
                select(func.count()).select_from(failures).where(failures.c.failed_at < before)
            )
        return int(old or 0) + int(old_failures or 0)

    async def prune(self, before: datetime) -> int:
        """Forget deliveries and failures older than `before`; how many rows went."""
        async with self._sessions() as session, session.begin():
            gone = await session.execute(delete(deliveries).where(deliveries.c.accepted_at < before))
            gone_failures = await session.execute(delete(failures).where(failures.c.failed_at < before))
            # Claims lapse within minutes; one left behind by a killed worker goes too.
            await session.execute(delete(claims).where(claims.c.until < before))
        return touched(gone) + touched(gone_failures)
