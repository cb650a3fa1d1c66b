"""Small SVG bar charts drawn on the server: no script, no external asset, escaped labels.

Each function returns ``Markup`` ready to place in a template; an empty series draws a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 170
LEFT, BOTTOM, TOP = 40, 20, 10  # room for the scale and the axis labels
MAX_BAR = 36.0


@dataclass(frozen=True, slots=True)
class Bar:
    value: float
    label: str  # shown on hover (<title>)
    bad: bool = False  # drawn red (a failed run)


def bars(
    series: Sequence[Bar], *, title: str, unit: str, axis: tuple[str, str] = ("", "")
) -> Markup:
    """A bar per value, scaled to the largest; the scale names the largest value and ``unit``;
    ``axis`` labels the first and the last bar (e.g. their dates)."""
    if not series:
        return Markup('<p class="muted">{}: nothing in this period.</p>').format(title)
    top = max(b.value for b in series) or 1.0
    base = HEIGHT - BOTTOM
    step = (WIDTH - LEFT) / len(series)
    width = min(max(step * 0.8, 1.0), MAX_BAR)
    shapes = []
    for i, b in enumerate(series):
        h = (base - TOP) * (max(b.value, 0.0) / top)
        x = LEFT + i * step + (step - width) / 2
        css = "bar bad" if b.bad else "bar"
        shapes.append(
            f'<rect class="{css}" x="{x:.1f}" y="{base - h:.1f}" width="{width:.1f}" '
            f'height="{h:.1f}"><title>{escape(b.label)}</title></rect>'
        )
    first, last = (escape(text) for text in axis)
    # Every text placed in the SVG is escaped; the rest are our own numbers.
    return Markup(  # noqa: S704
        f'<figure class="chart"><svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}">'
        f'<line class="axis" x1="{LEFT}" y1="{base}" x2="{WIDTH}" y2="{base}"/>'
        f'<text class="tick" x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end">{_number(top)}</text>'
        f'<text class="tick" x="{LEFT - 4}" y="{base}" text-anchor="end">0</text>'
        f'<text class="tick" x="{LEFT}" y="{HEIGHT - 4}">{first}</text>'
        f'<text class="tick" x="{WIDTH}" y="{HEIGHT - 4}" text-anchor="end">{last}</text>'
        f"{''.join(shapes)}</svg>"
        f"<figcaption>{escape(title)} ({escape(unit)})</figcaption></figure>"
    )


def _number(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}"
