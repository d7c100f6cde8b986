"""The `mail` service: sends a message now (transactional mail such as a password reset) and
delivers a send job's message at most once (bulk mail through the `email-sending` queue).

Other plugins and the host reach it as `host.service("mail")`; failures are the plugin's
`TemporaryFailure` / `PermanentFailure`, which are `jobhost.RetryLater` / `jobhost.PermanentError`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from jobhost import RetryLater, ServiceUnavailable
from jobhost_email.config import MailConfig
from jobhost_email.jobs import SEND_TASK
from jobhost_email.ledger import Busy, Ledger
from jobhost_email.mail import Mail
from jobhost_email.smtp import Accepted, MailFailure, SmtpTransport, TemporaryFailure

log = logging.getLogger("jobhost_email")

# What the ledger's database raises when it is unreachable or broken.
LEDGER_ERRORS = (SQLAlchemyError, OSError)
# How long a try holds its message: longer than the queue's timeout (60 s) lets any try run.
CLAIM_SECONDS = 120.0
# A duplicate finding its message claimed checks back after at most this long.
BUSY_RETRY_SECONDS = 10.0


def _result(accepted: Accepted, *, already_sent: bool) -> dict[str, Any]:
    """A send job's JSON result."""
    return {
        "message_id": accepted.message_id,
        "recipients": list(accepted.recipients),
        "refused": accepted.refused,
        "reply": accepted.reply,
        "accepted_at": accepted.at.isoformat(),
        "already_sent": already_sent,
    }


class MailService:
    """Sends mail over SMTP and keeps the delivery ledger. The plugin configures it at startup."""

    def __init__(
        self,
        config: MailConfig | None = None,
        ledger: Ledger | None = None,
        enqueue: Callable[..., Awaitable[Any]] | None = None,
    ) -> None:
        self._config = config
        self._ledger = ledger
        self._enqueue = enqueue
        self._problem = "the email plugin has not started yet"

    def configure(
        self, config: MailConfig, ledger: Ledger, enqueue: Callable[..., Awaitable[Any]] | None = None
    ) -> None:
        """Settings, ledger, and `host.enqueue` for `send_or_queue`'s fallback."""
        self._config, self._ledger, self._enqueue = config, ledger, enqueue

    def unavailable(self, problem: str) -> None:
        """Refuse every call with `problem` (the plugin's settings are wrong)."""
        self._config = self._ledger = None
        self._problem = problem

    @property
    def config(self) -> MailConfig:
        if self._config is None:
            raise ServiceUnavailable(f"mail service: {self._problem}")
        return self._config

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            raise ServiceUnavailable(f"mail service: {self._problem}")
        return self._ledger

    def compose(
        self,
        to: str | Iterable[str],
        subject: str,
        text: str,
        html: str | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        unique: str | None = None,
    ) -> Mail:
        """A new message from the configured sender's domain; `InvalidMail` names a bad field.
        `unique` fixes its Message-ID (`<unique@domain>`), so composing it again is the same mail."""
        return Mail.compose(to, subject, text, html, headers, domain=self.config.sender_domain, unique=unique)

    async def send(
        self,
        to: str | Iterable[str],
        subject: str,
        text: str,
        html: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """Send a message now and return its Message-ID once the server has accepted it.

        Raises `TemporaryFailure` (try again later) or `PermanentFailure` (the server refused it),
        both carrying the server's reply, and `InvalidMail` for a bad field.
        """
        mail = self.compose(to, subject, text, html, headers)
        await self._send(mail, last_try=True)
        return mail.message_id

    async def send_or_queue(
        self,
        to: str | Iterable[str],
        subject: str,
        text: str,
        html: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """Send a message now; when the server cannot take it now (down, a timeout, a 4xx), queue
        the very same message on `email-sending`, whose retries deliver it. Returns its Message-ID.

        For mail a user waits for (a password reset): it arrives at once when the server is up,
        and soon after when it is not, and the caller's answer need not change.
        """
        mail = self.compose(to, subject, text, html, headers)
        try:
            await self._send(mail, last_try=False)
        except TemporaryFailure as failure:
            if self._enqueue is None:
                raise
            log.warning("message %s not sent now (%s); queued on %s", mail.message_id, failure, SEND_TASK)
            await self._enqueue(SEND_TASK, mail.as_kwargs())
        return mail.message_id

    async def deliver(self, mail: Mail, *, holder: str, last_try: bool) -> dict[str, Any]:
        """Send a queued message unless it was accepted already or another job is sending it.

        `holder` is the job delivering it (its retries may take over its claim); `last_try`
        says no retry follows a failure, so the ledger counts the message as failed.
        """
        try:
            earlier = await self.ledger.claim(mail.message_id, holder, CLAIM_SECONDS)
        except Busy as busy:
            wait = min(busy.seconds, BUSY_RETRY_SECONDS)
            raise RetryLater(
                f"another job is sending {mail.message_id} right now; checking back in {wait:.0f} s",
                delay=wait,
            ) from None
        except LEDGER_ERRORS as exc:
            # Without the ledger a send could repeat an accepted one: wait for it instead.
            raise RetryLater(f"delivery ledger unreachable, {mail.message_id} not sent: {exc}") from exc
        if earlier is not None:
            log.info("message %s was accepted already; not sending it again", mail.message_id)
            return _result(earlier, already_sent=True)
        try:
            accepted = await self._send(mail, holder=holder, last_try=last_try)
        except BaseException:
            # Shielded: a try cancelled by its timeout still lets go of the message.
            await asyncio.shield(self._release(mail.message_id, holder))
            raise
        return _result(accepted, already_sent=False)

    async def _release(self, message_id: str, holder: str) -> None:
        try:
            await self.ledger.release(message_id, holder)
        except LEDGER_ERRORS:
            log.exception("the claim on message %s could not be released; it lapses by itself", message_id)

    async def _send(self, mail: Mail, *, holder: str | None = None, last_try: bool) -> Accepted:
        try:
            async with SmtpTransport(self.config).connect() as smtp:
                accepted = await smtp.send(mail)
                await self._remember(accepted, holder)
        except MailFailure as failure:
            await self._note_failure(mail, failure, final=last_try or failure.permanent)
            raise
        return accepted

    async def _remember(self, accepted: Accepted, holder: str | None) -> None:
        try:
            await self.ledger.record_accepted(accepted, holder)
        except LEDGER_ERRORS:
            # The message is out: failing the job now would only send it again.
            log.exception(
                "message %s was accepted but could not be recorded; a retry of its job may resend it",
                accepted.message_id,
            )

    async def _note_failure(self, mail: Mail, failure: MailFailure, *, final: bool) -> None:
        try:
            await self.ledger.record_failure(mail, failure, final=final)
        except LEDGER_ERRORS:
            log.exception("the failure of message %s could not be recorded", mail.message_id)

    async def status(self, recent: int = 20) -> dict[str, Any]:
        """The server in use (no credentials), delivery counts and the latest failures."""
        config = self.config
        return {
            "server": config.server,
            "tls": config.tls,
            "sender": config.sender,
            **(await self.ledger.status(recent)),
        }
