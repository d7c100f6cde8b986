"""Built-in plugin `api`: the host's HTTP routes (sign-in, job status and events, health, metrics)
and admin routes (queues, jobs, workers, plugins under `/api/admin`)."""

from __future__ import annotations

from typing import Any

from jobhost.hookspecs import hookimpl


@hookimpl
def register_routes(register: Any) -> None:
    from jobhost.http.auth import AuthController
    from jobhost.http.health import healthz, readyz
    from jobhost.http.jobs import JOB_ROUTES
    from jobhost.http.metrics import metrics_route

    for handler in (AuthController, healthz, readyz, metrics_route, *JOB_ROUTES):
        register(handler)


@hookimpl
def register_admin_routes(register: Any) -> None:
    from jobhost.http.admin import ADMIN_ROUTES

    for handler in ADMIN_ROUTES:
        register(handler)
