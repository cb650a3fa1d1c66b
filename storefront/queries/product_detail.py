"""One product with everything the shop shows on its page.

Fetching is separate from shaping: on PostgreSQL one statement returns every row the page needs
as JSON (``product_detail_pg``); elsewhere eight statements do. Either way the number of
statements does not depend on how many variants, price types or warehouses the product has, and
``_assemble`` shapes the same rows into the same response.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, not_, select, tuple_
from sqlalchemy.orm import Session

from storefront.formatting import iso, money, quantity
from storefront.queries.detail_rows import DetailRows, Row
from storefront.queries.product_detail_pg import fetch_detail_rows
from storefront.queries.products import offer_total
from syncd.store.models import (
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
    postgres = session.get_bind().dialect.name == "postgresql"
    rows = (fetch_detail_rows if postgres else _fetch_portable)(session, onec_id)
    return None if rows is None else _assemble(rows)


# --- shaping -----------------------------------------------------------------------------------


def _assemble(rows: DetailRows) -> dict[str, Any]:
    p = rows.product
    return {
        "id": p["onec_id"],
        "name": p["name"],
        "sku": p["sku"],
        "code": p["code"],
        "barcode": p["barcode"],
        "description": p["description"],
        "unit": p["unit"],
        "unit_code": p["unit_code"],
        "manufacturer": p["manufacturer"],
        "country": p["country"],
        "brand": p["brand"],
        "group_id": p["group_onec_id"],
        "groups": [{"id": g["onec_id"], "name": g["name"]} for g in rows.groups],
        "requisites": [_name_value(r) for r in p["requisites"] or [] if isinstance(r, dict)],
        "taxes": [_tax(t) for t in p["taxes"] or [] if isinstance(t, dict)],
        "properties": _properties(rows.properties),
        "images": [
            {key: image[key] for key in ("path", "caption", "sha256", "size", "content_type")}
            for image in rows.images
        ],
        "variants": _variants(rows),
        "updated_at": iso(p["updated_at"]),
    }


def _name_value(item: dict[str, Any]) -> dict[str, Any]:
    return {"name": _text(item.get("name")), "value": _text(item.get("value"))}


def _tax(item: dict[str, Any]) -> dict[str, Any]:
    return {"name": _text(item.get("name")), "rate": _text(item.get("rate"))}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _properties(rows: list[Row]) -> list[dict[str, Any]]:
    grouped: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = grouped.setdefault(
            row["property_onec_id"],
            {"id": row["property_onec_id"], "name": row["name"], "values": []},
        )
        entry["values"].append(row["option"] if row["option"] is not None else row["value"])
    return list(grouped.values())


def _variants(rows: DetailRows) -> list[dict[str, Any]]:
    prices = _prices_by_offer(rows.prices)
    stock = _stock_by_offer(rows.stock)
    return [
        {
            "id": offer["onec_id"],
            "variant_id": offer["onec_id"].partition("#")[2] or None,
            "name": offer["name"],
            "sku": offer["sku"],
            "barcode": offer["barcode"],
            "unit": offer["unit"],
            "characteristics": [
                _name_value(c) for c in offer["characteristics"] or [] if isinstance(c, dict)
            ],
            "properties": _offer_properties(offer["property_values"], rows.options),
            "prices": prices.get(offer["onec_id"], []),
            "stock": stock.get(offer["onec_id"], {"total": None, "warehouses": []}),
        }
        for offer in rows.offers
    ]


def _prices_by_offer(rows: list[Row]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        found[r["offer_onec_id"]].append(
            {
                "price_type_id": r["price_type_onec_id"],
                "price_type": r["name"],
                "value": money(_decimal(r["value"])),
                "currency": r["currency"],
                "unit": r["unit"],
                "presentation": r["presentation"],
                "min_quantity": quantity(_decimal(r["min_quantity"])),
            }
        )
    return found


def _stock_by_offer(rows: list[Row]) -> dict[str, dict[str, Any]]:
    per_offer: dict[str, dict[str, tuple[Decimal, str | None]]] = defaultdict(dict)
    for r in rows:
        amount = _decimal(r["quantity"]) or Decimal(0)
        per_offer[r["offer_onec_id"]][r["warehouse_onec_id"]] = (amount, r["name"])
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


def offer_option_pairs(offers: list[Row]) -> set[tuple[str, str]]:
    """(property Ид, value as sent) of every property value of these offers."""
    return {
        (str(entry.get("property")), str(value))
        for offer in offers
        for entry in offer["property_values"] or []
        if isinstance(entry, dict)
        for value in entry.get("values") or []
    }


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


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


# --- fetching, portable: eight statements ------------------------------------------------------


def _fetch_portable(session: Session, onec_id: str) -> DetailRows | None:
    product = session.execute(select(P).where(P.c.onec_id == onec_id, not_(P.c.is_deleted))).first()
    if product is None:
        return None
    offers = _all(
        session,
        select(
            O.c.onec_id,
            O.c.name,
            O.c.sku,
            O.c.barcode,
            O.c.unit,
            O.c.characteristics,
            O.c.property_values,
        )
        .where(O.c.product_onec_id == onec_id, not_(O.c.is_deleted))
        .order_by(O.c.onec_id != onec_id, O.c.name, O.c.onec_id),
    )
    return DetailRows(
        product=dict(product._mapping),
        groups=_fetch_groups(session, onec_id, product.group_onec_id),
        properties=_all(
            session,
            select(PPV.c.property_onec_id, PPV.c.value, PROP.c.name, PO.c.value.label("option"))
            .outerjoin(PROP, PROP.c.onec_id == PPV.c.property_onec_id)
            .outerjoin(
                PO,
                and_(PO.c.property_onec_id == PPV.c.property_onec_id, PO.c.onec_id == PPV.c.value),
            )
            .where(PPV.c.product_onec_id == onec_id)
            .order_by(PROP.c.name, PPV.c.property_onec_id, PPV.c.position),
        ),
        images=_all(
            session,
            select(PI.c.path, PI.c.caption, MF.c.sha256, MF.c.size, MF.c.content_type)
            .outerjoin(MF, MF.c.path == PI.c.path)
            .where(PI.c.product_onec_id == onec_id)
            .order_by(PI.c.position),
        ),
        offers=offers,
        prices=_all(
            session,
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
            .where(PR.c.product_onec_id == onec_id)
            .order_by(PT.c.id, PR.c.price_type_onec_id),
        ),
        stock=_all(
            session,
            select(S.c.offer_onec_id, S.c.warehouse_onec_id, S.c.quantity, W.c.name)
            .outerjoin(W, W.c.onec_id == S.c.warehouse_onec_id)
            .where(S.c.product_onec_id == onec_id)
            .order_by(W.c.name, S.c.warehouse_onec_id),
        ),
        options=_fetch_options(session, offer_option_pairs(offers)),
    )


def _all(session: Session, statement: Any) -> list[Row]:
    return [dict(row._mapping) for row in session.execute(statement)]


def _fetch_groups(session: Session, onec_id: str, first: str | None) -> list[Row]:
    ids = select(PGR.c.group_onec_id).where(PGR.c.product_onec_id == onec_id)
    rows = _all(
        session,
        select(G.c.onec_id, G.c.name).where(
            (G.c.onec_id.in_(ids)) | (G.c.onec_id == (first or "")), not_(G.c.is_deleted)
        ),
    )
    return sorted(rows, key=lambda r: (r["onec_id"] != first, r["name"]))


def _fetch_options(session: Session, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    if not pairs:
        return {}
    rows = session.execute(
        select(PO.c.property_onec_id, PO.c.onec_id, PO.c.value).where(
            tuple_(PO.c.property_onec_id, PO.c.onec_id).in_(sorted(pairs))
        )
    )
    return {(r.property_onec_id, r.onec_id): r.value for r in rows}
