"""Who may do what, in a real browser: anonymous, a plain user, a read-only user, CSRF."""

from __future__ import annotations

from playwright.async_api import expect

from tests.dashboard.conftest import Dashboard


async def test_each_kind_of_visitor_is_kept_to_what_it_may_do(dashboard: Dashboard):
    engine = dashboard.host.engine
    job = await engine.enqueue("demo.process", {"flyer_id": 9})
    await dashboard.user("ann@example.org")
    await dashboard.user("oncall@example.org", read_only=True)

    anonymous = await dashboard.page()
    for path in ("", "/queue/demo", f"/queue/demo/{job.id}", "/schedules", "/workers", "/reports"):
        await anonymous.goto(dashboard.url + path)
        await expect(anonymous.locator("h1")).to_have_text("Sign in to the job dashboard")
    answer = await anonymous.request.post(f"{dashboard.url}/queue/demo/pause", max_redirects=0)
    assert answer.status == 303 and "/login" in answer.headers["location"]
    events = await anonymous.request.get(f"{dashboard.url}/live", headers={"accept": "text/event-stream"})
    assert events.status == 401

    user = await dashboard.page()
    await dashboard.login(user, "ann@example.org")
    await expect(user.locator("[role=alert]")).to_have_text("The job dashboard is for administrators only.")
    await user.goto(f"{dashboard.url}/queue/demo/{job.id}")
    await expect(user.locator("[role=alert]")).to_contain_text("for administrators only")
    assert "demo.process" not in await user.content()

    viewer = await dashboard.page()
    await dashboard.login(viewer, "oncall@example.org")
    await expect(viewer.locator(".role")).to_have_text("read-only")
    await expect(viewer.locator("tr[data-queue='demo']")).to_be_visible()
    await expect(viewer.locator("button", has_text="Pause all")).to_have_count(0)
    await viewer.goto(f"{dashboard.url}/queue/demo/{job.id}")
    await expect(viewer.locator("#payload-h + pre")).to_contain_text('"flyer_id": 9')
    await expect(viewer.locator("#job-actions")).to_have_count(0)
    await expect(viewer.locator("#kwargs")).to_have_count(0)
    # a hand-made action, with the read-only user's own valid CSRF token, is still refused
    csrf = await viewer.locator("body").get_attribute("data-csrf")
    refused = await viewer.request.post(f"{dashboard.url}/queue/demo/{job.id}/cancel", form={"csrf": csrf})
    assert refused.status == 403 and "read-only" in await refused.text()
    assert await engine.job_state(job.id) == "waiting"


async def test_an_action_without_the_csrf_token_is_refused(dashboard: Dashboard):
    engine = dashboard.host.engine
    job = await engine.enqueue("demo.process", {"flyer_id": 9})
    await dashboard.user("root@example.org", admin=True)
    page = await dashboard.page()
    await dashboard.login(page, "root@example.org")
    for form in ({}, {"csrf": "forged"}):
        refused = await page.request.post(f"{dashboard.url}/queue/demo/{job.id}/cancel", form=form)
        assert refused.status == 403 and "CSRF token is missing or wrong" in await refused.text()
        refused = await page.request.post(f"{dashboard.url}/pause-all", form=form)
        assert refused.status == 403
    assert await engine.job_state(job.id) == "waiting"
    assert not await engine.is_paused("demo")

    csrf = await page.locator("body").get_attribute("data-csrf")
    done = await page.request.post(f"{dashboard.url}/queue/demo/{job.id}/cancel", form={"csrf": csrf})
    assert done.ok and await engine.job_state(job.id) == "cancelled"
    # the token is the session's: after logging out and in again the old one no longer works
    await page.click("text=Log out")
    await dashboard.login(page, "root@example.org")
    again = await page.request.post(f"{dashboard.url}/pause-all", form={"csrf": csrf})
    assert again.status == 403 and not await engine.is_paused("demo")
