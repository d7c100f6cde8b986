"""Where a page stands in its queues' feeds: the SSE id `queue=feed-id,…` of its stream.

A page is rendered with the position of that moment, so its stream follows from there and
nothing that happens before it connects is missed; a reconnecting stream sends the last id it saw.
"""

from __future__ import annotations

import asyncio

from jobhost.host import Host


def encode(position: dict[str, str]) -> str:
    return ",".join(f"{q}={i}" for q, i in sorted(position.items()))


def decode(text: str | None, queues: list[str]) -> dict[str, str]:
    """Feed ids from an SSE id (only the followed queues, only stream ids)."""
    found = {}
    for part in (text or "").split(","):
        name, _, entry = part.partition("=")
        if name in queues and entry.replace("-", "").isdigit():
            found[name] = entry
    return found


async def now(host: Host, queues: list[str]) -> str:
    heads = await asyncio.gather(*(host.engine.feed_head(q) for q in queues))
    return encode(dict(zip(queues, heads, strict=True)))
