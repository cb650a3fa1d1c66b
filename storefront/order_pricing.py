"""An order's lines priced from the catalog, checked against stock: what the server, not the
caller, decides about an order.

* Each line's unit price is the synced price of the caller's price type (the API key's, else
  ``[storefront] default_price_type``). A line may carry the price the shop showed: if it is not
  the current one the order is refused with 409 naming the line and the current price.
* A caller's own price, a discount or another currency than the price type's needs
  ``orders:price-override``; each such line is stored with ``price_overridden``.
* Stock (``[storefront] stock_policy``): ``ignore``; ``warn`` accepts and notes the shortfall on
  the line; ``reject`` refuses with 422 naming the line and what is available. Stock is summed
  over ``stock_warehouses`` (empty: 1C's total, else every warehouse's).
* Deleted products and variants, and those without a price of the caller's price type, are not
  on sale: 422 naming the line.
* Line amounts and the total must fit the database's money columns (14 digits before the point).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, CompoundSelect, Numeric, String, literal, null, select, union_all
from sqlalchemy.orm import Session

from config import StorefrontSettings
from storefront.auth.roles import ORDERS_PRICE_OVERRIDE, Principal
from storefront.errors import Conflict, Forbidden, Unprocessable
from storefront.formatting import money, quantity
from storefront.queries.catalog import resolve_price_type
from storefront.schemas import MAX_MONEY, OrderIn, OrderLineIn
from syncd.store.models import Offer, Price, Product, Stock

FOUR_PLACES = Decimal("0.0001")
# 1C writes a price type's currency as a code, a short name or the ISO 4217 number.
_CURRENCY_ALIASES = {"РУБ": "RUB", "РУБ.": "RUB", "RUR": "RUB", "643": "RUB", "840": "USD"}
_CURRENCY_ALIASES |= {"978": "EUR", "398": "KZT", "933": "BYN", "BYR": "BYN"}


@dataclass(frozen=True, slots=True)
class PricedLine:
    line: OrderLineIn
    offer_id: str
    name: str
    sku: str | None
    unit: str | None
    price: Decimal
    catalog_price: Decimal
    discount: Decimal
    total: Decimal
    overridden: bool
    stock_note: str | None


@dataclass(frozen=True, slots=True)
class PricedOrder:
    lines: list[PricedLine]
    currency: str
    total: Decimal


def price_order(
    session: Session, order_in: OrderIn, principal: Principal, settings: StorefrontSettings
) -> PricedOrder:
    """The order's lines as the server prices them; raises 403/409/422 naming every bad line."""
    price_type = resolve_price_type(session, principal.price_type, settings.default_price_type)
    if price_type is None:
        raise Unprocessable(
            "there is no price type to price orders from; sync prices from 1C or set the key's "
            "price_type / [storefront] default_price_type",
            details=[{"field": "lines", "message": "no price type"}],
        )
    override = principal.may(ORDERS_PRICE_OVERRIDE)
    currency, foreign = _currency(order_in, price_type.currency, override)
    catalog = _Catalog.load(session, order_in.lines, str(price_type.onec_id), settings)
    lines = [
        _price_line(index, line, catalog, override=override, foreign=foreign)
        for index, line in enumerate(order_in.lines)
    ]
    catalog.raise_problems()
    _apply_stock(lines, catalog, settings.stock_policy)
    delivery = order_in.delivery.price if order_in.delivery else Decimal(0)
    total = sum((line.total for line in lines), Decimal(0)) + delivery
    if total > MAX_MONEY:
        raise Unprocessable(
            f"the order's total {total:.2f} is larger than an order may be",
            details=[{"field": "lines", "message": f"total above {MAX_MONEY:.4f}"}],
        )
    return PricedOrder(lines=lines, currency=currency, total=total)


def normal_currency(text: str | None) -> str:
    code = (text or "").strip().upper()
    return _CURRENCY_ALIASES.get(code, code)


def _currency(
    order_in: OrderIn, price_type_currency: str | None, override: bool
) -> tuple[str, bool]:
    """The order's currency and whether it is not the price type's (an override)."""
    own = normal_currency(price_type_currency) or "RUB"
    if order_in.currency is None or normal_currency(order_in.currency) == own:
        return own, False
    if not override:
        raise Unprocessable(
            f"this price list is in {own}; an order in {order_in.currency} needs the "
            f"{ORDERS_PRICE_OVERRIDE} scope",
            details=[{"field": "currency", "message": f"expected {own}"}],
        )
    return order_in.currency, True


