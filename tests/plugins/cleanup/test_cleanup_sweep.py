"""The sweep on real files in a temporary folder. Ages are made by sweeping at a later `now`
(a test cannot make a file's status-change time old), so nothing here waits on the clock."""

import os
import time
from pathlib import Path

import pytest

from jobhost_cleanup.config import CLEANUP_FILE_MAX_AGE, parse_max_age
from jobhost_cleanup.sweep import LISTED, SweepError, sweep

HOUR = 3600.0


def write(path: Path, size: int = 10) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return path


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    folder = tmp_path / "uploads" / "tmp"
    folder.mkdir(parents=True)
    return folder


def test_files_older_than_the_limit_go_and_the_folder_stays(scratch):
    write(scratch / "page-1.png", 100)
    write(scratch / "upload.part", 23)
    done = sweep(scratch, max_age=HOUR, now=time.time() + 2 * HOUR)
    assert (done.files, done.bytes) == (2, 123)
    assert sorted(done.removed) == ["page-1.png", "upload.part"]
    assert list(scratch.iterdir()) == []
    assert scratch.is_dir(), "the folder itself is never deleted"


def test_a_file_younger_than_the_limit_stays(scratch):
    write(scratch / "old.png", 7)
    now = time.time()
    done = sweep(scratch, max_age=HOUR, now=now + HOUR + 60)
    assert (done.files, done.bytes, done.removed) == (1, 7, ["old.png"])
    write(scratch / "young.png")
    again = sweep(scratch, max_age=HOUR, now=now + 60)
    assert (again.files, again.removed) == (0, [])
    assert (scratch / "young.png").exists()


def test_a_file_moved_in_with_an_old_mtime_is_young(scratch, tmp_path):
    elsewhere = write(tmp_path / "made-last-week.png")
    week_ago = time.time() - 7 * 24 * HOUR
    os.utime(elsewhere, (week_ago, week_ago))
    os.rename(elsewhere, scratch / "made-last-week.png")  # rename keeps the mtime, not the ctime
    done = sweep(scratch, max_age=HOUR, now=time.time())
    assert done.files == 0
    assert (scratch / "made-last-week.png").exists()


def test_links_are_removed_as_links_and_never_followed(scratch, tmp_path):
    outside = tmp_path / "precious"
    write(outside / "keep.txt")
    write(tmp_path / "also-precious.txt")
    (scratch / "to-folder").symlink_to(outside, target_is_directory=True)
    (scratch / "to-file").symlink_to(tmp_path / "also-precious.txt")
    (scratch / "dangling").symlink_to(tmp_path / "nothing-here")
    done = sweep(scratch, max_age=HOUR, now=time.time() + 2 * HOUR)
    assert sorted(done.removed) == ["dangling", "to-file", "to-folder"]
    assert list(scratch.iterdir()) == []
    assert (outside / "keep.txt").read_bytes() == b"x" * 10
    assert (tmp_path / "also-precious.txt").exists()


def test_old_sub_folders_are_emptied_and_removed_young_ones_kept(scratch):
    write(scratch / "job-1" / "a" / "page.png", 5)
    write(scratch / "job-1" / "b.png", 5)
    later = time.time() + 2 * HOUR
    done = sweep(scratch, max_age=HOUR, now=later)
    assert (done.files, done.directories, done.bytes) == (2, 2, 10)
    assert sorted(done.removed) == ["job-1/", "job-1/a/", "job-1/a/page.png", "job-1/b.png"]
    assert list(scratch.iterdir()) == []


def test_a_fresh_empty_folder_is_kept_it_may_be_in_use(scratch):
    (scratch / "job-2").mkdir()
    done = sweep(scratch, max_age=HOUR, now=time.time() + 60)
    assert done.directories == 0
    assert (scratch / "job-2").is_dir()


def test_an_old_folder_keeps_its_young_file_and_stays(scratch):
    old = write(scratch / "job-3" / "old.png")
    kept = write(scratch / "job-3" / "rewritten.png")
    time.sleep(0.05)
    kept.write_bytes(b"new")  # a write changes the file's times, not its folder's
    old_at, young_at = old.stat().st_ctime, kept.stat().st_ctime
    assert young_at > old_at
    done = sweep(scratch, max_age=(young_at - old_at) / 2, now=young_at + (young_at - old_at) / 4)
    assert (done.files, done.directories, done.removed) == (1, 0, ["job-3/old.png"])
    assert [p.name for p in (scratch / "job-3").iterdir()] == ["rewritten.png"]


def test_a_missing_folder_is_nothing_to_do(tmp_path):
    done = sweep(tmp_path / "never-made", max_age=HOUR, now=time.time())
    assert done.as_dict()["files"] == 0
    assert not (tmp_path / "never-made").exists()


def test_a_folder_that_is_a_link_is_refused(tmp_path):
    real = tmp_path / "real"
    write(real / "keep.png")
    (tmp_path / "tmp").symlink_to(real, target_is_directory=True)
    with pytest.raises(SweepError, match=r"is a symbolic link; cleanup never follows links"):
        sweep(tmp_path / "tmp", max_age=HOUR, now=time.time() + 2 * HOUR)
    assert (real / "keep.png").exists()


def test_the_result_lists_a_bounded_number_of_paths_and_counts_them_all(scratch):
    for n in range(LISTED + 5):
        write(scratch / f"f{n:04d}", 1)
    result = sweep(scratch, max_age=HOUR, now=time.time() + 2 * HOUR).as_dict()
    assert (result["files"], result["bytes"], len(result["removed"]), result["unlisted"]) == (
        LISTED + 5,
        LISTED + 5,
        LISTED,
        5,
    )


@pytest.mark.parametrize(
    ("text", "seconds"), [("24h", 86400), ("90m", 5400), ("2d", 172800), ("45", 45), ("1.5h", 5400)]
)
def test_max_age_is_a_duration(text, seconds):
    assert parse_max_age(text) == seconds


@pytest.mark.parametrize("text", ["0", "0h", "-1h", "soon", "1w", "", "nanh"])
def test_max_age_refuses_zero_and_nonsense(text):
    with pytest.raises(ValueError, match="must be a duration > 0"):
        parse_max_age(text)


def test_max_age_defaults_to_a_day():
    assert CLEANUP_FILE_MAX_AGE.read({}) == 86400
