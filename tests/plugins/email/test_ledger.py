"""The delivery ledger on real SQLite and PostgreSQL, and its migration against its tables."""

import asyncio
import importlib
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from jobhost_email.ledger import Busy
from jobhost_email.mail import Mail
from jobhost_email.smtp import Accepted, PermanentFailure, TemporaryFailure
from jobhost_email.tables import metadata

both_databases = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


def accepted(message_id="<1@example.com>", at=None):
    return Accepted(
        message_id=message_id,
        recipients=("ann@example.com",),
        refused={"gone@example.com": "550 5.1.1 user unknown"},
        reply="2.0.0 OK: queued as 4F2A",
        at=at or datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
    )


def mail():
    return Mail.compose("ann@example.com", "Deals", "Body", domain="example.com")


@both_databases
async def test_an_acceptance_reads_back_as_recorded(ledger):
    assert await ledger.accepted("<1@example.com>") is None
    await ledger.record_accepted(accepted())
    assert await ledger.accepted("<1@example.com>") == accepted()


@both_databases
async def test_recording_the_same_acceptance_twice_keeps_the_first(ledger):
    await ledger.record_accepted(accepted())
    await ledger.record_accepted(accepted(at=datetime(2026, 3, 2, tzinfo=UTC)))
    assert (await ledger.accepted("<1@example.com>")).at == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert (await ledger.status())["sent"] == 1


@both_databases
async def test_status_counts_sent_failed_and_retried_with_the_latest_failures_first(ledger):
    await ledger.record_accepted(accepted())
    first, second = mail(), mail()
    await ledger.record_failure(first, TemporaryFailure("smtp:25", "451 4.3.0 busy", 451), final=False)
    await ledger.record_failure(
        second, PermanentFailure("smtp:25", "550 5.1.1 user unknown", 550), final=True
    )

    status = await ledger.status(recent=5)
    assert (status["sent"], status["failed"], status["failed_tries"]) == (1, 1, 1)
    latest, earlier = status["recent_failures"]
    assert latest["message_id"] == second.message_id
    assert latest["reply"] == "550 5.1.1 user unknown"
    assert latest["permanent"] is True and latest["final"] is True
    assert latest["recipients"] == ["ann@example.com"]
    assert earlier["reply"] == "451 4.3.0 busy" and earlier["permanent"] is False
    assert datetime.fromisoformat(latest["at"]).tzinfo is not None
    assert len((await ledger.status(recent=1))["recent_failures"]) == 1


@both_databases
async def test_counts_of_a_period_sent_given_up_and_bounced(ledger):
    now = datetime.now(UTC)
    await ledger.record_accepted(accepted("<in@example.com>", at=now))
    await ledger.record_accepted(accepted("<before@example.com>", at=now - timedelta(days=2)))
    busy, gone, dropped = mail(), mail(), mail()
    await ledger.record_failure(busy, TemporaryFailure("smtp:25", "451 4.3.0 busy", 451), final=False)
    await ledger.record_failure(busy, TemporaryFailure("smtp:25", "451 4.3.0 busy", 451), final=True)
    await ledger.record_failure(gone, PermanentFailure("smtp:25", "550 5.1.1 user unknown", 550), final=True)
    await ledger.record_failure(dropped, PermanentFailure("smtp:25", "554 5.7.1 spam", 554), final=True)
    today = (now - timedelta(hours=1), now + timedelta(hours=1))
    # a try that is retried is no failure yet; a 5xx is a bounce
    assert await ledger.counts(*today) == {"sent": 1, "failed": 1, "bounced": 2}
    assert await ledger.counts(now - timedelta(days=3), now - timedelta(days=1)) == {
        "sent": 1,
        "failed": 0,
        "bounced": 0,
    }


@both_databases
async def test_prune_forgets_only_what_is_older_than_the_cutoff(ledger):
    now = datetime.now(UTC)
    await ledger.record_accepted(accepted("<old@example.com>", at=now - timedelta(days=40)))
    await ledger.record_accepted(accepted("<new@example.com>", at=now))
    assert await ledger.prune(now - timedelta(days=30)) == 1
    assert await ledger.accepted("<old@example.com>") is None
    assert await ledger.accepted("<new@example.com>") is not None


@both_databases
async def test_the_migration_builds_exactly_the_ledgers_tables(database_url):
    migration = importlib.import_module("jobhost_email.migrations.email_0001_initial")
    engine = create_async_engine(database_url)

    def migrate_and_compare(connection):
        context = MigrationContext.configure(connection)
        with Operations.context(context):
            migration.upgrade()
        return compare_metadata(context, metadata)

    try:
        async with engine.begin() as conn:
            assert await conn.run_sync(migrate_and_compare) == []
    finally:
        await engine.dispose()


@both_databases
async def test_a_claim_keeps_other_jobs_out_until_released_or_lapsed(ledger):
    assert await ledger.claim("<m@example.com>", "job-a", 60) is None
    # The holder's own retry takes its claim over; another job is told how long to wait.
    assert await ledger.claim("<m@example.com>", "job-a", 60) is None
    with pytest.raises(Busy) as busy:
        await ledger.claim("<m@example.com>", "job-b", 60)
    assert 50 < busy.value.seconds <= 60
    await ledger.release("<m@example.com>", "job-b")  # not the holder: changes nothing
    with pytest.raises(Busy):
        await ledger.claim("<m@example.com>", "job-b", 60)
    await ledger.release("<m@example.com>", "job-a")
    assert await ledger.claim("<m@example.com>", "job-b", 0.2) is None
    await asyncio.sleep(0.3)
    assert await ledger.claim("<m@example.com>", "job-c", 60) is None  # job-b's claim lapsed


@both_databases
async def test_an_accepted_message_is_not_claimed_again_and_its_claim_is_let_go(ledger):
    assert await ledger.claim("<1@example.com>", "job-a", 60) is None
    await ledger.record_accepted(accepted(), "job-a")
    assert await ledger.claim("<1@example.com>", "job-b", 60) == accepted()
    assert await ledger.prune(datetime.now(UTC) + timedelta(days=1)) == 1
    assert await ledger.claim("<1@example.com>", "job-b", 60) is None