class _Catalog:
    """What the catalog says about the offers an order names, read in one statement."""

    def __init__(self) -> None:
        self.products: dict[str, Any] = {}
        self.offers: dict[str, dict[str, Any]] = defaultdict(dict)
        self.prices: dict[str, Decimal] = {}
        self.available: dict[str, Decimal] = {}
        self.problems: list[dict[str, Any]] = []
        self.forbidden: list[dict[str, Any]] = []
        self.stale: list[dict[str, Any]] = []

    @classmethod
    def load(
        cls,
        session: Session,
        lines: list[OrderLineIn],
        price_type: str,
        settings: StorefrontSettings,
    ) -> _Catalog:
        """The products, their offers, their prices of ``price_type`` and (unless the stock
        policy is ``ignore``) their stock: one statement, each table a branch of a UNION."""
        found = cls()
        ids = sorted({line.product_id for line in lines})
        warehouse_stock: dict[str, dict[str, Decimal]] = defaultdict(dict)
        for row in session.execute(_catalog_query(ids, price_type, settings.stock_policy)):
            if row.part == "product":
                found.products[row.onec_id] = row
            elif row.part == "offer":
                found.offers[row.owner][row.onec_id] = row
            elif row.part == "price":
                found.prices[row.onec_id] = row.amount
            else:
                warehouse_stock[row.onec_id][row.owner] = row.amount
        found.available = _available(warehouse_stock, settings.stock_warehouses)
        return found

    def raise_problems(self) -> None:
        if self.problems:
            raise Unprocessable(
                "some order lines name nothing the shop sells", details=self.problems
            )
        if self.forbidden:
            raise Forbidden(
                f"own prices, discounts and currencies need the {ORDERS_PRICE_OVERRIDE} scope",
                details=self.forbidden,
            )
        if self.stale:
            raise Conflict(
                "some prices changed: show the customer the current ones and send them",
                details=self.stale,
            )


def _catalog_query(ids: list[str], price_type: str, stock_policy: str) -> CompoundSelect[Any]:
    """Rows ``(part, onec_id, owner, name, sku, unit, is_deleted, amount)``: a product; an
    offer (owner: its product); a price (onec_id: the offer); a stock row (onec_id: the offer,
    owner: the warehouse)."""
    text_none, bool_none = null().cast(String), null().cast(Boolean)
    amount_none = null().cast(Numeric(18, 4))
    parts = [
        select(
            literal("product", String).label("part"),
            Product.onec_id,
            text_none.label("owner"),
            Product.name,
            Product.sku,
            Product.unit,
            Product.is_deleted,
            amount_none.label("amount"),
        ).where(Product.onec_id.in_(ids)),
        select(
            literal("offer", String),
            Offer.onec_id,
            Offer.product_onec_id,
            Offer.name,
            Offer.sku,
            Offer.unit,
            Offer.is_deleted,
            amount_none,
        ).where(Offer.product_onec_id.in_(ids)),
        select(
            literal("price", String),
            Price.offer_onec_id,
            text_none,
            text_none,
            text_none,
            text_none,
            bool_none,
            Price.value,
        ).where(Price.product_onec_id.in_(ids), Price.price_type_onec_id == price_type),
    ]
    if stock_policy != "ignore":
        parts.append(
            select(
                literal("stock", String),
                Stock.offer_onec_id,
                Stock.warehouse_onec_id,
                text_none,
                text_none,
                text_none,
                bool_none,
                Stock.quantity,
            ).where(Stock.product_onec_id.in_(ids))
        )
    return union_all(*parts)


def _available(
    per_offer: dict[str, dict[str, Decimal]], warehouses: tuple[str, ...]
) -> dict[str, Decimal]:
    """Stock per offer: over ``warehouses``, else 1C's total, else every warehouse's."""
    available = {}
    for offer_id, stock in per_offer.items():
        if warehouses:
            available[offer_id] = sum((stock.get(w, Decimal(0)) for w in warehouses), Decimal(0))
        elif "" in stock:
            available[offer_id] = stock[""]
        else:
            available[offer_id] = sum(stock.values(), Decimal(0))
    return available


