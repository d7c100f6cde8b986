"""While Redis or the database is down the API answers 503 saying which; it recovers by itself."""

from __future__ import annotations

import pytest

from tests.http import jobs_demo
from tests.http.conftest import PASSWORD
from tests.http.outages import Relay

LOGIN = "/api/auth/login"


async def test_redis_down_gives_503_and_the_api_recovers_when_it_returns(make_api, redis_server):
    credentials = {"email": "ann@example.org", "password": PASSWORD}
    async with make_api(REDIS_URL=redis_server.url) as api:
        await api.user("ann@example.org")
        assert (await api.client.get("/readyz")).status_code == 200

        redis_server.stop()
        ready = await api.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["redis"].startswith("unavailable")
        assert ready.json()["checks"]["database"] == "ok"
        login = await api.client.post(LOGIN, json=credentials)
        assert login.status_code == 503
        assert login.json()["detail"] == "Redis is unavailable, so nothing was done; retry shortly"
        assert login.headers["retry-after"] == "5"
        assert (await api.client.get("/healthz")).status_code == 200  # the process itself is fine

        redis_server.start()
        assert (await api.client.get("/readyz")).status_code == 200
        assert (await api.client.post(LOGIN, json=credentials)).status_code == 200


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_database_down_gives_503_and_the_api_recovers_when_it_returns(make_api, database_url):
    relay = Relay()
    await relay.start()
    relayed = database_url.replace("127.0.0.1:5432", f"127.0.0.1:{relay.port}")
    credentials = {"email": "ann@example.org", "password": PASSWORD}
    try:
        async with make_api(DATABASE_URL=relayed) as api:
            await api.user("ann@example.org")
            assert (await api.client.post(LOGIN, json=credentials)).status_code == 200

            await relay.stop()
            ready = await api.client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"]["database"].startswith("unavailable")
            login = await api.client.post(LOGIN, json=credentials)
            assert login.status_code == 503
            assert login.json()["detail"] == "the database is unavailable, so nothing was done; retry shortly"

            await relay.start()
            assert (await api.client.get("/readyz")).status_code == 200
            assert (await api.client.post(LOGIN, json=credentials)).status_code == 200
    finally:
        await relay.stop()


async def test_an_enqueue_no_replica_confirmed_answers_503_with_the_job_ids(make_api, redis_server):
    """JOBHOST_REDIS_MIN_REPLICAS=1 on a Redis without a replica: the job is stored but not
    acknowledged; the 503 names it, so the client looks it up instead of sending it again."""
    env = {"JOBHOST_REDIS_MIN_REPLICAS": "1", "JOBHOST_REDIS_REPLICA_TIMEOUT": "50ms"}
    async with make_api(jobs_demo, REDIS_URL=redis_server.url, **env) as api:
        _, ann = await api.user("ann@example.org")
        answer = await api.client.post("/api/demo/jobs", json={"steps": 1}, headers=ann)
        assert answer.status_code == 503 and answer.headers["retry-after"]
        (job_id,) = answer.json()["job_ids"]
        assert "only 0 of the 1 Redis replica(s)" in answer.json()["detail"]
        assert (await api.client.get(f"/api/jobs/{job_id}", headers=ann)).json()["state"] == "waiting"
