"""The ``type=sale&mode=info`` reference book: the site's order statuses, payment systems and
delivery services, which 1C (the Bitrix exchange module) loads into its matching tables.

The shape is Bitrix's ``sale.export.1c``: ``<Справочник>`` holding ``<Cтатусы>`` - spelt with a
**Latin** "C", as Bitrix's language file has it and 1C expects - ``<ПлатежныеСистемы>`` and
``<СлужбыДоставки>``, each a list of ``<Элемент><Ид/><Название/></Элемент>``.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from lxml import etree

STATUSES_TAG = "Cтатусы"  # the first letter is Latin C (U+0043), as in Bitrix

Entries = Iterable[tuple[str, str]]  # (Ид, Название)


def write_sale_info(
    *, statuses: Entries, payment_systems: Entries, delivery_services: Entries, encoding: str
) -> bytes:
    """The document in ``encoding`` (``windows-1251`` or ``utf-8``), with its declaration.
    Characters the encoding lacks become character references, never an error."""
    out = io.BytesIO()
    with etree.xmlfile(out, encoding=encoding) as xf:
        xf.write_declaration()
        with xf.element("Справочник"):
            for tag, entries in (
                (STATUSES_TAG, statuses),
                ("ПлатежныеСистемы", payment_systems),
                ("СлужбыДоставки", delivery_services),
            ):
                with xf.element(tag):
                    for onec_id, name in entries:
                        element = etree.Element("Элемент")
                        etree.SubElement(element, "Ид").text = onec_id
                        etree.SubElement(element, "Название").text = name
                        xf.write(element)
    return out.getvalue()
