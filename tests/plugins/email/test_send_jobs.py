"""Send jobs on the real queue: `jobhost worker` processes, the shared Redis, real SMTP servers."""

import asyncio
import itertools
import signal
import time
from datetime import UTC, datetime, timedelta

import attrs
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


@attrs.frozen
class Try:
    """One try of a job, from its state events. An event's id is Redis's clock when it was
    written; an `active` event's `at` is the start booked for the try, which may be later than
    its claim (claim.lua books rate-limited starts ahead)."""

    worker: str
    waiting: float  # since when it could be claimed
    claimed: float
    started: float
    ended: float


async def tries(host, job_id: str) -> list[Try]:
    states = [
        (int(i.split("-")[0]) / 1000, e) async for i, e in host.engine.events(job_id) if e["type"] == "state"
    ]
    ran, waiting = [], 0.0
    for (at, event), (ended, _) in itertools.pairwise(states):
        if event["state"] == "waiting":
            waiting = at
        elif event["state"] == "active":
            ran.append(Try(event["worker"], waiting, at, event["at"] / 1000, ended))
    return ran


def wasted(ran: list[Try], count: int, per: float, slots: int, react: float) -> float:
    """Seconds during which a job could have started and none did: one was waiting, a worker that
    was up (it had claimed a job) had a free slot (a try holds one from its claim to its end), and
    fewer than `count` tries had started in the last `per` seconds. A worker is given `react`
    seconds to notice a new job or a freed slot: booking ahead saves the wait for a place, not a
    busy process's wake-up."""
    up = {t.worker: min(u.claimed for u in ran if u.worker == t.worker) for t in ran}
    edges = sorted(
        {x for t in ran for x in (t.waiting + react, t.claimed, t.started, t.started + per, t.ended + react)}
    )

    def could_start(now: float) -> bool:
        return (
            any(t.waiting + react <= now < t.claimed for t in ran)
            and sum(1 for t in ran if now - per < t.started <= now) < count
            and any(
                since <= now
                and sum(1 for t in ran if t.worker == w and t.claimed <= now < t.ended + react) < slots
                for w, since in up.items()
            )
        )

    return sum(b - a for a, b in itertools.pairwise(edges) if could_start(a))


async def test_the_rate_limit_holds_across_two_worker_processes(stack):
    count, per, total, concurrency = 20, 1.0, 120, 10
    s = await stack(env={"EMAIL_RATE_LIMIT": f"{count}/s", "EMAIL_WORKER_CONCURRENCY": str(concurrency)})
    jobs = [await s.host.enqueue(SEND_TASK, message(s, subject=f"n{n}").as_kwargs()) for n in range(total)]
    s.start_worker()
    s.start_worker()
    done = [await s.wait(job.id, timeout=120) for job in jobs]

    assert all(j.state == "completed" for j in done)
    assert len(s.smtp.received) == total
    ran = [t for j in done for t in await tries(s.host, j.id)]  # a retried job's tries all count
    assert len({t.worker for t in ran}) == 2, "both worker processes should have sent mail"
    starts = sorted(t.started for t in ran)
    busiest = max(sum(1 for t in starts[i:] if t < start + per) for i, start in enumerate(starts))
    pace = (len(starts) - count) / (starts[-1] - starts[count - 1])
    lost = wasted(ran, count, per, concurrency, react=0.05)
    print(
        f"\nrate limit {count}/{per:g}s, {total} messages, 2 workers: {pace:.2f}/s, "
        f"busiest window {busiest}, {lost:.3f}s lost"
    )
    assert busiest <= count
    # Starts are booked ahead (claim.lua), so a worker slow to come back for the next place costs
    # no pace: the pace is the rate limit's, or all the workers can do (as on a loaded machine,
    # where each send takes longer, or a job waits for its retry). Never less.
    assert lost <= 0.01, f"for {lost:.3f}s a job waited while a slot and a place were free"
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
