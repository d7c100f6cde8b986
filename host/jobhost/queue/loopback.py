"""Embedded mode's door for the operator commands: a running `jobhost run` serves its in-process
store on a loopback port, speaking the Redis protocol, to clients whose first command carries the
token it wrote, readable by its owner only, to `embedded.json` in the data directory. So
`jobhost queues`, `jobhost jobs ...` and `jobhost schedules` on the same machine work on the live
queues instead of refusing; nothing off the machine can reach the port, nothing without the
token gets past its first command.

The protocol is served by fakeredis's own TCP server over the process's store (its lock orders
the commands of both sides); this module only adds the token check in front of it.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import secrets
import threading
from pathlib import Path
from typing import IO, Any

import fakeredis
from fakeredis._clients._tcp_server import TCPFakeRequestHandler

DOOR = "embedded.json"


def _read_command(reader: IO[bytes]) -> list[bytes] | None:
    """One RESP command (an array of bulk strings), small, or None for anything else."""
    line = reader.readline(32)
    if not line.startswith(b"*"):
        return None
    count = int(line[1:].strip())
    if not 0 < count <= 8:
        return None
    args = []
    for _ in range(count):
        head = reader.readline(32)
        if not head.startswith(b"$"):
            return None
        size = int(head[1:].strip())
        if not 0 <= size <= 1024:
            return None
        args.append(reader.read(size + 2)[:-2])
    return args


def _encode(args: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def admit(first: list[bytes] | None, token: bytes) -> tuple[bool, list[bytes] | None]:
    """Whether a connection's first command authenticates with `token`, and the command to pass
    on to the store (a HELLO without its AUTH part; None for a plain AUTH, answered here)."""
    if not first:
        return False, None
    name = first[0].upper()
    if name == b"AUTH" and len(first) in (2, 3):
        return hmac.compare_digest(first[-1], token), None
    if name == b"HELLO" and len(first) >= 5 and first[2].upper() == b"AUTH":
        return hmac.compare_digest(first[4], token), [first[0], first[1], *first[5:]]
    return False, None


class _Handler(TCPFakeRequestHandler):
    server: _Server

    def setup(self) -> None:
        sock = self.request  # `self.connection` comes with the parent's setup, below
        sock.settimeout(5.0)
        reader = sock.makefile("rb")
        try:
            first = _read_command(reader)
        except (OSError, ValueError):
            first = None
        finally:
            reader.close()
        sock.settimeout(None)
        self.allowed, self.forward = admit(first, self.server.token)
        if not self.allowed:
            sock.sendall(b"-NOAUTH jobhost: wrong or missing token\r\n")
        elif self.forward is None:
            sock.sendall(b"+OK\r\n")
        super().setup()

    def handle(self) -> None:
        if not self.allowed:
            return
        if self.forward is not None:
            self.current_client.get_socket().sendall(_encode(self.forward))
        super().handle()


class _Server(fakeredis.TcpFakeServer):
    token: bytes


class Loopback:
    """The door of one data directory's running host, over the process's store `server`."""

    def __init__(self, data_dir: Path, server: fakeredis.FakeServer) -> None:
        self.path = data_dir / DOOR
        self.server = server
        self._tcp: _Server | None = None

    def open(self) -> None:
        token = secrets.token_urlsafe(32)
        tcp = _Server(("127.0.0.1", 0))
        tcp.fake_server = self.server
        tcp.RequestHandlerClass = _Handler
        tcp.token = token.encode()
        threading.Thread(target=tcp.serve_forever, name="jobhost-loopback", daemon=True).start()
        self._tcp = tcp
        port = tcp.server_address[1]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({"url": f"redis://:{token}@127.0.0.1:{port}/0", "pid": os.getpid()}, out)
        os.replace(partial, self.path)

    def close(self) -> None:
        if self._tcp is None:
            return
        if running(self.path.parent, pid=os.getpid()):
            self.path.unlink(missing_ok=True)
        self._tcp.shutdown()
        self._tcp.server_close()
        self._tcp = None


def running(data_dir: Path, pid: int | None = None) -> str | None:
    """The URL of the store of a `jobhost run` alive on this data directory (of process `pid`,
    if given), or None."""
    try:
        door: dict[str, Any] = json.loads((data_dir / DOOR).read_text())
        found = int(door["pid"])
        url = str(door["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if pid is not None and found != pid:
        return None
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(found, 0)
        return url
    return None
