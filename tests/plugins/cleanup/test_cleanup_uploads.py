"""Upload cleanup with real data: the installed flyer and cleanup plugins on a real (migrated)
SQLite database, uploads in each real blob store (a folder, the database, moto's S3 server on
loopback). Ages are made by sweeping at a later `now`, so nothing waits on the clock."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import types
from datetime import UTC, datetime, timedelta

import pytest

from jobhost import CleanupTarget, hookimpl
from jobhost_cleanup.files import CleanupFailed, clean_files
from jobhost_flyer_ocr.records import Flyers
from jobhost_flyer_ocr.uploads import new_key

DAY = timedelta(days=1)


@pytest.fixture(params=["folder", "database", "s3"])
def store_env(request, tmp_path, database_url):
    env = {"DATABASE_URL": database_url, "UPLOAD_DIR": str(tmp_path / "uploads")}
    if request.param == "folder":
        env["JOBHOST_BLOB_STORE"] = "folder"
    elif request.param == "s3":
        env.update(request.getfixturevalue("s3_blobs"))
    return env


async def flyer(host, status: str, *, created: datetime, processed: datetime | None = None) -> str:
    """A flyer record in `status` and its stored upload; the upload's key."""
    key = new_key("png")
    await host.blobs.put(key, f"{status} upload".encode())
    record = await Flyers(host.db).create(
        owner="7",
        filename="week.png",
        stored_name=key,
        media_type="image/png",
        size=9,
        sha256="0" * 64,
        pages=1,
        status=status,
        created_at=created,
    )
    if processed is not None:
        await Flyers(host.db)._update(record.id, processed_at=processed)
    return key


async def stored(host) -> set[str]:
    return {info.key async for info in host.blobs.scan()}


async def test_only_expired_and_orphaned_uploads_go(make_host, store_env):
    host = make_host(installed=("flyer_ocr", "cleanup"), migrate=True, **store_env)
    now = datetime.now(UTC) + 10 * DAY  # every blob stored now is 10 days old then
    old_processed = await flyer(host, "processed", created=now - 9 * DAY, processed=now - 8 * DAY)
    recent = await flyer(host, "processed", created=now - 2 * DAY, processed=now - DAY)
    waiting = await flyer(host, "queued", created=now - 30 * DAY)
    running = await flyer(host, "processing", created=now - 30 * DAY)
    old_failed = await flyer(host, "failed", created=now - 8 * DAY)
    orphan = new_key("pdf")
    await host.blobs.put(orphan, b"no record knows me")
    await host.blobs.put("other-plugin/keep", b"not an upload of the flyer plugin")

    dry = await clean_files(host, max_age=3600, now=now, dry_run=True)
    assert await stored(host) == {
        old_processed,
        recent,
        waiting,
        running,
        old_failed,
        orphan,
        "other-plugin/keep",
    }
    [_, uploads] = dry["targets"]
    assert (uploads["target"], uploads["expired"], uploads["orphans"]) == ("flyer uploads", 2, 1)
    assert sorted(uploads["removed"]) == sorted([old_processed, old_failed, orphan])

    done = await clean_files(host, max_age=3600, now=now)
    assert done["targets"][1]["removed"] == uploads["removed"], "the dry run listed what went"
    assert done["targets"][1]["bytes"] == len(b"processed upload") + len(b"failed upload") + 18
    assert await stored(host) == {recent, waiting, running, "other-plugin/keep"}
    assert await host.blobs.get(waiting) == b"queued upload"
    again = await clean_files(host, max_age=3600, now=now)
    assert again["files"] == 0


async def test_an_orphan_younger_than_the_grace_period_stays(make_host, store_env):
    host = make_host(installed=("flyer_ocr", "cleanup"), migrate=True, UPLOAD_ORPHAN_GRACE="11d", **store_env)
    orphan = new_key("pdf")
    await host.blobs.put(orphan, b"its record is being written")
    done = await clean_files(host, max_age=3600, now=datetime.now(UTC) + 10 * DAY)
    assert done["files"] == 0 and await stored(host) == {orphan}


