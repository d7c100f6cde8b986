"""The dashboard in a real browser: sign-in, the overview, a queue, a job, schedules, reports."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.dashboard.conftest import BASE, PLUGINS, Dashboard

SIX_QUEUES = (
    "flyer-processing",
    "email-sending",
    "analytics-reporting",
    "weekly-analytics-reporting",
    "file-cleanup",
    "token-cleanup",
)


async def test_anonymous_is_sent_to_login_then_sees_every_queue(dashboard: Dashboard):
    await dashboard.user("root@example.org", admin=True)
    await dashboard.host.engine.enqueue("demo.process", {"flyer_id": 3})
    page = await dashboard.page()
    await page.goto(dashboard.url + "/queue/demo?state=waiting")
    assert "/login" in page.url
    await expect(page.locator("h1")).to_have_text("Sign in to the job dashboard")
    await page.fill("#email", "root@example.org")
    await page.fill("#password", "wrong password")
    await page.click("button[type=submit]")
    await expect(page.locator("[role=alert]")).to_have_text("Wrong email or password.")

    # keyboard only: the email field has focus, Tab to the password, Enter submits
    await page.keyboard.type("root@example.org")
    await page.keyboard.press("Tab")
    await page.keyboard.type("password-1")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/queue/demo\?state=waiting$"))  # back where it was sent from
    await expect(page.locator("[data-count='demo:waiting']").first).to_have_text("1")

    cookie = next(c for c in await page.context.cookies() if c["name"] == "jobhost_dashboard")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == BASE

    await page.goto(dashboard.url)
    for queue in (*SIX_QUEUES, "demo"):
        await expect(page.locator(f"tr[data-queue='{queue}'] th a")).to_have_text(queue)
    for plugin in PLUGINS:
        await expect(page.locator("section.plugin h2", has_text=plugin)).to_have_count(1)
    await expect(page.locator("text=No worker is running")).to_be_visible()
    await dashboard.shot(page, "overview")

    await page.click("text=Log out")
    await page.goto(dashboard.url)
    assert "/login" in page.url
