"""Every hook is documented in docs/hooks.md and has a test named after it (Datasette's rule)."""

import re
from pathlib import Path

import pytest

from jobhost import hookspecs

ROOT = Path(__file__).parents[2]
HOOKS = sorted(name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), "jobhost_spec"))


def test_hooks_are_found():
    assert "register_queues" in HOOKS and "handle_event" in HOOKS


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented(hook):
    docs = (ROOT / "docs" / "hooks.md").read_text()
    assert f"\n## {hook}\n" in docs, f"docs/hooks.md has no section '## {hook}'"
    assert getattr(hookspecs, hook).__doc__, f"hook {hook} has no docstring"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_test(hook):
    tests = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))
    assert re.search(rf"def test_hook_\w*{hook}", tests), f"no test named test_hook_{hook}"
