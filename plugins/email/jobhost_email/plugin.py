"""Hook implementations of the email plugin."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from jobhost import Backoff, CleanupTarget, QueuePolicy, hookimpl
from jobhost_email import routes
from jobhost_email.alerts import EVENT, Flyer, alerts
from jobhost_email.config import SETTINGS, MailConfig
from jobhost_email.jobs import QUEUE, prune_ledger, send_email
from jobhost_email.ledger import Ledger
from jobhost_email.service import MailService
from jobhost_email.unsubscribe import Unsubscribe
from jobhost_email.watchlist import Watchlists

log = logging.getLogger("jobhost_email")

MIGRATIONS = Path(__file__).parent / "migrations"

# Registered before the host has settings; configured from them when the host starts.
mail = MailService()


@hookimpl
def register_settings(register):
    for setting in SETTINGS:
        register(setting)


@hookimpl
def register_queues(register):
    register(
        QueuePolicy(
            QUEUE,
            attempts=5,
            backoff=Backoff.exponential(10),
            concurrency=10,
            concurrency_env="EMAIL_WORKER_CONCURRENCY",
            timeout=60,
            rate_limit_env="EMAIL_RATE_LIMIT",
            search_fields=("to", "subject"),
            description="email delivery over SMTP",
        )
    )


@hookimpl
def register_tasks(register):
    register(send_email)


@hookimpl
def register_cleanup(register):
    # The cleanup plugin prunes the ledger with its hourly run; without it the ledger is kept.
    register(CleanupTarget("email delivery ledger", prune=prune_ledger))


@hookimpl
def register_routes(register):
    for handler in (
        routes.get_watchlist,
        routes.put_watchlist,
        routes.unsubscribe_link,
        routes.unsubscribe_one_click,
    ):
        register(handler)


@hookimpl
def register_admin_routes(register):
    register(routes.email_status)
    register(routes.email_test)


@hookimpl
def register_services(register):
    register("mail", mail)


@hookimpl
def register_migrations(register):
    register(MIGRATIONS)


@hookimpl
def startup(host):
    try:
        config = MailConfig.from_settings(host.settings)
    except ValueError as exc:
        mail.unavailable(str(exc))
        raise
    mail.configure(config, Ledger(host.db), host.enqueue)


@hookimpl
def handle_event(event, host):
    if event.name == EVENT:
        return announce(host, event.data, event.id)
    return None


async def announce(host, data, event_id=""):
    """Queue one deal alert for every user whose watchlist matches a deal of the flyer.

    Each alert's job id comes from the event and the user, so a delivery of the event that runs
    again (its handler is retried until it succeeds) finds the alerts it queued before; the
    ledger sends each alert's Message-ID once whatever happens to its jobs."""
    flyer = Flyer.from_event(data)
    unsubscribe = await Unsubscribe.of(host)
    watchlists = await Watchlists(host.db).subscribed()
    found = alerts(flyer, watchlists, unsubscribe, mail.config.sender_domain)
    for watchlist, message in found:
        kicker = send_email.kicker().with_labels(owner=str(watchlist.user_id))
        if event_id:
            kicker = kicker.with_task_id(alert_job_id(event_id, watchlist.user_id))
        await kicker.kiq(**message.as_kwargs())
    log.info("flyer %s: %d deal alerts queued for %d watchlists", flyer.flyer_id, len(found), len(watchlists))


def alert_job_id(event_id, user_id):
    """The send job of one event's alert to one user."""
    return f"{QUEUE}:{hashlib.sha256(f'{event_id}:{user_id}'.encode()).hexdigest()[:32]}"