async def test_links_and_dotdot_keys_never_reach_outside_upload_dir(make_host, tmp_path, database_url):
    uploads, outside = tmp_path / "uploads", tmp_path / "outside"
    outside.mkdir()
    precious = outside / "flyer-00000000000000000000000000000000.png"
    precious.write_bytes(b"precious")
    host = make_host(
        installed=("flyer_ocr", "cleanup"),
        migrate=True,
        JOBHOST_BLOB_STORE="folder",
        DATABASE_URL=database_url,
        UPLOAD_DIR=str(uploads),
    )
    now = datetime.now(UTC) + 10 * DAY
    kept_link = "flyer-11111111111111111111111111111111.png"
    await flyer(host, "processed", created=now - 9 * DAY, processed=now - 8 * DAY)
    (uploads / kept_link).symlink_to(precious)  # a link pointing out, named like an upload
    (uploads / "flyer-dir").symlink_to(outside, target_is_directory=True)
    # A record whose key climbs out: the store never lists it, so nothing outside is judged.
    await Flyers(host.db).create(
        owner="7",
        filename=None,
        stored_name="../outside/" + precious.name,
        media_type="image/png",
        size=8,
        sha256="0" * 64,
        pages=1,
        status="processed",
        created_at=now - 9 * DAY,
    )
    done = await clean_files(host, max_age=3600, now=now)
    assert done["targets"][1]["expired"] == 1 and done["targets"][1]["orphans"] == 0
    assert precious.read_bytes() == b"precious" and os.listdir(outside) == [precious.name]
    assert (uploads / kept_link).is_symlink() and (uploads / "flyer-dir").is_symlink()
    # The scratch sweep goes on after this run too: links in tmp/ are unlinked, never followed.
    (uploads / "tmp" / "out").symlink_to(outside, target_is_directory=True)
    await clean_files(host, max_age=1, now=now)
    assert os.listdir(outside) == [precious.name]


def test_a_folder_target_must_stay_under_upload_dir():
    for bad in ("../elsewhere", "/etc", "a/../../b", ".", ""):
        with pytest.raises(ValueError, match="must be a folder under UPLOAD_DIR"):
            CleanupTarget("bad", folder=bad)
    with pytest.raises(ValueError, match="give exactly one of"):
        CleanupTarget("two kinds", folder="tmp", prune=lambda host, now, dry: None)


async def test_hook_register_cleanup_refuses_a_folder_behind_a_link_others_still_run(make_host, tmp_path):
    uploads, outside = tmp_path / "uploads", tmp_path / "outside"
    (outside / "cache").mkdir(parents=True)
    (outside / "cache" / "keep.bin").write_bytes(b"k")
    uploads.mkdir()
    (uploads / "plugin").symlink_to(outside, target_is_directory=True)
    (uploads / "tmp").mkdir()
    (uploads / "tmp" / "old.part").write_bytes(b"old")

    cache = types.SimpleNamespace(
        register_cleanup=hookimpl(lambda register: register(CleanupTarget("cache", folder="plugin/cache")))
    )
    host = make_host(("cache", cache), installed=("cleanup",), UPLOAD_DIR=str(uploads))
    with pytest.raises(CleanupFailed, match=r"leads out of UPLOAD_DIR .* through a symbolic link") as failed:
        await clean_files(host, max_age=60, now=datetime.now(UTC) + DAY)
    assert failed.value.report["targets"][0]["removed"] == ["old.part"]
    assert (outside / "cache" / "keep.bin").exists()


def test_jobhost_cleanup_files_dry_run_lists_and_keeps(tmp_path):
    uploads = tmp_path / "uploads"
    (uploads / "tmp").mkdir(parents=True)
    (uploads / "tmp" / "left-over.part").write_bytes(b"12345")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBHOST_", "DATABASE_URL", "REDIS_URL"))}
    env.update(
        JOBHOST_DATA_DIR=str(tmp_path / "data"),
        UPLOAD_DIR=str(uploads),
        JOBHOST_LOAD_PLUGINS="cleanup",
        CLEANUP_FILE_MAX_AGE="1s",
    )
    os.utime(uploads / "tmp" / "left-over.part", (0, 0))

    def jobhost(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "jobhost", *args], env=env, capture_output=True, text=True, timeout=120
        )

    assert jobhost("db", "upgrade").returncode == 0
    time.sleep(1.1)  # older than the 1 s limit by its status-change time too
    dry = jobhost("cleanup", "files", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "temporary files: would delete 1 files, 5 bytes\n  left-over.part\n" in dry.stdout
    assert (uploads / "tmp" / "left-over.part").exists()
    done = jobhost("cleanup", "files")
    assert done.returncode == 0, done.stderr
    assert "temporary files: deleted 1 files, 5 bytes" in done.stdout
    assert not (uploads / "tmp" / "left-over.part").exists()
    tokens = jobhost("cleanup", "tokens")
    assert (tokens.returncode, tokens.stdout) == (0, "removed 0 expired tokens\n"), tokens.stderr
