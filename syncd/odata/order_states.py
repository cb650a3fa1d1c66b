"""1C's state of the shop's orders, read back over OData and applied as the sale exchange's are.

Part of every ``orders push`` run (after the push; skipped while no order has been sent to 1C,
or with ``odata.order_states_days = 0``). Every order document (``odata.order_entity``) dated
within ``order_states_days`` whose site-number field (``order_fields.number``) is filled is
read, page by page, and matched to at most one shop order, by one rule at a time:

1. its ``Ref_Key`` is the 1C id recorded on an order (by the push, or by an earlier read): that
   order, whatever number the document now shows;
2. else its site number is an order's number, and only when nothing else could claim it: the
   order has no 1C id, it was sent to 1C (exchange or push), the document is not dated before
   the order was placed (a day's slack for clocks and zones: a customer's PO number typed into
   1C earlier is not this order), and no other document not marked for deletion shows that
   number, of any date (1C is asked: ``$top=2``). The ``Ref_Key`` is
   then recorded on the order, so rule 1 matches it from then on.

A document that names an order by number but fails rule 2 (the order is 1C's other document,
several documents show the number, the order was never sent) is refused: nothing of it is
applied, and the refusals are logged and listed in the read's audit entry. The matching is
computed over the whole read before anything is applied, so it does not depend on the order in
which 1C lists its documents. Marked-for-deletion documents claim no number (as the push's
lookup ignores them); by ``Ref_Key`` they mark the order deleted, as the sale exchange does.

What a document changes goes through ``syncd.importer.order_updates`` (the sale exchange's
path): the same status mapping (``exchange.status_map``), history rows (source ``1c-odata``),
``order`` change events; one transaction for the whole read, with one ``odata.order_states``
audit entry when something changed or was refused.

1C is never asked anything while that transaction is open (1C may take seconds and retries to
answer): the numbers rule 2 will ask about are gathered first by a dry run of the matching in a
read-only transaction, asked outside it, and the matching then runs on those answers. An order
that became one to ask about in between (the sale exchange sent it meanwhile) starts another
round; after three, the matching asks 1C from inside the transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config import Settings
from exchange_formats.errors import FormatError
from exchange_formats.odata import orders as format_orders
from exchange_formats.records import Order as OrderRecord
from syncd.importer.order_updates import apply_matched
from syncd.odata import query
from syncd.odata.client import ODataClient
from syncd.store import audit
from syncd.store.models import Order
from syncd.store.unit_of_work import UnitOfWork

log = logging.getLogger("syncd.odata")
SOURCE = "1c-odata"
SENT = ("pending", "exported")  # export states of an order 1C may hold a document of
_CHUNK = 1000  # ids per IN (...) when finding orders
_SLACK = timedelta(days=1)  # a document this much older than its order may still be its
# Times the claimants of site numbers are gathered before the matching transaction; if orders
# keep changing under it, the last round asks 1C from inside the transaction.
_ROUNDS = 3


@dataclass
class StateCounts:
    updated: int = 0  # orders a document changed
    unchanged: int = 0
    unknown: int = 0  # documents naming no shop order (1C's own, other channels)
    refused: list[str] = field(default_factory=list)  # why each refused document was refused


@dataclass
class _Matches:
    matched: list[tuple[Order, OrderRecord]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    unknown: int = 0


def read_states(
    client: ODataClient, sessions: sessionmaker[Session], settings: Settings, *, actor: str
) -> StateCounts:
    """Read 1C's order documents and apply them (see the module docstring). Commits once."""
    if settings.odata.order_states_days == 0:
        return StateCounts()
    with UnitOfWork(sessions) as uow:
        if not _anything_sent(uow.session):
            return StateCounts()
    documents, unreadable = _documents(client, settings)
    claims: dict[str, list[str]] = {}  # site number -> 1C's live documents showing it
    rounds = 0
    while True:
        rounds += 1
        with UnitOfWork(sessions) as uow:
            unasked = _numbers_to_ask(uow.session, documents, claims)
        for number in sorted(unasked):  # outside any transaction of ours: 1C may take its time
            claims[number] = _claimants(client, settings, number)
        live = rounds >= _ROUNDS
        with UnitOfWork(sessions) as uow:
            try:
                found = match(uow.session, documents, _answers(claims, client, settings, live))
            except _Unasked:
                continue  # an order changed since the numbers were gathered: gather again
            found.refused[:0] = unreadable
            applied = apply_matched(
                uow.session,
                found.matched,
                settings.exchange.status_map,
                source=SOURCE,
                bind=True,
            )
            counts = StateCounts(
                updated=applied.updated,
                unchanged=applied.unchanged,
                unknown=found.unknown,
                refused=found.refused,
            )
            if counts.updated or counts.refused:
                _audit(uow.session, counts, settings.odata.order_entity, actor)
            uow.commit()
        for reason in counts.refused:
            log.warning("order document not applied: %s", reason)
        return counts


class _Unasked(Exception):
    """The matching needs 1C's claimants of a number nobody asked 1C about yet."""


