"""The batcher a worker records its successes with: batches up to a cap, a bounded number of calls
in flight, each caller its own answer (or its batch's error)."""

from __future__ import annotations

import asyncio

import pytest

from jobhost.queue.batch import Batcher


async def test_batches_stay_under_the_cap_with_at_most_two_calls_in_flight():
    batches: list[list[int]] = []
    in_flight = most = 0

    async def send(items):
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        batches.append(list(items))
        await asyncio.sleep(0.01)
        in_flight -= 1
        return [item * 2 for item in items]

    batcher = Batcher(send, lanes=2, max_batch=10)
    answers = await asyncio.gather(*(batcher(n) for n in range(95)))
    assert answers == [n * 2 for n in range(95)]
    assert most == 2 and max(len(b) for b in batches) == 10
    assert sorted(n for b in batches for n in b) == list(range(95))  # each sent once
    await batcher.settled(1.0)


async def test_a_failed_call_fails_only_its_own_batch():
    async def send(items):
        await asyncio.sleep(0)
        if 3 in items:
            raise ConnectionError("Redis went away")
        return list(items)

    batcher = Batcher(send, max_batch=4)
    results = await asyncio.gather(*(batcher(n) for n in range(8)), return_exceptions=True)
    assert results[4:] == [4, 5, 6, 7]
    assert all(isinstance(r, ConnectionError) for r in results[:4])
    with pytest.raises(ConnectionError, match="went away"):
        await batcher(3)
