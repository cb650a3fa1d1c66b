"""The pages and the action endpoints. Views are short: read the request, call ``reads`` or
``actions``, render. Every action is a POST with a CSRF token (``CSRFProtect``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from werkzeug.wrappers import Response

from config import Settings
from console import actions, files, pictures, reads
from console.auth import admin_required, login_required
from syncd.daemon.scheduling import ScheduleError, make_trigger
from syncd.store import audit

bp = Blueprint("pages", __name__)
MAX_FILTER = 128
_RUN_UUID = re.compile(r"[0-9A-Za-z-]{1,64}")


def _settings() -> Settings:
    settings: Settings = current_app.extensions["console.settings"]
    return settings


def _engine() -> Any:
    return current_app.extensions["console.engine"]


@bp.get("/")
@login_required
def overview() -> str:
    now = datetime.now(UTC)
    settings = _settings()
    data = reads.overview(g.db, _engine(), now=now)
    failed = files.listing(settings.folder.failed_path)
    quarantined = files.listing(settings.paths.quarantine_dir)
    return render_template(
        "overview.html",
        data=data,
        schedules=_schedules(settings, now),
        failed=failed[:10],
        quarantined=quarantined[:10],
        jobs=actions.CONSOLE_JOBS,
        **pictures.overview_pictures(g.db, streams=data["streams"], now=now),
    )


@bp.get("/runs")
@login_required
def runs() -> str:
    stream = _text_arg("stream")
    status = _text_arg("status")
    if status and status not in reads.RUN_STATUSES:
        abort(400, f"status must be one of {', '.join(reads.RUN_STATUSES)}")
    rows = reads.runs(g.db, stream=stream, status=status, before=_int_arg("before"))
    return render_template(
        "runs.html", runs=rows, stream=stream, status=status,
        streams=reads.stream_names(g.db), statuses=reads.RUN_STATUSES,
        next_before=rows[-1]["id"] if len(rows) == reads.PAGE else None,
    )  # fmt: skip


@bp.get("/runs/<run_uuid>")
@login_required
def run_detail(run_uuid: str) -> str:
    run = reads.run_detail(g.db, run_uuid) if _RUN_UUID.fullmatch(run_uuid) else None
    if run is None:
        abort(404, "no such run")
    return render_template("run.html", run=run)


@bp.post("/runs/<run_uuid>/confirm-hide")
@admin_required
def confirm_hide(run_uuid: str) -> Response:
    if not _RUN_UUID.fullmatch(run_uuid):
        abort(404, "no such run")
    return _act(lambda actor: actions.confirm_hide(
        _settings(), _engine(), actor=actor, run_uuid=run_uuid))  # fmt: skip


@bp.post("/runs/<run_uuid>/reject-hide")
@admin_required
def reject_hide(run_uuid: str) -> Response:
    if not _RUN_UUID.fullmatch(run_uuid):
        abort(404, "no such run")
    return _act(lambda actor: actions.reject_hide(_engine(), actor=actor, run_uuid=run_uuid))


@bp.get("/quarantine")
@login_required
def quarantine() -> str:
    settings = _settings()
    return render_template(
        "quarantine.html",
        quarantined=files.listing(settings.paths.quarantine_dir),
        failed=files.listing(settings.folder.failed_path),
        folder_on=settings.folder.inbox is not None,
    )


@bp.get("/quarantine/<name>")
@login_required
def quarantined_file(name: str) -> str:
    path = files.find(_settings().paths.quarantine_dir, name)
    if path is None or not path.is_file():
        abort(404, "no such quarantined file")
    return render_template("kept.html", kept=files.describe(path), kind="quarantine")


@bp.get("/quarantine/<name>/download")
@login_required
def download(name: str) -> Response:
    path = files.find(_settings().paths.quarantine_dir, name)
    if path is None or not path.is_file():
        abort(404, "no such quarantined file")
    return send_file(
        path.resolve(), mimetype="application/octet-stream", as_attachment=True,
        download_name=files.describe(path).original,
    )  # fmt: skip


@bp.get("/failed/<name>")
@login_required
def failed_package(name: str) -> str:
    path = files.find(_settings().folder.failed_path, name)
    if path is None or not path.is_dir():
        abort(404, "no such failed package")
    listing = sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())[:200]
    return render_template("kept.html", kept=files.describe(path), kind="failed", contents=listing)


@bp.post("/quarantine/<name>/retry")
@login_required
def retry_quarantined(name: str) -> Response:
    return _act(lambda actor: actions.retry_quarantined(
        _settings(), _engine(), actor=actor, name=name))  # fmt: skip


@bp.post("/failed/<name>/retry")
@login_required
def retry_failed(name: str) -> Response:
    return _act(lambda actor: actions.retry_failed_package(
        _settings(), _engine(), actor=actor, name=name))  # fmt: skip


@bp.get("/exchange")
@login_required
def exchange() -> str:
    return render_template("exchange.html", sessions=reads.sessions(g.db))


@bp.get("/orders")
@login_required
def orders() -> str:
    return render_template("orders.html", orders=reads.orders_on_the_way(g.db))


@bp.post("/orders/<number>/resend")
@admin_required
def resend(number: str) -> Response:
    if not number.isprintable() or len(number) > 64:
        abort(404, "no such order")
    return _act(
        lambda actor: actions.resend_order(_engine(), actor=actor, number=number),
        back=url_for("pages.orders"),
    )


@bp.post("/jobs/<name>/run")
@admin_required
def run_job(name: str) -> Response:
    return _act(lambda actor: actions.run_job(_settings(), _engine(), actor=actor, name=name))


@bp.get("/audit")
@login_required
def audit_log() -> str:
    rows = reads.audit_page(
        g.db, action=_text_arg("action"), actor=_text_arg("actor"), before=_int_arg("before")
    )
    return render_template(
        "audit.html", entries=rows, action=_text_arg("action"), actor=_text_arg("actor"),
        next_before=rows[-1]["id"] if len(rows) == reads.PAGE else None, verified=None,
    )  # fmt: skip


@bp.post("/audit/verify")
@login_required
def audit_verify() -> str:
    result = audit.verify(g.db)
    rows = reads.audit_page(g.db, action=None, actor=None, before=None)
    return render_template(
        "audit.html", entries=rows, action=None, actor=None,
        next_before=rows[-1]["id"] if len(rows) == reads.PAGE else None, verified=result,
    )  # fmt: skip


def _act(action: Any, *, back: str | None = None) -> Response:
    """Run ``action(actor)``; flash what happened and go to its run (or back)."""
    g.db.rollback()  # the action writes in sessions of its own; hold no transaction meanwhile
    try:
        done: actions.Done = action(g.person.name)
    except actions.ActionError as exc:
        abort(exc.status, str(exc))
    flash(done.message, "ok" if done.ok else "bad")
    if done.run_uuid:
        return redirect(url_for("pages.run_detail", run_uuid=done.run_uuid))
    return redirect(back or url_for("pages.overview"))


def _text_arg(name: str) -> str | None:
    value = request.args.get(name, "").strip()
    if len(value) > MAX_FILTER:
        abort(400, f"{name} is longer than {MAX_FILTER} characters")
    if not value.isprintable():
        abort(400, f"{name} must not contain control characters")
    return value or None


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        abort(400, f"{name} must be a positive whole number")
    return int(value)


def _schedules(settings: Settings, now: datetime) -> list[dict[str, Any]]:
    """Each scheduled job with its next run: computed for cron schedules; an interval counts
    from the daemon's own start, which this process does not know."""
    out = []
    for job, text in sorted(settings.daemon.schedules.items()):
        fire = None
        if text.strip().startswith("cron"):
            try:
                fire = make_trigger(text).get_next_fire_time(None, now)
            except (ScheduleError, ValueError):
                fire = None
        out.append({"job": job, "schedule": text, "next": fire})
    return out
