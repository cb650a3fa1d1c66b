"""``check_odata``: can we reach 1C, and does it publish what the configuration names?"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from config import ODataSettings
from exchange_formats.errors import FormatError
from exchange_formats.odata.metadata import Metadata, parse_metadata
from syncd.odata.client import ODataClient
from syncd.odata.errors import ODataError, Unavailable
from syncd.odata.published import refresh
from syncd.odata.streams import CatalogStream, derivations, make_streams, missing


@dataclass(frozen=True, slots=True)
class EntityCheck:
    """One configured entity set. ``exists`` is None when it could not be told."""

    use: str  # the stream or "orders"
    entity: str
    exists: bool | None
    missing: tuple[str, ...] = ()
    note: str | None = None


@dataclass
class CheckReport:
    url: str
    reachable: bool = False
    error: str | None = None
    metadata_error: str | None = None
    entity_sets: int = 0
    entities: list[EntityCheck] = field(default_factory=list)
    derived: list[str] = field(default_factory=list)  # settings read from $metadata
    to_set: list[str] = field(default_factory=list)  # settings $metadata cannot tell
    kept_error: str | None = None  # why the $metadata read could not be kept for pulls

    @property
    def ok(self) -> bool:
        return self.reachable and all(
            e.exists is not False and not e.missing for e in self.entities
        )


def check_odata(
    settings: ODataSettings,
    *,
    transport: httpx.BaseTransport | None = None,
    sessions: sessionmaker[Session] | None = None,
) -> CheckReport:
    """Read ``$metadata`` and check every configured entity and field against it.

    With ``sessions`` what was read replaces the copy pulls keep (``syncd.odata.published``).
    Where ``$metadata`` fails (some bases answer it with 500 while reads work), each entity set
    is probed with a one-row read instead; fields are then not checked.
    """
    report = CheckReport(url=settings.url)
    with ODataClient(settings, transport=transport) as client:
        try:
            metadata = _read(client, sessions, report)
        except Unavailable as exc:
            report.error = f"1C is unavailable: {exc}"
            return report
        except (ODataError, FormatError) as exc:
            report.metadata_error = str(exc)
            return _probe(client, settings, report)
    report.reachable = True
    report.entity_sets = len(metadata.entity_sets)
    report.entities = _against_metadata(settings, metadata)
    report.derived = derivations(settings, metadata)
    report.to_set = _to_set(settings)
    return report


def _read(
    client: ODataClient, sessions: sessionmaker[Session] | None, report: CheckReport
) -> Metadata:
    if sessions is None:
        return parse_metadata(client.metadata())
    try:
        return refresh(client, sessions)
    except SQLAlchemyError as exc:  # the database is not needed to check 1C
        report.kept_error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return parse_metadata(client.metadata())


def _to_set(settings: ODataSettings) -> list[str]:
    """What only the user knows: which prices and stock the shop sells, what 1C's order
    documents need, the server's time zone; each with its current value."""
    found = [
        f"odata.price_types: {list(settings.price_types) or 'every price type'}",
        f"odata.stock_warehouses: {list(settings.stock_warehouses) or 'every warehouse'}",
        f"odata.timezone: {settings.timezone} (1C's dates carry no zone)",
    ]
    if not settings.order_constants:
        found.append(
            "odata.order_constants: none (the organisation, agreement, warehouse... your 1C "
            "requires on an order document)"
        )
    return found


def _against_metadata(settings: ODataSettings, metadata: Metadata) -> list[EntityCheck]:
    checks = []
    for name, stream in make_streams(settings, metadata).items():
        absent = missing(stream, metadata)
        exists = metadata.has_entity_set(stream.entity)
        checks.append(EntityCheck(name, stream.entity, exists, tuple(a for a in absent if exists)))
    order_fields = [f for f in settings.fields("order").values() if f]
    known = metadata.properties_of(settings.order_entity)
    exists = metadata.has_entity_set(settings.order_entity)
    lacking = tuple(
        f"property {settings.order_entity}.{f}" for f in order_fields if exists and f not in known
    )
    checks.append(EntityCheck("orders", settings.order_entity, exists, lacking))
    return checks


def _probe(client: ODataClient, settings: ODataSettings, report: CheckReport) -> CheckReport:
    entities = {
        name: s.entity for name, s in make_streams(settings).items() if isinstance(s, CatalogStream)
    }
    entities["orders"] = settings.order_entity
    for use, entity in entities.items():
        try:
            client.rows(entity, [("$select", "Ref_Key"), ("$top", "1")])
        except Unavailable as exc:
            report.error = f"1C is unavailable: {exc}"
            return report
        except ODataError as exc:
            report.entities.append(EntityCheck(use, entity, False, note=str(exc)))
            continue
        report.reachable = True
        report.entities.append(EntityCheck(use, entity, True, note="fields not checked"))
    return report
