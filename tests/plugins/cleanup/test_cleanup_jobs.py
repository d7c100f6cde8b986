"""The cleanup plugin in a real host: its jobs run by a real worker on the shared Redis, files in
a real folder, tokens in a real (migrated) SQLite or PostgreSQL database."""

import asyncio
import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest
from croniter import croniter
from sqlalchemy import func, select

from jobhost.store.accounts import API, PASSWORD_RESET, SESSION, Accounts
from jobhost.store.models import TokenRow, UserRow
from jobhost.worker import running_worker
from jobhost_cleanup.jobs import FILES_TASK, TOKENS_TASK

AT = datetime(2026, 1, 5, 12, 30, tzinfo=UTC).timestamp()


def test_the_plugin_registers_its_queues_setting_and_schedules(cleanup_host):
    host = cleanup_host()
    info = host.registry.plugins["cleanup"]
    assert info.status == "loaded", info.error
    assert {name: (q.attempts, q.backoff.delay_for(1)) for name, q in host.registry.queues.items()} == {
        "file-cleanup": (3, 30),
        "token-cleanup": (2, 3600),
    }
    assert info.as_dict()["settings"] == ["CLEANUP_FILE_MAX_AGE", "UPLOAD_RETENTION", "UPLOAD_ORPHAN_GRACE"]
    assert [(t.name, t.folder) for t in host.cleanup_targets] == [("temporary files", "tmp")]
    crons = {s.task: s.cron for s in host.registry.schedules.values()}
    assert fire_gaps(crons[FILES_TASK]) == [3600, 3600]
    assert fire_gaps(crons[TOKENS_TASK]) == [86400, 86400]


def fire_gaps(cron: str) -> list[float]:
    """Seconds between the next three fires of `cron` after AT."""
    times = croniter(cron, AT)
    fires = [times.get_next(float) for _ in range(3)]
    return [later - earlier for earlier, later in itertools.pairwise(fires)]


def test_a_bad_max_age_stops_the_host_naming_the_variable(cleanup_host):
    with pytest.raises(ValueError, match=r"CLEANUP_FILE_MAX_AGE='0': must be a duration > 0"):
        cleanup_host(CLEANUP_FILE_MAX_AGE="0")


async def test_the_files_job_deletes_old_temporary_files_and_reports_them(cleanup_host, tmp_path):
    uploads = tmp_path / "uploads"
    scratch = uploads / "tmp"
    (scratch / "job-1").mkdir(parents=True)
    (scratch / "job-1" / "page-1.png").write_bytes(b"p" * 50)
    (scratch / "upload.part").write_bytes(b"u" * 7)
    (uploads / "flyer.pdf").write_bytes(b"kept: not a temporary file")
    host = cleanup_host(UPLOAD_DIR=str(uploads), CLEANUP_FILE_MAX_AGE="1s")
    await asyncio.sleep(1.2)  # older than the 1 s CLEANUP_FILE_MAX_AGE

    job = await host.enqueue(FILES_TASK)
    async with running_worker(host, ["file-cleanup"]):
        done = await host.engine.wait(job.id, timeout=60)
    assert done.state == "completed", done.errors
    assert (done.result["files"], done.result["bytes"], done.result["dry_run"]) == (2, 57, False)
    [swept] = done.result["targets"]
    assert (swept["target"], swept["files"], swept["directories"]) == ("temporary files", 2, 1)
    assert sorted(swept["removed"]) == ["job-1/", "job-1/page-1.png", "upload.part"]
    assert swept["max_age_seconds"] == 1
    assert list(scratch.iterdir()) == []
    assert scratch.is_dir()
    assert (uploads / "flyer.pdf").exists()


