"""A real mail server on loopback (aiosmtpd) that accepts every message and drops it."""

from __future__ import annotations

from aiosmtpd.controller import Controller

from tests.ports import free_port


class _Drop:
    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's handler hook
        return "250 OK"


def mail_sink() -> Controller:
    """A started sink: its `port` takes mail on 127.0.0.1; `stop()` it when done."""
    controller = Controller(_Drop(), hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller
