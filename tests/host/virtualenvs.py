"""Fresh virtualenvs for the install tests: a plugin is installed into one the way its users do,
and its own tests run there, outside the repository, while our environment stays untouched."""

from __future__ import annotations

import collections
import json
import os
import site
import subprocess
import sys
import venv
import xml.etree.ElementTree as ET
from pathlib import Path

REDIS_URL = "redis://127.0.0.1:6379/0"  # the shared Redis; tests keep to key prefixes of their own


def run(*args: str | Path, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a command with none of our JOBHOST_*, REDIS_URL or PYTEST_* variables (plus `env`);
    a failure shows its output."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("JOBHOST_", "REDIS_URL", "PYTEST_"))}
    proc = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode:
        raise AssertionError(
            f"{' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def fresh_venv(folder: Path) -> Path:
    """A new virtualenv at `folder` that sees this environment's packages (the host among them)
    behind its own; returns its python."""
    venv.EnvBuilder(with_pip=False).create(folder)
    python = folder / "bin" / "python"
    # This environment's site dirs, .pth files included (editable installs), behind the new one's:
    # `system_site_packages` would reach the base interpreter's, not ours when we run in a venv.
    inner = run(python, "-c", "import site; print(site.getsitepackages()[0])").stdout.strip()
    outer = [*site.getsitepackages(), site.getusersitepackages()]
    (Path(inner) / "outer_env.pth").write_text(
        "".join(f"import site; site.addsitedir({d!r})\n" for d in outer)
    )
    return python


def pip(python: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """Our pip acting on `python`'s environment (builds need no network: hatchling is here)."""
    return run(sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check", *args)


def plugins_in(python: Path) -> dict[str, dict]:
    out = run(python, "-m", "jobhost", "plugins", "--json").stdout
    return {p["name"]: p for p in json.loads(out)["plugins"]}


def run_tests(python: Path, project: Path) -> collections.Counter[str]:
    """Run `python -m pytest` in `project` (its own pytest configuration, the shared Redis as
    REDIS_URL); every test must pass. Returns how many tests ran per module (`tests.test_x`)."""
    report = project / "junit.xml"
    run(
        python,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        f"--junitxml={report}",
        cwd=project,
        REDIS_URL=REDIS_URL,
    )
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    assert [suite.get(k) for k in ("errors", "failures", "skipped")] == ["0", "0", "0"], report.read_text()
    return collections.Counter(case.get("classname", "") for case in suite.iter("testcase"))
