"""`jobhost config` and the CLI's error messages, run as a user runs them."""

import json

from tests.conftest import run_jobhost


def test_config_shows_every_setting_with_secrets_masked():
    env = {
        "REDIS_URL": "redis://worker:hunter2@127.0.0.1:6379/0",
        "SMTP_PASSWORD": "swordfish",
        "JOBHOST_SECRET_KEY": "k3y",
        "WORKER_CONCURRENCY": "2",
    }
    proc = run_jobhost("config", "--json", env=env, check=True)
    values = json.loads(proc.stdout)
    assert values["REDIS_URL"] == "redis://worker:***@127.0.0.1:6379/0"
    assert values["SMTP_PASSWORD"] == values["JOBHOST_SECRET_KEY"] == "***"
    assert values["WORKER_CONCURRENCY"] == 2
    assert values["EMAIL_WORKER_CONCURRENCY"] == 10
    assert values["SHUTDOWN_TIMEOUT"] == 30
    assert "JOBHOST_MAX_BODY_SIZE" in values and "MAIL_FROM" in values
    for secret in ("hunter2", "swordfish", "k3y"):
        assert secret not in proc.stdout
    plain = run_jobhost("config", env=env, check=True).stdout
    assert "WORKER_CONCURRENCY=2\n" in plain and "hunter2" not in plain


def test_a_bad_setting_says_which_variable_and_what_to_do():
    proc = run_jobhost("config", env={"SHUTDOWN_TIMEOUT": "later"})
    assert proc.returncode == 2
    assert "jobhost: SHUTDOWN_TIMEOUT='later': must be a duration >= 0" in proc.stderr
    assert "Fix the environment variable named above" in proc.stderr
    assert run_jobhost("config", env={"EMAIL_WORKER_CONCURRENCY": "lots"}).returncode == 2
