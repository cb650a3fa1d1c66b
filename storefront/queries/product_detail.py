"""One product with everything the shop shows on its page: eight statements, however many
variants, price types and warehouses it has."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, not_, select, tuple_
from sqlalchemy.orm import Session

from storefront.formatting import iso, money, quantity
from storefront.queries.products import offer_total
from syncd.models import (
    Group,
    MediaFile,
    Offer,
    Price,
    PriceType,
    Product,
    ProductGroup,
    ProductImage,
    ProductPropertyValue,
    Property,
    PropertyOption,
    Stock,
    Warehouse,
)

P = Product.__table__
O = Offer.__table__  # noqa: E741
PR = Price.__table__
PT = PriceType.__table__
S = Stock.__table__
W = Warehouse.__table__
G = Group.__table__
PGR = ProductGroup.__table__
PI = ProductImage.__table__
MF = MediaFile.__table__
PPV = ProductPropertyValue.__table__
PROP = Property.__table__
PO = PropertyOption.__table__


def product_detail(session: Session, onec_id: str) -> dict[str, Any] | None:
    """The product page, or None when there is no such active product."""
    row = session.execute(select(P).where(P.c.onec_id == onec_id, not_(P.c.is_deleted))).first()
    if row is None:
        return None
    return {
        "id": row.onec_id,
        "name": row.name,
        "sku": row.sku,
        "code": row.code,
        "barcode": row.barcode,
        "description": row.description,
        "unit": row.unit,
        "unit_code": row.unit_code,
        "manufacturer": row.manufacturer,
        "country": row.country,
        "brand": row.brand,
        "group_id": row.group_onec_id,
        "groups": _groups(session, onec_id, row.group_onec_id),
        "requisites": [_name_value(r) for r in row.requisites or [] if isinstance(r, dict)],
        "taxes": [_tax(t) for t in row.taxes or [] if isinstance(t, dict)],
        "properties": _properties(session, onec_id),
        "images": _images(session, onec_id),
        "variants": _variants(session, onec_id),
        "updated_at": iso(row.updated_at),
    }


def _groups(session: Session, onec_id: str, first: str | None) -> list[dict[str, Any]]:
    ids = select(PGR.c.group_onec_id).where(PGR.c.product_onec_id == onec_id)
    rows = list(
        session.execute(
            select(G.c.onec_id, G.c.name).where(
                (G.c.onec_id.in_(ids)) | (G.c.onec_id == (first or "")), not_(G.c.is_deleted)
            )
        ).all()
    )
    rows.sort(key=lambda r: (r.onec_id != first, r.name))
    return [{"id": r.onec_id, "name": r.name} for r in rows]


def _name_value(item: dict[str, Any]) -> dict[str, Any]:
    return {"name": _text(item.get("name")), "value": _text(item.get("value"))}


def _tax(item: dict[str, Any]) -> dict[str, Any]:
    return {"name": _text(item.get("name")), "rate": _text(item.get("rate"))}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _properties(session: Session, onec_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(PPV.c.property_onec_id, PPV.c.value, PROP.c.name, PO.c.value.label("option"))
        .outerjoin(PROP, PROP.c.onec_id == PPV.c.property_onec_id)
        .outerjoin(
            PO,
            and_(PO.c.property_onec_id == PPV.c.property_onec_id, PO.c.onec_id == PPV.c.value),
        )
        .where(PPV.c.product_onec_id == onec_id)
        .order_by(PROP.c.name, PPV.c.property_onec_id, PPV.c.position)
    )
    grouped: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = grouped.setdefault(
            row.property_onec_id, {"id": row.property_onec_id, "name": row.name, "values": []}
        )
        entry["values"].append(row.option if row.option is not None else row.value)
    return list(grouped.values())


def _images(session: Session, onec_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(PI.c.path, PI.c.caption, MF.c.sha256, MF.c.size, MF.c.content_type)
        .outerjoin(MF, MF.c.path == PI.c.path)
        .where(PI.c.product_onec_id == onec_id)
        .order_by(PI.c.position)
    )
    return [
        {
            "path": r.path,
            "caption": r.caption,
            "sha256": r.sha256,
            "size": r.size,
            "content_type": r.content_type,
        }
        for r in rows
    ]


def _variants(session: Session, product_id: str) -> list[dict[str, Any]]:
    offers = list(
        session.execute(
            select(O)
            .where(O.c.product_onec_id == product_id, not_(O.c.is_deleted))
            .order_by(O.c.onec_id != product_id, O.c.name, O.c.onec_id)
        ).all()
    )
    prices = _prices_by_offer(session, product_id)
    stock = _stock_by_offer(session, product_id)
    options = _offer_options(session, offers)
    return [
        {
            "id": offer.onec_id,
            "variant_id": offer.onec_id.partition("#")[2] or None,
            "name": offer.name,
            "sku": offer.sku,
            "barcode": offer.barcode,
            "unit": offer.unit,
            "characteristics": [
                _name_value(c) for c in offer.characteristics or [] if isinstance(c, dict)
            ],
            "properties": _offer_properties(offer.property_values, options),
            "prices": prices.get(offer.onec_id, []),
            "stock": stock.get(offer.onec_id, {"total": None, "warehouses": []}),
        }
        for offer in offers
    ]


def _prices_by_offer(session: Session, product_id: str) -> dict[str, list[dict[str, Any]]]:
    rows = session.execute(
        select(
            PR.c.offer_onec_id,
            PR.c.price_type_onec_id,
            PR.c.value,
            PR.c.currency,
            PR.c.unit,
            PR.c.presentation,
            PR.c.min_quantity,
            PT.c.name,
        )
        .outerjoin(PT, PT.c.onec_id == PR.c.price_type_onec_id)
        .where(PR.c.product_onec_id == product_id)
        .order_by(PT.c.id, PR.c.price_type_onec_id)
    )
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        found[r.offer_onec_id].append(
            {
                "price_type_id": r.price_type_onec_id,
                "price_type": r.name,
                "value": money(r.value),
                "currency": r.currency,
                "unit": r.unit,
                "presentation": r.presentation,
                "min_quantity": quantity(r.min_quantity),
            }
        )
    return found


def _stock_by_offer(session: Session, product_id: str) -> dict[str, dict[str, Any]]:
    rows = session.execute(
        select(S.c.offer_onec_id, S.c.warehouse_onec_id, S.c.quantity, W.c.name)
        .outerjoin(W, W.c.onec_id == S.c.warehouse_onec_id)
        .where(S.c.product_onec_id == product_id)
        .order_by(W.c.name, S.c.warehouse_onec_id)
    )
    per_offer: dict[str, dict[str, tuple[Decimal, str | None]]] = defaultdict(dict)
    for r in rows:
        per_offer[r.offer_onec_id][r.warehouse_onec_id] = (r.quantity, r.name)
    return {
        offer: {
            "total": quantity(offer_total({w: q for w, (q, _n) in by_wh.items()})),
            "warehouses": [
                {"warehouse_id": w, "warehouse": name, "quantity": quantity(q)}
                for w, (q, name) in by_wh.items()
                if w
            ],
        }
        for offer, by_wh in per_offer.items()
    }


def _offer_options(session: Session, offers: list[Any]) -> dict[tuple[str, str], str]:
    """(property Ид, value as sent) -> option text, for every value of these offers at once."""
    pairs = {
        (str(entry.get("property")), str(value))
        for offer in offers
        for entry in offer.property_values or []
        if isinstance(entry, dict)
        for value in entry.get("values") or []
    }
    if not pairs:
        return {}
    rows = session.execute(
        select(PO.c.property_onec_id, PO.c.onec_id, PO.c.value).where(
            tuple_(PO.c.property_onec_id, PO.c.onec_id).in_(sorted(pairs))
        )
    )
    return {(r.property_onec_id, r.onec_id): r.value for r in rows}


def _offer_properties(
    values: list[Any] | None, options: dict[tuple[str, str], str]
) -> list[dict[str, Any]]:
    found = []
    for entry in values or []:
        if not isinstance(entry, dict):
            continue
        prop = str(entry.get("property"))
        raw = [str(v) for v in entry.get("values") or []]
        found.append({"id": prop, "values": [options.get((prop, v), v) for v in raw]})
    return found
