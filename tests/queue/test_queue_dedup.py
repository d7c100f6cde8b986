"""Deduplication by `unique_key` (until the job ends, or for a TTL), debounce, caller-chosen ids.
In both modes."""

from __future__ import annotations

import asyncio

import pytest

from jobhost.queue import JobInputError
from jobhost.queue.errors import IdempotencyKeyReused
from jobhost.worker import running_worker
from tests.queue.queue_support import runs


async def test_a_unique_key_answers_the_live_job_until_it_ends(host):
    first = await host.enqueue("t-basic.add", {"a": 1, "b": 1}, unique_key="sum")
    again = await host.enqueue("t-basic.add", {"a": 5, "b": 5}, unique_key="sum")
    other = await host.enqueue("t-basic.add", {"a": 1, "b": 1}, unique_key="other")
    assert again.id == first.id and again.kwargs == {"a": 1, "b": 1}
    assert other.id != first.id
    async with running_worker(host, ["t-basic"]):
        assert (await host.engine.wait(first.id, timeout=10)).result == 2
    later = await host.enqueue("t-basic.add", {"a": 2, "b": 2}, unique_key="sum")
    assert later.id != first.id and later.state == "waiting"  # the ended job let go of the key


async def test_a_unique_ttl_holds_the_key_after_the_job_ends(host):
    first = await host.enqueue("t-basic.add", {"a": 1, "b": 1}, unique_key="once-a-second", unique_ttl=1)
    async with running_worker(host, ["t-basic"]):
        await host.engine.wait(first.id, timeout=10)
    again = await host.enqueue("t-basic.add", {"a": 1, "b": 1}, unique_key="once-a-second", unique_ttl=1)
    assert (again.id, again.state) == (first.id, "completed")
    await asyncio.sleep(1.2)
    fresh = await host.enqueue("t-basic.add", {"a": 1, "b": 1}, unique_key="once-a-second", unique_ttl=1)
    assert fresh.id != first.id


async def test_debounce_replaces_the_waiting_jobs_kwargs_and_delay(host):
    options = {"unique_key": "settle", "debounce": True}
    first = await host.enqueue("t-basic.add", {"a": 1, "b": 0}, delay=0.5, **options)
    await asyncio.sleep(0.3)
    last = await host.enqueue("t-basic.add", {"a": 3, "b": 0}, delay=0.5, **options)
    assert last.id == first.id and last.kwargs == {"a": 3, "b": 0}
    assert last.run_at > first.run_at  # the delay starts again
    async with running_worker(host, ["t-basic"]):
        done = await host.engine.wait(first.id, timeout=10)
        running = await host.enqueue("t-basic.add", {"a": 9, "b": 9}, **options)
    assert (done.state, done.result) == ("completed", 3)
    assert len(await runs(host, first.id)) == 1
    assert running.id != first.id  # the key went with the ended job


async def test_a_caller_chosen_job_id_is_kept_and_not_enqueued_twice(host):
    first = await host.engine.enqueue("t-basic.add", {"a": 1, "b": 1}, job_id="t-basic:feedc0de")
    again = await host.engine.enqueue("t-basic.add", {"a": 2, "b": 2}, job_id="t-basic:feedc0de")
    assert first.id == again.id == "t-basic:feedc0de" and again.kwargs == {"a": 1, "b": 1}
    assert (await host.engine.counts("t-basic"))["waiting"] == 1
    with pytest.raises(JobInputError, match="job id must be 't-basic:<hex digits>'"):
        await host.engine.enqueue("t-basic.noop", job_id="t-lease:feedc0de")


async def test_dedup_options_are_checked(host):
    with pytest.raises(JobInputError, match="need a unique_key"):
        await host.enqueue("t-basic.noop", debounce=True)
    with pytest.raises(JobInputError, match="unique_ttl must be seconds >= 1"):
        await host.enqueue("t-basic.noop", unique_key="k", unique_ttl=0)
    with pytest.raises(JobInputError, match="unique_key must be a non-empty string"):
        await host.enqueue("t-basic.noop", unique_key="")


async def test_an_idempotency_key_returns_the_first_job_of_its_owner_even_after_it_ended(host):
    ann = {"owner": "ann", "idempotency_key": "req-1"}
    first = await host.enqueue("t-basic.add", {"a": 1, "b": 1}, **ann)
    again = await host.enqueue("t-basic.add", {"a": 1, "b": 1}, **ann)
    bobs = await host.enqueue("t-basic.add", {"a": 1, "b": 1}, owner="bob", idempotency_key="req-1")
    assert again.id == first.id and bobs.id != first.id
    with pytest.raises(IdempotencyKeyReused, match="'req-1' was used for another request"):
        await host.enqueue("t-basic.add", {"a": 2, "b": 1}, **ann)
    async with running_worker(host, ["t-basic"]):
        await host.engine.wait(first.id, timeout=10)
    after = await host.enqueue("t-basic.add", {"a": 1, "b": 1}, **ann)
    assert (after.id, after.state) == (first.id, "completed")
    assert (await host.engine.counts("t-basic"))["completed"] == 2


async def test_an_idempotency_key_is_checked(host):
    with pytest.raises(JobInputError, match="idempotency_key or unique_key"):
        await host.enqueue("t-basic.add", {"a": 1, "b": 1}, idempotency_key="k", unique_key="u")
    with pytest.raises(JobInputError, match="1-255 characters"):
        await host.enqueue("t-basic.add", {"a": 1, "b": 1}, idempotency_key="")
