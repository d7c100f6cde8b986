"""What the email plugin's delivery guarantees cost next to a bare SMTP send.

Sends the same multipart message N times, one connection each, to an aiosmtpd server on
loopback: first with bare aiosmtplib (the baseline), then through the plugin's transactional
`send` (one ledger write), then through a send job's `deliver` (claim, look-up, acceptance,
release: four ledger round trips), on SQLite and on PostgreSQL. Prints messages per second and
the ratio to the baseline, measured in the same run. Run by hand, never in the test suite:

    python bench/email_delivery.py [--messages 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable

import aiosmtplib
import asyncpg
from aiosmtpd.controller import Controller

from jobhost.store.database import Database
from jobhost_email.config import MailConfig
from jobhost_email.ledger import Ledger
from jobhost_email.service import MailService
from jobhost_email.tables import metadata

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"


class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def rate(n: int, send: Callable[[int], Awaitable[object]]) -> float:
    await send(-1)  # warm up: imports, first connection, prepared statements
    started = time.perf_counter()
    for i in range(n):
        await send(i)
    return n / (time.perf_counter() - started)


async def ledger_on(url: str) -> tuple[Ledger, Callable[[], Awaitable[None]]]:
    # The host's own database setup (SQLite in WAL mode, PostgreSQL pool), as `host.db` gives it.
    database = Database(url)
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    return Ledger(database.sessions), database.dispose


async def main(n: int) -> None:
    port = free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    config = MailConfig(host="127.0.0.1", port=port, tls="none", sender="bench@example.com")
    results: dict[str, float] = {}
    pg_name = f"jobhost_email_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{PG_SERVER}/postgres")
    await admin.execute(f'CREATE DATABASE "{pg_name}"')
    try:
        with tempfile.TemporaryDirectory() as tmp:
            probe = MailService(config, None)
            mime = probe.compose("ann@example.com", "Deals", "Plain body " * 40, "<p>HTML</p>" * 40)
            mime = mime.to_mime(config.sender)

            async def bare(_: int) -> None:
                await aiosmtplib.send(
                    mime, hostname="127.0.0.1", port=port, start_tls=False, sender=config.sender_address
                )

            results["bare aiosmtplib"] = await rate(n, bare)
            for kind, url in (
                ("sqlite", f"sqlite:///{os.path.join(tmp, 'bench.db')}"),
                ("postgresql", f"{PG_SERVER}/{pg_name}"),
            ):
                ledger, dispose = await ledger_on(url)
                service = MailService(config, ledger)

                async def transactional(_: int, service: MailService = service) -> None:
                    await service.send("ann@example.com", "Deals", "Plain body " * 40, "<p>HTML</p>" * 40)

                async def job(i: int, service: MailService = service) -> None:
                    mail = service.compose("ann@example.com", "Deals", "Plain body " * 40, "<p>HTML</p>" * 40)
                    await service.deliver(mail, holder=f"job-{i}", last_try=False)

                results[f"send ({kind} ledger)"] = await rate(n, transactional)
                results[f"deliver job ({kind} ledger)"] = await rate(n, job)
                await dispose()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        await admin.close()
        controller.stop()

    base = results["bare aiosmtplib"]
    print(f"{n} messages, one connection each, load average {os.getloadavg()[0]:.2f}")
    for name, per_second in results.items():
        print(f"  {name:<30} {per_second:7.1f} msg/s   {per_second / base:5.2f} x baseline")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    asyncio.run(main(parser.parse_args().messages))
