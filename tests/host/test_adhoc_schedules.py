"""Ad-hoc schedules: taskiq's schedule_by_time / schedule_by_cron through `host.schedules`, fired
exactly once by any number of schedulers, to the second; listed and removed by CLI and admin route."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from jobhost.queue import JobInputError
from jobhost.scheduler import Scheduler
from jobhost.testing import client
from tests.conftest import run_jobhost
from tests.host import taskiq_plugin as tq

REDIS = "redis://127.0.0.1:6379/0"


async def _jobs(host, task: str) -> list:
    found = []
    for state in ("waiting", "active", "completed", "delayed"):
        page = await host.engine.list_jobs("tq", state, limit=1000)
        found += [j for j in page.jobs if j.task == task]
    return found


async def test_three_schedulers_fire_each_adhoc_schedule_once_to_the_second(make_host):
    prefix = f"jobhost-test-adhoc-{time.time_ns()}"
    hosts = [make_host(("tq", tq), REDIS_URL=REDIS, JOBHOST_REDIS_PREFIX=prefix) for _ in range(3)]
    first = hosts[0]
    first.kick_here()
    due = datetime.now(UTC) + timedelta(seconds=1.5)
    once = await tq.add.schedule_by_time(first.schedules, due, 1, 2)
    every = await tq.inject.schedule_by_cron(first.schedules, "* * * * * */2", n=5)  # every 2 s
    stop = asyncio.Event()
    runs = [asyncio.create_task(Scheduler(h).run(stop)) for h in hosts]
    await asyncio.sleep(5.2)
    stop.set()
    await asyncio.gather(*runs)

    added = await _jobs(first, "tq.add")
    assert len(added) == 1, [j.id for j in added]
    late = added[0].created_at.timestamp() - due.timestamp()
    assert 0 <= late < 1.0, late  # fired within the second it was due, never early
    assert added[0].kwargs == {"a": 1, "b": 2}
    remaining = {s.schedule_id for s in await first.schedules.get_schedules()}
    assert once.schedule_id not in remaining  # a time schedule is gone once it fired
    assert every.schedule_id in remaining

    fires = sorted(j.created_at.timestamp() for j in await _jobs(first, "tq.inject"))
    assert 2 <= len(fires) <= 3, fires
    assert all(b - a > 1.5 for a, b in itertools.pairwise(fires)), fires  # one job per fire
    await every.unschedule()
    assert await first.schedules.get_schedules() == []


async def test_bad_schedules_are_refused_with_the_reason(make_host):
    host = make_host(("tq", tq))
    with pytest.raises(JobInputError, match="unexpected keyword argument 'c'"):
        await tq.add.schedule_by_cron(host.schedules, "* * * * *", 1, b=2, c=3)
    with pytest.raises(JobInputError, match="cron 'every day' is not valid"):
        await tq.add.schedule_by_cron(host.schedules, "every day", 1, 2)
    with pytest.raises(JobInputError, match="timezone-aware"):
        await tq.add.schedule_by_time(host.schedules, datetime(2030, 1, 1), 1, 2)
    assert await host.schedules.get_schedules() == []


async def test_schedules_are_listed_and_removed_by_cli_and_admin_route(make_host, database_url):
    prefix = f"jobhost-test-adhoc-{time.time_ns()}"
    host = make_host(
        ("tq", tq),
        installed=("cleanup",),
        REDIS_URL=REDIS,
        JOBHOST_REDIS_PREFIX=prefix,
        DATABASE_URL=database_url,
    )
    created = await tq.add.schedule_by_cron(host.schedules, "*/5 * * * *", 1, 2)
    env = {"REDIS_URL": REDIS, "JOBHOST_REDIS_PREFIX": prefix, "JOBHOST_LOAD_PLUGINS": "cleanup"}
    listed = json.loads(run_jobhost("schedules", "--json", env=env, check=True).stdout)
    assert [s["name"] for s in listed["schedules"]] == ["cleanup.files-hourly", "cleanup.tokens-daily"]
    assert {s["plugin"] for s in listed["schedules"]} == {"cleanup"}
    assert [(a["id"], a["task"], a["cron"]) for a in listed["adhoc"]] == [
        (created.schedule_id, "tq.add", "*/5 * * * *")
    ]
    async with client(host) as http:
        await http.login(admin=True)
        shown = (await http.get("/api/admin/schedules")).json()
        assert [a["id"] for a in shown["adhoc"]] == [created.schedule_id]
        assert (await http.delete(f"/api/admin/schedules/{created.schedule_id}")).status_code == 204
        assert (await http.delete(f"/api/admin/schedules/{created.schedule_id}")).status_code == 404
        await http.login()
        assert (await http.get("/api/admin/schedules")).status_code == 403
    second = await tq.add.schedule_by_cron(host.schedules, "0 * * * *", 3, 4)
    done = run_jobhost("schedules", "remove", second.schedule_id, env=env, check=True)
    assert done.stdout == f"removed {second.schedule_id}\n"
    missing = run_jobhost("schedules", "remove", "nope", env=env)
    assert missing.returncode == 1 and "no ad-hoc schedule 'nope'" in missing.stderr
    assert await host.schedules.get_schedules() == []