async def test_max_age_hours_overrides_the_setting_and_young_files_stay(cleanup_host, tmp_path):
    scratch = tmp_path / "uploads" / "tmp"
    scratch.mkdir(parents=True)
    (scratch / "young.png").write_bytes(b"y")
    host = cleanup_host(UPLOAD_DIR=str(tmp_path / "uploads"), CLEANUP_FILE_MAX_AGE="1s")
    await asyncio.sleep(1.2)
    job = await host.enqueue(FILES_TASK, {"max_age_hours": 1})
    async with running_worker(host, ["file-cleanup"]):
        done = await host.engine.wait(job.id, timeout=60)
    assert done.state == "completed", done.errors
    assert (done.result["files"], done.result["targets"][0]["max_age_seconds"]) == (0, 3600)
    assert (scratch / "young.png").exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_age_hours": 0}, "cleanup.files: max_age_hours must be a number of hours > 0, got 0"),
        ({"max_age_hours": "24"}, "cleanup.files: max_age_hours must be a number of hours > 0, got '24'"),
        ({}, "cleanup.files: .*/uploads/tmp is a symbolic link; cleanup never follows links"),
    ],
)
async def test_input_that_cannot_work_fails_at_once_without_retries(cleanup_host, tmp_path, kwargs, message):
    uploads = tmp_path / "uploads"
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "precious.png").write_bytes(b"p")
    uploads.mkdir()
    (uploads / "tmp").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    host = cleanup_host(UPLOAD_DIR=str(uploads))
    job = await host.enqueue(FILES_TASK, kwargs)
    async with running_worker(host, ["file-cleanup"]):
        done = await host.engine.wait(job.id, timeout=60)
    assert (done.state, done.attempt) == ("dead", 1)
    [failure] = done.errors
    assert re.match(f"PermanentError: {message}", failure.error), failure.error
    assert (tmp_path / "elsewhere" / "precious.png").exists()


async def _account_with_tokens(host) -> tuple[str, int]:
    """A user with one live API token and three expired tokens; the live token and the user id."""
    await host.migrate()
    async with host.db() as session:
        user = UserRow(email="ann@example.com", password_hash="not-used-here", is_admin=False)
        session.add(user)
        await session.commit()
        past = datetime.now(UTC) - timedelta(minutes=1)
        for n, purpose in enumerate((API, SESSION, PASSWORD_RESET)):
            session.add(TokenRow(user_id=user.id, purpose=purpose, token_hash=f"{n:064d}", expires_at=past))
        await session.commit()
    accounts = Accounts(host.db)
    live = await accounts.issue_token(await accounts.find("ann@example.com"), API, 3600)
    return live.token, user.id


async def _token_count(host) -> int:
    async with host.db() as session:
        return await session.scalar(select(func.count()).select_from(TokenRow))


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_purge_expired_tokens_deletes_the_expired_ones_only(cleanup_host):
    host = cleanup_host()
    live, user_id = await _account_with_tokens(host)
    await host.start()  # binds the accounts service to the host's database
    accounts = host.service("accounts")
    assert await accounts.delete_expired_tokens() == 3
    assert await accounts.delete_expired_tokens() == 0
    await host.stop()
    assert await _token_count(host) == 1
    user = await Accounts(host.db).user_for_token(live)
    assert user is not None and user.id == user_id


async def test_the_tokens_job_purges_expired_tokens_and_says_how_many(cleanup_host):
    host = cleanup_host()
    live, _ = await _account_with_tokens(host)
    job = await host.enqueue(TOKENS_TASK)
    async with host.worker(["token-cleanup"]):
        done = await host.engine.wait(job.id, timeout=60)
    assert done.state == "completed", done.errors
    assert done.result == {"removed": 3}
    assert await _token_count(host) == 1
    assert await Accounts(host.db).user_for_token(live) is not None


async def test_the_admin_route_queues_a_dry_run_and_only_admins_may(cleanup_host, tmp_path):
    from jobhost.testing import client

    scratch = tmp_path / "uploads" / "tmp"
    scratch.mkdir(parents=True)
    (scratch / "left.part").write_bytes(b"abc")
    host = cleanup_host(UPLOAD_DIR=str(tmp_path / "uploads"), CLEANUP_FILE_MAX_AGE="1s")
    async with client(host) as http:
        await http.login()
        refused = await http.post("/api/admin/cleanup/files?dry_run=true")
        assert refused.status_code == 403
        await http.login(admin=True)
        answer = await http.post("/api/admin/cleanup/files?dry_run=true")
        assert answer.status_code == 202, answer.text
        bad = await http.post("/api/admin/cleanup/files?dry_run=maybe")
        assert bad.status_code == 400
    await asyncio.sleep(1.2)
    async with running_worker(host, ["file-cleanup"]):
        done = await host.engine.wait(answer.json()["jobId"], timeout=60)
    assert done.state == "completed", done.errors
    assert (done.result["dry_run"], done.result["files"], done.result["targets"][0]["removed"]) == (
        True,
        1,
        ["left.part"],
    )
    assert (scratch / "left.part").exists()
