"""Characteristics a product kind owns (УТ 11, ERP: ``ОбщиеДляВидаНоменклатуры``) as offers.

Such a characteristic belongs to a ``Catalog_ВидыНоменклатуры`` item and is shared by every
product of that kind that uses its kind's characteristics; CommerceML sends each such product's
variants as offers ``<product>#<characteristic>``, so the OData streams make the same offers:

* the products stream, for products that use their kind's characteristics: asks 1C for the
  characteristics their kind owns (``Owner eq cast(guid'…', 'Catalog_ВидыНоменклатуры')``);
* the characteristics stream, for characteristics a kind owns (new, renamed, marked deleted):
  asks 1C for the products of that kind that use them, and (re)writes their offers.

One request per kind met in a batch. A product whose kind changes keeps the offers of its old
kind's characteristics until they are marked deleted in 1C. When 1C refuses these reads (the kind
property or the kinds catalog not published) the batch goes on without them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from exchange_formats.odata import catalog, values
from exchange_formats.odata.values import field
from exchange_formats.records import Record
from syncd.odata import query
from syncd.odata.client import ODataClient, Row
from syncd.odata.errors import RequestRejected

log = logging.getLogger("syncd.odata")
SHARED = "ОбщиеДляВидаНоменклатуры"  # ИспользованиеХарактеристик: the kind's characteristics


@dataclass(frozen=True, slots=True, kw_only=True)
class KindLinks:
    """Where products, their kinds and characteristics are, as the streams read them."""

    products_entity: str
    product_fields: Mapping[str, str]  # the products stream's map (kind, characteristics_use)
    characteristics_entity: str
    characteristic_fields: Mapping[str, str]
    characteristic_select: tuple[str, ...]
    kinds_entity: str  # Catalog_ВидыНоменклатуры
    owner_is_composite: bool  # Owner + Owner_Type (else Owner_Key)


def for_products(client: ODataClient, rows: Iterable[Row], *, links: KindLinks) -> list[Record]:
    """Offers of the kind-owned characteristics of products (rows) that use them."""
    by_kind: dict[str, set[str]] = {}
    for row in rows:
        kind = _shared_kind(row, links)
        if kind:
            by_kind.setdefault(kind, set()).add(catalog.onec_id(row, source=links.products_entity))
    made: list[Record] = []
    for kind, products in sorted(by_kind.items()):
        chars = _read(client, links, links.characteristics_entity, _owned_by(kind, links))
        owned = {catalog.onec_id(c, source=links.characteristics_entity): products for c in chars}
        made.extend(_offers(links, chars, owned))
    return made


def for_characteristics(
    client: ODataClient, rows: Iterable[Row], *, links: KindLinks
) -> list[Record]:
    """Offers of kind-owned characteristics (rows) for every product of the kind using them."""
    by_kind: dict[str, list[Row]] = {}
    for row in rows:
        kind = _kind_owner(row, links)
        if kind:
            by_kind.setdefault(kind, []).append(row)
    made: list[Record] = []
    for kind, chars in sorted(by_kind.items()):
        condition = (
            f"{links.product_fields['kind']} eq {query.guid(kind)} and "
            f"{links.product_fields['characteristics_use']} eq {query.string(SHARED)}"
        )
        found = _read(client, links, links.products_entity, condition, ("Ref_Key",))
        products = {catalog.onec_id(p, source=links.products_entity) for p in found}
        owned = {catalog.onec_id(c, source=links.characteristics_entity): products for c in chars}
        made.extend(_offers(links, chars, owned))
    return made


def _offers(links: KindLinks, chars: list[Row], owned: Mapping[str, set[str]]) -> list[Record]:
    return list(
        catalog.kind_offers(
            chars,
            owned,
            links.characteristic_fields,
            products_entity=links.products_entity,
            source=links.characteristics_entity,
        )
    )


def _read(
    client: ODataClient,
    links: KindLinks,
    entity: str,
    condition: str,
    select: tuple[str, ...] | None = None,
) -> list[Row]:
    chosen = select or links.characteristic_select
    found: list[Row] = []
    try:
        for page in client.pages(entity, select=chosen, orderby="Ref_Key", filter=condition):
            found.extend(page.rows)
    except RequestRejected as exc:
        log.warning("%s: cannot read a product kind's characteristics: %s", entity, exc)
        return []
    return found


def _shared_kind(row: Row, links: KindLinks) -> str | None:
    fields = links.product_fields
    if not fields.get("kind") or not fields.get("characteristics_use"):
        return None
    source = links.products_entity
    if values.boolean(row.get("IsFolder")) or values.boolean(row.get("DeletionMark")):
        return None
    if field(row, fields["characteristics_use"], values.text, source=source) != SHARED:
        return None
    kind: str | None = field(row, fields["kind"], values.ref, source=source)
    return kind


def _kind_owner(row: Row, links: KindLinks) -> str | None:
    owner = links.characteristic_fields.get("owner", "")
    if not owner or not links.product_fields.get("kind"):
        return None
    kind_type = str(row.get(f"{owner}_Type") or "").rsplit(".", 1)[-1]
    if kind_type != links.kinds_entity:
        return None
    try:
        return values.ref(row.get(owner))
    except ValueError:  # 1C's own data is broken here: no offers for it, the rest goes on
        log.warning("%s: %s", links.characteristics_entity, values.row_label(row))
        return None


def _owned_by(kind: str, links: KindLinks) -> str:
    owner = links.characteristic_fields.get("owner", "")
    if links.owner_is_composite:
        return f"{owner} eq cast({query.guid(kind)}, {query.string(links.kinds_entity)})"
    return f"{owner}_Key eq {query.guid(kind)}"
