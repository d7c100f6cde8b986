"""Ports for the servers tests start on loopback."""

from __future__ import annotations

import random
import socket
from pathlib import Path

BUS = 10_000  # a cluster node's bus port is its port + 10000


def _ephemeral_low() -> int:
    """The lowest port the kernel gives outgoing connections (Linux: 32768 by default)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


# Below the ephemeral range, bus ports included: a port chosen there can't be taken by one of the
# thousands of client connections the tests open between choosing it and the server binding it
# (a Sentinel once found its port taken so).
LOW, HIGH = 10_000, _ephemeral_low() - BUS - 1


def free_port() -> int:
    """A free port whose cluster bus port is free too, both below the ephemeral range (random, so
    helpers running side by side rarely meet)."""
    while True:
        port = random.randint(LOW, HIGH)
        if all(_free(p) for p in (port, port + BUS)):
            return port


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
