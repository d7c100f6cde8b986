"""Login limits: per client address (X-Forwarded-For only from trusted proxies), per account and
address (a stranger cannot lock the owner out), a budget for the whole deployment, and password
hashing on threads of its own."""

from __future__ import annotations

import asyncio
import threading

from jobhost.store import passwords
from jobhost.store.accounts import Accounts
from tests.http.conftest import PASSWORD

LOGIN = "/api/auth/login"


async def login(api, password: str = PASSWORD, via: str | None = None):
    headers = {"X-Forwarded-For": via} if via else {}
    body = {"email": "ann@example.org", "password": password}
    return await api.client.post(LOGIN, json=body, headers=headers)


async def test_forwarded_for_counts_only_from_trusted_proxies(make_api):
    async with make_api(JOBHOST_LOGIN_ADDRESS_LIMIT="2/min") as api:
        await api.user("ann@example.org")
        # Untrusted: every claimed address is the one loopback client.
        answers = [await login(api, via=f"10.0.0.{n}") for n in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert "too many attempts from this address" in answers[2].json()["detail"]


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(make_api):
    async with make_api(JOBHOST_LOGIN_ADDRESS_LIMIT="2/min", JOBHOST_TRUSTED_PROXIES="127.0.0.1") as api:
        await api.user("ann@example.org")
        answers = [await login(api, via="10.0.0.1") for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert (await login(api, via="10.0.0.2")).status_code == 200  # another client of the proxy


async def test_a_stranger_cannot_lock_the_owner_out(make_api):
    env = {"JOBHOST_LOGIN_ACCOUNT_LIMIT": "2/min", "JOBHOST_TRUSTED_PROXIES": "127.0.0.1"}
    async with make_api(**env) as api:
        await api.user("ann@example.org")
        guesses = [await login(api, "wrong-guess", via="203.0.113.9") for _ in range(3)]
        assert [g.status_code for g in guesses] == [401, 401, 429]
        assert "too many attempts from this account" in guesses[2].json()["detail"]
        assert (await login(api, via="198.51.100.7")).status_code == 200  # the owner, elsewhere


async def test_the_deployment_checks_a_bounded_number_of_passwords(make_api):
    env = {"JOBHOST_LOGIN_BUDGET": "2/min", "JOBHOST_TRUSTED_PROXIES": "127.0.0.1"}
    async with make_api(**env) as api:
        await api.user("ann@example.org")
        answers = [await login(api, via=f"10.0.0.{n}") for n in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert "checking too many passwords" in answers[2].json()["detail"]
        assert int(answers[2].headers["Retry-After"]) >= 1


async def test_hashing_runs_on_its_own_bounded_threads(make_api, monkeypatch):
    async with make_api() as api:
        await api.user("ann@example.org")
        accounts = Accounts(api.host.db)
        hashing: set[str] = set()
        real_verify = passwords.verify_password

        def verify(password: str, stored: str) -> bool:
            hashing.add(threading.current_thread().name)
            return real_verify(password, stored)

        passwords.verify_password = verify
        try:
            logins = [
                asyncio.create_task(accounts.authenticate("ann@example.org", PASSWORD)) for _ in range(8)
            ]
            await asyncio.sleep(0.05)
            # The process's shared thread pool still answers at once while eight hashes wait.
            await asyncio.to_thread(lambda: None)
            assert not any(task.done() for task in logins)
            assert all(await asyncio.gather(*logins))
        finally:
            passwords.verify_password = real_verify
        assert hashing and all(name.startswith("jobhost-scrypt") for name in hashing)
        assert len(hashing) <= passwords.HASH_THREADS
