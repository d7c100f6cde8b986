"""A running jobhost for the dashboard's browser tests: the four plugins plus the demo one, real
Redis, a migrated SQLite database, uvicorn on a free port, a real worker in the same loop, and
Debian's Chromium driven by Playwright."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import uvicorn
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from jobhost import Host, User
from jobhost.http import create_app
from jobhost.store.models import UserRow
from jobhost.store.passwords import hash_password
from tests.dashboard import demo_plugin

REDIS_URL = "redis://127.0.0.1:6379/0"
PASSWORD = "password-1"
BASE = "/api/admin/jobs"
PLUGINS = ("flyer_ocr", "email", "analytics", "cleanup")
ARTIFACTS = Path(os.environ.get("JOBHOST_TEST_ARTIFACTS", Path(__file__).parent / "artifacts"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The policy the hardening work sends; the tests add it to every page so a page that needs an
# inline script or a CDN fails here.
CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'"


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)  # scrypt: once for all the tests' users


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"\ndashboard screenshots: {ARTIFACTS}")
    return ARTIFACTS


def with_csp(app: Any) -> Any:
    """The app, with the strict CSP on every HTML answer (what the hardening work sends)."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                if headers.get(b"content-type", b"").startswith(b"text/html"):
                    message["headers"] = [
                        *message.get("headers", []),
                        (b"content-security-policy", CSP.encode()),
                    ]
            await send(message)

        await app(scope, receive, sending)

    return wrapped


class Server:
    """uvicorn serving the app on this loop; stop and start again on the same port."""

    def __init__(self, app: Any) -> None:
        self.app = with_csp(app)
        self.port = 0
        self.server: uvicorn.Server | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        )
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self.task.done():
                self.task.result()
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None and self.task is not None
        self.server.should_exit = True
        self.server.force_exit = True  # open event streams must not hold the shutdown
        await self.task

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@attrs.define
class Dashboard:
    host: Host
    server: Server
    browser: Browser
    password_hash: str
    artifacts: Path
    csp_violations: list[str] = attrs.field(factory=list)

    @property
    def url(self) -> str:
        return self.server.url + BASE

    async def user(self, email: str, *, admin: bool = False, read_only: bool = False) -> User:
        async with self.host.db() as session:
            row = UserRow(email=email, password_hash=self.password_hash, is_admin=admin, read_only=read_only)
            session.add(row)
            await session.commit()
        return User(row.id, email, admin, read_only)

    async def context(self, **options: Any) -> BrowserContext:
        return await self.browser.new_context(**options)

    async def page(self, **options: Any) -> Page:
        page = await (await self.context(**options)).new_page()
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))

        def console(message: Any) -> None:
            if "Content Security Policy" in message.text:
                self.csp_violations.append(message.text)

        page.on("console", console)
        page.set_default_timeout(15_000)
        return page

    async def login(self, page: Page, email: str, *, to: str = "") -> None:
        await page.goto(self.url + to)
        await page.fill("#email", email)
        await page.fill("#password", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_load_state()

    async def shot(self, page: Page, name: str) -> Path:
        path = self.artifacts / f"{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
async def dashboard(
    make_host, tmp_path: Path, password_hash: str, artifacts: Path
) -> AsyncIterator[Dashboard]:
    host = make_host(
        demo_plugin,
        installed=PLUGINS,
        REDIS_URL=REDIS_URL,
        DATABASE_URL=f"sqlite:///{tmp_path / 'dashboard.db'}",
        JOBHOST_DATA_DIR=str(tmp_path / "data"),
    )
    await host.migrate()
    await host.start()
    server = Server(create_app(host, own_host=False))
    await server.start()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        board = Dashboard(host, server, browser, password_hash, artifacts)
        try:
            yield board
        finally:
            await browser.close()
            with contextlib.suppress(Exception):
                await server.stop()
            await host.stop()
            await host.engine.close()
            await host.database.dispose()
    assert not board.csp_violations, board.csp_violations
