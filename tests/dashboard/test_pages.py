"""The dashboard in a real browser: sign-in, the overview, a queue, a job, schedules, reports."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
from playwright.async_api import expect
from taskiq import ScheduledTask

from jobhost_analytics.facts import FlyerFact
from jobhost_analytics.jobs import DAILY_TASK
from jobhost_analytics.records import Records
from tests.dashboard.conftest import BASE, PLUGINS, Dashboard
from tests.dashboard.test_jobs import admin_page

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
    # A missing secret key breaks nothing (a generated one signs): no warning.
    await expect(page.locator("[role=alert]", has_text="JOBHOST_SECRET_KEY")).to_have_count(0)
    await dashboard.shot(page, "overview")

    await page.click("text=Log out")
    await page.goto(dashboard.url)
    assert "/login" in page.url


async def test_schedules_workers_and_reports(dashboard: Dashboard):
    host = dashboard.host
    await host.engine.last_fires()  # nothing fired yet: "never"
    facts = [
        FlyerFact(f"f{n}", "7", store, items=4 + n, prices=(Decimal("1.99"), Decimal(f"{n}.50")))
        for n, store in enumerate(["Lidl", "Aldi", "Lidl"])
    ]
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    records = Records(host.db)
    days = [today - timedelta(days=d) for d in (3, 2, 1)]
    for n, day in enumerate(days):
        for fact in facts[: n + 1]:
            await records.record(attrs.evolve(fact, flyer_id=f"{fact.flyer_id}-{n}"), day)
    async with host.worker():
        for day in days:
            job = await host.engine.enqueue(DAILY_TASK, {"day": day.date().isoformat()})
            assert (await host.engine.wait(job.id)).state == "completed"
        page = await admin_page(dashboard)
        await page.goto(f"{dashboard.url}/workers")
        await expect(page.locator("tbody tr")).to_have_count(1)
        await expect(page.locator("tbody tr")).to_contain_text("demo")
    await host.schedules.add_schedule(
        ScheduledTask(
            task_name=DAILY_TASK, labels={}, args=[], kwargs={"day": "2026-11-30"}, cron="0 6 * * *"
        )
    )
    await page.goto(f"{dashboard.url}/schedules")
    adhoc = page.locator("[aria-labelledby=adhoc-h] tbody tr")
    await expect(adhoc).to_have_count(1)
    await expect(adhoc).to_contain_text("0 6 * * *")
    await expect(adhoc).to_contain_text(DAILY_TASK)
    row = page.locator("tr", has_text="analytics.daily-report")
    await expect(row).to_contain_text("analytics")
    await expect(row).to_contain_text("5 0 * * *")
    await expect(page.locator("tr", has_text="demo-hourly")).to_contain_text("never")
    await dashboard.shot(page, "schedules")

    await page.goto(f"{dashboard.url}/reports")
    periods = page.locator("#periods-h + .table-wrap tbody tr")
    await expect(periods).to_have_count(3)
    await expect(periods.first).to_contain_text(days[-1].date().isoformat())
    await expect(periods.first).to_contain_text("Lidl (2)")
    await expect(periods.first.locator("td").nth(2)).to_have_text("15")  # items of the three flyers
    await expect(page.locator("svg[aria-label='Flyers per daily period'] rect")).to_have_count(3)
    tries = page.locator("#dur-h + .table-wrap tbody tr").first.locator("td")
    await expect(tries.nth(0)).to_have_text("analytics-reporting")
    await expect(tries.nth(1)).to_have_text("3")
    await dashboard.shot(page, "reports")


async def test_schema_renders_with_no_network(dashboard: Dashboard):
    page = await dashboard.page()
    outside: list[str] = []

    async def loopback_only(route):
        if route.request.url.startswith(dashboard.server.url):
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    await page.route("**/*", loopback_only)
    await page.goto(dashboard.server.url + "/schema")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("jobhost")
    await expect(page.locator(".opblock-tag-section", has_text="admin")).to_be_visible()
    assert outside == []
    await dashboard.shot(page, "schema")
