"""What packing a worker's batch call costs: redis-py's Python packer against the engine's (hiredis).

    python bench/packing.py [--jobs 10]

The call is the one a worker makes as its jobs end: `claim_complete` with `--jobs` completions
(four arguments each) and the claim of as many jobs. Prints µs per call for both packers, in
this process, and their ratio; no Redis needed.
"""

from __future__ import annotations

import argparse
import timeit

import redis.asyncio as aioredis

from jobhost.queue.connection import _packed_in_c


def batch_call(jobs: int) -> list[object]:
    args: list[object] = ["EVALSHA", "f" * 40, 1, "jobhost:{bench}:", 7]
    args += ["host:1234:ab12", jobs, 30000, "", "", "", "busy", 1000, 3600]
    for i in range(jobs):
        args += [f"bench:{i:016x}", f"1796184549372-{i}", "null", ""]
    return args


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10, help="completions in the call (default 10)")
    args = batch_call(parser.parse_args().jobs)
    plain = aioredis.Connection()
    packed = _packed_in_c(aioredis.Connection)()
    assert b"".join(plain.pack_command(*args)) == b"".join(packed.pack_command(*args))
    seconds = {}
    for name, connection in (("redis-py", plain), ("jobhost", packed)):
        runs = timeit.repeat(lambda c=connection: c.pack_command(*args), number=2000, repeat=7)
        seconds[name] = min(runs) / 2000
        print(f"{name}: {seconds[name] * 1e6:.1f} µs to pack a call of {len(args)} arguments")
    print(f"jobhost / redis-py: {seconds['jobhost'] / seconds['redis-py']:.2f}")


if __name__ == "__main__":
    main()
