"""The engine's client packs commands in C (hiredis) and sends what redis-py would have sent."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis
from redis.exceptions import DataError

from jobhost.queue.connection import _packed_in_c, _PackedInC, connect
from tests.queue.queue_support import make_settings

ARGUMENTS = [
    ("EVALSHA", "a" * 40, 1, "jobhost:{q}:", "w1", 10, 30000, "", "busy"),
    ("SET", "é ü 漢字", b"\x00\xff\r\n", 0, -5, 2**70),
    ("ZADD", "z", 0.1, "m", 1e20, "n", 1.0, "o", float("inf"), "p"),
    ("CONFIG GET", "maxmemory"),  # a name of two words: redis-py splits it
    ("SET", "k", memoryview(b"bytes")),
]


@pytest.mark.parametrize("args", ARGUMENTS, ids=lambda args: str(args[0]))
def test_commands_are_packed_byte_for_byte_as_redis_py_packs_them(args):
    plain = aioredis.Connection(decode_responses=True)
    packed = _packed_in_c(aioredis.Connection)(decode_responses=True)
    assert b"".join(packed.pack_command(*args)) == b"".join(plain.pack_command(*args))


@pytest.mark.parametrize("bad", [True, None, {"a": 1}])
def test_an_argument_redis_cannot_take_gets_redis_pys_error(bad):
    packed = _packed_in_c(aioredis.Connection)(decode_responses=True)
    with pytest.raises(DataError, match=f"Invalid input of type: '{type(bad).__name__}'"):
        packed.pack_command("SET", "k", bad)


@pytest.mark.parametrize("mode", ["redis", "sentinel"], indirect=True)
async def test_the_engine_client_packs_in_c_on_a_real_redis(mode, prefix, tmp_path):
    client = connect(make_settings(mode, prefix, tmp_path))
    key = f"{prefix}:packing"
    try:
        await client.set(key, "é ü 漢字\r\n")
        with pytest.raises(DataError):
            await client.set(key, True)  # type: ignore[arg-type]
        assert await client.get(key) == "é ü 漢字\r\n"  # the bad call lost nothing, broke nothing
        assert await client.incrby(key + ":n", 2**40) == 2**40
        connection = await client.connection_pool.get_connection()
        try:
            assert isinstance(connection, _PackedInC)
            assert isinstance(connection, aioredis.Connection)
        finally:
            await client.connection_pool.release(connection)
    finally:
        await client.delete(key, key + ":n")
        await client.aclose()
