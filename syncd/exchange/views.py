"""The endpoint: one URL, ``?type=catalog|sale&mode=...``, dispatched to short handlers.

Each handler validates, calls the library, and returns a ``Reply``; every refusal is an
``ExchangeError`` whose message becomes ``failure\\n<reason>`` (HTTP 200). Parameters come from the
query string first, then (except for ``mode=file``, whose body is the file) from a form body.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Blueprint, Request, Response, request
from sqlalchemy.orm import Session

from exchange_formats.commerceml.info_writer import write_sale_info
from syncd.exchange import audit_trail, sale
from syncd.exchange.auth import parse_basic
from syncd.exchange.catalog import FINISH
from syncd.exchange.errors import (
    AuthenticationError,
    ExchangeError,
    UnknownCommandError,
    UploadTooLargeError,
)
from syncd.exchange.package import summarize
from syncd.exchange.replies import (
    Reply,
    challenge,
    failure,
    progress,
    success,
    to_response,
    xml_response,
)
from syncd.exchange.service import ExchangeService
from syncd.exchange.sessions import (
    COOKIE_NAME,
    OPEN,
    SUCCEEDED,
    ClientInfo,
    end_session,
    find_session,
    open_session,
    refusal,
)
from syncd.exchange.sessions import FAILED as FAILED_SESSION
from syncd.exchange.staging import RECEIVED
from syncd.exchange.uploads import (
    FAILED,
    IMPORTED,
    QUEUED,
    UPLOADING,
    find_file,
    receive_chunk,
)
from syncd.importer.errors import InputRefusedError, UnsafeNameError
from syncd.importer.names import kind_of, sanitize_filename
from syncd.store.models import ExchangeFile, ExchangeSession

log = logging.getLogger(__name__)
TYPES = ("catalog", "sale")
# The versions of the exchange protocol / CommerceML we can speak, oldest first.
KNOWN_VERSIONS = ("2.03", "2.04", "2.05", "2.06", "2.07", "2.08", "2.09", "2.10", "3.1")


class NoCredentials(Exception):
    """The request has neither a session cookie nor Basic credentials: answer 401."""


@dataclass(slots=True)
class Call:
    """One request: its parameters, its database session and (after auth) exchange session."""

    service: ExchangeService
    request: Request
    db: Session
    type: str
    mode: str
    session: ExchangeSession | None = None
    token: str | None = None  # set when this request opened the session

    params: dict[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def param(self, name: str) -> str | None:
        return self.params.get(name)

    def current(self) -> ExchangeSession:
        assert self.session is not None
        return self.session


def make_exchange_blueprint(service: ExchangeService) -> Blueprint:
    """The blueprint serving ``service`` at ``exchange.path``."""
    blueprint = Blueprint("onec_exchange", __name__)

    @blueprint.route(service.settings.path, methods=["GET", "POST"])
    def exchange() -> Response:
        return handle(service, request)

    return blueprint


def handle(service: ExchangeService, req: Request) -> Response:
    encoding = service.settings.reply_encoding
    params = request_params(req)
    type_ = params.get("type", "").strip().lower()
    mode = params.get("mode", "").strip().lower()
    with service.sessions() as db:
        call = Call(service, req, db, type_, mode, params=params)
        try:
            response = _dispatch(call)
            db.commit()
            return response
        except NoCredentials:
            db.rollback()
            return challenge(encoding)
        except (ExchangeError, InputRefusedError) as exc:
            db.commit()  # what the refusal recorded (rejected uploads, expired sessions) stays
            log.info("exchange %s/%s refused: %s", type_, mode, exc)
            return to_response(failure(str(exc)), encoding)


def request_params(req: Request) -> dict[str, str]:
    """The query string; a form body only when the query string names no ``mode``.

    The body of ``mode=file`` is the file itself, whatever Content-Type 1C gives it: it is never
    parsed as a form.
    """
    params = {key: req.args.get(key, "") for key in req.args}
    if "mode" not in params and req.method == "POST":
        for key in req.form:
            params.setdefault(key, req.form.get(key, ""))
    return params


def _dispatch(call: Call) -> Response:
    if call.type == "get_catalog":
        raise UnknownCommandError(GET_CATALOG_REFUSED)
    if call.type == "listen":
        _authenticate_listener(call)
        return listen(call)
    if call.type not in TYPES:
        raise UnknownCommandError(
            f"unknown exchange type {call.type!r}; this endpoint serves type=catalog, type=sale "
            "and type=listen"
        )
    handler = HANDLERS.get((call.type, call.mode)) or HANDLERS.get(("*", call.mode))
    if handler is None:
        raise UnknownCommandError(f"unknown mode {call.mode!r} for type={call.type}")
    if call.mode == "checkauth":
        _login(call)
    else:
        _authenticate(call)
    result = handler(call)
    if isinstance(result, Response):
        return result
    response = to_response(result, call.service.settings.reply_encoding)
    if call.token is not None:
        response.set_cookie(
            COOKIE_NAME,
            call.token,
            max_age=call.service.settings.session_ttl_seconds,
            httponly=True,
            samesite="Strict",
            secure=call.service.settings.cookie_secure,
        )
    return response


# --- authentication ------------------------------------------------------------------------


def _authenticate(call: Call) -> None:
    """A live session from the cookie, else a new one from valid Basic credentials. A cookie
    naming a failed, expired or ended session is refused whatever else the request carries."""
    token = call.request.cookies.get(COOKIE_NAME)
    if token:
        settings = call.service.settings
        found = find_session(
            call.db,
            token,
            exchange_type=call.type,
            ttl_seconds=settings.session_ttl_seconds,
            max_seconds=settings.session_max_seconds,
        )
        if found is not None:
            reason = refusal(found, call.mode)
            if reason is not None:
                raise AuthenticationError(reason)
            call.session = found
            return
    if parse_basic(call.request.headers.get("Authorization")) is None and token:
        raise AuthenticationError(
            "the exchange session expired or is unknown; start again with mode=checkauth"
        )
    _login(call)


def _authenticate_listener(call: Call) -> None:
    """``type=listen``: the cookie of a live sale or catalog session, else valid Basic
    credentials. A long-poll repeated every minute opens no session of its own."""
    token = call.request.cookies.get(COOKIE_NAME)
    if token:
        settings = call.service.settings
        for kind in TYPES:
            found = find_session(
                call.db,
                token,
                exchange_type=kind,
                ttl_seconds=settings.session_ttl_seconds,
                max_seconds=settings.session_max_seconds,
            )
            if found is not None and found.status in (OPEN, SUCCEEDED):
                return  # a failed or expired session's cookie is no pass: credentials decide
    _verify(call)


def _login(call: Call) -> None:
    username = _verify(call)
    client = ClientInfo(
        username=username,
        remote_addr=call.request.remote_addr or "unknown",
        user_agent=call.request.headers.get("User-Agent"),
    )
    call.session, call.token = open_session(
        call.db,
        exchange_type=call.type,
        client=client,
        exchange_dir=call.service.paths.exchange_dir,
    )


def _verify(call: Call) -> str:
    """The user named by valid Basic credentials (failed logins are throttled per address)."""
    service, address = call.service, call.request.remote_addr or "unknown"
    readings = parse_basic(call.request.headers.get("Authorization"))
    if readings is None:
        raise NoCredentials
    bucket = service.credentials.bucket(readings)
    wait = service.throttle.attempt(bucket, address)
    if wait is not None:
        log.warning("exchange: login from %s refused unchecked (too many attempts)", address)
        raise AuthenticationError(f"too many failed logins from {address}; try again in {wait} s")
    try:
        username = service.credentials.check(readings)
    except AuthenticationError:
        log.warning("exchange: failed login from %s", address)
        raise
    service.throttle.succeeded(bucket, address)
    return username


# --- both types ----------------------------------------------------------------------------


def checkauth(call: Call) -> Reply:
    call.db.commit()
    call.service.sweep()
    assert call.token is not None
    return success(
        COOKIE_NAME,
        call.token,
        f"sessid={secrets.token_hex(16)}",
        f"timestamp={int(time.time())}",
    )


def init(call: Call) -> Reply:
    """``zip=yes``, ``file_limit=N`` (+ ``sessid``, ``version`` for clients that name one).

    The one reply whose first line is not a status keyword: 1C reads it as settings.
    """
    session = call.current()
    asked = (call.param("version") or "").strip()
    session.zip = True
    lines = [f"file_limit={call.service.settings.file_limit}"]
    if asked:
        session.version = _negotiate(asked)
        lines += [f"sessid={secrets.token_hex(16)}", f"version={session.version}"]
    return Reply("zip=yes", tuple(lines))


def _negotiate(asked: str) -> str:
    """The newest version we know that is not newer than what 1C asked for."""

    def key(version: str) -> tuple[int, ...]:
        return tuple(int(p) for p in version.split(".") if p.isdigit())

    try:
        wanted = key(asked)
    except ValueError:
        return KNOWN_VERSIONS[-1]
    fitting = [v for v in KNOWN_VERSIONS if key(v) <= wanted]
    return fitting[-1] if fitting else KNOWN_VERSIONS[0]


def upload(call: Call) -> Reply:
    session = call.current()
    try:
        row = receive_chunk(
            call.db,
            session,
            call.param("filename") or "",
            call.request.stream,
            call.service.upload_limits,
            call.service.paths.quarantine_dir,
        )
    except (UnsafeNameError, UploadTooLargeError) as exc:
        # 1C ends its exchange on a failed upload: so does the session (and its audit entry);
        # a package run it had begun is closed without hiding anything.
        end_session(session, FAILED_SESSION, str(exc))
        audit_trail.record_session(call.db, session, list(session.files))
        if session.type == "catalog" and session.run_id is not None:
            call.db.commit()
            call.service.runner.submit((session.id, FINISH))
        raise
    if call.type == "sale" and session.version is None and row.kind in ("xml", "zip"):
        call.db.commit()  # old sale protocol: apply now, the reply says how it went
        outcome = call.service.sale.import_uploaded(session.id, row.name)
        return success(outcome.message) if outcome.ok else failure(outcome.message)
    return success()


def import_file(call: Call) -> Reply:
    session = call.current()
    name = sanitize_filename(call.param("filename") or "")
    row = find_file(call.db, session, name)
    key = (session.id, name)
    if call.service.runner.get(key) is not None:
        # The job's outcome is the answer while it is known: the file is marked imported before
        # the job, for the standard client's last document, finishes the package too.
        return _poll(call, key)
    if row is not None and row.status == IMPORTED:
        return success(f"{name}: {summarize(row.counts or {})}")
    if row is not None and row.status == FAILED:
        return failure(row.error or f"{name}: import failed")
    _queue(call, session, name, row)
    return _poll(call, key)


def _queue(call: Call, session: ExchangeSession, name: str, row: ExchangeFile | None) -> None:
    if row is None:
        row = ExchangeFile(
            session_id=session.id,
            name=name,
            stored_path=str(session.staging_dir) + "/" + name,
            size=0,
            chunks=0,
            kind=kind_of(name),
            counts={},
        )
        call.db.add(row)
    if row.status in (UPLOADING, RECEIVED, None):
        row.status = QUEUED
    call.db.commit()


def _poll(call: Call, key: tuple[int, str]) -> Reply:
    call.db.commit()  # hold no transaction (or lock) while waiting for the worker
    runner = call.service.runner
    job = runner.submit(key)
    # The budget is for the whole request: what auth and bookkeeping took is not waited again.
    budget = call.service.settings.import_wait_seconds - (time.monotonic() - call.started)
    outcome = job.wait(budget)
    if outcome is None or outcome.interrupted:
        return progress(job.progress.text())
    runner.forget(key)
    return success(outcome.message) if outcome.ok else failure(outcome.message)


# --- catalog -------------------------------------------------------------------------------


def finish(call: Call) -> Reply:
    """``deactivate`` and ``complete``: finish the package (hide what a full one did not name)."""
    session = call.current()
    if session.status != OPEN:
        if session.status == SUCCEEDED:
            return success("package finished")
        return failure(session.error or f"the exchange session {session.status}")
    return _poll(call, (session.id, FINISH))


# --- sale ----------------------------------------------------------------------------------


def query(call: Call) -> Response:
    session = call.current()
    settings = call.service.settings
    orders = sale.orders_to_send(call.db)
    sale.hand_out(call.db, orders, session.token)
    body = sale.render_orders(
        orders,
        version=sale.query_version(session.version, settings.schema_version),
        encoding=settings.query_encoding,
        tz_name=call.service.timezone,
    )
    log.info("exchange session %s: %d order(s) handed to 1C", session.id, len(orders))
    return xml_response(body, settings.query_encoding)


def confirm(call: Call) -> Reply:
    session = call.current()
    confirmed = sale.confirm(call.db, session.token)
    end_session(session, SUCCEEDED)
    audit_trail.record_session(
        call.db,
        session,
        list(session.files),
        details={"orders_confirmed": confirmed},
    )
    return success(f"{confirmed} order(s) confirmed")


def info(call: Call) -> Response:
    """``mode=info``: the shop's order statuses, payment systems and delivery services, for
    1C's matching tables (``exchange_formats.commerceml.info_writer``)."""
    settings = call.service.settings
    statuses = sale.site_statuses(call.db, settings.status_map)
    body = write_sale_info(
        statuses=[(status, status) for status in statuses],
        payment_systems=settings.payment_systems.items(),
        delivery_services=settings.delivery_services.items(),
        encoding=settings.reply_encoding,
    )
    return xml_response(body, settings.reply_encoding)


