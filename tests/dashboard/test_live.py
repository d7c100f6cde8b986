"""Live updates survive a restart of the API: `jobhost api` as operators run it, killed and started
again, while the page stays open; it reconnects and catches up by itself."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import async_playwright, expect

from jobhost import Host
from jobhost.store.accounts import Accounts
from tests.dashboard.conftest import BASE, CHROMIUM_ARGS, PASSWORD, PLUGINS, REDIS_URL
from tests.http.outages import free_port


class Api:
    """`jobhost api` in its own process, for one host's settings."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        command = [sys.executable, "-m", "jobhost", "api", "--port", str(self.port)]
        self.proc = subprocess.Popen(command, env=self.env)
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient() as client:
            while True:
                try:
                    if (await client.get(f"{self.url}/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    if time.monotonic() > deadline or self.proc.poll() is not None:
                        raise
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        """Stop it the hard way (a crash, a redeploy): open connections just drop."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(30)


@pytest.fixture
async def api(make_host, tmp_path: Path) -> AsyncIterator[tuple[Api, Host]]:
    database = f"sqlite:///{tmp_path / 'api.db'}"
    host = make_host(installed=PLUGINS, REDIS_URL=REDIS_URL, DATABASE_URL=database)
    await host.migrate()
    await Accounts(host.db).create_user("root@example.org", PASSWORD, is_admin=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBHOST_", "DATABASE_URL", "REDIS_URL"))}
    env.update(
        REDIS_URL=REDIS_URL,
        DATABASE_URL=database,
        JOBHOST_REDIS_PREFIX=host.settings.redis_prefix,
        JOBHOST_DATA_DIR=str(tmp_path / "data"),
        JOBHOST_LOAD_PLUGINS=",".join(PLUGINS),
    )
    server = Api(env)
    await server.start()
    try:
        yield server, host
    finally:
        if server.proc and server.proc.poll() is None:
            server.kill()
        await host.engine.close()
        await host.database.dispose()


async def test_overview_reconnects_and_resumes_after_an_api_restart(api):
    server, host = api
    engine = host.engine
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = await browser.new_page()
        await page.goto(server.url + BASE)
        await page.fill("#email", "root@example.org")
        await page.fill("#password", PASSWORD)
        await page.click("button[type=submit]")
        await expect(page.locator("#live")).to_have_text("live")
        await page.evaluate("window.notReloaded = true")
        waiting = page.locator("[data-count='token-cleanup:waiting']")
        cancelled = page.locator("[data-count='token-cleanup:cancelled']")

        first = await engine.enqueue("cleanup.tokens")
        await expect(waiting).to_have_text("1")

        server.kill()
        await expect(page.locator("#live")).to_have_text("reconnecting…")
        await engine.enqueue("cleanup.tokens")  # while the API is down
        await engine.cancel(first.id)
        await server.start()  # a new process on the same port

        await expect(page.locator("#live")).to_have_text("live", timeout=20_000)
        await expect(waiting).to_have_text("1")
        await expect(cancelled).to_have_text("1")
        await engine.enqueue("cleanup.tokens")  # and it follows on
        await expect(waiting).to_have_text("2")
        assert await page.evaluate("window.notReloaded") is True
        await browser.close()
