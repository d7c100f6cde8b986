"""`jobhost plugin new NAME`: write a working plugin skeleton from the templates in
templates/plugin/ (`string.Template` files ending in `.tmpl`; a `__package__` path part becomes the
plugin's package). The skeleton's own tests pass as written; tests/host/test_scaffold.py runs them
in a fresh virtualenv."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import uuid
from pathlib import Path
from string import Template

import attrs

TEMPLATES = Path(__file__).parent / "templates" / "plugin"
SUFFIX = ".tmpl"
# Lowercase because the name is also the plugin's queue (policy.QUEUE_NAME) and in its table names;
# short enough for the queue and task names built from it.
NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
PREFIX = "jobhost"


class ScaffoldError(ValueError):
    """The skeleton cannot be written; the message says what to do instead."""


@attrs.frozen
class PluginNames:
    """The names a new plugin goes by, all derived from the one given to `jobhost plugin new`."""

    name: str  # entry point, queue and task prefix: my_thing

    @classmethod
    def parse(cls, text: str) -> PluginNames:
        name = text.strip().replace("-", "_")
        if name.lower().startswith(f"{PREFIX}_") and NAME.fullmatch(name[len(PREFIX) + 1 :].lower()):
            raise ScaffoldError(
                f"plugin name {text!r}: give it without the {PREFIX}- prefix, which is added for you: "
                f"`jobhost plugin new {name[len(PREFIX) + 1 :].lower().replace('_', '-')}`"
            )
        if not NAME.fullmatch(name):
            raise ScaffoldError(
                f"plugin name {text!r}: use 1 to 40 lowercase letters, digits, '-' or '_', starting with "
                "a letter (it names the plugin, its queue and its package jobhost_<name>), e.g. "
                "`jobhost plugin new thumbnails`"
            )
        return cls(name)

    @property
    def distribution(self) -> str:
        return f"{PREFIX}-{self.name.replace('_', '-')}"

    @property
    def package(self) -> str:
        return f"{PREFIX}_{self.name}"

    def values(self) -> dict[str, str]:
        """What the templates' `$placeholders` stand for."""
        return {
            "name": self.name,
            "distribution": self.distribution,
            "package": self.package,
            "env": self.name.upper(),
            "jobhost_version": importlib.metadata.version(PREFIX),
        }


def write_plugin(names: PluginNames, folder: Path | None = None) -> Path:
    """Write the skeleton of a plugin into `folder` (default ./jobhost-NAME), which must not exist
    or be empty. All or nothing: files go to a temporary folder renamed into place."""
    target = Path(folder if folder is not None else names.distribution).absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ScaffoldError(
            f"{target} already exists{'' if target.is_dir() else ' (a file)'}: remove it, or write "
            "the plugin elsewhere with --dir FOLDER"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.tmp"
    staging.mkdir()
    try:
        for template in sorted(TEMPLATES.rglob(f"*{SUFFIX}")):
            relative = template.relative_to(TEMPLATES).with_suffix("")
            out = staging / str(relative).replace("__package__", names.package)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(Template(template.read_text()).substitute(names.values()))
        os.replace(staging, target)  # onto an empty folder, too
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
