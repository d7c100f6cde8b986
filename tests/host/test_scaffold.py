"""`jobhost plugin new NAME` writes a plugin skeleton whose own tests pass as generated, installed
into a fresh virtualenv the way its author would, outside the repository."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from jobhost.cli import cli
from tests.host.virtualenvs import fresh_venv, pip, plugins_in, run, run_tests


def plugin_new(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["plugin", "new", *args], obj={})
    return result.exit_code, result.output


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_it_writes_jobhost_name_with_the_entry_point_package_and_tests(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, output = plugin_new("word-count")
    assert code == 0, output
    folder = tmp_path / "jobhost-word-count"
    assert f"wrote plugin 'word_count' (jobhost-word-count) in {folder}" in output
    assert files_under(folder) == [
        "README.md",
        "jobhost_word_count/__init__.py",
        "jobhost_word_count/plugin.py",
        "jobhost_word_count/work.py",
        "pyproject.toml",
        "tests/test_plugin.py",
        "tests/test_work.py",
    ]
    project = tomllib.loads((folder / "pyproject.toml").read_text())
    assert project["project"]["name"] == "jobhost-word-count"
    assert project["project"]["entry-points"]["jobhost"] == {"word_count": "jobhost_word_count.plugin"}
    assert project["tool"]["pytest"]["ini_options"]["asyncio_mode"] == "auto"
    plugin = (folder / "jobhost_word_count" / "plugin.py").read_text()
    assert 'QUEUE = "word_count"' in plugin
    assert 'concurrency_env="WORD_COUNT_CONCURRENCY"' in plugin


def test_dir_names_the_folder_and_an_empty_one_is_filled(tmp_path):
    (tmp_path / "empty").mkdir()
    assert plugin_new("thumbs", "--dir", str(tmp_path / "empty"))[0] == 0
    assert 'thumbs = "jobhost_thumbs.plugin"' in (tmp_path / "empty" / "pyproject.toml").read_text()
    assert plugin_new("thumbs", "--dir", str(tmp_path / "new" / "deeper"))[0] == 0
    assert (tmp_path / "new" / "deeper" / "jobhost_thumbs" / "plugin.py").is_file()
    assert [p.name for p in (tmp_path / "new").iterdir()] == ["deeper"]  # no staging folder left


@pytest.mark.parametrize("name", ["9lives", "my thing", "Thumbs", "thümbs", "a.b", "", "x" * 41])
def test_a_bad_name_is_refused_saying_what_is_allowed(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    code, output = plugin_new(name)
    assert code == 1
    assert f"Error: plugin name {name!r}: use 1 to 40 lowercase letters, digits, '-' or '_'" in output
    assert list(tmp_path.iterdir()) == []


def test_the_jobhost_prefix_is_refused_with_the_command_to_type_instead(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, output = plugin_new("jobhost-thumbs")
    assert code == 1
    assert (
        "give it without the jobhost- prefix, which is added for you: `jobhost plugin new thumbs`" in output
    )
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_left_alone_and_the_error_says_what_to_do(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    code, output = plugin_new("thumbs", "--dir", str(folder))
    assert code == 1
    assert f"Error: {folder} already exists: remove it, or write the plugin elsewhere with --dir" in output
    assert files_under(folder) == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]
    (tmp_path / "file").write_text("")
    assert "(a file)" in plugin_new("thumbs", "--dir", str(tmp_path / "file"))[1]


@pytest.mark.slow
def test_the_skeleton_passes_ruff_and_strict_mypy_under_its_own_config_even_with_a_long_name(tmp_path):
    assert plugin_new("a" * 40, "--dir", str(tmp_path / "p"))[0] == 0
    for check in (["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]):
        run(sys.executable, "-m", *check, cwd=tmp_path / "p")


@pytest.mark.slow
def test_the_generated_plugin_installs_loads_and_passes_its_own_tests(tmp_path):
    python = fresh_venv(tmp_path / "venv")
    project = tmp_path / "jobhost-word-count"
    run(python, "-m", "jobhost", "plugin", "new", "word-count", cwd=tmp_path)
    pip(python, "install", "--no-build-isolation", project)

    found = plugins_in(python)["word_count"]
    assert (found["status"], found["distribution"], found["version"]) == (
        "loaded",
        "jobhost-word-count",
        "0.1.0",
    )
    assert [q["name"] for q in found["queues"]] == ["word_count"]
    assert found["tasks"] == [{"name": "word_count.process", "queue": "word_count"}]
    assert found["routes"] == ["/api/word_count/jobs"]

    ran = run_tests(python, project)
    assert set(ran) == {"tests.test_plugin", "tests.test_work"}
