"""Reports from real data: flyers uploaded and read by the flyer plugin's own code (tesseract),
jobs run by a real worker on the shared Redis (their counts and durations kept by the engine),
report jobs run by that worker, and the mail to the admins delivered by the email plugin's send
jobs to a real SMTP server (aiosmtpd on loopback)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobhost.scheduler import Scheduler
from jobhost.store.accounts import Accounts
from jobhost.testing import settled
from jobhost_analytics import reporting
from jobhost_analytics.jobs import DAILY_TASK, WEEKLY_TASK
from jobhost_analytics.periods import DAILY, WEEKLY, parse, previous
from jobhost_analytics.records import Records
from jobhost_flyer_ocr.demo import SAMPLE_FLYER
from jobhost_flyer_ocr.intake import accept
from jobhost_flyer_ocr.records import Flyers
from tests.plugins.analytics import flaky_plugin

QUEUES = [
    "flyer-processing",
    "flaky",
    "analytics-reporting",
    "weekly-analytics-reporting",
    "email-sending",
]
# Where the plugins hear of events (each delivery a job), consumed by the same worker.
EVENT_QUEUES = ["events.analytics", "events.email"]
BASE_URL = "https://deals.example.com"


@pytest.fixture
async def stack(analytics_host, smtp_server):
    """A host with the flyer, email and analytics plugins (and the flaky test queue), migrated,
    mailing through a real SMTP server, with two admins and one ordinary user."""
    server = smtp_server()
    host = await analytics_host(
        installed=("flyer_ocr", "email", "analytics"),
        plugins=(flaky_plugin,),
        EMAIL_BASE_URL=BASE_URL,
        JOBHOST_SECRET_KEY="test-secret-key",
        **server.env(),
    )
    accounts = Accounts(host.db)
    for email, admin in [("root@example.com", True), ("ops@example.com", True), ("ann@example.com", False)]:
        await accounts.create_user(email, "password-1-long", is_admin=admin)
    await host.start()
    yield host, server
    await host.stop()


def unit_kind(item: dict) -> str:
    if item["unit"] in ("lb", "kg"):
        return item["unit"]
    return "multi_buy" if item["quantity"] > 1 or item["bogo"] else "each"


async def run(host, task: str, kwargs: dict):
    job = await host.enqueue(task, kwargs)
    done = await host.wait(job.id, timeout=120)
    assert done.state == "completed", done.errors
    return done


def durations_ms(jobs) -> list[int]:
    return sorted(round((j.finished_at - j.started_at).total_seconds() * 1000) for j in jobs)


async def test_the_daily_and_weekly_reports_of_real_work(stack):
    host, server = stack
    sample = SAMPLE_FLYER.read_bytes()
    # Three uploads; the third one's file is gone before a worker reads it, so its job dies.
    uploads = [
        await accept(host, "7", sample, filename="a.png"),
        await accept(host, "8", sample, filename="b.png", store="Fresh Mart"),
        await accept(host, "8", sample, filename="c.png"),
    ]
    flyers = Flyers(host.db)
    await host.blobs.delete((await flyers.get(uploads[2].flyer_id)).stored_name)
    today = datetime.now(UTC).date()
    async with host.worker([*QUEUES, *(q for q in EVENT_QUEUES if q in host.registry.queues)]):
        ended = [await host.wait(u.job_id, timeout=180) for u in uploads]
        assert [j.state for j in ended] == ["completed", "completed", "dead"]
        flaky = [
            await host.wait((await host.enqueue(flaky_plugin.TASK, kwargs)).id, timeout=30)
            for kwargs in ({"fail_first": True}, {"fail_always": True}, {})
        ]
        assert [j.state for j in flaky] == ["completed", "dead", "completed"]
        await settled(host)

        daily = (await run(host, DAILY_TASK, {"day": today.isoformat()})).result
        # what the flyer plugin itself stored of the two flyers it read
        read = [await flyers.get(u.flyer_id) for u in uploads[:2]]
        items = [item.as_dict() for record in read for item in record.items]
        assert items, "the sample flyer has deals"
        assert daily["version"] == 2 and daily["complete"] is False  # today is still in progress
        assert daily["flyers"] == {
            "uploaded": 3,
            "processed": 2,
            "failed": 1,
            "dead": 1,
            "pages": sum(record.pages for record in read),
            "items": len(items),
            "priced_items": len(items),
            "uploaders": 2,
        }
        by_unit = {"each": 0, "lb": 0, "kg": 0, "multi_buy": 0}
        for item in items:
            by_unit[unit_kind(item)] += 1
        assert daily["deals"]["by_unit"] == by_unit
        names = sorted({item["name"] for item in items})
        top = daily["deals"]["top_products"]
        assert {p["name"] for p in top} <= set(names) and all(
            p["count"] == 2 for p in top
        )  # each on both flyers
        assert [s["store"] for s in daily["stores"]] == sorted(
            {r.store for r in read}, key=lambda s: (s is None, s)
        )
        for deal in daily["deals"]["biggest_discounts"]:
            assert deal["name"] in names and 0 < deal["percent_off"] <= 100
        queues = {q["queue"]: q for q in daily["queues"]}
        assert set(queues) == set(host.registry.queues)
        flyer_queue = queues["flyer-processing"]
        assert {k: flyer_queue[k] for k in ("completed", "failed", "retried", "dead", "tries")} == {
            "completed": 2,
            "failed": 1,
            "retried": 0,
            "dead": 1,
            "tries": 3,
        }
        # every flyer job had one try: the longest is exact, the percentiles at most 19% high
        took = durations_ms(ended)
        assert flyer_queue["max_ms"] == took[-1]
        assert took[1] <= flyer_queue["p50_ms"] <= took[1] * 1.19 + 1
        assert took[2] * 0.99 <= flyer_queue["p95_ms"] <= took[2]
        assert {k: queues["flaky"][k] for k in ("completed", "failed", "retried", "dead", "tries")} == {
            "completed": 2,
            "failed": 2,
            "retried": 1,
            "dead": 1,
            "tries": 4,
        }
        assert queues["analytics-reporting"]["completed"] == 0  # this report's own job is still running
        assert [d["day"] for d in daily["days"]] == [today.isoformat()]
        assert daily["days"][0]["queues"]["flaky"] == {"completed": 2, "failed": 2, "retried": 1, "dead": 1}
        assert daily["emails"] == {"sent": 0, "failed": 0, "bounced": 0}
        assert (await host.engine.counts("email-sending"))["completed"] == 0  # not mailed: in progress

        # Again, after the flyer plugin announced a flyer once more: replaced, nothing counted twice.
        first = read[0]
        announced = {"flyer_id": first.id, "owner": first.owner, "store": first.store, "pages": first.pages}
        await host.emit(
            "flyer.processed", {**announced, "items": [i.as_dict() for i in first.items]}, "flyer_ocr"
        )
        await host.emit("flyer.uploaded", announced, "flyer_ocr")
        await settled(host)
        again = (await run(host, DAILY_TASK, {"day": today.isoformat()})).result
        assert again["flyers"] == daily["flyers"] and again["deals"] == daily["deals"]
        for before, after in zip(daily["queues"], again["queues"], strict=True):
            if before["queue"] == "analytics-reporting":  # the first report's job, done since
                assert after["completed"] == before["completed"] + 1 == 1
            elif before["queue"] in EVENT_QUEUES:  # the two announcements just delivered
                assert after["completed"] == before["completed"] + 2
            else:
                assert after == before
        assert (await Records(host.db).page(DAILY, 0, 10))[1] == 1

        week = parse(WEEKLY, f"{today.isocalendar().year}-W{today.isocalendar().week:02d}")
        weekly = (await run(host, WEEKLY_TASK, {"week": week.key})).result
        assert (weekly["complete"], weekly["flyers"]["uploaded"]) == (False, 3)
        assert [d["day"] for d in weekly["days"]] == [
            (week.start.date() + timedelta(days=n)).isoformat() for n in range(7)
        ]
        for q in ("flyer-processing", "flaky"):
            weekly_queue = next(x for x in weekly["queues"] if x["queue"] == q)
            assert weekly_queue == queues[q]  # only today had any work
            for day in weekly["days"]:
                counts = day["queues"][q]
                if day["day"] == today.isoformat():
                    assert counts == daily["days"][0]["queues"][q]
                else:
                    assert counts == {"completed": 0, "failed": 0, "retried": 0, "dead": 0}

        # Yesterday: over, and empty. A valid report of zeros, mailed to each admin.
        yesterday = previous(DAILY, datetime.now(UTC))
        done = await run(host, DAILY_TASK, {})
        empty = done.result
        assert (empty["period"], empty["complete"]) == (yesterday.key, True)
        assert empty["flyers"] == dict.fromkeys(empty["flyers"], 0)
        assert empty["deals"] == {
            "by_unit": {"each": 0, "lb": 0, "kg": 0, "multi_buy": 0},
            "biggest_discounts": [],
            "top_products": [],
        }
        assert empty["stores"] == [] and empty["prices"] == dict.fromkeys(empty["prices"])
        assert all(q["completed"] == q["tries"] == 0 and q["p95_ms"] is None for q in empty["queues"])
        mails = [line.split("jobs ")[1].split(", ") for line in done.logs if "mailed to 2 admin(s)" in line]
        assert len(mails) == 1
        for job_id in mails[0]:
            assert (await host.wait(job_id, timeout=30)).state == "completed"
        assert sorted(r.recipients[0] for r in server.received) == ["ops@example.com", "root@example.com"]
        message = server.received[0].message
        assert message["Subject"] == f"Daily report {yesterday.key}: 0 flyers, 0 deals"
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        link = f"{BASE_URL}/api/admin/jobs/reports/daily/{yesterday.key}"
        assert link in text and f'href="{link}"' in html
        # made again: the ledger knows each admin's mail of this report, so none goes out twice
        redone = await run(host, DAILY_TASK, {"day": yesterday.key})
        for line in redone.logs:
            if "mailed to" in line:
                for job_id in line.split("jobs ")[1].split(", "):
                    assert (await host.wait(job_id, timeout=30)).result["already_sent"] is True
        assert len(server.received) == 2

        # Today once it is over (the clock driven to 00:15 tomorrow): complete, and mailed with its figures.
        day = parse(DAILY, today.isoformat())
        final = await reporting.make(host, day, day.end + timedelta(minutes=15))
        assert final.complete and final.summary["flyers"] == daily["flyers"]
        assert final.summary["emails"] == {"sent": 2, "failed": 0, "bounced": 0}  # the two mails above
        for job_id in await reporting.mail_admins(host, final):
            assert (await host.wait(job_id, timeout=30)).state == "completed"
    assert len(server.received) == 4
    text = server.received[-1].message.get_body(("plain",)).get_content()
    assert "Flyers: 3 uploaded, 2 processed, 1 failed tries, 1 dead" in text
    assert f"Items extracted: {len(items)}" in text
    assert "(The period was still in progress" not in text


async def test_the_schedules_fire_at_00_15_daily_and_monday_01_00_weekly(stack):
    host, _ = stack
    scheduler = Scheduler(host)
    at = lambda text: datetime.fromisoformat(text).timestamp()  # noqa: E731
    await scheduler.catch_up(at("2026-11-22T23:00:00+00:00"))  # Sunday night: first seen, nothing due

    async def queued_after(moment: str) -> list[str]:
        """The report jobs waiting once the scheduler looked at the clock at `moment`."""
        await scheduler.catch_up(at(moment))
        queues = ("analytics-reporting", "weekly-analytics-reporting")
        return [j.task for queue in queues for j in (await host.engine.list_jobs(queue, "waiting")).jobs]

    assert await queued_after("2026-11-23T00:14:59+00:00") == []
    assert await queued_after("2026-11-23T00:15:01+00:00") == [DAILY_TASK]
    assert await queued_after("2026-11-23T00:59:59+00:00") == [DAILY_TASK]
    assert await queued_after("2026-11-23T01:00:01+00:00") == [DAILY_TASK, WEEKLY_TASK]
    assert await queued_after("2026-11-23T23:59:59+00:00") == [DAILY_TASK, WEEKLY_TASK]
    assert await queued_after("2026-11-24T00:15:01+00:00") == [DAILY_TASK, DAILY_TASK, WEEKLY_TASK]
    lasts = await host.engine.last_fires()
    assert (
        datetime.fromtimestamp(lasts["analytics.daily-report"], UTC).isoformat()
        == "2026-11-24T00:15:00+00:00"
    )
    assert (
        datetime.fromtimestamp(lasts["analytics.weekly-report"], UTC).isoformat()
        == "2026-11-23T01:00:00+00:00"
    )
    # and what each scheduled job reports on, run at its time: yesterday, and last week
    assert previous(DAILY, datetime(2026, 11, 23, 0, 15, tzinfo=UTC)).key == "2026-11-22"
    assert previous(WEEKLY, datetime(2026, 11, 23, 1, 0, tzinfo=UTC)).key == "2026-W47"
