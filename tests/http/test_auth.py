"""Logging in and out, and who may call which class of route."""

from __future__ import annotations

import pytest
from litestar import get
from litestar.di import NamedDependency

from jobhost import User, hookimpl
from tests.http.conftest import PASSWORD


@get("/api/demo/public")
async def public() -> dict[str, str]:
    return {"hello": "anyone"}


@get("/api/demo/me")
async def me(user: NamedDependency[User]) -> dict[str, object]:
    return {"id": user.id, "email": user.email}


@get("/demo/stats")
async def stats(user: NamedDependency[User]) -> dict[str, object]:
    return {"seen_by": user.email}


class Demo:
    @hookimpl
    def register_routes(self, register):
        register(public)
        register(me)

    @hookimpl
    def register_admin_routes(self, register):
        register(stats)


ROUTES = [
    ("GET", "/healthz", "public"),
    ("GET", "/api/demo/public", "public"),
    ("GET", "/api/demo/me", "user"),
    ("GET", "/api/admin/demo/stats", "admin"),
    ("GET", "/api/admin/plugins", "admin"),
]


@pytest.mark.parametrize(("method", "path", "kind"), ROUTES)
async def test_auth_matrix(make_api, method, path, kind):
    async with make_api(("demo", Demo())) as api:
        _, admin = await api.user("root@example.org", admin=True)
        _, ann = await api.user("ann@example.org")
        anonymous = await api.client.request(method, path)
        as_user = await api.client.request(method, path, headers=ann)
        as_admin = await api.client.request(method, path, headers=admin)
        bad_token = await api.client.request(method, path, headers={"Authorization": "Bearer forged"})

    expect = {"public": (200, 200, 200), "user": (401, 200, 200), "admin": (401, 403, 200)}[kind]
    assert (anonymous.status_code, as_user.status_code, as_admin.status_code) == expect
    assert bad_token.status_code == (200 if kind == "public" else 401)
    if kind != "public":
        assert "Bearer" in anonymous.json()["detail"]
        assert anonymous.headers["www-authenticate"] == "Bearer"
    if kind == "admin":
        assert "administrators only" in as_user.json()["detail"]


async def test_plugin_routes_get_the_user_and_admin_routes_live_under_api_admin(make_api):
    async with make_api(("demo", Demo())) as api:
        ann, headers = await api.user("ann@example.org")
        _, admin = await api.user("root@example.org", admin=True)
        assert (await api.client.get("/api/demo/me", headers=headers)).json() == {
            "id": ann.id,
            "email": "ann@example.org",
        }
        assert (await api.client.get("/api/admin/demo/stats", headers=admin)).json() == {
            "seen_by": "root@example.org"
        }
        assert (await api.client.get("/demo/stats", headers=admin)).status_code == 404


async def test_login_gives_a_session_token_that_logout_ends(make_api):
    async with make_api() as api:
        await api.user("ann@example.org")
        bad = await api.client.post("/api/auth/login", json={"email": "ann@example.org", "password": "nope"})
        assert bad.status_code == 401 and bad.json()["detail"] == "wrong email or password"
        unknown = await api.client.post("/api/auth/login", json={"email": "who@example.org", "password": "x"})
        assert unknown.status_code == 401 and unknown.json() == bad.json()

        login = await api.client.post(
            "/api/auth/login", json={"email": "ANN@example.org", "password": PASSWORD}
        )
        assert login.status_code == 200
        body = login.json()
        assert body["user"]["email"] == "ann@example.org" and not body["user"]["is_admin"]
        headers = {"Authorization": f"Bearer {body['token']}"}
        assert (await api.client.post("/api/auth/logout", headers=headers)).status_code == 204
        again = await api.client.post("/api/auth/logout", headers=headers)
        assert again.status_code == 401


async def test_malformed_login_bodies_get_400_with_a_detail(make_api):
    async with make_api() as api:
        missing = await api.client.post("/api/auth/login", json={"email": "a@b.c"})
        assert missing.status_code == 400
        assert "password" in missing.json()["extra"][0]["message"]
        garbage = await api.client.post("/api/auth/login", content=b"{not json")
        assert garbage.status_code == 400 and "JSON is malformed" in garbage.json()["detail"]


async def test_login_is_rate_limited_per_account_and_per_address(make_api):
    env = {"JOBHOST_LOGIN_ACCOUNT_LIMIT": "3/min", "JOBHOST_LOGIN_ADDRESS_LIMIT": "5/min"}
    async with make_api(**env) as api:
        await api.user("ann@example.org")
        wrong = {"email": "ann@example.org", "password": "guess"}
        codes = [(await api.client.post("/api/auth/login", json=wrong)).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        limited = await api.client.post("/api/auth/login", json={**wrong, "password": PASSWORD})
        assert limited.status_code == 429  # even the right password waits out the window
        assert "this account" in limited.json()["detail"]
        assert 1 <= int(limited.headers["retry-after"]) <= 60

        # Other accounts from the same address: the address limit (5/min) is already spent.
        other = await api.client.post("/api/auth/login", json={"email": "bob@example.org", "password": "x"})
        assert other.status_code == 429 and "this address" in other.json()["detail"]
