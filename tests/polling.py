"""Waiting in a test for something to come true, up to a deadline, rather than for a fixed time
(which a loaded machine outlasts)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any


async def until(predicate: Callable[[], Any], timeout: float = 10.0, every: float = 0.02) -> Any:
    """Poll `predicate` (plain or async) until it returns something truthy, and return that; fail
    after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        assert time.monotonic() < deadline, f"not true within {timeout}s"
        await asyncio.sleep(every)
