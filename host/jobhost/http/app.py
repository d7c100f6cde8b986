"""The Litestar app: every plugin's routes, the built-in `api` plugin's (auth, health, metrics, jobs,
admin) among them, with the host's dependencies, error handlers, metrics and OpenAPI."""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
from collections.abc import AsyncIterator

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from jobhost.host import Host
from jobhost.http.apidocs import OfflineSwagger, assets_router
from jobhost.http.auth import BEARER, SECURED, admin_guard, provide_user, user_guard
from jobhost.http.config import HttpConfig
from jobhost.http.dashboard import bulk, dashboard_router
from jobhost.http.errors import EXCEPTION_HANDLERS
from jobhost.http.inputs import BoundedRequest, parameter_guard
from jobhost.http.limits import body_timeout
from jobhost.http.metrics import HttpMetrics
from jobhost.http.openapi import describe
from jobhost.http.security import security_headers
from jobhost.http.state import AppState
from jobhost.http.streams import EventHub
from jobhost.plugins import ADMIN_PATH, RouteDef
from jobhost.queue.connection import connect
from jobhost.settings import configuration_warnings
from jobhost.store.accounts import Accounts
from jobhost.store.user import User

log = logging.getLogger("jobhost.http")


def _mount(target: Litestar | Router, route: RouteDef, where: str) -> None:
    """Add a plugin's handler; one that cannot be mounted is left out, naming its plugin."""
    try:
        target.register(route.handler)
    except Exception as exc:
        log.error("plugin %r: %s route %s left out: %s", route.plugin, where, ", ".join(route.paths), exc)


def create_app(host: Host, *, own_host: bool = True) -> Litestar:
    """The API of a loaded host. With `own_host` the app starts and stops the host with itself;
    `jobhost run`, which also runs workers, manages the host on its own."""
    config = HttpConfig.read(host.settings)
    hub = EventHub(
        lambda: connect(host.settings), per_user=config.sse_streams_per_user, total=config.sse_streams
    )
    state = AppState(host, config, Accounts(host.db), hub)
    metrics = HttpMetrics()

    @contextlib.asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        for warning in configuration_warnings(host.settings):
            log.warning("%s", warning)
        if own_host:
            await host.start()
        try:
            yield
        finally:
            await bulk.stop_all()
            await hub.close()
            if own_host:
                await host.stop()
                await host.engine.close()
            await host.database.dispose()

    admin = Router(ADMIN_PATH, route_handlers=[], guards=[admin_guard], security=SECURED, tags=["admin"])
    for route in host.registry.admin_routes:
        _mount(admin, route, "admin")

    app = Litestar(
        route_handlers=[],
        dependencies={
            "host": Provide(lambda: host, sync_to_thread=False),
            "user": Provide(provide_user),
        },
        signature_namespace={"Host": Host, "User": User},
        exception_handlers=EXCEPTION_HANDLERS,
        logging_config=None,  # the process's own setup (jobhost.logs): one format for every part
        guards=[user_guard, parameter_guard],
        request_class=BoundedRequest,
        middleware=[body_timeout(config.body_timeout), metrics.middleware],
        before_send=[security_headers],
        request_max_body_size=config.max_body_size,
        openapi_config=OpenAPIConfig(
            title="jobhost",
            version=importlib.metadata.version("jobhost"),
            description="Background jobs: enqueue through plugin routes, follow jobs, administer queues. "
            f"Request bodies are at most {config.max_body_size} bytes (JOBHOST_MAX_BODY_SIZE), JSON "
            "at most 32 levels deep, whole numbers within ±(2^53 - 1); request headers at most 16 KB.",
            path="/schema",
            render_plugins=[OfflineSwagger(path="/"), JsonRenderPlugin()],
            components=Components(
                security_schemes={
                    BEARER: SecurityScheme(type="http", scheme="bearer", description="API or session token")
                }
            ),
        ),
        lifespan=[lifespan],
        state=State({"jobhost": state, "metrics": metrics}),
    )
    app.register(admin)
    app.register(dashboard_router())
    app.register(assets_router())
    for route in host.registry.routes:
        _mount(app, route, "public")
    describe(app)
    return app
