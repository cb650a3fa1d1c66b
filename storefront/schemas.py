"""Request and response shapes: pydantic models validate what comes in and, through their JSON
schemas, describe everything in the OpenAPI document (``storefront.openapi``).

Views build responses as plain dicts (the queries' output); the response models here exist to
document them, and the test suite checks every response against the document (schemathesis).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from storefront.auth.roles import KEY_ROLES, PERMISSIONS

SORTS = Literal["name", "-name", "price", "-price", "updated", "-updated"]
_DECIMAL_TEXT = r"^\d{1,14}(\.\d{1,4})?$"
MAX_MONEY = Decimal("99999999999999.9999")  # what Numeric(18, 4) holds


# A decimal text above zero: an integer part from 1, or 0 and a fraction that is not all zeros.
_POSITIVE_TEXT = (
    r"^(0*[1-9]\d{0,13}(\.\d{1,4})?|0+\.([1-9]\d{0,3}|0[1-9]\d{0,2}|00[1-9]\d?|000[1-9]))$"
)


def _decimal_schema(number: dict[str, Any], pattern: str = _DECIMAL_TEXT) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "maximum": 99_999_999_999_999, **number},
                {"type": "string", "pattern": pattern},
            ],
            "examples": ["1500.00"],
        }
    )


# Money and quantities in: a JSON number or (better, exact) a decimal string, <= 4 decimals.
MoneyIn = Annotated[
    Decimal,
    Field(max_digits=18, decimal_places=4, ge=0, le=MAX_MONEY),
    _decimal_schema({"minimum": 0}),
]
PositiveIn = Annotated[
    Decimal,
    Field(max_digits=18, decimal_places=4, gt=0, le=MAX_MONEY),
    _decimal_schema({"exclusiveMinimum": 0}, _POSITIVE_TEXT),
]
MoneyText = Annotated[str, Field(pattern=r"^-?\d+\.\d{2,4}$", examples=["1500.00"])]
QuantityText = Annotated[str, Field(pattern=r"^-?\d+(\.\d{1,4})?$", examples=["3"])]
OnecId = Annotated[str, Field(min_length=1, max_length=255, description="1C's Ид")]
DecimalParam = Annotated[str, Field(pattern=_DECIMAL_TEXT, examples=["999.90"])]
Cursor = Annotated[str, Field(min_length=1, max_length=512, description="next_cursor")]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Limit = Annotated[int, Field(ge=1, le=100, description="items per page")]


def _reject_unstorable(value: Any, path: str = "") -> None:
    """NUL characters and lone surrogates cannot be stored (PostgreSQL refuses them)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{path or 'value'}: NUL characters are not allowed")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(f"{path or 'value'}: not valid Unicode text") from exc
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_unstorable(key, path)
            _reject_unstorable(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _reject_unstorable(item, f"{path}[{index}]")


class Input(BaseModel):
    """What clients send: unknown fields are errors, strings must be storable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        _reject_unstorable(data)
        return data


class Output(BaseModel):
    """What the API sends (documentation only: ``additionalProperties: false`` keeps it honest)."""

    model_config = ConfigDict(extra="forbid")


# --- query parameters --------------------------------------------------------------------------


class ProductListQuery(Input):
    group: OnecId | None = Field(None, description="a group Ид; its subgroups are included")
    price_type: OnecId | None = Field(
        None, description="price type Ид or name for prices, the price range and price sorting"
    )
    price_min: DecimalParam | None = None
    price_max: DecimalParam | None = None
    in_stock: bool = Field(False, description="only products with stock at any warehouse")
    warehouse: OnecId | None = Field(None, description="only products in stock at this one")
    property: list[Annotated[str, Field(pattern=r"^[^:]+:.+$", max_length=600)]] = Field(
        default_factory=list,
        max_length=10,
        description="`<property Ид>:<value>`, repeatable; the value is an option's Ид or text",
    )
    sort: SORTS = "name"
    limit: Limit = 20
    cursor: Cursor | None = None


class SearchQuery(Input):
    q: Annotated[str, Field(min_length=1, max_length=200, description="web-search syntax")]
    group: OnecId | None = None
    price_type: OnecId | None = None
    limit: Limit = 20
    cursor: Cursor | None = None


class CustomerOrdersQuery(Input):
    status: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    limit: Limit = 20
    cursor: Cursor | None = None


# --- catalog responses -------------------------------------------------------------------------


class PriceSummary(Output):
    price_type_id: str
    value: MoneyText | None = Field(
        description="the lowest price over the product's variants; null: price on request"
    )
    currency: str | None
    varies: bool = Field(description="true when variants have different prices")
    presentation: str | None = Field(
        description='when no variant has a price: what 1C says instead ("Уточните у менеджера")'
    )


class ImageRef(Output):
    path: str
    caption: str | None


class ProductSummary(Output):
    id: str
    name: str
    sku: str | None
    code: str | None
    barcode: str | None
    group_id: str | None
    unit: str | None
    brand: str | None
    manufacturer: str | None
    price: PriceSummary | None
    quantity: QuantityText | None = Field(description="total over variants; null: unknown")
    in_stock: bool
    image: ImageRef | None
    updated_at: Timestamp | None


class SearchHit(ProductSummary):
    rank: float


class ProductPage(Output):
    items: list[ProductSummary]
    next_cursor: str | None


class SearchPage(Output):
    items: list[SearchHit]
    next_cursor: str | None


class GroupNode(Output):
    id: str
    name: str
    sort: int | None
    children: list[GroupNode]


class GroupTree(Output):
    items: list[GroupNode]


class PriceTypeOut(Output):
    id: str
    name: str
    currency: str | None
    tax_name: str | None
    tax_included: bool | None
    is_default: bool


class PriceTypeList(Output):
    items: list[PriceTypeOut]


class WarehouseOut(Output):
    id: str
    name: str
    address: str | None


class WarehouseList(Output):
    items: list[WarehouseOut]


class NameValue(Output):
    name: str | None
    value: str | None


class Tax(Output):
    name: str | None
    rate: str | None


class GroupRef(Output):
    id: str
    name: str


class PropertyOut(Output):
    id: str
    name: str | None
    values: list[str]


class ImageOut(Output):
    path: str
    caption: str | None
    sha256: str | None
    size: int | None
    content_type: str | None


class VariantProperty(Output):
    id: str
    values: list[str]


class VariantPrice(Output):
    price_type_id: str
    price_type: str | None
    value: MoneyText | None = Field(description="null: price on request (see presentation)")
    currency: str | None
    unit: str | None
    presentation: str | None
    min_quantity: QuantityText | None


class WarehouseStock(Output):
    warehouse_id: str
    warehouse: str | None
    quantity: QuantityText


class VariantStock(Output):
    total: QuantityText | None
    warehouses: list[WarehouseStock]


class Variant(Output):
    id: str = Field(description="the offer Ид: `<product>` or `<product>#<variant>`")
    variant_id: str | None
    name: str | None
    sku: str | None
    barcode: str | None
    unit: str | None
    characteristics: list[NameValue]
    properties: list[VariantProperty]
    prices: list[VariantPrice]
    stock: VariantStock


class ProductDetail(Output):
    id: str
    name: str
    sku: str | None
    code: str | None
    barcode: str | None
    description: str | None
    unit: str | None
    unit_code: str | None
    manufacturer: str | None
    country: str | None
    brand: str | None
    group_id: str | None
    groups: list[GroupRef]
    requisites: list[NameValue]
    taxes: list[Tax]
    properties: list[PropertyOut]
    images: list[ImageOut]
    variants: list[Variant]
    updated_at: Timestamp | None


# --- orders ------------------------------------------------------------------------------------


class CustomerIn(Input):
    """Who ordered. The sale exchange and the OData push build 1C's contractor from these."""

    ref: OnecId | None = Field(None, description="the shop's own customer id")
    onec_id: OnecId | None = Field(
        None,
        description="the 1C contractor's Ид; needs customers:bind (without it the server binds "
        "the customer by INN and KPP)",
    )
    name: Annotated[str, Field(min_length=1, max_length=500)]
    full_name: Annotated[str, Field(max_length=1000)] | None = Field(
        None, description="full or legal name (ООО «...»)"
    )
    first_name: Annotated[str, Field(max_length=255)] | None = None
    last_name: Annotated[str, Field(max_length=255)] | None = None
    email: Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    phone: Annotated[str, Field(max_length=64)] | None = None
    inn: Annotated[str, Field(pattern=r"^\d{10}(\d{2})?$")] | None = None
    kpp: Annotated[str, Field(pattern=r"^\d{9}$")] | None = None
    address: Annotated[str, Field(max_length=2000)] | None = None


class DeliveryIn(Input):
    method: Annotated[str, Field(max_length=255)] | None = None
    address: Annotated[str, Field(max_length=2000)] | None = None
    price: MoneyIn = Decimal(0)


class OrderLineIn(Input):
    product_id: OnecId
    variant_id: OnecId | None = Field(None, description="the characteristic Ид, for variants")
    quantity: PositiveIn
    price: MoneyIn | None = Field(
        None,
        description="the unit price the shop showed: if it is not the catalog's current one the "
        "order gets 409 naming the line and the current price (with orders:price-override: the "
        "line's own price). Absent: the catalog's price.",
    )
    discount: MoneyIn = Field(
        Decimal(0), description="off the line's amount; needs orders:price-override"
    )


class OrderIn(Input):
    number: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")] | None = Field(
        None,
        description="the shop's order number; generated when absent (`W` and 8 or more digits: "
        "numbers of that form are the server's and refused here)",
    )
    customer: CustomerIn
    lines: Annotated[list[OrderLineIn], Field(min_length=1, max_length=500)]
    delivery: DeliveryIn | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = Field(
        None,
        description="absent or the price list's: fine; another needs orders:price-override",
    )
    payment_method: Annotated[str, Field(max_length=255)] | None = None
    comment: Annotated[str, Field(max_length=4000)] | None = None
    total: MoneyIn | None = Field(
        None, description="if given, must equal the sum of the lines and delivery"
    )


