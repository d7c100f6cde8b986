"""The message bodies shipped with the plugin: Jinja2 templates in `templates/`, a plain-text and
an HTML one per message kind. HTML is auto-escaped (flyer item names come from OCR of uploads);
a variable the template needs but the caller forgot is an error, not an empty string."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

_env = Environment(
    loader=PackageLoader("jobhost_email"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def render(name: str, **context: Any) -> tuple[str, str]:
    """The plain-text and HTML bodies of `name` (`templates/<name>.txt` and `.html`)."""
    return (
        _env.get_template(f"{name}.txt").render(context),
        _env.get_template(f"{name}.html").render(context),
    )
