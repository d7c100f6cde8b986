from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import attrs
import httpx
import pytest
import uvicorn

from jobhost import Host, User
from jobhost.http import create_app
from jobhost.http.server import uvicorn_options
from jobhost.store.accounts import API, Accounts
from jobhost.store.models import UserRow
from jobhost.store.passwords import hash_password
from tests.http.outages import RedisServer

REDIS_URL = "redis://127.0.0.1:6379/0"
PASSWORD = "password-1"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test here that takes `database_url` runs on SQLite and on PostgreSQL."""
    chosen = any("database_url" in m.args[0] for m in metafunc.definition.iter_markers("parametrize"))
    if "database_url" in metafunc.fixturenames and not chosen:
        metafunc.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(scope="session")
def password_hash() -> str:
    # scrypt costs ~0.4 s; the accounts the tests set up share one real hash of PASSWORD.
    return hash_password(PASSWORD)


@attrs.define
class Api:
    """A running app on a migrated database, its client, and a way to add users with tokens."""

    host: Host
    client: httpx.AsyncClient
    url: str
    password_hash: str
    app: Any = None

    async def user(self, email: str, *, admin: bool = False) -> tuple[User, dict[str, str]]:
        """A user (password PASSWORD) and the headers carrying an API token of theirs."""
        async with self.host.db() as session:
            row = UserRow(email=email, password_hash=self.password_hash, is_admin=admin)
            session.add(row)
            await session.commit()
        user = User(row.id, email, admin)
        issued = await Accounts(self.host.db).issue_token(user, API, 3600)
        return user, {"Authorization": f"Bearer {issued.token}"}


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on a free loopback port, on this event loop; yields its base URL.

    Real HTTP, and the app shares the test's event loop (and so its database connections); uvicorn
    runs with the options `jobhost api` gives it.
    """
    options = {**uvicorn_options(app.state.jobhost.host), "log_config": uvicorn.config.LOGGING_CONFIG}
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", **options))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # start-up failed: raise its error
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
def make_api(make_host, database_url: str, password_hash: str):
    """`async with make_api(plugin, ..., ENV=value) as api:` an app on real Redis and the database."""

    @contextlib.asynccontextmanager
    async def make(*plugins: Any, installed: tuple[str, ...] = (), **env: str) -> AsyncIterator[Api]:
        env = {"REDIS_URL": REDIS_URL, "DATABASE_URL": database_url, **env}
        host = make_host(*plugins, installed=installed, **env)
        await host.migrate()
        app = create_app(host)
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            yield Api(host, client, url, password_hash, app)

    return make


@pytest.fixture
def redis_server(tmp_path):
    """A redis-server of the test's own (another port, a temp dir), which the test may stop."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()
