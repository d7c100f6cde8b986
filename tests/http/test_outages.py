"""While Redis or the database is down the API answers 503 saying which; it recovers by itself."""

from __future__ import annotations

import pytest

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
