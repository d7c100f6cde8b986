"""The send job: one composed message per job, delivered at most once however often it is tried.

Kick it with the message's own fields, `await send_email.kiq(**mail.as_kwargs())`: the
Message-ID is fixed there, so every try sends the same message and the ledger recognises it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from taskiq import TaskiqDepends

import jobhost
from jobhost import Host, JobContext, PermanentError
from jobhost_email.ledger import Ledger
from jobhost_email.mail import InvalidMail, Mail

QUEUE = "email-sending"
SEND_TASK = "email.send_email"
# How long the ledger remembers a message: far longer than any job's retries, and a dead
# job's stay in the dead set (7 days), so a replay of an old job still finds its acceptance.
KEEP_LEDGER = timedelta(days=30)


@jobhost.task(SEND_TASK, queue=QUEUE)
async def send_email(
    ctx: Annotated[JobContext, TaskiqDepends()],
    message_id: str,
    to: list[str],
    subject: str,
    text: str,
    date: str,
    html: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Deliver one message over SMTP; a 4xx or a lost connection retries, a 5xx is final."""
    try:
        mail = Mail(
            message_id=message_id, to=to, subject=subject, text=text, date=date, html=html, headers=headers
        )
    except InvalidMail as exc:
        raise PermanentError(str(exc)) from None
    mailer = ctx.host.service("mail")
    return await mailer.deliver(mail, holder=ctx.job_id, last_try=ctx.attempt >= ctx.attempts)


async def prune_ledger(host: Host, now: datetime, dry_run: bool) -> int:
    """Forget ledger rows older than KEEP_LEDGER: the cleanup plugin's `email delivery ledger`
    target, run with its hourly cleanup.files (a dry run counts them)."""
    ledger = Ledger(host.db)
    return await (ledger.prunable if dry_run else ledger.prune)(now - KEEP_LEDGER)
