import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobhost.store.accounts import Accounts
from jobhost.testing import build_host


def jobhost(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("JOBHOST_", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "-m", "jobhost", *args],
        env={**environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return {
        "JOBHOST_DATA_DIR": str(tmp_path / "data"),
        "JOBHOST_LOAD_PLUGINS": "",
        "DATABASE_URL": database_url,
    }


async def test_operator_creates_users_and_an_api_token(env, tmp_path):
    upgraded = jobhost(env, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert (
        upgraded.stdout.strip() == "jobhost: applied jobhost_0001, jobhost_0002, jobhost_0003, jobhost_0004"
    )

    admin = jobhost(env, "users", "create", "Root@Example.org", "--admin", "--password", "admin-pass")
    assert admin.returncode == 0, admin.stderr
    assert "created admin root@example.org" in admin.stdout
    viewer = jobhost(env, "users", "create", "oncall@example.org", "--read-only", "--password", "oncall-pw")
    assert viewer.returncode == 0, viewer.stderr
    assert "created read-only user oncall@example.org" in viewer.stdout

    prompted = jobhost(env, "users", "create", "ann@example.org", stdin="typed-pass\ntyped-pass\n")
    assert prompted.returncode == 0, prompted.stderr
    assert "created user ann@example.org" in prompted.stdout
    assert "typed-pass" not in prompted.stdout + prompted.stderr

    again = jobhost(env, "users", "create", "ann@example.org", "--password", "whatever1")
    assert again.returncode == 1
    assert "a user with email 'ann@example.org' already exists" in again.stderr

    created = jobhost(env, "tokens", "create", "ann@example.org", "--expires", "2h")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    host = build_host(tmp_path=tmp_path, DATABASE_URL=env["DATABASE_URL"])
    try:
        accounts = Accounts(host.db)
        user = await accounts.user_for_token(token)
        assert user is not None and user.email == "ann@example.org" and not user.is_admin
        assert await accounts.authenticate("ann@example.org", "typed-pass") == user
    finally:
        await host.database.dispose()


def test_mistakes_get_messages_that_say_what_to_do(env):
    before = jobhost(env, "users", "create", "a@example.org", "--password", "password1")
    assert before.returncode == 1
    assert "jobhost db upgrade" in before.stderr

    assert jobhost(env, "db", "upgrade").returncode == 0
    unknown = jobhost(env, "tokens", "create", "nobody@example.org")
    assert unknown.returncode == 1
    assert "no user with email 'nobody@example.org'; create one with `jobhost users create" in unknown.stderr

    bad = jobhost(env, "tokens", "create", "nobody@example.org", "--expires", "soon")
    assert bad.returncode == 2
    assert "--expires" in bad.stderr and "30d" in bad.stderr

    weak = jobhost(env, "users", "create", "a@example.org", "--password", "short")
    assert weak.returncode == 1
    assert "password must be at least 8 characters" in weak.stderr
