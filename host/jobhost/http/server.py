"""Serving the app with uvicorn: as one part of a jobhost process, or as N worker processes.

On SIGTERM uvicorn stops accepting connections and gives in-flight requests SHUTDOWN_TIMEOUT
seconds; a request that answered 202 had its job stored before the answer was sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
from collections.abc import Iterator
from typing import Any

import uvicorn
from litestar import Litestar

from jobhost import logs
from jobhost.host import Host
from jobhost.http.app import create_app
from jobhost.http.config import HttpConfig
from jobhost.http.limits import TimedH11Protocol

_QUERY_VALUE = re.compile(r"=[^&]*")


def _redact_query(record: logging.LogRecord) -> bool:
    """Access-log lines keep query parameter names only: values such as the unsubscribe link's
    signed token are secrets, and logs are not the place for them."""
    if isinstance(record.args, tuple) and len(record.args) == 5:
        client, method, path, version, status = record.args
        if isinstance(path, str) and "?" in path:
            base, query = path.split("?", 1)
            record.args = (client, method, f"{base}?{_QUERY_VALUE.sub('=***', query)}", version, status)
    return True


logging.getLogger("uvicorn.access").addFilter(_redact_query)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The process's part runner (jobhost.processes.serve) owns SIGTERM/SIGINT and sets `stop`.
        yield


def uvicorn_options(host: Host) -> dict[str, Any]:
    """uvicorn's options from the host's settings, for every way the API is served."""
    config = HttpConfig.read(host.settings)
    return {
        "timeout_graceful_shutdown": int(host.settings.shutdown_timeout) or None,
        "http": functools.partial(TimedH11Protocol, header_timeout=config.header_timeout),
        "limit_concurrency": config.connections,
        # X-Forwarded-For counts only from the proxies named (uvicorn trusts loopback otherwise).
        "proxy_headers": bool(config.trusted_proxies),
        "forwarded_allow_ips": list(config.trusted_proxies),
        "log_config": None,  # the process's logging setup applies
    }


async def run_api(host: Host, stop: asyncio.Event, *, bind: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the API until `stop` is set, then shut down gracefully (the caller owns the host)."""
    app = create_app(host, own_host=False)
    server = _Server(uvicorn.Config(app, host=bind, port=port, **uvicorn_options(host)))
    serving = asyncio.create_task(server.serve())
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait([serving, stopped], return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    server.should_exit = True
    await serving


def app_from_env() -> Litestar:
    """The app of a host loaded from the environment (what each `jobhost api --workers N` process runs),
    logging as the parent does."""
    host = Host.load()
    logs.configure(host.settings.log_level, host.settings.log_format)
    return create_app(host)


def serve_processes(host: Host, bind: str, port: int, workers: int) -> None:
    """Serve with `workers` uvicorn processes sharing the port; uvicorn supervises them."""
    uvicorn.run(
        "jobhost.http.server:app_from_env",
        factory=True,
        host=bind,
        port=port,
        workers=workers,
        **uvicorn_options(host),
    )
