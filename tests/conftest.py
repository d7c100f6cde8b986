"""Shared test helpers: real plugin distributions on a path, and running the real `jobhost` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest


def write_distribution(
    root: Path, dist: str, version: str, plugins: dict[str, str], modules: dict[str, str]
) -> Path:
    """Lay out an installed distribution under `root` (a sys.path entry): its modules and its
    dist-info with `jobhost` entry points, exactly as pip leaves them, minus the RECORD."""
    root.mkdir(parents=True, exist_ok=True)
    for module, source in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = "".join(f"{name} = {target}\n" for name, target in plugins.items())
    (info / "entry_points.txt").write_text(f"[jobhost]\n{lines}")
    return root


def run_jobhost(
    *args: str,
    env: dict[str, str] | None = None,
    path: Path | None = None,
    check: bool = False,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("JOBHOST_")}
    environ.update(env or {})
    if path is not None:
        environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(path), environ.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-m", "jobhost", *args],
        env=environ,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and proc.returncode:
        raise AssertionError(f"jobhost {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def plugins_json(**kwargs: Any) -> dict[str, Any]:
    proc = run_jobhost("plugins", "--json", check=True, **kwargs)
    data = json.loads(proc.stdout)
    return {**data, "by_name": {p["name"]: p for p in data["plugins"]}}


@pytest.fixture
def dist_path(tmp_path: Path):
    """Make real plugin distributions visible to `jobhost` subprocesses (see write_distribution)."""

    def make(dist: str, plugins: dict[str, str], modules: dict[str, str], version: str = "1.2.3") -> Path:
        return write_distribution(tmp_path / "site", dist, version, plugins, modules)

    return make


# The example plugin is a project of its own, tested as its authors would: installed, with its own
# pytest configuration (tests/host/test_install.py runs its tests that way).
collect_ignore = ["example_plugin"]