def _price_line(
    index: int, line: OrderLineIn, catalog: _Catalog, *, override: bool, foreign: bool
) -> PricedLine:
    field = f"lines[{index}]"
    try:
        product, offer, offer_id = _on_sale(line, catalog)
    except ValueError as exc:
        catalog.problems.append({"field": field, "message": str(exc)})
        return _placeholder(line)
    current = catalog.prices.get(offer_id)
    if current is None:
        catalog.problems.append(
            {"field": field, "message": f"{offer_id!r} has no price in this price list"}
        )
        return _placeholder(line)
    price, overridden = current, foreign
    if line.price is not None and line.price != current:
        if override:
            price, overridden = line.price, True
        else:
            catalog.stale.append(
                {"field": f"{field}.price", "message": f"current price {money(current)}"}
            )
    if line.discount:
        if override:
            overridden = True
        else:
            catalog.forbidden.append({"field": f"{field}.discount", "message": "needs the scope"})
    total = _line_total(field, line.quantity, price, line.discount, catalog)
    return PricedLine(
        line=line,
        offer_id=offer_id,
        name=(offer.name if offer is not None and offer.name else product.name),
        sku=(offer.sku if offer is not None and offer.sku else product.sku),
        unit=(offer.unit if offer is not None and offer.unit else product.unit),
        price=price,
        catalog_price=current,
        discount=line.discount,
        total=total,
        overridden=overridden,
        stock_note=None,
    )


def _on_sale(line: OrderLineIn, catalog: _Catalog) -> tuple[Any, Any, str]:
    product = catalog.products.get(line.product_id)
    if product is None or product.is_deleted:
        raise ValueError(f"no product {line.product_id!r} is on sale")
    own = catalog.offers.get(line.product_id, {})
    offer_id = f"{line.product_id}#{line.variant_id}" if line.variant_id else line.product_id
    offer = own.get(offer_id)
    if line.variant_id and (offer is None or offer.is_deleted):
        raise ValueError(f"product {line.product_id!r} has no variant {line.variant_id!r} on sale")
    if not line.variant_id and offer is None and any("#" in o for o in own):
        raise ValueError(f"product {line.product_id!r} has variants: name one in variant_id")
    if offer is not None and offer.is_deleted:
        raise ValueError(f"product {line.product_id!r} is no longer on sale")
    return product, offer, offer_id


def _line_total(
    field: str, amount_of: Decimal, price: Decimal, discount: Decimal, catalog: _Catalog
) -> Decimal:
    amount = amount_of * price  # exact below MAX_MONEY (at most 8 decimals); rounded far above
    if amount > MAX_MONEY:
        catalog.problems.append(
            {
                "field": f"{field}.quantity",
                "message": "quantity × price is larger than a line may be",
            }
        )
        return Decimal(0)
    total = amount.quantize(FOUR_PLACES) - discount
    if total < 0:
        catalog.problems.append(
            {
                "field": f"{field}.discount",
                "message": "the discount is larger than the line's amount",
            }
        )
    return total


def _placeholder(line: OrderLineIn) -> PricedLine:
    zero = Decimal(0)
    return PricedLine(line, "", "", None, None, zero, zero, zero, zero, False, None)


def _apply_stock(lines: list[PricedLine], catalog: _Catalog, policy: str) -> None:
    """Note (``warn``) or refuse (``reject``) lines asking for more than is available; lines
    naming one offer together count against its stock."""
    if policy == "ignore":
        return
    asked: dict[str, Decimal] = defaultdict(Decimal)
    short = []
    for index, priced in enumerate(lines):
        asked[priced.offer_id] += priced.line.quantity
        available = catalog.available.get(priced.offer_id, Decimal(0))
        if asked[priced.offer_id] > available:
            note = f"only {quantity(max(available, Decimal(0)))} available"
            short.append({"field": f"lines[{index}].quantity", "message": note})
            if policy == "warn":
                lines[index] = _with_note(priced, note)
    if short and policy == "reject":
        raise Unprocessable("some order lines ask for more than is in stock", details=short)


def _with_note(priced: PricedLine, note: str) -> PricedLine:
    return replace(priced, stock_note=note)
