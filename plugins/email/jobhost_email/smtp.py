"""Talking to the SMTP server, and sorting its failures into passing and final ones.

A failure becomes `TemporaryFailure` (a `jobhost.RetryLater`: the queue's backoff retries it) or
`PermanentFailure` (a `jobhost.PermanentError`: straight to the dead set). Both carry the
server's reply, so the dead set and the admin status show what the server said.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from typing import ClassVar

import attrs
from aiosmtplib import (
    SMTP,
    SMTPException,
    SMTPNotSupported,
    SMTPRecipientsRefused,
    SMTPResponseException,
)

from jobhost import PermanentError, RetryLater
from jobhost_email.config import MailConfig
from jobhost_email.mail import Mail


class MailFailure(Exception):
    """The server refused the message or could not be reached; `reply` says what happened."""

    permanent: ClassVar[bool]

    def __init__(self, server: str, reply: str, code: int | None = None) -> None:
        super().__init__(f"SMTP server {server}: {reply}")
        self.reply = reply
        self.code = code


class TemporaryFailure(MailFailure, RetryLater):
    """Connection refused or dropped, a timeout, or a 4xx reply: a later try may succeed."""

    permanent = False


class PermanentFailure(MailFailure, PermanentError):
    """A 5xx reply (such as a refused recipient) or a setup the server rejects: no retry."""

    permanent = True


class RecipientRefused(PermanentFailure):
    """The server refused every recipient with a 5xx reply (a malformed or unknown mailbox): the
    address is at fault, not the server, and another address may well pass."""


def _untrusted_certificate(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """aiosmtplib wraps TLS errors in its own; find a certificate failure anywhere in the chain."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def classify(exc: SMTPException | OSError, server: str) -> MailFailure:
    """The failure an SMTP or network error stands for: 5xx and setup errors are permanent."""
    if isinstance(exc, SMTPRecipientsRefused):
        reply = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        # Retrying helps when at least one refusal is a 4xx (mailbox busy, greylisting).
        passing = [r.code for r in exc.recipients if not 500 <= r.code < 600]
        if passing:
            return TemporaryFailure(server, f"recipients refused: {reply}", passing[0])
        return RecipientRefused(server, f"recipients refused: {reply}", exc.recipients[0].code)
    if isinstance(exc, SMTPResponseException):
        failure = PermanentFailure if 500 <= exc.code < 600 else TemporaryFailure
        return failure(server, f"{exc.code} {exc.message}", exc.code)
    # aiosmtplib raises its bare base class only when the server lacks what the settings ask
    # for (STARTTLS, AUTH); SMTPNotSupported when it lacks SMTPUTF8 for a non-ASCII address.
    if isinstance(exc, SMTPNotSupported) or type(exc) is SMTPException:
        return PermanentFailure(
            server, f"{exc.message.rstrip('.')} (check SMTP_TLS, SMTP_USERNAME and the address)"
        )
    if (untrusted := _untrusted_certificate(exc)) is not None:
        return PermanentFailure(
            server, f"TLS certificate not trusted: {untrusted.verify_message} (see SMTP_CA_FILE)"
        )
    if isinstance(exc, TimeoutError):
        return TemporaryFailure(server, f"timed out: {exc}")
    return TemporaryFailure(server, f"connection failed: {exc}")


@attrs.frozen
class Accepted:
    """The server took the message for delivery (to at least one recipient)."""

    message_id: str
    recipients: tuple[str, ...]
    # Recipients the server refused while taking the message for the others: address → reply.
    refused: dict[str, str]
    reply: str
    at: datetime


class SmtpSession:
    """One open connection: send messages on it with `send`."""

    def __init__(self, client: SMTP, config: MailConfig) -> None:
        self._client = client
        self._config = config

    async def send(self, mail: Mail) -> Accepted:
        """Send `mail`; `Accepted` when the server took it, else `MailFailure`."""
        recipients = mail.envelope_recipients
        try:
            errors, reply = await self._client.send_message(
                mail.to_mime(self._config.sender),
                sender=self._config.sender_address,
                recipients=recipients,
            )
        except (SMTPException, OSError) as exc:
            raise classify(exc, self._config.server) from exc
        refused = {address: f"{answer.code} {answer.message}" for address, answer in errors.items()}
        return Accepted(
            message_id=mail.message_id,
            recipients=tuple(r for r in recipients if r not in refused),
            refused=refused,
            reply=reply,
            at=datetime.now(UTC),
        )


class SmtpTransport:
    """Opens connections to the configured server (TLS mode, login and timeouts from `MailConfig`)."""

    def __init__(self, config: MailConfig) -> None:
        self.config = config

    def _client(self) -> SMTP:
        config = self.config
        return SMTP(
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            use_tls=config.tls == "implicit",
            start_tls=config.tls == "starttls",
            cert_bundle=config.ca_file,
            timeout=config.timeout,
        )

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[SmtpSession]:
        """An open, logged-in connection; closed (politely, with QUIT, when all went well) on exit.

        The caller records an acceptance inside the block, before QUIT: a server that hangs or
        drops the line after taking the message must not make the message look unsent.
        """
        client = self._client()
        try:
            try:
                await client.connect(timeout=self.config.connect_timeout)
            except (SMTPException, OSError) as exc:
                raise classify(exc, self.config.server) from exc
            yield SmtpSession(client, self.config)
            # The messages are taken already; a failed goodbye changes nothing.
            with suppress(SMTPException, OSError):
                await client.quit()
        finally:
            client.close()
