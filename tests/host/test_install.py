"""Installing a plugin with pip makes it appear; uninstalling removes it; and the example plugin,
copied out of the repository and installed as its authors would, passes its own tests."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.host.virtualenvs import fresh_venv, pip, plugins_in, run, run_tests

EXAMPLE = Path(__file__).parent.parent / "example_plugin"
REPOSITORY = Path(__file__).parents[2]


def copy_example(folder: Path) -> Path:
    """The example plugin as its author's checkout has it: sources, tests, pyproject; no caches."""
    copy = shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    assert REPOSITORY not in copy.resolve().parents
    return copy


@pytest.mark.slow
def test_pip_install_makes_the_plugin_appear_and_uninstall_removes_it(tmp_path):
    python = fresh_venv(tmp_path / "venv")
    source = copy_example(tmp_path / "jobhost-hello")

    assert "hello" not in plugins_in(python)
    pip(python, "install", "--no-build-isolation", source)

    hello = plugins_in(python)["hello"]
    assert (hello["status"], hello["distribution"], hello["version"]) == ("loaded", "jobhost-hello", "0.4.0")
    assert [q["name"] for q in hello["queues"]] == ["hello"]
    assert hello["tasks"] == [{"name": "hello.greet", "queue": "hello"}]
    assert hello["routes"] == ["/api/hello/{name:str}", "/api/hello/{name:str}/jobs"]
    assert hello["admin_routes"] == ["/api/admin/hello/stats"]
    assert hello["commands"] == ["hello", "hello-later"]
    assert run(python, "-m", "jobhost", "hello", "Ada").stdout == "Hello, Ada!\n"
    assert "hello" not in plugins_in(Path(sys.executable))  # our own environment is untouched

    pip(python, "uninstall", "--yes", "jobhost-hello")
    assert "hello" not in plugins_in(python)


@pytest.mark.slow
def test_the_example_plugin_passes_its_own_tests_installed_outside_the_repository(tmp_path):
    python = fresh_venv(tmp_path / "venv")
    project = copy_example(tmp_path / "jobhost-hello")
    pip(python, "install", "--no-build-isolation", project)

    ran = run_tests(python, project)
    assert set(ran) == {f"tests.test_{name}" for name in ("commands", "greeting", "plugin", "routes")}
