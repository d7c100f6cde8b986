"""Secret keys: without JOBHOST_SECRET_KEY one is generated once, in the database every process of
the deployment shares; rotation keeps the older keys for verifying; the explicit setting wins."""

from __future__ import annotations

import asyncio
import logging

import pytest

from jobhost.store.secrets import KeyStore
from tests.store.test_cli import env, jobhost  # noqa: F401  (the `env` fixture)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_a_generated_key_is_made_once_and_shared_by_every_process(make_host, database_url, caplog):
    first = make_host(DATABASE_URL=database_url, migrate=True)
    second = make_host(DATABASE_URL=database_url)  # another process of the same deployment
    caplog.set_level(logging.WARNING, "jobhost")
    a, b = await asyncio.gather(first.secret_keys(), second.secret_keys())
    assert a == b and len(a.signing) >= 40 and a.verifying == (a.signing,)
    assert await first.secret_keys() == a  # made once, then found
    warned = [r for r in caplog.records if "JOBHOST_SECRET_KEY is unset: generated a secret key" in r.message]
    assert len(warned) == 1
    assert a.signing not in caplog.text  # the key itself is never logged

    number = await KeyStore(first.db).add()
    rotated = await second.secret_keys()
    assert number == 2 and rotated.signing != a.signing and rotated.verifying == (rotated.signing, a.signing)

    explicit = make_host(DATABASE_URL=database_url, JOBHOST_SECRET_KEY="mine")
    assert (await explicit.secret_keys()).verifying == ("mine", rotated.signing, a.signing)
    for host in (first, second, explicit):
        await host.database.dispose()


def test_jobhost_secret_rotate(env):  # noqa: F811
    assert jobhost(env, "db", "upgrade").returncode == 0
    first = jobhost(env, "secret", "rotate")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "secret key 1 signs from now on; the 0 older ones still verify"
    assert jobhost(env, "secret", "rotate").stdout.startswith("secret key 2 signs")
    refused = jobhost({**env, "JOBHOST_SECRET_KEY": "k"}, "secret", "rotate")
    assert refused.returncode != 0 and "JOBHOST_SECRET_KEY is set" in refused.stderr
    assert "Traceback" not in refused.stderr
