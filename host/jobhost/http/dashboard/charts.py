"""Charts drawn on the server as inline SVG: no chart library, nothing to load, readable without JS."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape


def sparkline(values: Sequence[float], *, label: str, width: int = 160, height: int = 32) -> Markup:
    """A small line of `values` (e.g. jobs per minute), with its total in the accessible name."""
    top = max(values, default=0) or 1
    step = width / max(len(values) - 1, 1)
    points = " ".join(
        f"{i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}" for i, v in enumerate(values)
    )
    return Markup(
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>'
        f'<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{points}"/></svg>'
    )


def bars(rows: Sequence[tuple[str, float]], *, label: str, unit: str = "", width: int = 640) -> Markup:
    """Horizontal bars, one per `(name, value)` row, values written next to them."""
    bar_h, gap, name_w = 18, 6, 210
    top = max((v for _, v in rows), default=0) or 1
    height = max(len(rows), 1) * (bar_h + gap)
    parts = [
        f'<svg class="bars" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(label)}"><title>{escape(label)}</title>'
    ]
    for i, (name, value) in enumerate(rows):
        y = i * (bar_h + gap)
        w = (width - name_w - 80) * value / top
        shown = f"{value:g}{unit}"
        parts.append(
            f'<text x="{name_w - 6}" y="{y + 13}" text-anchor="end">{escape(name)}</text>'
            f'<rect x="{name_w}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="2"/>'
            f'<text x="{name_w + w + 6:.1f}" y="{y + 13}">{escape(shown)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
