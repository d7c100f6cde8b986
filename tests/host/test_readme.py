"""The README stays true: its test command is what CI runs, and every setting is documented."""

import re
from pathlib import Path

from jobhost.http.config import HTTP_SETTINGS
from jobhost.settings import HOST_SETTINGS

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text()


def commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", README)


def test_readme_opens_with_two_commands_and_ci_runs_the_test_one():
    run, test = commands()[:2]
    assert run.startswith("pip install . ") and run.endswith("&& jobhost run")
    assert test.endswith("&& python -m pytest")
    assert test in (ROOT / ".ci" / "run").read_text().splitlines()


def test_every_plugin_is_installed_by_both_commands():
    plugins = sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists())
    for command in commands()[:2]:
        assert [name for name in plugins if f"./plugins/{name}" in command] == plugins


def test_every_host_setting_is_documented():
    for setting in (*HOST_SETTINGS, *HTTP_SETTINGS):
        assert f"| `{setting.name}` |" in README, setting.name
