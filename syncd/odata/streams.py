"""What each pulled stream reads from 1C and how its rows become records.

A stream declares its name, its entity set, the properties it selects and its reader; it never
talks HTTP, commits or retries (``syncd.odata.pull`` does). Two kinds:

* ``CatalogStream``: a ``Catalog_*`` entity set, pulled incrementally by ``DataVersion``;
* ``SnapshotStream``: a register's virtual table (``SliceLast``, ``Balance``), pulled whole and
  diffed locally (virtual tables cannot be paged).

``make_streams(settings, metadata)`` builds them from ``ODataSettings``; with the base's
``$metadata`` it picks the properties the base really has (``IsFolder``, ``Owner_Key`` or
``Owner``+``Owner_Type``) and ``missing(...)`` reports configured names the base lacks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from sqlalchemy import Table

from config import ODataSettings
from exchange_formats.odata import catalog, parties, registers
from exchange_formats.odata.metadata import Metadata
from exchange_formats.records import Record
from syncd.odata import query
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

    def resources(self) -> list[str]:
        return [query.function(self.entity, self.function, args) for args in self.calls]


Stream = CatalogStream | SnapshotStream


def make_streams(settings: ODataSettings, metadata: Metadata | None = None) -> dict[str, Stream]:
    """Every stream of ``ODATA_STREAMS``, configured; keyed by name."""
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
            catalog.read_price_types,
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
        _prices(settings),
        _stock(settings),
    ]
    return {stream.name: stream for stream in built}


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
    fields = settings.fields(name)
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
    )


def _prices(settings: ODataSettings) -> SnapshotStream:
    fields = settings.fields("prices")
    by_type = fields.get("price_type", "")
    calls: tuple[Mapping[str, str], ...] = tuple(
        {"Condition": f"{by_type} eq {query.guid(ref)}"} for ref in settings.price_types
    ) or ({},)
    return SnapshotStream(
        name="prices",
        entity=settings.prices_entity,
        function="SliceLast",
        calls=calls,
        select=_unique(fields.values()),
        read=partial(registers.read_prices, fields=fields, source=settings.prices_entity),  # type: ignore[arg-type]
        kind="prices",
    )


def _stock(settings: ODataSettings) -> SnapshotStream:
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
    )


def _unique(*groups: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for group in groups:
        seen.update((name, None) for name in group if name)
    return tuple(seen)
