"""What each pulled stream reads from 1C and how its rows become records.

A stream declares its name, its entity set, the properties it selects and its reader; it never
talks HTTP, commits or retries (``syncd.odata.pull`` does). Two kinds:

* ``CatalogStream``: a ``Catalog_*`` entity set, pulled incrementally by ``DataVersion``;
* ``SnapshotStream``: a register's virtual table (``SliceLast``, ``Balance``), pulled whole and
  diffed locally (virtual tables cannot be paged).

``make_streams(settings, metadata)`` builds them from ``ODataSettings``; with the base's
``$metadata`` it picks the properties the base really has (``IsFolder``, ``Owner_Key`` or
``Owner``+``Owner_Type``, the optional roles of ``ODATA_OPTIONAL_FIELDS``), reads the price
register the way it is published (``<register>_RecordType`` or the independent register) and
``missing(...)`` reports configured names the base lacks; ``derivations(...)`` says what it
chose.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Literal

from sqlalchemy import Table

from config import ODataSettings
from config.settings import ODATA_OPTIONAL_FIELDS
from exchange_formats.odata import catalog, parties, registers
from exchange_formats.odata.metadata import Metadata
from exchange_formats.records import Record
from syncd.odata import kinds, query
from syncd.odata.client import ODataClient
from syncd.store import models

Row = dict[str, Any]
_BASE_SELECT = ("Ref_Key", "DataVersion", "DeletionMark")


@dataclass(frozen=True, slots=True, kw_only=True)
class CatalogStream:
    name: str
    entity: str
    select: tuple[str, ...]
    filter: str | None
    read: Callable[[list[Row]], Iterable[Record]]
    table: Table  # where its records land (for objects deleted in 1C)
    folders: bool | None = None  # a hierarchical catalog: folders (True) or items; None: flat
    # more records for accepted rows that need 1C's other objects (kinds.for_products, ...)
    expand: Callable[[ODataClient, list[Row]], list[Record]] | None = None
    # characteristics: rows + {Ref_Key: products named with it} -> their offers (kind_offers)
    variants: Callable[[list[Row], Mapping[str, set[str]]], Iterable[Record]] | None = None

    @property
    def scan_select(self) -> tuple[str, ...]:
        return ("Ref_Key", "DataVersion")


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotStream:
    name: str
    entity: str
    function: Literal["SliceLast", "Balance"]
    calls: tuple[Mapping[str, str], ...]  # the virtual table's arguments, one request each
    select: tuple[str, ...]
    read: Callable[[list[Row]], list[Record]]
    kind: Literal["prices", "stock"]
    warehouses: tuple[str, ...] = ()  # stock: the warehouses a call covers (empty: all)
    per_warehouse: bool = False  # stock: rows name a warehouse
    variants: CatalogStream | None = None  # where offers the rows name but we lack are read

    def resources(self, period: str | None = None) -> list[str]:
        """The calls; ``period`` (a ``datetime'…'`` literal) reads prices in force then."""
        literals = {"Period": period} if period and self.kind == "prices" else {}
        return [query.function(self.entity, self.function, a, literals) for a in self.calls]


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangesStream:
    """An exchange plan's registered changes for our node (``syncd.odata.tracking``)."""

    name: str
    entity: str  # ExchangePlan_…
    node: str  # our node's Ref_Key
    catalogs: tuple[CatalogStream, ...]  # whose readers map the changed objects, in write order
    select: tuple[str, ...] = ("Ref_Key", "ReceivedNo")


Stream = CatalogStream | SnapshotStream | ChangesStream


def make_streams(
    settings: ODataSettings,
    metadata: Metadata | None = None,
    currencies: Mapping[str, str] | None = None,
) -> dict[str, Stream]:
    """Every stream of ``ODATA_STREAMS``, configured; keyed by name.

    ``currencies`` (``Ref_Key -> ISO code``, from ``catalog.read_currencies``) resolves the
    currency references of price types and prices.
    """
    built: list[Stream] = [
        _catalog(
            settings,
            metadata,
            "warehouses",
            settings.warehouses_entity,
            models.Warehouse,
            catalog.read_warehouses,
        ),
        _catalog(
            settings,
            metadata,
            "price_types",
            settings.price_types_entity,
            models.PriceType,
            partial(catalog.read_price_types, currencies=currencies or {}),
            hierarchical=False,
        ),
        _catalog(
            settings,
            metadata,
            "groups",
            settings.products_entity,
            models.Group,
            catalog.read_groups,
            folders=True,
        ),
        _catalog(
            settings,
            metadata,
            "products",
            settings.products_entity,
            models.Product,
            catalog.read_products,
        ),
        _characteristics(settings, metadata),
        _catalog(
            settings,
            metadata,
            "customers",
            settings.customers_entity,
            models.Customer,
            parties.read_contractors,
        ),
        _prices(settings, metadata, currencies or {}),
        _stock(settings, metadata),
    ]
    built = _with_kind_offers(settings, metadata, built)
    if settings.exchange_plan and settings.exchange_node:
        catalogs = tuple(s for s in built if isinstance(s, CatalogStream))
        built.append(
            ChangesStream(
                name="changes",
                entity=settings.exchange_plan,
                node=settings.exchange_node.lower(),
                catalogs=catalogs,
            )
        )
    return {stream.name: stream for stream in built}