# --- listen, get_catalog -------------------------------------------------------------------

# The site's catalog is a copy of 1C's: sending it back (Bitrix's catalog.export.1c) would let
# 1C load a copy that may be stale, or edited on the site, over its own nomenclature, and hand
# the whole catalog to anyone holding the exchange login. It is refused, saying why.
GET_CATALOG_REFUSED = (
    "type=get_catalog is refused: the catalog is 1C's own and flows from 1C to the site only; "
    "export it from 1C itself"
)


def listen(call: Call) -> Response:
    """``type=listen`` (any mode): ``success`` once a new order exists, else 304 after
    ``exchange.listen_seconds`` (``syncd.exchange.listen``)."""
    settings = call.service.settings
    call.db.commit()  # hold no transaction (or lock) while waiting
    found = call.service.listeners.wait_for_new_order(settings.listen_seconds)
    if found is None:
        raise ExchangeError(
            f"{settings.listen_max_waiting} listen request(s) already wait; ask again later"
        )
    if found:
        return to_response(success("new orders"), settings.reply_encoding)
    return Response(status=304)


Handler = Callable[[Call], Reply | Response]
HANDLERS: dict[tuple[str, str], Handler] = {
    ("*", "checkauth"): checkauth,
    ("*", "init"): init,
    ("*", "file"): upload,
    ("*", "import"): import_file,
    ("catalog", "deactivate"): finish,
    ("catalog", "complete"): finish,
    ("sale", "query"): query,
    ("sale", "info"): info,
    ("sale", "success"): confirm,
}
