"""Making a report: gather a period's facts, queue history and mail counts, store the report, and
mail it to the admins once its period is over.

A report is a pure function of what is recorded, so making it again replaces it with the same
figures (plus what happened since, for a period still in progress) and counts nothing twice.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any

from jobhost import Host, ServiceUnavailable
from jobhost_analytics.figures import figures
from jobhost_analytics.letter import letter
from jobhost_analytics.periods import Period
from jobhost_analytics.records import Records, Report
from jobhost_analytics.summary import summarize

log = logging.getLogger("jobhost_analytics")

MAIL_SERVICE = "mail"
SEND_TASK = "email.send_email"
# Where the dashboard shows one report (see host/jobhost/http/dashboard/pages.py).
REPORT_PAGE = "/api/admin/jobs/reports/{kind}/{period}"


def _mailer(host: Host) -> Any | None:
    return host.registry.services.get(MAIL_SERVICE)


async def _emails(host: Host, period: Period) -> dict[str, int] | None:
    mailer = _mailer(host)
    if mailer is None:
        return None
    try:
        counts: dict[str, int] = await mailer.ledger.counts(period.start, period.end)
    except ServiceUnavailable as exc:
        log.warning("analytics: %s report %s has no mail figures: %s", period.kind, period.key, exc)
        return None
    return counts


async def make(host: Host, period: Period, now: datetime) -> Report:
    """The period's report as of `now`, stored in place of any earlier one."""
    records = Records(host.db)
    start, end = period.start, period.end
    queues = {
        name: await host.queue_history(name, start.date(), period.days)
        for name in sorted(host.registry.queues)
    }
    summary = summarize(await records.facts(start, end))
    report = Report.of(
        period, figures(summary, await records.uploads(start, end), queues, await _emails(host, period)), now
    )
    await records.save(report)
    return report


async def mail_admins(host: Host, report: Report) -> list[str]:
    """Queue the report's mail to every admin on `email-sending`; the job ids. Nothing without the
    email plugin. Each admin's mail of a report has one Message-ID, so mailing it again (a re-run)
    is recognised by the mail ledger and not sent twice."""
    mailer = _mailer(host)
    if mailer is None:
        return []
    try:
        base_url = mailer.config.base_url
    except ServiceUnavailable as exc:  # the email plugin's settings are wrong: it says so at startup
        log.warning("analytics: %s report %s not mailed: %s", report.kind, report.period, exc)
        return []
    link = base_url + REPORT_PAGE.format(kind=report.kind, period=report.period)
    subject, text, html = letter(report.as_dict(), link)
    jobs = []
    for admin in await host.admins():
        identity = hashlib.sha256(f"{report.kind}:{report.period}:{admin.id}".encode()).hexdigest()[:32]
        mail = mailer.compose(admin.email, subject, text, html, unique=f"analytics-report.{identity}")
        jobs.append((await host.enqueue(SEND_TASK, mail.as_kwargs())).id)
    return jobs