def _with_kind_offers(
    settings: ODataSettings, metadata: Metadata | None, built: list[Stream]
) -> list[Stream]:
    """The products and characteristics streams, making the offers of kind-owned
    characteristics (``syncd.odata.kinds``) where the base publishes what that needs."""
    by_name = {stream.name: stream for stream in built}
    products, characteristics = by_name["products"], by_name["characteristics"]
    if not isinstance(products, CatalogStream) or not isinstance(characteristics, CatalogStream):
        return built  # pragma: no cover - make_streams builds both as catalog streams
    fields = role_map(settings, metadata, "products", settings.products_entity)
    if not (fields.get("kind") and fields.get("characteristics_use")):
        return built
    if metadata is not None and not metadata.has_entity_set(settings.characteristics_entity):
        return built
    owner = settings.fields("characteristics").get("owner", "")
    links = kinds.KindLinks(
        products_entity=settings.products_entity,
        product_fields=fields,
        characteristics_entity=settings.characteristics_entity,
        characteristic_fields=settings.fields("characteristics"),
        characteristic_select=characteristics.select,
        kinds_entity=settings.kinds_entity,
        owner_is_composite=f"{owner}_Type" in characteristics.select,
    )
    changed = {
        "products": replace(products, expand=partial(kinds.for_products, links=links)),
        "characteristics": replace(
            characteristics, expand=partial(kinds.for_characteristics, links=links)
        ),
    }
    return [changed.get(stream.name, stream) for stream in built]


def missing(stream: Stream, metadata: Metadata) -> list[str]:
    """The configured entity set or properties of ``stream`` that ``metadata`` lacks."""
    if not metadata.has_entity_set(stream.entity):
        return [f"entity set {stream.entity}"]
    function = stream.function if isinstance(stream, SnapshotStream) else None
    known = metadata.properties_of(stream.entity, function)
    if not known:  # a virtual table's row type under another name: nothing to check against
        return []
    return [f"property {stream.entity}.{name}" for name in stream.select if name not in known]


def _catalog(
    settings: ODataSettings,
    metadata: Metadata | None,
    name: str,
    entity: str,
    model: type[models.Base],
    reader: Callable[..., Iterable[Record]],
    *,
    folders: bool = False,
    hierarchical: bool = True,
) -> CatalogStream:
    fields = role_map(settings, metadata, name, entity)
    if metadata is not None and metadata.has_entity_set(entity):
        hierarchical = "IsFolder" in metadata.properties_of(entity)
    folder_filter = f"IsFolder eq {'true' if folders else 'false'}"
    return CatalogStream(
        name=name,
        entity=entity,
        select=_unique(_BASE_SELECT, ("IsFolder",) if hierarchical else (), fields.values()),
        filter=folder_filter if hierarchical else None,
        read=partial(reader, fields=fields, source=entity),
        table=models.table(model),
        folders=folders if hierarchical else None,
    )


def _characteristics(settings: ODataSettings, metadata: Metadata | None) -> CatalogStream:
    entity = settings.characteristics_entity
    fields = settings.fields("characteristics")
    owner = fields.get("owner", "")
    owner_select: tuple[str, ...] = (owner, f"{owner}_Type") if owner else ()
    if owner and metadata is not None and f"{owner}_Key" in metadata.properties_of(entity):
        owner_select = (f"{owner}_Key",)
    others = [value for role, value in fields.items() if role != "owner"]
    return CatalogStream(
        name="characteristics",
        entity=entity,
        select=_unique(_BASE_SELECT, owner_select, others),
        filter=None,
        read=partial(
            catalog.read_characteristics,
            fields=fields,
            products_entity=settings.products_entity,
            source=entity,
        ),
        table=models.table(models.Offer),
        variants=partial(
            catalog.kind_offers,
            fields=fields,
            products_entity=settings.products_entity,
            source=entity,
        ),
    )


