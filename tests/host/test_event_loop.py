"""The long-running processes run on uvloop where it is installed (a worker drains more per CPU
second on it: bench/throughput.py)."""

from __future__ import annotations

import asyncio

from jobhost import processes


def test_a_process_loop_is_uvloop_and_runs_the_coroutine_to_its_result():
    async def loop_kind() -> str:
        await asyncio.sleep(0)
        return type(asyncio.get_running_loop()).__module__

    assert processes.run(loop_kind()).startswith("uvloop")
