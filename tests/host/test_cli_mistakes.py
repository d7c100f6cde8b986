"""Every command, run with the usual mistakes: a malformed REDIS_URL or DATABASE_URL, a Redis or
a database that is not up. Each ends with one clear error that names what to fix, never a
traceback. The commands run in this process (`jobhost.cli.main`, as the `jobhost` script calls
it), so dozens of them take seconds, not minutes."""

from __future__ import annotations

import logging
import os

import attrs
import pytest

from jobhost.cli import main
from tests.conftest import run_jobhost
from tests.http.outages import free_port

COMMANDS = [
    ["config"],
    ["plugins"],
    ["queues"],
    ["queues", "pause", "email-sending"],
    ["jobs", "list", "email-sending"],
    ["jobs", "show", "email-sending:00"],
    ["jobs", "retry", "email-sending:00"],
    ["jobs", "enqueue", "cleanup.tokens"],
    ["schedules"],
    ["db", "upgrade"],
    ["users", "create", "a@example.org", "--password", "a long passphrase"],
    ["users", "link", "a@example.org"],
    ["tokens", "create", "a@example.org"],
    ["worker"],
    ["scheduler"],
    ["run", "--port", "0"],
    ["api", "--port", "0"],
]
# The parts of the job system each command reaches.
USES_REDIS = {"queues", "jobs", "schedules", "worker", "scheduler"}
USES_DATABASE = {"db", "users", "tokens", "run"}


@attrs.frozen
class Ran:
    returncode: int
    stdout: str
    stderr: str


def jobhost(tmp_path, args, monkeypatch, capsys, **env):
    for name in [n for n in os.environ if n.startswith(("JOBHOST_", "REDIS_URL", "DATABASE_URL"))]:
        monkeypatch.delenv(name)
    for name, value in {"JOBHOST_DATA_DIR": str(tmp_path), "JOBHOST_SECRET_KEY": "k", **env}.items():
        monkeypatch.setenv(name, value)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        main(list(args))
        code = 0
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else 1
    finally:
        root.handlers[:], root.level = handlers, level  # main() set up logging for a whole process
    out = capsys.readouterr()
    proc = Ran(code, out.out, out.err)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    return proc


@pytest.mark.parametrize(
    ("variable", "value", "rule"),
    [
        ("REDIS_URL", "localhost:6379", "must be a Redis URL such as redis://localhost:6379/0"),
        ("REDIS_URL", "redis://127.0.0.1:port/0", "must be a Redis URL such as redis://localhost:6379/0"),
        ("DATABASE_URL", "mysql://db/app", "must be a database URL such as postgresql://user@host/db"),
        ("DATABASE_URL", "postgresql://h:x/db", "must be a database URL such as postgresql://user@host/db"),
    ],
)
def test_a_malformed_url_stops_every_command_naming_the_variable(
    tmp_path, monkeypatch, capsys, variable, value, rule
):
    for args in COMMANDS:
        proc = jobhost(tmp_path, args, monkeypatch, capsys, **{variable: value})
        assert proc.returncode == 2, (args, proc.stderr)
        assert f"jobhost: {variable}=" in proc.stderr and rule in proc.stderr, (args, proc.stderr)
        assert "Fix the environment variable named above" in proc.stderr


# One test per service, each starting about twenty jobhost processes.
@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    ("variable", "down", "users", "says"),
    [
        ("REDIS_URL", "redis://127.0.0.1:{port}/0", USES_REDIS, "cannot reach Redis (Error 111"),
        (
            "DATABASE_URL",
            "postgresql://jobhost@127.0.0.1:{port}/jobhost",
            USES_DATABASE,
            "cannot reach a service",
        ),
    ],
)
def test_commands_that_reach_a_service_that_is_down_say_so(
    tmp_path, monkeypatch, capsys, variable, down, users, says
):
    url = down.format(port=free_port())
    for args in COMMANDS:
        if args[0] not in users:
            continue
        proc = jobhost(tmp_path, args, monkeypatch, capsys, **{variable: url})
        assert proc.returncode == 1, (args, proc.stderr)
        assert says in proc.stderr and "check REDIS_URL" in proc.stderr, (args, proc.stderr)


def test_every_command_finds_the_same_data_directory_from_any_folder(tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg"), "JOBHOST_LOAD_PLUGINS": ""}
    made = run_jobhost("users", "create", "a@example.org", "--password", "a long passphrase", env=env)
    assert made.returncode == 1 and "no such table" in made.stderr  # not migrated yet: says so
    upgraded = run_jobhost("db", "upgrade", env=env, check=True, cwd=tmp_path).stdout
    assert upgraded == "jobhost: applied jobhost_0001, jobhost_0002, jobhost_0003, jobhost_0004\n"
    again = run_jobhost("db", "upgrade", env=env, check=True, cwd=tmp_path).stdout
    assert again == "jobhost: nothing to do, at jobhost_0004\n"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    made = run_jobhost(
        "users", "create", "a@example.org", "--password", "a long passphrase", env=env, cwd=elsewhere
    )
    assert made.returncode == 0, made.stderr
    token = run_jobhost("tokens", "create", "a@example.org", env=env, cwd=tmp_path)
    assert token.returncode == 0, token.stderr
    assert (tmp_path / "xdg" / "jobhost" / "jobhost.db").exists()
