"""Server-side HTML: one Jinja environment (autoescaped), its filters, and the page response."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import jinja2
from litestar import MediaType, Response

from jobhost.http.dashboard.session import BASE, Viewer

# A payload or result longer than this is cut on the job page, with a "show all" link.
SHOWN_CHARS = 4000

ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("jobhost.http.dashboard", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def _when(moment: datetime | float | None) -> str:
    if moment is None:
        return "–"
    if isinstance(moment, int | float):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _ago(moment: datetime | float | None) -> str:
    if moment is None:
        return "–"
    at = moment.timestamp() if isinstance(moment, datetime) else moment
    return seconds(time.time() - at) + (" ago" if time.time() >= at else " from now")


def seconds(value: float | None) -> str:
    """A duration as people read it: 850 ms, 12.3 s, 4 min, 3 h, 2 d."""
    if value is None:
        return "–"
    value = abs(value)
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 60:
        return f"{value:.1f} s"
    if value < 3600:
        return f"{value / 60:.0f} min"
    if value < 86400:
        return f"{value / 3600:.1f} h"
    return f"{value / 86400:.1f} d"


def _brief(kwargs: dict[str, Any], limit: int = 80) -> str:
    text = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False, default=str)}" for k, v in kwargs.items())
    return text if len(text) <= limit else text[: limit - 1] + "…"


ENV.filters.update(pretty=pretty, when=_when, ago=_ago, seconds=seconds, brief=_brief)
ENV.globals.update(BASE=BASE, SHOWN_CHARS=SHOWN_CHARS)


def html(name: str, **context: Any) -> str:
    return ENV.get_template(name).render(**context)


def page(name: str, viewer: Viewer | None, *, status: int = 200, **context: Any) -> Response[str]:
    """A whole page: the template with the viewer, its CSRF token and the navigation."""
    body = html(name, viewer=viewer, csrf=viewer.csrf if viewer else "", **context)
    return Response(
        body,
        status_code=status,
        media_type=MediaType.HTML,
        headers={"Cache-Control": "no-store"},
    )
