"""`jobhost demo`: the sample flyer through the queue in one command, on a fresh embedded install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    own = ("JOBHOST_", "REDIS_URL", "DATABASE_URL", "UPLOAD_DIR", "FLYER_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    env.update(JOBHOST_DATA_DIR=str(tmp_path / "data"), JOBHOST_LOAD_PLUGINS="flyer_ocr")
    return subprocess.run(
        [sys.executable, "-m", "jobhost", "demo", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_demo_runs_the_sample_flyer_through_the_queue_and_prints_its_deals(tmp_path: Path, grid_flyer):
    done = demo(tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "flyer_ocr: applied flyer_ocr_0001, flyer_ocr_0002" in out  # it migrated the fresh database first
    assert "on queue flyer-processing" in out
    assert "100.0%  done" in out  # the progress bar reached the end
    assert f"{grid_flyer.store}, valid {grid_flyer.valid_from} to {grid_flyer.valid_to}: 12 deals" in out
    for item in grid_flyer.items:
        assert f"{item.name} " in out and f"${item.price}" in out
    assert "BOGO" in out and "25% off" in out


def test_demo_of_a_file_that_is_no_flyer_says_why(tmp_path: Path):
    bad = tmp_path / "notes.png"
    bad.write_text("shopping list: milk, eggs")
    done = demo(tmp_path, str(bad))
    assert done.returncode == 1
    assert "notes.png: the file's content is not an allowed type" in done.stderr


def test_demo_sample_prints_the_path_of_the_sample_flyer_to_upload(tmp_path: Path):
    done = demo(tmp_path, "--sample")
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip())
    assert path.name == "sample-flyer.png" and path.read_bytes().startswith(b"\x89PNG")
