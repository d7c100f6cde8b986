"""Send jobs on the real queue: `jobhost worker` processes, the shared Redis, real SMTP servers."""

import asyncio
import signal
import time
from datetime import UTC, datetime, timedelta

import pytest

from jobhost_email.jobs import SEND_TASK, prune_ledger
from tests.plugins.email.conftest import DROP

pytestmark = pytest.mark.slow


def message(stack, to="ann@example.com", subject="Deals"):
    return stack.host.service("mail").compose(to, subject, "Plain body", "<p>HTML body</p>")


async def test_a_queued_message_is_delivered_once_with_both_parts(stack):
    s = await stack()
    s.start_worker()
    mail = message(s)
    job = await s.host.enqueue(SEND_TASK, mail.as_kwargs())
    done = await s.wait(job.id)

    assert done.state == "completed", done.errors
    assert done.result["message_id"] == mail.message_id
    assert done.result["already_sent"] is False
    [got] = s.smtp.received
    assert got.message["Message-ID"] == mail.message_id
    assert [p.get_content_type() for p in got.message.iter_parts()] == ["text/plain", "text/html"]


async def test_a_4xx_is_retried_after_the_queues_backoff_with_the_same_message(stack):
    s = await stack(data_answers=("451 4.7.1 Greylisted, try again later",))
    s.start_worker()
    mail = message(s)
    done = await s.wait((await s.host.enqueue(SEND_TASK, mail.as_kwargs())).id, timeout=90)

    assert (done.state, done.attempt) == ("completed", 2)
    [failure] = done.errors
    assert "451 4.7.1 Greylisted, try again later" in failure.error
    # email-sending backs off 10 s after the first failed try.
    waited = (done.started_at - failure.at).total_seconds()
    assert 9.5 <= waited <= 30, waited
    assert s.smtp.handler.data_tries == 2
    assert [r.message["Message-ID"] for r in s.smtp.received] == [mail.message_id]


async def test_a_5xx_goes_to_the_dead_set_at_once_with_the_servers_reply(stack):
    s = await stack(refuse={"gone@example.com": "550 5.1.1 <gone@example.com>: user unknown"})
    s.start_worker()
    done = await s.wait((await s.host.enqueue(SEND_TASK, message(s, "gone@example.com").as_kwargs())).id)

    assert (done.state, done.attempt) == ("dead", 1)
    assert "550 5.1.1 <gone@example.com>: user unknown" in done.errors[0].error
    status = await s.host.service("mail").status()
    assert status["failed"] == 1
    assert "550 5.1.1" in status["recent_failures"][0]["reply"]


async def test_a_message_edited_into_nonsense_goes_dead_naming_the_field(stack):
    s = await stack()
    s.start_worker()
    kwargs = {**message(s).as_kwargs(), "to": ["not an address"]}
    done = await s.wait((await s.host.enqueue(SEND_TASK, kwargs)).id)
    assert done.state == "dead"
    assert "mail field 'to'" in done.errors[0].error
    assert s.smtp.received == []


async def test_a_connection_dropped_after_data_is_retried_and_delivered_once(stack):
    s = await stack(data_answers=(DROP,))
    s.start_worker()
    done = await s.wait((await s.host.enqueue(SEND_TASK, message(s).as_kwargs())).id, timeout=90)
    assert (done.state, done.attempt) == ("completed", 2)
    assert "connection failed" in done.errors[0].error
    assert len(s.smtp.received) == 1


async def test_no_duplicate_when_the_worker_dies_after_the_server_accepted(stack):
    # The server takes the message and then hangs on QUIT; the worker is killed right there
    # (`jobhost worker`, its supervisor, and with it the worker process). Its heartbeat stops, a
    # second worker retries the job, finds the acceptance, sends nothing.
    s = await stack(quit_delay=120)
    first = s.start_worker()
    mail = message(s)
    job = await s.host.enqueue(SEND_TASK, mail.as_kwargs())
    assert await asyncio.to_thread(s.smtp.handler.quit_seen.wait, 60)
    first.send_signal(signal.SIGKILL)
    first.wait()
    s.start_worker()
    done = await s.wait(job.id, timeout=120)

    assert done.state == "completed"
    # the killed try is not counted (its worker might have run other mails beside it)
    assert done.attempt == 1 and "WorkerLost" in done.errors[0].error
    assert done.result["already_sent"] is True
    assert len(s.smtp.received) == 1


async def test_the_rate_limit_holds_across_two_worker_processes(stack):
    count, per, total = 20, 1.0, 120
    s = await stack(env={"EMAIL_RATE_LIMIT": f"{count}/s"})
    jobs = [await s.host.enqueue(SEND_TASK, message(s, subject=f"n{n}").as_kwargs()) for n in range(total)]
    s.start_worker()
    s.start_worker()
    done = [await s.wait(job.id, timeout=120) for job in jobs]

    assert all(j.state == "completed" for j in done)
    assert len(s.smtp.received) == total
    assert len({j.worker for j in done}) == 2, "both worker processes should have sent mail"
    starts = sorted(j.started_at.timestamp() for j in done)
    busiest = max(sum(1 for t in starts[i:] if t < start + per) for i, start in enumerate(starts))
    # The first `count` start as slots come free; each later one takes the place of the start
    # `count` before it, at least `per` later.
    pace = (total - count) / (starts[-1] - starts[count - 1])
    print(
        f"\nrate limit {count}/{per:g}s, {total} messages, 2 workers: {pace:.2f}/s, busiest window {busiest}"
    )
    assert busiest <= count
    # Starts are booked ahead (claim.lua), so a worker slow to come back for the next place,
    # as on a loaded machine, costs no pace; and no mail goes out before its booked start.
    assert 0.9 * count / per <= pace <= 1.1 * count / per
    started = {j.id: j.started_at.timestamp() for j in done}
    sent = {r.message["Subject"]: r.at for r in s.smtp.received}
    assert all(sent[f"n{n}"] >= started[job.id] for n, job in enumerate(jobs))


async def test_jobs_wait_for_the_rate_limit_rather_than_fail(stack):
    s = await stack(env={"EMAIL_RATE_LIMIT": "2/s"})
    s.start_worker()
    started = time.monotonic()
    jobs = [await s.host.enqueue(SEND_TASK, message(s).as_kwargs()) for _ in range(6)]
    done = [await s.wait(job.id) for job in jobs]
    assert [(j.state, j.attempt) for j in done] == [("completed", 1)] * 6
    assert time.monotonic() - started >= 2.0  # three windows of two


async def test_the_ledger_prune_target_forgets_only_rows_older_than_30_days(stack):
    s = await stack()
    s.start_worker()
    await s.wait((await s.host.enqueue(SEND_TASK, message(s).as_kwargs())).id)
    # The one delivery is minutes old, far younger than the 30 days kept.
    now = datetime.now(UTC)
    assert await prune_ledger(s.host, now, False) == 0
    assert await prune_ledger(s.host, now + timedelta(days=31), True) == 1  # a dry run counts it
    assert (await s.host.service("mail").status())["sent"] == 1
    assert await prune_ledger(s.host, now + timedelta(days=31), False) == 1
    assert (await s.host.service("mail").status())["sent"] == 0
