"""The way in on a first run: a database with no admin gets a first admin and a one-time sign-in
link, which signs a browser into the dashboard once and not after it expired."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from jobhost.store.accounts import SIGN_IN, Accounts
from jobhost.store.models import TokenRow, utcnow
from jobhost.testing import client
from jobhost.welcome import FIRST_ADMIN, banner, base_url, first_admin_link


async def test_the_first_admin_link_signs_the_browser_in_once(make_host, database_url):
    host = make_host(DATABASE_URL=database_url)
    async with client(host) as http:
        link = await first_admin_link(host, "http://testserver")
        assert link is not None and link.startswith("http://testserver/api/admin/jobs/sign-in?token=")
        token = link.rsplit("=", 1)[1]
        accounts = Accounts(host.db)
        first = await accounts.find(FIRST_ADMIN)
        assert first is not None and first.is_admin
        assert await first_admin_link(host, "http://testserver") is None  # an admin exists now

        landed = await http.get(link)
        assert (landed.status_code, landed.headers["location"]) == (303, "/api/admin/jobs")
        cookie = landed.cookies["jobhost_dashboard"]
        http.cookies.set("jobhost_dashboard", cookie, path="/api/admin/jobs")
        dashboard = await http.get("/api/admin/jobs")
        assert dashboard.status_code == 200 and FIRST_ADMIN in dashboard.text

        http.cookies.clear()
        again = await http.get(link)
        assert again.status_code == 403 and "used, expired or wrong" in again.text
        assert "set-cookie" not in again.headers
        assert await accounts.user_for_token(token, (SIGN_IN,)) is None  # spent: the row is gone


async def test_an_expired_or_made_up_link_signs_nobody_in(make_host, database_url):
    host = make_host(DATABASE_URL=database_url)
    async with client(host) as http:
        link = await first_admin_link(host, "http://testserver")
        assert link is not None
        async with host.db() as session:  # the clock moved on past its 15 minutes
            await session.execute(
                update(TokenRow).where(TokenRow.purpose == SIGN_IN).values(expires_at=utcnow() - timedelta(1))
            )
            await session.commit()
        assert (await http.get(link)).status_code == 403
        assert (await http.get("/api/admin/jobs/sign-in?token=made-up")).status_code == 403
        assert (await http.get("/api/admin/jobs/sign-in")).status_code == 403
        # A session or API token is not a sign-in link either.
        user = await Accounts(host.db).find(FIRST_ADMIN)
        issued = await Accounts(host.db).issue_token(user, "api", 60)
        assert (await http.get(f"/api/admin/jobs/sign-in?token={issued.token}")).status_code == 403


def test_the_banner_says_the_mode_where_the_data_lives_and_the_urls(make_host):
    host = make_host()
    base = base_url("0.0.0.0", 8123)
    shown = banner(host, base, "http://127.0.0.1:8123/api/admin/jobs/sign-in?token=t")
    assert base == "http://127.0.0.1:8123"
    assert "embedded (no REDIS_URL)" in shown and str(host.settings.data_dir) in shown
    for url in ("/api", "/api/admin/jobs", "/schema"):
        assert f"{base}{url}\n" in shown + "\n"
    assert shown.endswith("\n  http://127.0.0.1:8123/api/admin/jobs/sign-in?token=t")
    assert "sign-in?token" not in banner(host, base, None)
    assert base_url("::", 80) == "http://[::1]:80"