class CustomerOut(Output):
    ref: str | None
    onec_id: str | None
    name: str | None
    full_name: str | None
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    inn: str | None
    kpp: str | None
    address: str | None


class DeliveryOut(Output):
    method: str | None
    address: str | None
    price: str | None


class OrderLineOut(Output):
    line_no: int
    product_id: str
    variant_id: str | None
    name: str
    sku: str | None
    unit: str | None
    quantity: QuantityText
    price: MoneyText
    discount: MoneyText
    total: MoneyText
    catalog_price: MoneyText | None = Field(description="the catalog's price when ordered")
    price_overridden: bool = Field(description="price, discount or currency set by the caller")
    stock_note: str | None = Field(description="shortfall accepted under stock_policy warn")


class OrderOut(Output):
    number: str
    status: str
    currency: str
    total: MoneyText
    customer: CustomerOut
    delivery: DeliveryOut
    payment_method: str | None
    comment: str | None
    lines: list[OrderLineOut]
    onec_number: str | None
    onec_date: Timestamp | None
    posted: bool
    paid: bool
    shipped: bool
    cancelled: bool
    export_state: str
    created_at: Timestamp | None
    updated_at: Timestamp | None


class StatusChange(Output):
    status: str
    source: str
    note: str | None
    at: Timestamp | None


