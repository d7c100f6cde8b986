"""Passwords given as URL query parameters (`?password=`) show neither in `jobhost config` nor in
database error messages."""

from __future__ import annotations

import json

from jobhost.store.database import Database, DatabaseURLError, async_url
from tests.conftest import run_jobhost

SECRET = "hunter2-in-the-query"


def test_config_masks_passwords_in_url_queries():
    env = {
        "DATABASE_URL": f"postgresql://app@db/app?password={SECRET}&sslmode=require",
        "REDIS_URL": f"redis://127.0.0.1:6379/0?password={SECRET}",
    }
    proc = run_jobhost("config", "--json", env=env, check=True)
    values = json.loads(proc.stdout)
    assert values["DATABASE_URL"] == "postgresql://***@db/app?password=***&sslmode=require"
    assert values["REDIS_URL"] == "redis://127.0.0.1:6379/0?password=***"
    assert SECRET not in proc.stdout and SECRET not in run_jobhost("config", env=env).stdout


def test_database_messages_mask_passwords_in_url_queries():
    shown = str(Database(f"postgresql://app:pw@db/app?sslpassword={SECRET}&password={SECRET}"))
    assert shown == "postgresql+asyncpg://app:***@db/app?sslpassword=***&password=***"
    try:
        async_url(f"password={SECRET}")
    except DatabaseURLError as exc:
        assert SECRET not in str(exc)
    # A failing database command does not show the password.
    env = {"DATABASE_URL": f"postgresql://nobody@127.0.0.1:1/app?password={SECRET}"}
    failed = run_jobhost("db", "upgrade", env=env)
    assert failed.returncode != 0 and "Connect call failed" in failed.stderr
    assert SECRET not in failed.stderr and SECRET not in failed.stdout
