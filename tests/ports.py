"""Ports for the servers tests start on loopback."""

from __future__ import annotations

import random
import socket


def free_port() -> int:
    """A free port in 20000-50000 whose cluster bus port (10000 above) is free too (random, so
    helpers running side by side rarely meet)."""
    while True:
        port = random.randint(20000, 50000)
        if all(_free(p) for p in (port, port + 10000)):
            return port


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
