"""The worker's shared-timer timeouts behave as asyncio.timeout does (jobhost/timeouts.py)."""

from __future__ import annotations

import asyncio
import time

import pytest

from jobhost.timeouts import Timeouts


async def test_a_block_past_its_deadline_raises_timeout_error() -> None:
    timeouts = Timeouts()
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with timeouts.after(0.05):
            await asyncio.sleep(5)
    assert 0.04 <= time.monotonic() - started < 1


async def test_a_block_that_ends_in_time_is_left_alone() -> None:
    timeouts = Timeouts()
    async with timeouts.after(0.2) as deadline:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)  # past the deadline: nothing may fire late
    assert not deadline.expired()
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_none_never_expires() -> None:
    async with Timeouts().after(None) as deadline:
        await asyncio.sleep(0.05)
    assert not deadline.expired()


async def test_tries_of_one_length_each_expire_at_their_own_deadline() -> None:
    """One timer serves the line: when the first try ends early, the timer moves to the next."""
    timeouts = Timeouts()
    ended: dict[str, float] = {}
    started = time.monotonic()

    async def run(name: str, delay: float, work: float) -> None:
        await asyncio.sleep(delay)
        try:
            async with timeouts.after(0.3):
                await asyncio.sleep(work)
        except TimeoutError:
            ended[name] = time.monotonic() - started

    await asyncio.gather(run("early", 0, 0.05), run("second", 0.1, 5), run("third", 0.2, 5))
    assert set(ended) == {"second", "third"}
    assert 0.38 <= ended["second"] < 0.55
    assert 0.48 <= ended["third"] < 0.65


async def test_code_that_catches_the_cancellation_inside_sees_expired() -> None:
    """As taskiq's run_task does: it returns every exception, cancellation included."""
    timeouts = Timeouts()
    caught = None
    async with timeouts.after(0.05) as deadline:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError as exc:
            caught = exc
    assert isinstance(caught, asyncio.CancelledError)
    assert deadline.expired()
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_a_cancel_from_outside_stays_a_cancellation() -> None:
    timeouts = Timeouts()
    entered = asyncio.Event()

    async def try_() -> None:
        async with timeouts.after(5):
            entered.set()
            await asyncio.sleep(5)

    task = asyncio.create_task(try_())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_cancel_from_outside_after_expiry_is_not_swallowed() -> None:
    """A shutdown's cancel that comes while the timeout's own is handled still cancels."""
    timeouts = Timeouts()

    async def try_() -> None:
        async with timeouts.after(0.05):
            try:
                await asyncio.sleep(5)
            finally:
                asyncio.current_task().cancel()  # type: ignore[union-attr]
                await asyncio.sleep(0)

    with pytest.raises(asyncio.CancelledError):
        await asyncio.create_task(try_())
