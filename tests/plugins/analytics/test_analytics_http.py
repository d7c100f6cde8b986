"""The analytics admin routes over real HTTP, through the app, on SQLite and PostgreSQL."""

from datetime import UTC, datetime

import pytest

from jobhost_analytics.facts import FlyerFact
from jobhost_analytics.figures import figures
from jobhost_analytics.periods import DAILY, WEEKLY, parse
from jobhost_analytics.records import Records, Report
from jobhost_analytics.summary import summarize

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)

REPORTS = "/api/admin/analytics/reports"


async def save_reports(host) -> None:
    records = Records(host.db)
    now = datetime.now(UTC)
    acme = FlyerFact("a", "1", "Acme", 2, ())
    for kind, key in [(DAILY, "2026-01-04"), (DAILY, "2026-01-05"), (WEEKLY, "2026-W01")]:
        await records.save(Report.of(parse(kind, key), figures(summarize([acme]), 1, {}, None), now))


async def test_only_admins_read_reports(make_api):
    async with make_api(installed=("analytics",)) as api:
        await save_reports(api.host)
        _, user = await api.user("ann@example.com")
        assert (await api.client.get(REPORTS)).status_code == 401
        for path in (REPORTS, f"{REPORTS}/daily/2026-01-05"):
            answer = await api.client.get(path, headers=user)
            assert answer.status_code == 403, answer.text


async def test_reports_are_listed_latest_first_paginated_and_by_kind(make_api):
    async with make_api(installed=("analytics",)) as api:
        await save_reports(api.host)
        _, admin = await api.user("root@example.com", admin=True)

        everything = (await api.client.get(REPORTS, headers=admin)).json()
        assert (everything["total"], everything["offset"], everything["limit"]) == (3, 0, 50)
        assert [(r["kind"], r["period"]) for r in everything["reports"]] == [
            ("daily", "2026-01-05"),
            ("daily", "2026-01-04"),
            ("weekly", "2026-W01"),
        ]
        assert everything["reports"][0]["flyers"]["processed"] == 1
        assert everything["reports"][0]["stores"][0]["store"] == "Acme"

        page = await api.client.get(REPORTS, params={"kind": "daily", "offset": 1, "limit": 1}, headers=admin)
        assert page.status_code == 200, page.text
        assert ([r["period"] for r in page.json()["reports"]], page.json()["total"]) == (["2026-01-04"], 2)

        weekly = (await api.client.get(REPORTS, params={"kind": "weekly"}, headers=admin)).json()
        assert [r["period"] for r in weekly["reports"]] == ["2026-W01"]


async def test_one_report_by_kind_and_period(make_api):
    async with make_api(installed=("analytics",)) as api:
        await save_reports(api.host)
        _, admin = await api.user("root@example.com", admin=True)
        daily = await api.client.get(f"{REPORTS}/daily/2026-01-05", headers=admin)
        assert daily.status_code == 200, daily.text
        assert {
            k: daily.json()[k] for k in ("version", "kind", "period", "starts_at", "ends_at", "complete")
        } == {
            "version": 2,
            "kind": "daily",
            "period": "2026-01-05",
            "starts_at": "2026-01-05T00:00:00+00:00",
            "ends_at": "2026-01-06T00:00:00+00:00",
            "complete": True,
        }
        assert (daily.json()["flyers"]["uploaded"], daily.json()["flyers"]["items"]) == (1, 2)
        weekly = await api.client.get(f"{REPORTS}/weekly/2026-W01", headers=admin)
        assert (weekly.status_code, weekly.json()["starts_at"]) == (200, "2025-12-29T00:00:00+00:00")

        missing = await api.client.get(f"{REPORTS}/weekly/2026-W02", headers=admin)
        assert missing.status_code == 404
        assert missing.json()["detail"] == (
            "no weekly report for 2026-W02; it is made by the task analytics.weekly_report (week='2026-W02')"
        )


@pytest.mark.parametrize(
    ("path", "params", "detail"),
    [
        (REPORTS, {"kind": "monthly"}, "kind must be one of daily, weekly, got 'monthly'"),
        (f"{REPORTS}/monthly/2026-01", {}, "kind must be one of daily, weekly, got 'monthly'"),
        (f"{REPORTS}/daily/2026-1-5", {}, "day must be an ISO date such as 2026-01-05, got '2026-1-5'"),
        (f"{REPORTS}/weekly/2026-W60", {}, "week must be an ISO week such as 2026-W02, got '2026-W60'"),
    ],
)
async def test_bad_input_is_a_400_saying_what_is_wrong(make_api, path, params, detail):
    async with make_api(installed=("analytics",)) as api:
        _, admin = await api.user("root@example.com", admin=True)
        answer = await api.client.get(path, params=params, headers=admin)
        assert answer.status_code == 400, answer.text
        assert answer.json()["detail"] == detail


async def test_a_bad_page_is_a_400_naming_the_parameter(make_api):
    async with make_api(installed=("analytics",)) as api:
        _, admin = await api.user("root@example.com", admin=True)
        answer = await api.client.get(REPORTS, params={"limit": 0}, headers=admin)
        assert answer.status_code == 400, answer.text
        assert answer.json()["extra"] == [
            {"message": "Expected `int` >= 1", "key": "limit", "source": "query"}
        ]


async def test_an_admin_asks_for_a_report_and_gets_its_job(make_api):
    async with make_api(installed=("analytics",)) as api:
        _, admin = await api.user("root@example.com", admin=True)
        _, user = await api.user("ann@example.com")
        body = {"kind": "daily", "period": "2026-11-27"}
        assert (await api.client.post(REPORTS, json=body, headers=user)).status_code == 403
        answer = await api.client.post(REPORTS, json=body, headers=admin)
        assert answer.status_code == 202, answer.text
        made = answer.json()
        assert (made["kind"], made["period"]) == ("daily", "2026-11-27")
        assert answer.headers["location"] == f"/api/admin/jobs/{made['job']['id']}"
        job = await api.host.job(made["job"]["id"])
        assert (job.task, job.queue, job.kwargs) == (
            "analytics.daily_report",
            "analytics-reporting",
            {"day": "2026-11-27"},
        )
        # by default, the previous whole period
        weekly = (await api.client.post(REPORTS, json={"kind": "weekly"}, headers=admin)).json()
        assert weekly["job"]["kwargs"] == {"week": weekly["period"]}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"kind": "monthly"}, "kind must be one of daily, weekly, got 'monthly'"),
        (
            {"kind": "daily", "period": "2026-W47"},
            "day must be an ISO date such as 2026-01-05, got '2026-W47'",
        ),
        ({"kind": "weekly", "period": "2999-W01"}, "weekly period 2999-W01 has not begun yet"),
    ],
)
async def test_a_bad_report_request_is_a_400_saying_what_is_wrong(make_api, body, detail):
    async with make_api(installed=("analytics",)) as api:
        _, admin = await api.user("root@example.com", admin=True)
        answer = await api.client.post(REPORTS, json=body, headers=admin)
        assert answer.status_code == 400, answer.text
        assert answer.json()["detail"].startswith(detail)
        for queue in ("analytics-reporting", "weekly-analytics-reporting"):  # nothing was queued
            assert (await api.host.engine.counts(queue))["waiting"] == 0
