"""Small SVG bar charts drawn on the server: no script, no external asset, escaped labels.

Each function returns ``Markup`` ready to place in a template; an empty series draws a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 640, 160, 28


@dataclass(frozen=True, slots=True)
class Bar:
    value: float
    label: str  # shown on hover (<title>)
    bad: bool = False  # drawn red (a failed run)


def bars(series: Sequence[Bar], *, title: str, unit: str) -> Markup:
    """A bar per value, scaled to the largest; the axis names the largest value and ``unit``."""
    if not series:
        return Markup('<p class="muted">{}: nothing in this period.</p>').format(title)
    top = max(b.value for b in series) or 1.0
    step = (WIDTH - PAD) / len(series)
    width = max(step * 0.8, 1.0)
    shapes = []
    for i, b in enumerate(series):
        h = (HEIGHT - PAD) * (b.value / top)
        x, y = PAD + i * step, HEIGHT - PAD / 2 - h
        css = "bar bad" if b.bad else "bar"
        shapes.append(
            f'<rect class="{css}" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{h:.1f}">'
            f"<title>{escape(b.label)}</title></rect>"
        )
    # Every text placed in the SVG is escaped above or here; the rest are our own numbers.
    return Markup(  # noqa: S704
        f'<figure class="chart"><svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="none">'
        f'<line class="axis" x1="{PAD}" y1="{HEIGHT - PAD / 2}" x2="{WIDTH}" '
        f'y2="{HEIGHT - PAD / 2}"/>'
        f'<text class="tick" x="2" y="12">{_number(top)}</text>'
        f"{''.join(shapes)}</svg>"
        f"<figcaption>{escape(title)} ({escape(unit)})</figcaption></figure>"
    )


def _number(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}"
