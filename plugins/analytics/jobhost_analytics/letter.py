"""The mail of a report: subject, plain text and HTML with its key figures and a link to its
dashboard page. Templates in `templates/`; HTML is auto-escaped (store and item names come from
OCR of uploads)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

_env = Environment(
    loader=PackageLoader("jobhost_analytics"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def letter(report: dict[str, Any], link: str) -> tuple[str, str, str]:
    """`(subject, text, html)` of the report's mail (`report` as `Report.as_dict()` gives it)."""
    flyers = report["flyers"]
    subject = (
        f"{report['kind'].capitalize()} report {report['period']}: {flyers['processed']} flyers, "
        f"{flyers['items']} deals"
    )
    context = {"r": report, "link": link, "subject": subject}
    return (
        subject,
        _env.get_template("report.txt").render(context),
        _env.get_template("report.html").render(context),
    )
