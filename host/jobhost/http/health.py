"""Liveness and readiness: `/healthz` (the process answers) and `/readyz` (it can do its work)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import attrs
from litestar import Request, Response, get

from jobhost.http.state import app_state
from jobhost.settings import configuration_warnings

log = logging.getLogger("jobhost.http")

PROBE_TIMEOUT = 2.0


@attrs.frozen
class Health:
    status: str


@attrs.frozen
class Readiness:
    status: str
    checks: dict[str, str]
    degraded: bool
    failed_plugins: list[str]
    warnings: list[str]


@get("/healthz", tags=["health"], summary="The process is up")
async def healthz() -> Health:
    return Health("ok")


async def _probe(name: str, check: Any) -> str:
    try:
        await asyncio.wait_for(check(), PROBE_TIMEOUT)
    except Exception as exc:
        # The error's text names hosts and ports: the log gets it, the public answer does not.
        log.warning("readiness: %s unavailable: %s: %s", name, type(exc).__name__, exc)
        return "unavailable"
    return "ok"


@get(
    "/readyz",
    tags=["health"],
    summary="Redis and the database answer; lists failed plugins and settings that leave something broken",
)
async def readyz(request: Request[Any, Any, Any]) -> Response[Readiness]:
    state = app_state(request)
    database, redis = await asyncio.gather(
        _probe("database", state.host.database.ping), _probe("redis", state.host.engine.redis.ping)
    )
    checks = {"database": database, "redis": redis}
    ready = all(v == "ok" for v in checks.values())
    # A plugin that failed to load does not make the host unready: it was built to run without
    # it (JOBHOST_STRICT_PLUGINS=1 stops start-up instead); the listing shows it.
    failed = [p.name for p in state.host.registry.failures]
    warnings = configuration_warnings(state.host.settings)
    body = Readiness("ready" if ready else "unavailable", checks, bool(failed or warnings), failed, warnings)
    return Response(body, status_code=200 if ready else 503)