def _prices(
    settings: ODataSettings, metadata: Metadata | None, currencies: Mapping[str, str]
) -> SnapshotStream:
    entity = prices_entity(settings, metadata)
    fields = role_map(settings, metadata, "prices", entity, "SliceLast")
    by_type = fields.get("price_type", "")
    calls: tuple[Mapping[str, str], ...] = tuple(
        {"Condition": f"{by_type} eq {query.guid(ref)}"} for ref in settings.price_types
    ) or ({},)
    return SnapshotStream(
        name="prices",
        entity=entity,
        function="SliceLast",
        calls=calls,
        select=_unique(fields.values()),
        read=partial(registers.read_prices, fields=fields, source=entity, currencies=currencies),  # type: ignore[arg-type]
        kind="prices",
        variants=_characteristics(settings, metadata),
    )


def prices_entity(settings: ODataSettings, metadata: Metadata | None) -> str:
    """The price register as the base publishes it.

    A register subordinate to a recorder is read through ``<register>_RecordType``, an
    independent one through ``<register>`` itself; ``$metadata`` lists only the form that
    exists, so the configured name is switched to the other form when only that one is there.
    """
    configured = settings.prices_entity
    if metadata is None or metadata.has_entity_set(configured):
        return configured
    base = configured.removesuffix("_RecordType")
    other = base if base != configured else f"{configured}_RecordType"
    return other if metadata.has_entity_set(other) else configured


def role_map(
    settings: ODataSettings,
    metadata: Metadata | None,
    stream: str,
    entity: str,
    function: str | None = None,
) -> dict[str, str]:
    """The field map of ``stream`` with its optional roles kept only where they can be read.

    With ``$metadata``: where the base publishes the property. Without: where the
    configuration sets the role (the defaults may name properties the base lacks).
    """
    fields = settings.fields(stream)
    optional = ODATA_OPTIONAL_FIELDS.get(stream, frozenset())
    if metadata is None:
        configured = settings.configured(stream)
        return {r: (n if r not in optional or r in configured else "") for r, n in fields.items()}
    known = metadata.properties_of(entity, function)
    if not known:
        return fields
    return {r: (n if r not in optional or n in known else "") for r, n in fields.items()}


def derivations(settings: ODataSettings, metadata: Metadata) -> list[str]:
    """What ``make_streams`` took from ``$metadata`` rather than from the configuration."""
    found = []
    entity = prices_entity(settings, metadata)
    if entity != settings.prices_entity:
        found.append(f"prices: read from {entity} (the form this base publishes)")
    else:
        kind = "recorder-subordinate" if entity.endswith("_RecordType") else "independent"
        found.append(f"prices: {entity} ({kind} register, as published)")
    entities = {
        "products": settings.products_entity,
        "price_types": settings.price_types_entity,
        "prices": entity,
    }
    for stream, roles in ODATA_OPTIONAL_FIELDS.items():
        function = "SliceLast" if stream == "prices" else None
        fields = role_map(settings, metadata, stream, entities[stream], function)
        for role in sorted(roles):
            name = settings.fields(stream)[role]
            state = f"read from {name}" if fields[role] else f"off ({name} is not published)"
            found.append(f"{stream}.{role}: {state}")
    owner = settings.fields("characteristics").get("owner", "")
    if owner:
        chosen = [n for n in _characteristics(settings, metadata).select if n.startswith(owner)]
        found.append(f"characteristics.owner: read from {' + '.join(chosen)}")
    return found


def _stock(settings: ODataSettings, metadata: Metadata | None) -> SnapshotStream:
    fields = settings.fields("stock")
    dimensions = ",".join(
        fields[role].removesuffix("_Key")
        for role in ("product", "characteristic", "warehouse")
        if fields.get(role)
    )
    by_warehouse = fields.get("warehouse", "")
    calls: tuple[Mapping[str, str], ...] = tuple(
        {"Dimensions": dimensions, "Condition": f"{by_warehouse} eq {query.guid(ref)}"}
        for ref in settings.stock_warehouses
    ) or ({"Dimensions": dimensions},)
    return SnapshotStream(
        name="stock",
        entity=settings.stock_entity,
        function="Balance",
        calls=calls,
        select=_unique(fields.values()),
        read=partial(registers.read_stock, fields=fields, source=settings.stock_entity),  # type: ignore[arg-type]
        kind="stock",
        warehouses=tuple(ref.lower() for ref in settings.stock_warehouses),
        per_warehouse=bool(by_warehouse),
        variants=_characteristics(settings, metadata),
    )


def _unique(*groups: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for group in groups:
        seen.update((name, None) for name in group if name)
    return tuple(seen)
