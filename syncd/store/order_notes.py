"""What both channels to 1C (sale exchange, OData) say about lines priced by the shop."""

from __future__ import annotations

from syncd.store import models

# A line whose price, discount or currency the shop set (orders:price-override), not the catalog.
OVERRIDE_NOTE = "Цена установлена сайтом в строках"


def comment_with_override_note(order: models.Order) -> str | None:
    """The order's comment, followed by the numbers of the lines that carry the shop's own price,
    so a person in 1C sees it in the document whichever channel brought it."""
    overridden = [str(line.line_no) for line in order.lines if line.price_overridden]
    if not overridden:
        return order.comment
    note = f"{OVERRIDE_NOTE}: {', '.join(overridden)}"
    return f"{order.comment}\n{note}" if order.comment else note
