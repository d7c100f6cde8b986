"""The dashboard in a real browser: sign-in, the overview, a queue, a job, schedules, reports."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
from playwright.async_api import expect
from taskiq import ScheduledTask

from jobhost.testing import settled
from jobhost_analytics.facts import FlyerFact
from jobhost_analytics.jobs import DAILY_TASK, WEEKLY_TASK
from jobhost_analytics.records import Records
from jobhost_flyer_ocr.demo import SAMPLE_FLYER
from jobhost_flyer_ocr.intake import accept
from tests.dashboard import demo_plugin
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
    await expect(row).to_contain_text("15 0 * * *")
    await expect(page.locator("tr", has_text="demo-hourly")).to_contain_text("never")
    await dashboard.shot(page, "schedules")

    await page.goto(f"{dashboard.url}/reports")
    periods = page.locator("#periods-h + .table-wrap tbody tr")
    await expect(periods).to_have_count(3)
    await expect(periods.first).to_contain_text(days[-1].date().isoformat())
    await expect(periods.first).to_contain_text("Lidl (2)")
    await expect(periods.first.locator("td").nth(2)).to_have_text("3")  # flyers
    await expect(periods.first.locator("td").nth(3)).to_have_text("15")  # items of the three flyers
    await expect(page.locator("svg[aria-label='Flyers per daily period'] rect")).to_have_count(3)
    tries = page.locator("#dur-h + .table-wrap tbody tr").first.locator("td")
    await expect(tries.nth(0)).to_have_text("analytics-reporting")
    await expect(tries.nth(1)).to_have_text("3")
    await dashboard.shot(page, "reports")
    # each period links to its own page
    await periods.first.locator("a").click()
    await expect(page.locator("h1")).to_have_text(f"Daily report {days[-1].date().isoformat()}")
    await expect(page.locator("[data-figure=items]")).to_have_text("15")


async def test_a_report_page_shows_real_figures_with_charts(dashboard: Dashboard):
    """Two flyers read by the flyer plugin (tesseract), demo jobs run by a real worker (one dies),
    then today's daily and this week's weekly report made by the analytics plugin's jobs."""
    host = dashboard.host
    sample = SAMPLE_FLYER.read_bytes()
    today = datetime.now(UTC).date()
    week = f"{today.isocalendar().year}-W{today.isocalendar().week:02d}"
    demo_plugin.BROKEN.add(13)
    try:
        async with host.worker():
            uploads = [await accept(host, "7", sample, filename=f"{n}.png") for n in range(2)]
            demo = [await host.enqueue("demo.process", {"flyer_id": n}) for n in (1, 2, 3, 13)]
            ended = [await host.wait(u.job_id, timeout=180) for u in uploads]
            assert [job.state for job in ended] == ["completed", "completed"]
            for job in demo:
                await host.wait(job.id, timeout=180)
            await settled(host)  # the flyers' events have reached the analytics plugin
            daily = await host.wait(
                (await host.enqueue(DAILY_TASK, {"day": today.isoformat()})).id, timeout=60
            )
            weekly = await host.wait((await host.enqueue(WEEKLY_TASK, {"week": week})).id, timeout=60)
    finally:
        demo_plugin.BROKEN.discard(13)
    report = daily.result
    assert daily.state == weekly.state == "completed"
    assert report["flyers"]["processed"] == 2 and report["flyers"]["items"] > 0

    page = await admin_page(dashboard)
    await page.goto(f"{dashboard.url}/reports/daily/{today.isoformat()}")
    await expect(page.locator("h1")).to_have_text(f"Daily report {today.isoformat()}")
    await expect(page.locator("text=In progress")).to_be_visible()  # today has not ended
    for figure, value in [
        ("uploaded", 2),
        ("processed", 2),
        ("failed", 0),
        ("pages", report["flyers"]["pages"]),
        ("items", report["flyers"]["items"]),
        ("sent", 0),
    ]:
        await expect(page.locator(f"[data-figure={figure}]")).to_have_text(str(value))
    demo_row = page.locator("tr[data-queue=demo] td")
    for n, value in enumerate(["demo", "3", "1", "0", "1"]):  # completed, failed tries, retried, dead
        await expect(demo_row.nth(n)).to_have_text(value)
    jobs = page.locator("svg[aria-label='Jobs completed per queue per day']")
    # one column (today) of two queues with completed jobs, and their legend
    await expect(jobs.locator("rect.s0, rect.s1")).to_have_count(4)
    await expect(jobs).to_contain_text("flyer-processing")
    percentiles = page.locator("svg[aria-label='Try duration percentiles (ms)']")
    await expect(percentiles).to_contain_text("flyer-processing p95")
    units = page.locator("svg[aria-label='Deals by unit'] text")
    await expect(units.first).to_have_text("each")
    await expect(page.locator("svg[aria-label='Most frequent products'] rect")).to_have_count(
        len(report["deals"]["top_products"])
    )
    await dashboard.shot(page, "report-daily")

    await page.goto(f"{dashboard.url}/reports?kind=weekly")
    await page.locator("#periods-h + .table-wrap a", has_text=week).click()
    await expect(page.locator("h1")).to_have_text(f"Weekly report {week}")
    columns = page.locator("svg[aria-label='Jobs completed per queue per day'] text")
    await expect(columns.filter(has_text=today.isoformat())).to_have_count(1)
    await expect(page.locator("[data-figure=processed]")).to_have_text("2")
    await dashboard.shot(page, "report-weekly")

    await page.goto(f"{dashboard.url}/reports/daily/2026-13-01")
    await expect(page.locator("body")).to_contain_text("day must be an ISO date")


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
