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


# Series colours are classes (`.s0` …) in dashboard.css: the CSP forbids style attributes.
SERIES_CLASSES = 8


def columns(
    categories: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *, label: str, width: int = 640
) -> Markup:
    """Stacked columns: one per category (e.g. a day), a segment per series (e.g. a queue) with
    its value in the segment's title, the column's total above it, and a legend of the series."""
    height, top_pad, axis_h, legend_row = 180, 16, 18, 18
    totals = [sum(values[i] for _, values in series) for i in range(len(categories))]
    top = max(totals, default=0) or 1
    slot = (width - 10) / max(len(categories), 1)
    bar_w = min(48.0, slot * 0.7)
    legend_h = legend_row * ((len(series) + 2) // 3)
    full = top_pad + height + axis_h + legend_h
    parts = [
        f'<svg class="bars columns" viewBox="0 0 {width} {full}" width="{width}" height="{full}" role="img" '
        f'aria-label="{escape(label)}"><title>{escape(label)}</title>'
    ]
    for i, category in enumerate(categories):
        x, y = 5 + i * slot + (slot - bar_w) / 2, float(top_pad + height)
        for n, (name, values) in enumerate(series):
            h = height * values[i] / top
            if h <= 0:
                continue
            y -= h
            parts.append(
                f'<rect class="s{n % SERIES_CLASSES}" x="{x:.1f}" y="{y:.1f}" '
                f'width="{bar_w:.1f}" height="{h:.1f}">'
                f"<title>{escape(name)} {escape(category)}: {values[i]:g}</title></rect>"
            )
        middle = x + bar_w / 2
        parts.append(
            f'<text x="{middle:.1f}" y="{y - 3:.1f}" text-anchor="middle">{totals[i]:g}</text>'
            f'<text x="{middle:.1f}" y="{top_pad + height + 13}" text-anchor="middle">'
            f"{escape(category)}</text>"
        )
    for n, (name, _) in enumerate(series):
        lx, ly = 5 + (n % 3) * (width / 3), top_pad + height + axis_h + (n // 3) * legend_row
        parts.append(
            f'<rect class="s{n % SERIES_CLASSES}" x="{lx:.1f}" y="{ly + 3}" width="10" height="10"/>'
            f'<text x="{lx + 14:.1f}" y="{ly + 12}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