def _numbers_to_ask(
    session: Session, documents: Sequence[OrderRecord], claims: dict[str, list[str]]
) -> set[str]:
    """The site numbers whose other claimants the matching will ask about and 1C was not yet
    asked: a dry run of ``match`` (it only reads) that records them."""
    wanted: set[str] = set()

    def record(number: str) -> list[str]:
        wanted.add(number)
        return claims.get(number, [])

    match(session, documents, record)
    return wanted - claims.keys()


def _answers(
    claims: dict[str, list[str]], client: ODataClient, settings: Settings, live: bool
) -> Callable[[str], list[str]]:
    """1C's answers gathered before the transaction; a number not among them stops the
    matching (``_Unasked``), or, in the last round, is asked there and then."""

    def claimants(number: str) -> list[str]:
        if number in claims:
            return claims[number]
        if live:
            claims[number] = _claimants(client, settings, number)
            return claims[number]
        raise _Unasked(number)

    return claimants


def match(
    session: Session,
    documents: Sequence[OrderRecord],
    claimants: Callable[[str], list[str]],
) -> _Matches:
    """Each document with the order it is about, or why it is refused (module docstring).
    ``claimants(number)``: the Ref_Keys of 1C's live documents showing ``number`` (two at most)."""
    by_ref = _orders(session, Order.onec_id, {d.onec_id for d in documents})
    numbers = {d.number for d in documents if d.number and d.onec_id not in by_ref}
    by_number = _orders(session, Order.number, numbers)
    found = _Matches()
    for document in documents:
        order = by_ref.get(document.onec_id)
        if order is not None:
            found.matched.append((order, document))
            continue
        order = by_number.get(document.number or "")
        if order is None or document.deleted:
            found.unknown += 1
            continue
        refusal = _refusal(order, document, claimants)
        if refusal:
            found.refused.append(refusal)
        else:
            found.matched.append((order, document))
    return found


def _refusal(
    order: Order, document: OrderRecord, claimants: Callable[[str], list[str]]
) -> str | None:
    named = f"document {document.onec_id} ({document.number_1c or 'no 1C number'})"
    if order.onec_id is not None:
        return (
            f"{named} shows site number {order.number}, but order {order.number} is 1C's "
            f"document {order.onec_id}"
        )
    if order.export_state not in SENT:
        return f"{named} shows site number {order.number}, but that order was never sent to 1C"
    placed = order.created_at if order.created_at.tzinfo else order.created_at.replace(tzinfo=UTC)
    if document.date_1c is not None and document.date_1c < placed - _SLACK:
        return (
            f"{named} shows site number {order.number}, but is dated "
            f"{document.date_1c.isoformat()}, before that order was placed"
        )
    others = [ref for ref in claimants(order.number) if ref != document.onec_id]
    if others:
        return (
            f"{named}: other documents show site number {order.number} too "
            f"({', '.join(sorted(others))}); none is applied until one remains "
            "(mark the others for deletion)"
        )
    return None


def _claimants(client: ODataClient, settings: Settings, number: str) -> list[str]:
    odata = settings.odata
    field_name = odata.fields("order")["number"]
    rows = client.rows(
        odata.order_entity,
        [
            ("$select", "Ref_Key"),
            ("$filter", f"{field_name} eq {query.string(number)} and DeletionMark eq false"),
            ("$top", "2"),
        ],
    )
    return [str(row.get("Ref_Key", "")).lower() for row in rows]


def _orders(session: Session, column: Any, keys: Iterable[str]) -> dict[str, Order]:
    wanted = sorted(keys)
    found: dict[str, Order] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        for order in session.scalars(select(Order).where(column.in_(chunk))):
            found[getattr(order, column.key)] = order
    return found


def _anything_sent(session: Session) -> bool:
    sent = select(Order.id).where(Order.export_state.in_(SENT)).limit(1)
    return session.scalar(sent) is not None


def _documents(client: ODataClient, settings: Settings) -> tuple[list[OrderRecord], list[str]]:
    """Every order document showing a site number, as update records; and the unreadable."""
    odata = settings.odata
    fields = odata.fields("order")
    zone = ZoneInfo(odata.timezone)
    documents: list[OrderRecord] = []
    unreadable: list[str] = []
    since = datetime.now(UTC) - timedelta(days=odata.order_states_days)
    pages = client.pages(
        odata.order_entity,
        select=format_orders.state_fields(fields),
        orderby="Ref_Key",
        filter=f"{fields['number']} ne {query.string('')} "
        f"and Date ge {query.datetime_literal(since, zone)}",
    )
    for page in pages:
        for row in page.rows:
            try:
                documents.append(format_orders.document_state(row, fields=fields, zone=zone))
            except FormatError as exc:
                unreadable.append(str(exc))
    return documents, unreadable


def _audit(session: Session, counts: StateCounts, entity: str, actor: str) -> None:
    audit.append(
        session,
        action="odata.order_states",
        outcome="refused" if counts.refused else "succeeded",
        actor=actor,
        source=entity,
        subject="orders",
        counts={
            "updated": counts.updated,
            "unchanged": counts.unchanged,
            "unknown": counts.unknown,
            "refused": len(counts.refused),
        },
        details={"refused": counts.refused[:100]},
    )
