"""A queue's page in a real browser: search, paging, shift-click selection, bulk runs, pause."""

from __future__ import annotations

from playwright.async_api import expect

from tests.dashboard import demo_plugin
from tests.dashboard.conftest import Dashboard
from tests.dashboard.test_jobs import admin_page
from tests.polling import until


async def test_search_by_a_payload_field_and_page_through(dashboard: Dashboard):
    engine = dashboard.host.engine
    await engine.enqueue_many(
        "demo.process", [{"flyer_id": n, "email": f"user{n}@example.org"} for n in range(120)]
    )
    bob = await engine.enqueue("demo.process", {"flyer_id": 4242, "email": "Bob@Example.org"})
    page = await admin_page(dashboard)
    await page.goto(f"{dashboard.url}/queue/demo")
    await expect(page.locator("#rows tr")).to_have_count(50)
    await expect(page.locator(".pager")).to_contain_text("page 1 of 3")
    await expect(page.locator("#rows tr").first).to_have_attribute("data-job", bob.id)  # newest first
    await page.click("a[rel=next]")
    await expect(page.locator(".pager")).to_contain_text("page 2 of 3")

    await page.fill("#q", "flyer_id=4242")
    await page.keyboard.press("Enter")
    await expect(page.locator("#rows tr")).to_have_count(1)
    await expect(page.locator("#rows tr")).to_have_attribute("data-job", bob.id)
    await page.fill("#q", "email:bob@")
    await page.keyboard.press("Enter")
    await expect(page.locator("#rows tr")).to_have_attribute("data-job", bob.id)
    await page.fill("#q", "email:user1")
    await page.keyboard.press("Enter")
    await expect(page.locator("text=31 job(s) match")).to_be_visible()  # user1, user10-19, user100-119
    await dashboard.shot(page, "queue-search")

    await page.fill("#q", "colour=red")
    await page.keyboard.press("Enter")
    await expect(page.locator("[role=alert]")).to_contain_text("does not index 'colour'")


async def test_shift_click_selection_and_a_bulk_retry(dashboard: Dashboard):
    engine = dashboard.host.engine
    demo_plugin.BROKEN.update(range(-6, 0))
    try:
        async with dashboard.host.worker(["demo"]):
            jobs = [await engine.enqueue("demo.process", {"flyer_id": -n}) for n in range(1, 7)]
            for job in jobs:
                assert (await engine.wait(job.id)).state == "dead"
            page = await admin_page(dashboard)
            await page.goto(f"{dashboard.url}/queue/demo?state=dead")
            boxes = page.locator("input.pick")
            await expect(boxes).to_have_count(6)
            await expect(page.locator("[data-needs-selection]")).to_be_disabled()
            await boxes.nth(1).click()
            await boxes.nth(4).click(modifiers=["Shift"])  # rows 2-5
            await expect(page.locator("[data-selected-count]")).to_have_text("4")
            picked = [await boxes.nth(i).get_attribute("value") for i in range(1, 5)]
            await dashboard.shot(page, "queue-selection")

            demo_plugin.BROKEN.clear()
            await page.select_option("#bulk-action", "retry")
            await page.click("[data-needs-selection]")
            await expect(page.locator("h1")).to_have_text("Bulk retry")
            await expect(page.locator("[data-bulk-state]")).to_have_text("finished")
            await expect(page.locator("[data-bulk-done]")).to_have_text("4")

            async def retried() -> bool:
                states = [await engine.job_state(job_id) for job_id in picked]
                return states == ["completed"] * 4

            await until(retried, timeout=15.0)
        assert (await engine.counts("demo"))["dead"] == 2
    finally:
        demo_plugin.BROKEN.clear()


async def test_bulk_on_a_whole_state_and_on_a_search(dashboard: Dashboard):
    engine = dashboard.host.engine
    await engine.enqueue_many("demo.process", [{"flyer_id": n % 3} for n in range(30)])
    page = await admin_page(dashboard)
    await page.goto(f"{dashboard.url}/queue/demo?q=flyer_id%3D1")
    await page.select_option("#bulk-action", "cancel")
    await page.click("button[value=search]")
    await expect(page.locator("[data-bulk-state]")).to_have_text("finished")
    await expect(page.locator("[data-bulk-done]")).to_have_text("10")
    counts = await engine.counts("demo")
    assert counts["cancelled"] == 10 and counts["waiting"] == 20

    await page.goto(f"{dashboard.url}/queue/demo?state=waiting")
    await page.select_option("#bulk-action", "remove")
    await page.click("button[value=state]")
    await expect(page.locator("[data-bulk-done]")).to_have_text("20")
    assert (await engine.counts("demo"))["waiting"] == 0


async def test_pause_and_resume_a_queue_and_watch_new_jobs_arrive(dashboard: Dashboard):
    engine = dashboard.host.engine
    page = await admin_page(dashboard)
    await page.goto(f"{dashboard.url}/queue/demo")
    await expect(page.locator("#live")).to_have_text("live")
    await page.click("button:has-text('Pause queue')")
    await expect(page.locator("h1 [data-paused]")).to_have_text("paused")
    assert await engine.is_paused("demo")

    job = await engine.enqueue("demo.process", {"flyer_id": 77})  # arrives while the page is open
    await expect(page.locator(f"#rows tr[data-job='{job.id}']")).to_be_visible()
    await expect(page.locator("[data-count='demo:waiting']")).to_have_text("1")

    await page.click("button:has-text('Resume queue')")
    await expect(page.locator("h1 [data-paused]")).to_have_text("running")
    assert not await engine.is_paused("demo")
    await dashboard.shot(page, "queue")


async def test_phone_width(dashboard: Dashboard):
    await dashboard.host.engine.enqueue(
        "demo.process", {"flyer_id": 1, "email": "a-long-address@example.org"}
    )
    await dashboard.user("root@example.org", admin=True)
    page = await dashboard.page(viewport={"width": 390, "height": 844}, is_mobile=True)
    await dashboard.login(page, "root@example.org", to="/queue/demo")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at phone width ({width} px)"
    await dashboard.shot(page, "queue-phone")
