"""What the API shows to whom: readiness without backend error texts, metrics behind their own
token, an owner's job without the worker's host and pid, and a missing secret key made visible."""

from __future__ import annotations

from tests.conftest import plugins_json
from tests.http import jobs_demo
from tests.http.conftest import REDIS_URL


async def test_readiness_names_the_backend_down_but_not_its_address(make_api, redis_server):
    async with make_api(REDIS_URL=redis_server.url) as api:
        redis_server.stop()
        ready = await api.client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["redis"] == "unavailable"
    assert str(redis_server.port) not in ready.text and "Error" not in ready.text


async def test_metrics_need_their_token_when_one_is_set(make_api):
    async with make_api(jobs_demo, JOBHOST_METRICS_TOKEN="scrape-me") as api:
        _, ann = await api.user("ann@example.org")
        assert (await api.client.get("/metrics")).status_code == 401
        assert (await api.client.get("/metrics", headers=ann)).status_code == 401
        scraped = await api.client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert scraped.status_code == 200 and "jobhost_http_requests" in scraped.text


async def test_an_owner_does_not_see_which_worker_ran_the_job(make_api):
    async with make_api(jobs_demo) as api:
        _, ann = await api.user("ann@example.org")
        _, root = await api.user("root@example.org", admin=True)
        job_id = (await api.client.post("/api/demo/jobs", json={"steps": 1}, headers=ann)).json()["job_id"]
        async with api.host.worker([jobs_demo.QUEUE]):
            await api.host.wait(job_id, timeout=20)
        mine = (await api.client.get(f"/api/jobs/{job_id}", headers=ann)).json()
        theirs = (await api.client.get(f"/api/admin/jobs/{job_id}", headers=root)).json()
    assert mine["state"] == "completed" and "worker" not in mine
    assert theirs["worker"]


async def test_a_missing_secret_key_leaves_nothing_broken_to_warn_of(make_api):
    async with make_api() as api:  # Redis, no JOBHOST_SECRET_KEY: a generated key signs
        ready = (await api.client.get("/readyz")).json()
        assert len((await api.host.secret_keys()).signing) >= 40
    assert ready["status"] == "ready" and ready["warnings"] == []
    env = {"REDIS_URL": REDIS_URL, "JOBHOST_LOAD_PLUGINS": ""}
    assert plugins_json(env=env)["warnings"] == []
