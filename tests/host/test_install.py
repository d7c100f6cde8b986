"""Installing a plugin with pip makes it appear; uninstalling removes it. A fresh virtualenv
that sees this environment's packages (the host among them) keeps the test from touching ours."""

from __future__ import annotations

import json
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parent.parent / "example_plugin"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300, check=True)


def plugins_in(python: Path) -> dict:
    out = run(python, "-m", "jobhost", "plugins", "--json").stdout
    return {p["name"]: p for p in json.loads(out)["plugins"]}


@pytest.mark.slow
def test_pip_install_makes_the_plugin_appear_and_uninstall_removes_it(tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    # This environment's site dirs, .pth files included (editable installs), behind the new one's:
    # `system_site_packages` would reach the base interpreter's, not ours when we run in a venv.
    inner = run(python, "-c", "import site; print(site.getsitepackages()[0])").stdout.strip()
    outer = [*site.getsitepackages(), site.getusersitepackages()]
    (Path(inner) / "outer_env.pth").write_text(
        "".join(f"import site; site.addsitedir({d!r})\n" for d in outer)
    )
    source = shutil.copytree(EXAMPLE, tmp_path / "src", ignore=shutil.ignore_patterns("test_*"))
    pip = [sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check"]

    assert "hello" not in plugins_in(python)
    run(*pip, "install", "--no-build-isolation", source)

    hello = plugins_in(python)["hello"]
    assert (hello["status"], hello["distribution"], hello["version"]) == ("loaded", "jobhost-hello", "0.3.0")
    assert [q["name"] for q in hello["queues"]] == ["hello"]
    assert hello["tasks"] == [{"name": "hello.greet", "queue": "hello"}]
    assert hello["routes"] == ["/api/hello/{name:str}"]
    assert hello["admin_routes"] == ["/api/admin/hello/stats"]
    assert hello["commands"] == ["hello"]
    assert run(python, "-m", "jobhost", "hello", "Ada").stdout == "Hello, Ada!\n"
    assert "hello" not in plugins_in(Path(sys.executable))  # our own environment is untouched

    run(*pip, "uninstall", "--yes", "jobhost-hello")
    assert "hello" not in plugins_in(python)
