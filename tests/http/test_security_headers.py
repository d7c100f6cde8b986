"""Every answer carries the security headers; the CSP admits nothing from another origin, and
answers with tokens are never cached."""

from __future__ import annotations

from jobhost.http.security import CSP
from tests.http.conftest import PASSWORD


async def test_every_answer_has_the_security_headers(make_api):
    async with make_api() as api:
        await api.user("ann@example.org")
        answers = [
            await api.client.get("/healthz"),
            await api.client.get("/schema"),
            await api.client.get("/api/jobs/x"),  # a 401
            await api.client.get("/no/such/route"),  # a 404
        ]
        for answer in answers:
            assert answer.headers["Content-Security-Policy"] == CSP
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
            assert answer.headers["X-Frame-Options"] == "DENY"
            assert answer.headers["Referrer-Policy"] == "no-referrer"
        credentials = {"email": "ann@example.org", "password": PASSWORD}
        login = await api.client.post("/api/auth/login", json=credentials)
        assert login.status_code == 200 and login.headers["Cache-Control"] == "no-store"


def test_the_policy_admits_only_this_origin():
    directives = dict(d.split(" ", 1) for d in CSP.split("; "))
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    for directive, sources in directives.items():
        for source in sources.split():
            assert source in ("'self'", "'none'", "data:"), (directive, source)
