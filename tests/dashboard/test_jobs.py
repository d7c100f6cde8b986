"""A job's page in a real browser with a real worker: live progress, retry, edit-and-replay."""

from __future__ import annotations

from urllib.parse import unquote

from playwright.async_api import Page, expect

from tests.dashboard import demo_plugin
from tests.dashboard.conftest import Dashboard


async def admin_page(dashboard: Dashboard) -> Page:
    await dashboard.user("root@example.org", admin=True)
    page = await dashboard.page()
    await dashboard.login(page, "root@example.org")
    return page


async def test_job_goes_from_waiting_to_completed_without_a_reload(dashboard: Dashboard):
    engine = dashboard.host.engine
    await engine.pause("demo")
    job = await engine.enqueue("demo.process", {"flyer_id": 12, "email": "ann@example.org", "seconds": 2})
    page = await admin_page(dashboard)
    await page.goto(f"{dashboard.url}/queue/demo/{job.id}")
    await expect(page.locator("[data-job-state]")).to_have_text("waiting")
    await expect(page.locator("#live")).to_have_text("live")
    await page.evaluate("window.notReloaded = true")

    async with dashboard.host.worker(["demo"]):
        await engine.resume("demo")
        await expect(page.locator("[data-job-state]")).to_have_text("active")
        await expect(page.locator("[data-progress-text]")).to_contain_text("step")
        await expect(page.locator("[data-job-state]")).to_have_text("completed", timeout=20_000)
    assert await page.evaluate("window.notReloaded") is True
    await expect(page.locator("#result")).to_contain_text('"deals": 5')
    await expect(page.locator("#tries-h + .table-wrap tbody tr")).to_have_count(1)
    await expect(page.locator("#job-actions button", has_text="Retry")).to_be_visible()
    await dashboard.shot(page, "job")


async def test_retry_a_dead_job_and_see_it_complete(dashboard: Dashboard):
    engine = dashboard.host.engine
    demo_plugin.BROKEN.add(-3)
    try:
        async with dashboard.host.worker(["demo"]) as first:
            job = await engine.enqueue("demo.process", {"flyer_id": -3})
            assert (await engine.wait(job.id)).state == "dead"
        page = await admin_page(dashboard)
        await page.goto(f"{dashboard.url}/queue/demo/{job.id}")
        await expect(page.locator("[data-job-state]")).to_have_text("dead")
        await expect(page.locator("details summary")).to_contain_text("flyer -3 cannot be read")
        demo_plugin.BROKEN.discard(-3)  # the fault is fixed
        await page.click("#job-actions button:has-text('Retry')")
        await expect(page.locator("[data-job-state]")).to_have_text("waiting")
        async with dashboard.host.worker(["demo"]) as second:  # another worker takes the retry
            await expect(page.locator("[data-job-state]")).to_have_text("completed", timeout=20_000)
        tries = page.locator("#tries-h + .table-wrap tbody tr")
        await expect(tries).to_have_count(2)
        await expect(tries.nth(0)).to_contain_text("dead")
        await expect(tries.nth(1)).to_contain_text("completed")
        # each try names the worker that ran it
        assert first.id != second.id
        await page.reload()
        await expect(tries.nth(0).locator("td").nth(1)).to_have_text(first.id)
        await expect(tries.nth(1).locator("td").nth(1)).to_have_text(second.id)
    finally:
        demo_plugin.BROKEN.discard(-3)


async def test_edit_and_replay_is_checked_against_the_task(dashboard: Dashboard):
    engine = dashboard.host.engine
    job = await engine.enqueue("demo.process", {"flyer_id": 5})
    page = await admin_page(dashboard)
    await page.goto(f"{dashboard.url}/queue/demo/{job.id}")

    await page.fill("#kwargs", '{"flyer_id": 5, "colour": "red"}')
    await page.click("button:has-text('Replay with these arguments')")
    await expect(page.locator("#edit-error")).to_contain_text("unexpected keyword argument 'colour'")
    await expect(page.locator("#kwargs")).to_have_value('{"flyer_id": 5, "colour": "red"}')
    await page.fill("#kwargs", "{not json")
    await page.click("button:has-text('Replay with these arguments')")
    await expect(page.locator("#edit-error")).to_contain_text("kwargs: not JSON")
    assert (await engine.counts("demo"))["waiting"] == 1  # nothing was queued

    await page.fill("#kwargs", '{"flyer_id": 6, "email": "bob@example.org"}')
    await page.click("button:has-text('Replay with these arguments')")
    await expect(page.locator(".notice")).to_contain_text(f"replayed {job.id}")
    await expect(page.locator("#origin")).to_have_text(job.id)
    replay_id = unquote(page.url.split("?")[0].rsplit("/", 1)[1])
    replay = await engine.job(replay_id)
    assert replay is not None and replay.kwargs == {"flyer_id": 6, "email": "bob@example.org"}
    assert replay.origin == job.id
    assert (await engine.job(job.id)).kwargs == {"flyer_id": 5}  # the original stays as it was
    await page.click("#origin")
    await expect(page.locator("h1")).to_have_text(job.id)


async def test_big_payloads_are_cut_with_show_all(dashboard: Dashboard):
    job = await dashboard.host.engine.enqueue("demo.process", {"flyer_id": 1, "email": "x" * 20_000})
    page = await admin_page(dashboard)
    await page.goto(f"{dashboard.url}/queue/demo/{job.id}")
    shown = await page.locator("#payload-h + pre").text_content()
    assert shown is not None and len(shown) < 5000 and shown.endswith("…")
    await page.click("text=Show all")
    await page.wait_for_url("**?full=payload")
    await page.wait_for_selector("#job-detail[data-updates]")  # a live update keeps it whole
    full = await page.locator("#payload-h + pre").text_content()
    assert full is not None and "x" * 20_000 in full
