"""What a person can do from the console. Each action is written to the audit log with the
person's name (``console.*`` actions) in the transaction that makes its change, or right after
the import or job it started (which records its own run with the person as actor).

Errors form a small tree: ``ActionRefused`` (the request cannot be done as asked: 400),
``NotFound`` (404), ``Busy`` (another process holds the work: 409), ``Conflict`` (the data
changed since the page was drawn: 409).
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from config import Settings
from console import files
from syncd.daemon import jobs
from syncd.daemon.inbox import SCAN_LOCK, WORK_DIR, FolderError, display_name, import_package
from syncd.importer import hiding
from syncd.importer.inputs import InputError, package_files
from syncd.importer.pipeline import import_files
from syncd.odata.errors import ODataError
from syncd.store import audit, models
from syncd.store.locks import LockBusy, named_lock

# Jobs a person may start here: exchange_sweep needs the daemon's running exchange endpoint.
CONSOLE_JOBS = tuple(name for name in jobs.available_jobs() if name != "exchange_sweep")


class ActionError(Exception):
    status = 400


class ActionRefused(ActionError):
    status = 400


class NotFound(ActionError):
    status = 404


class Busy(ActionError):
    status = 409


class Conflict(ActionError):
    """The request was right when the page was drawn, but the data has moved on."""

    status = 409


@dataclass(frozen=True, slots=True)
class Done:
    """What happened, in a sentence for the page; ``ok`` is False when the work itself failed."""

    message: str
    ok: bool
    run_uuid: str | None = None


def retry_failed_package(settings: Settings, engine: Engine, *, actor: str, name: str) -> Done:
    """Import a package of ``folder.failed_dir`` again, as the folder scan would: it is claimed
    into the inbox's processing folder under the scan's lock, imported, then moved to done/ or
    back to failed/ with a new reason. Raises ``Busy`` while a folder scan runs."""
    if settings.folder.inbox is None:
        raise ActionRefused("folder.inbox is not set: there is no folder exchange to retry in")
    package = files.find(settings.folder.failed_path, name)
    if package is None or not package.is_dir():
        raise NotFound(f"no failed package named {name!r}")
    processing = settings.folder.inbox / WORK_DIR / "processing"
    try:
        with named_lock(engine, SCAN_LOCK, wait=False):
            previous = files.describe(package).reason
            processing.mkdir(parents=True, exist_ok=True)
            claimed = processing / f"{_stamp()}_{display_name(name)}"
            try:
                os.rename(package, claimed)
            except FileNotFoundError as exc:
                raise NotFound(f"the failed package {name!r} was taken meanwhile") from exc
            package.with_name(name + files.REASON).unlink(missing_ok=True)
            outcome = import_package(
                claimed, settings, engine, should_stop=lambda: False, actor=actor
            )
    except LockBusy as exc:
        raise Busy("the folder scan is running; retry when it has finished") from exc
    except FolderError as exc:
        raise ActionRefused(str(exc)) from exc
    run_uuid = outcome.run.run_uuid if outcome.run else None
    _audit(
        engine, action="console.retry", actor=actor, subject=f"failed package {name}",
        outcome=outcome.outcome, run_uuid=run_uuid, error=outcome.error,
        details={"previous_reason": previous[:2000]},
    )  # fmt: skip
    ok = outcome.outcome in ("succeeded", "unchanged")
    where = f"; moved to {outcome.moved_to.parent.name}/" if outcome.moved_to else ""
    text = f"package {display_name(name)}: {outcome.outcome}{where}"
    return Done(text + (f": {outcome.error}" if outcome.error else ""), ok, run_uuid)


def retry_quarantined(settings: Settings, engine: Engine, *, actor: str, name: str) -> Done:
    """Import a quarantined file again through the pipeline (as ``onec-sync import`` does).
    The quarantined original stays as it is; a copy under its original name is imported."""
    kept = files.find(settings.paths.quarantine_dir, name)
    if kept is None or not kept.is_file():
        raise NotFound(f"no quarantined file named {name!r}")
    work = settings.paths.data_dir / "work" / f"console-{uuid.uuid4().hex}"
    work.mkdir(parents=True)
    try:
        copy = work / files.describe(kept).original
        shutil.copy2(kept, copy)
        with package_files([copy], settings, engine) as documents:
            result = import_files(
                engine, documents, settings, actor=actor, source=f"console: quarantine {name}"
            )
    except InputError as exc:
        _audit(engine, action="console.retry", actor=actor, subject=f"quarantine {name}",
               outcome="failed", error=str(exc))  # fmt: skip
        return Done(f"{name}: {exc}", False)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _audit(
        engine, action="console.retry", actor=actor, subject=f"quarantine {name}",
        outcome=result.outcome, run_uuid=result.run_uuid, error=result.error,
    )  # fmt: skip
    text = f"{files.describe(kept).original}: {result.outcome}"
    return Done(text + (f": {result.error}" if result.error else ""), result.ok, result.run_uuid)


def resend_order(engine: Engine, *, actor: str, number: str) -> Done:
    """Put an order back in line for 1C: a failed OData push is tried again at the next push;
    an order 1C took over the site exchange is offered to 1C again at its next ``sale`` query.
    An order already created in 1C over OData is not sent twice (``ActionRefused``)."""
    with Session(engine) as db:
        order = db.scalars(select(models.Order).where(models.Order.number == number)).first()
        if order is None or order.is_deleted:
            raise NotFound(f"no order {number!r}")
        outbox = db.scalars(
            select(models.OrderOutbox).where(models.OrderOutbox.order_id == order.id)
        ).first()
        now = datetime.now(UTC)
        if outbox is not None:
            if outbox.state != "failed":
                raise ActionRefused(
                    f"order {number} is {outbox.state} in the OData outbox; only a failed push "
                    "can be sent again"
                )
            outbox.state = "created" if outbox.onec_ref_key else "pending"
            outbox.next_attempt_at, outbox.updated_at = now, now
            note = "push failed; queued for the next order push"
        elif order.export_state == "new":
            raise ActionRefused(f"order {number} is already waiting for 1C")
        else:
            order.export_state, order.export_session, order.updated_at = "new", None, now
            note = "offered to 1C again at its next exchange"
        db.add(
            models.OrderStatusChange(
                order_id=order.id,
                status=order.status,
                source="operator",
                note=f"re-sent by {actor}: {note}",
                created_at=now,
            )
        )
        audit.append(db, action="console.order.resend", outcome="succeeded", actor=actor,
                     subject=f"order {number}", details={"note": note})  # fmt: skip
        db.commit()
    return Done(f"order {number}: {note}", True)


def run_job(settings: Settings, engine: Engine, *, actor: str, name: str) -> Done:
    """Run one job of ``syncd.daemon.jobs`` now, in this request, as ``onec-sync sync`` does."""
    if name not in CONSOLE_JOBS:
        raise NotFound(f"no job named {name!r}")
    missing = jobs.unmet_needs(settings, name)
    if missing:
        raise ActionRefused(f"job {name} {missing}")
    context = jobs.JobContext(settings=settings, engine=engine, actor=actor)
    try:
        report = jobs.available_jobs()[name](context)
    except LockBusy as exc:
        raise Busy(f"{exc} is held: the job is running elsewhere; try again later") from exc
    except (FolderError, ODataError, SQLAlchemyError) as exc:
        _audit(engine, action="console.job", actor=actor, subject=f"job {name}",
               outcome="failed", error=str(exc)[:2000])  # fmt: skip
        return Done(f"job {name} failed: {exc}", False)
    _audit(
        engine, action="console.job", actor=actor, subject=f"job {name}", outcome=report.outcome,
        error=report.error, details={"runs": list(report.runs), "summary": report.summary},
    )  # fmt: skip
    text = f"job {name}: {report.outcome}: {report.summary}"
    return Done(text, not report.failed, report.runs[0] if report.runs else None)


def confirm_hide(settings: Settings, engine: Engine, *, actor: str, run_uuid: str) -> Done:
    """Hide what the held run's full package did not mention (``hiding.confirm_hide``, which
    audits ``import.hide_confirmed`` with the person). ``Busy`` while an import holds the
    catalog; ``Conflict`` when the hiding was decided already or a later import made it out
    of date; ``NotFound`` for no such run."""
    try:
        hidden = hiding.confirm_hide(
            engine, run_uuid, redis=settings.redis, actor=actor,
            change_log=settings.changes.enabled, wait=False,
        )  # fmt: skip
    except LockBusy as exc:
        raise Busy("an import holds the catalog; confirm when it has finished") from exc
    except hiding.HideError as exc:
        raise _refused(engine, "console.hide.confirm", actor, run_uuid, exc) from exc
    rows = ", ".join(f"{n} {table}" for table, n in sorted(hidden.items()))
    _audit(engine, action="console.hide.confirm", actor=actor, subject=f"run {run_uuid}",
           outcome="confirmed", run_uuid=run_uuid, details={"hidden": hidden})  # fmt: skip
    return Done(f"run {run_uuid}: hiding confirmed; hid {rows}", True, run_uuid)


def reject_hide(engine: Engine, *, actor: str, run_uuid: str) -> Done:
    """Drop the held hiding of the run: nothing is hidden (``hiding.reject_hide``, which
    audits ``import.hide_rejected`` with the person). Errors as for ``confirm_hide``."""
    try:
        would = hiding.reject_hide(engine, run_uuid, actor=actor, wait=False)
    except LockBusy as exc:
        raise Busy("an import holds the catalog; reject when it has finished") from exc
    except hiding.HideError as exc:
        raise _refused(engine, "console.hide.reject", actor, run_uuid, exc) from exc
    _audit(engine, action="console.hide.reject", actor=actor, subject=f"run {run_uuid}",
           outcome="rejected", run_uuid=run_uuid, details={"would_hide": would})  # fmt: skip
    return Done(f"run {run_uuid}: hiding rejected; nothing was hidden", True, run_uuid)


def _refused(
    engine: Engine, action: str, actor: str, run_uuid: str, exc: hiding.HideError
) -> ActionError:
    """The console's error for a refused decision, audited when the run exists (an admin's
    attempt on a decided or out-of-date hiding is worth a line in the log)."""
    if isinstance(exc, hiding.NoSuchRun):
        return NotFound(f"no run {run_uuid}")
    if isinstance(exc, hiding.HideOutOfDate):
        message = (
            f"run {exc.later} imported after run {run_uuid}, so its held hiding is out of "
            "date and cannot be confirmed: reject it, then import the full package again"
        )
    else:
        message = f"run {run_uuid} holds no hiding: it was confirmed or rejected already"
    _audit(engine, action=action, actor=actor, subject=f"run {run_uuid}", outcome="refused",
           run_uuid=run_uuid, error=message)  # fmt: skip
    return Conflict(message)


def _audit(engine: Engine, **entry: Any) -> None:
    with Session(engine) as db:
        audit.append(db, **entry)
        db.commit()


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def job_names() -> tuple[str, ...]:
    return CONSOLE_JOBS
