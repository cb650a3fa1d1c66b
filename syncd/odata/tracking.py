"""Exchange-plan change tracking: the ``changes`` stream.

For configurations whose 1C side keeps an exchange plan for the shop (``odata.exchange_plan``,
our node ``odata.exchange_node``): 1C registers every change to the objects in the plan's content
for our node. One pull (§17.4 of 1C's developer guide, "SelectChanges"/"NotifyChangesReceived"):

1. read our node's ``ReceivedNo`` (the last package we acknowledged; 1C keeps it);
2. ``SelectChanges`` with ``MessageNo = ReceivedNo + 1``: an Atom feed of every object changed
   or deleted since (``exchange_formats.odata.changes``);
3. write the changed objects through the catalog streams' readers and the importer's writer,
   hide the deleted ones, and commit it all with the streams' versions in one transaction;
4. only then ``NotifyChangesReceived`` for that message, which clears 1C's registrations.

A crash or failure between 3 and 4 leaves the registrations in 1C: the next pull gets the same
package again (with whatever changed since) and writes it again, which changes nothing. Objects
of a kind no catalog stream reads (documents, registers, other catalogs in the plan's content)
are counted as skipped; prices and stock stay with their snapshots. The catalog streams' own
first (full) pull is still needed: the plan carries changes, not the catalog as it stands.
"""

from __future__ import annotations

import logging

from exchange_formats.odata.changes import Changed, Deleted, read_changes
from exchange_formats.odata.values import boolean
from syncd.importer.checkpoints import save_checkpoint, write_stream_batch
from syncd.odata import query, state
from syncd.odata.errors import BadAnswer
from syncd.odata.pull import PullContext, StreamResult, log_deleted, read_rows
from syncd.odata.streams import CatalogStream, ChangesStream
from syncd.store.unit_of_work import UnitOfWork

log = logging.getLogger("syncd.odata")


def pull_changes(ctx: PullContext, stream: ChangesStream, result: StreamResult) -> StreamResult:
    """One package of registered changes: read, written and committed, then acknowledged."""
    result.mode = "changes"
    node_url = f"{ctx.client.base}{stream.entity}({query.guid(stream.node)})"
    message = _received_no(ctx, stream) + 1
    body = ctx.client.exchange("SelectChanges", node_url, message)
    entries = list(read_changes(body, source=f"{stream.entity} SelectChanges {message}"))
    result.fetched = len(entries)
    with UnitOfWork(ctx.sessions) as uow:
        for catalog in stream.catalogs:
            rows = [e.row for e in entries if isinstance(e, Changed) and _feeds(catalog, e)]
            records, versions = read_rows(ctx, catalog, rows, result.counts)
            cursor = {"mode": "changes", "message_no": message}
            result.counts.merge(
                write_stream_batch(uow.session, catalog.name, records, cursor, ctx.options)
            )
            state.save_versions(uow.session, catalog.name, versions)
            gone = [e.ref for e in entries if isinstance(e, Deleted) and e.entity == catalog.entity]
            hidden = state.forget_and_mark_deleted(uow.session, catalog.name, gone, catalog.table)
            log_deleted(ctx, uow.session, catalog, hidden)
            result.counts.add(catalog.table.name, "deleted", len(hidden))
        skipped = sum(1 for e in entries if not any(_kind(c, e) for c in stream.catalogs))
        result.counts.add("changes", "unchanged", skipped)
        save_checkpoint(uow.session, stream.name, {"mode": "changes", "message_no": message})
        uow.commit()
    ctx.client.exchange("NotifyChangesReceived", node_url, message)
    log.info(
        "changes: package %d of %s: %d entries, acknowledged", message, stream.entity, len(entries)
    )
    if result.counts.written == 0 and not result.counts.rejected:
        result.outcome = "unchanged"
    return result


def _received_no(ctx: PullContext, stream: ChangesStream) -> int:
    resource = f"{stream.entity}({query.guid(stream.node)})"
    node = ctx.client.get(resource, [("$select", ",".join(stream.select))])
    try:
        return int(str(node.get("ReceivedNo") or 0))
    except (AttributeError, ValueError) as exc:
        raise BadAnswer(f"{resource}: ReceivedNo is not a number ({exc})") from exc


def _kind(catalog: CatalogStream, entry: Changed | Deleted) -> bool:
    return entry.entity == catalog.entity


def _feeds(catalog: CatalogStream, entry: Changed) -> bool:
    """Whether ``catalog`` reads this row: its entity set, and folders or items as it takes."""
    if entry.entity != catalog.entity:
        return False
    if catalog.folders is None:
        return True
    return bool(boolean(entry.row.get("IsFolder")) or False) == catalog.folders
