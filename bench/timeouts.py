"""What a try's timeout costs the worker: `asyncio.timeout` against jobhost's shared-timer one.

    python bench/timeouts.py [--tries 200000] [--concurrency 50]

Runs `--tries` no-op tries, `--concurrency` at a time as a worker's slots do, each inside a
timeout of one length (as a queue's): with no timeout (the baseline), with `asyncio.timeout` and
with `jobhost.timeouts.Timeouts.after`, twice over; prints what each timeout adds to a try (CPU µs
over the baseline, best of two) and the ratio of the two. Run it on asyncio's own loop (the
default) or with `--uvloop`.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any

from jobhost.timeouts import Timeouts


async def tries(n: int, concurrency: int, timeout: Callable[[], AbstractAsyncContextManager[Any]]) -> float:
    """CPU µs a try: `n` tries, `concurrency` at a time, each yielding once inside `timeout()`."""

    async def lane(count: int) -> None:
        for _ in range(count):
            async with timeout():
                await asyncio.sleep(0)

    started = time.process_time()
    await asyncio.gather(*(lane(n // concurrency) for _ in range(concurrency)))
    return (time.process_time() - started) / n * 1e6


async def main(args: argparse.Namespace) -> None:
    shared = Timeouts()
    kinds: dict[str, Callable[[], AbstractAsyncContextManager[Any]]] = {
        "none": nullcontext,
        "asyncio.timeout": lambda: asyncio.timeout(300),
        "Timeouts.after": lambda: shared.after(300),
    }
    cost: dict[str, list[float]] = {name: [] for name in kinds}
    for _ in range(2):
        for name, timeout in kinds.items():
            cost[name].append(await tries(args.tries, args.concurrency, timeout))
    base = min(cost.pop("none"))
    added = {name: min(each) - base for name, each in cost.items()}
    print(f"a try with no timeout: {base:.2f} µs of CPU")
    for name, extra in added.items():
        print(f"{name} adds {extra:.2f} µs a try")
    ratio = added["Timeouts.after"] / added["asyncio.timeout"]
    print(f"Timeouts.after / asyncio.timeout, what they add: {ratio:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tries", type=int, default=200_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--uvloop", action="store_true")
    args = parser.parse_args()
    if args.uvloop:
        import uvloop

        uvloop.run(main(args))
    else:
        asyncio.run(main(args))
