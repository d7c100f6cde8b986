"""The OpenAPI description is true for plugin routes too: bearer security where a user is
needed, and the error answers each route can give."""

from __future__ import annotations

from tests.http import jobs_demo
from tests.http.test_auth import Demo


async def test_every_route_declares_its_security_and_error_answers(make_api):
    async with make_api(("demo", Demo()), jobs_demo) as api:
        paths = (await api.client.get("/schema/openapi.json")).json()["paths"]
    me, public = paths["/api/demo/me"]["get"], paths["/api/demo/public"]["get"]
    stats = paths["/api/admin/demo/stats"]["get"]
    enqueue = paths["/api/demo/jobs"]["post"]
    assert me["security"] == [{"BearerToken": []}] and "security" not in public
    assert {"401", "503"} <= set(me["responses"]) and "401" not in public["responses"]
    assert {"401", "403"} <= set(stats["responses"])
    assert {"400", "401", "408", "413"} <= set(enqueue["responses"])
    assert "404" in paths["/api/demo/users/{user_id}"]["get"]["responses"]
    login = paths["/api/auth/login"]["post"]
    assert {"401", "429"} <= set(login["responses"])
    assert "429" in paths["/api/jobs/{job_id}/events"]["get"]["responses"]
