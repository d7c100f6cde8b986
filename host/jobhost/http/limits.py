"""How long a client may take to send a request: slow clients must not hold connections forever.

uvicorn bounds idle keep-alive connections and, with `limit_concurrency`, the connections one
process serves, but nothing bounds a client sending its request head a byte at a time, or a
body that stalls. `TimedH11Protocol` closes a connection whose request head is not complete in
JOBHOST_HTTP_HEADER_TIMEOUT; `body_timeout` answers 408 to a body not complete in
JOBHOST_HTTP_BODY_TIMEOUT.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_408_REQUEST_TIMEOUT
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request head takes too long (from the
    connection's start, or from the previous answer on a kept-alive connection)."""

    def __init__(self, *args: Any, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self._head_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_too_slow)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # the head has arrived
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


class BodyTooSlow(HTTPException):
    status_code = HTTP_408_REQUEST_TIMEOUT


def body_timeout(seconds: float) -> Any:
    """ASGI middleware: a request body not complete `seconds` after the handler starts reading
    it is answered 408. Reads after the body (waiting for a disconnect) are not timed."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def timed(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            loop = asyncio.get_running_loop()
            deadline: float | None = None
            complete = False

            async def receiving() -> ReceiveMessage:
                nonlocal deadline, complete
                if complete:
                    return await receive()
                deadline = deadline or loop.time() + seconds
                try:
                    async with asyncio.timeout_at(deadline):
                        message = await receive()
                except TimeoutError:
                    raise BodyTooSlow(
                        detail=f"the request body did not arrive within {seconds:g} s "
                        "(JOBHOST_HTTP_BODY_TIMEOUT)"
                    ) from None
                complete = message["type"] != "http.request" or not message.get("more_body", False)
                return message

            await app(scope, receiving, send)

        return timed

    return middleware
