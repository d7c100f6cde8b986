"""A TCP relay in front of a Redis that loses what concerns one marker, for the tests of enqueues
Redis does not answer (tests/queue/test_queue_outcome.py, tests/http/test_enqueue_outcome.py)."""

from __future__ import annotations

import asyncio
import contextlib


class Relay:
    """A TCP relay in front of Redis that can lose what concerns one task: hold the requests that
    name it (and deliver them later, as a slow network does), drop the answers to them, or cut
    the connection once it delivered one. Everything else passes, so the engine can still ask
    about the job."""

    def __init__(self, upstream_port: int, marker: str) -> None:
        self.upstream_port = upstream_port
        self.marker = marker.encode()
        self.mode = "pass"  # or "hold", "drop answers", "cut"
        self.held: list[tuple[asyncio.StreamWriter, bytes]] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> Relay:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def release(self) -> None:
        """Deliver the held requests, late, each on the connection it came on."""
        self.mode = "pass"
        for upstream, data in self.held:
            upstream.write(data)
            await upstream.drain()
        self.held.clear()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        marked = False  # this connection asked about the task while answers are dropped

        async def requests() -> None:
            nonlocal marked
            while data := await reader.read(65536):
                if self.marker in data and self.mode == "hold":
                    self.held.append((up_writer, data))
                    continue
                marked = marked or (self.marker in data and self.mode in ("drop answers", "cut"))
                up_writer.write(data)
                await up_writer.drain()
                if marked and self.mode == "cut":
                    writer.close()  # Redis runs it; the client sees its connection break
                    return

        async def answers() -> None:
            while data := await up_reader.read(65536):
                if not marked:
                    writer.write(data)
                    await writer.drain()

        # Held requests outlive their client (it gave up): the upstream stays open for them.
        with contextlib.suppress(OSError):
            await asyncio.gather(requests(), answers())
        writer.close()
