"""Per-day charts as inline SVG, rendered on the server (no JavaScript, no CDN)."""

from __future__ import annotations

import math
from html import escape

from lineguard_central.store.rows import DayCount

WIDTH, HEIGHT = 1000, 230
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 40, 12, 14, 28
SERIES = (("calls", "Calls", "#4f6bed"), ("warnings", "Warnings", "#e8a317"),
          ("terminations", "Terminations", "#d64545"))


def nice_ceiling(value: int) -> int:
    """1, 2, 5, 10, 20, 50 ... at or above ``value`` (at least 5, so an empty chart still has a grid)."""
    value = max(value, 4)
    magnitude = 10 ** int(math.floor(math.log10(value)))
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def daily_chart_svg(days: list[DayCount], title: str = "Calls, warnings and terminations per day") -> str:
    top = nice_ceiling(max((max(d.calls, d.warnings, d.terminations) for d in days), default=0))
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = plot_w / max(len(days), 1)
    bar = max(min(slot * 0.8 / len(SERIES), 14.0), 1.0)
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i in range(5):
        value = top * i / 4
        y = PAD_TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">{value:g}</text>')
    label_every = max(1, math.ceil(len(days) / 10))
    for i, day in enumerate(days):
        x0 = PAD_LEFT + i * slot + (slot - bar * len(SERIES)) / 2
        for j, (key, label, color) in enumerate(SERIES):
            value = getattr(day, key)
            h = plot_h * value / top
            parts.append(f'<rect x="{x0 + j * bar:.1f}" y="{PAD_TOP + plot_h - h:.1f}" width="{bar - 1:.1f}" '
                         f'height="{h:.1f}" rx="1.5" fill="{color}"><title>{day.day}: {value} '
                         f'{label.lower()}</title></rect>')
        if i % label_every == 0 or i == len(days) - 1:
            parts.append(f'<text x="{PAD_LEFT + (i + 0.5) * slot:.1f}" y="{HEIGHT - 8}" class="axis" '
                         f'text-anchor="middle">{day.day[5:]}</text>')
    parts.append("</svg>")
    return "".join(parts)


def legend_html() -> str:
    items = "".join(f'<span class="legend-item"><i style="background:{color}"></i>{label}</span>'
                    for _, label, color in SERIES)
    return f'<div class="legend">{items}</div>'