class StatusHistory(Output):
    number: str
    items: list[StatusChange]


class OrderPage(Output):
    items: list[OrderOut]
    next_cursor: str | None


# --- auth and admin ----------------------------------------------------------------------------


class LoginIn(Input):
    username: Annotated[str, Field(min_length=1, max_length=255)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class LogoutIn(Input):
    refresh_token: Annotated[str, Field(min_length=1, max_length=4096)] | None = Field(
        None, description="also revoke this refresh token"
    )


class TokenPair(Output):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="seconds the access token is valid")


class Revoked(Output):
    revoked: int


class Me(Output):
    kind: Literal["api_key", "user"]
    name: str
    role: str
    permissions: list[str]


class ApiKeyIn(Input):
    name: Annotated[str, Field(min_length=1, max_length=255)]
    role: Literal[KEY_ROLES]  # type: ignore[valid-type]
    scopes: list[Literal[PERMISSIONS]] = Field(  # type: ignore[valid-type]
        default_factory=list,
        max_length=len(PERMISSIONS),
        description="empty: all of the role's but orders:price-override and customers:bind",
    )
    price_type: OnecId | None = Field(
        None, description="price type (Ид or name) of the key's orders; default: the server's"
    )


class ApiKeyOut(Output):
    prefix: str
    name: str
    role: str
    scopes: list[str]
    created_by: str | None
    created_at: Timestamp | None
    last_used_at: Timestamp | None
    revoked_at: Timestamp | None
    price_type: str | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="shown once; only a hash is stored")


class ApiKeyList(Output):
    items: list[ApiKeyOut]


class Ping(Output):
    ok: bool


class FieldError(Output):
    field: str | None
    message: str


class ErrorBody(Output):
    status: int
    code: str
    message: str
    details: list[FieldError]


class Error(Output):
    error: ErrorBody


# --- the change feed and media (GET /changes, GET /media/{sha256}) -----------------------------

ChangeKind = Literal["product", "offer", "price", "stock", "group", "order"]


class ChangesQuery(Input):
    after: int = Field(
        0, ge=0, le=2**62, description="the last position you have read; 0 for the beginning"
    )
    limit: Annotated[int, Field(ge=1, le=1000, description="events per page")] = 100
    kinds: list[ChangeKind] = Field(
        default_factory=list, max_length=6, description="only these kinds (repeatable)"
    )
    wait: float = Field(
        0,
        ge=0,
        le=300,
        description="seconds to wait for an event when there is none yet (long-poll); at most "
        "changes.max_wait_seconds",
    )


class ChangeEventOut(Output):
    position: int = Field(description="only grows; pass the last one you read as `after`")
    kind: ChangeKind
    id: str = Field(
        description="the resource's 1C Ид (an offer's for price and stock; an order's number)"
    )
    action: Literal["created", "changed", "hidden", "deleted", "status"]
    data: dict[str, Any] | None = Field(
        description="the new values: prices by price type, stock by warehouse (a created "
        "offer's event carries the prices and stock that came with it), an order's status and "
        "changed fields; null: read the resource"
    )
    run_id: int | None = Field(description="the sync run that made the change")
    at: Timestamp


class ChangePage(Output):
    items: list[ChangeEventOut]
    next_after: int = Field(description="`after` for the next request")
    head: int = Field(description="the highest position written so far")
