"""Signed webhooks: the daemon delivers the change feed to each endpoint, in order, at least once.

Each endpoint has its own position in the feed (the last event it acknowledged with a 2xx) and
its own secret. A delivery is one POST of up to ``changes.webhook_batch`` events, in position
order, so every endpoint sees each resource's events in order. The position moves only after a
2xx, in its own transaction: a crash or a lost answer sends the same events again (at least
once; ``position`` in each event lets a receiver drop what it already has).

A failed delivery waits before the next try, doubling from ``webhook_backoff_initial_seconds``
up to ``webhook_backoff_max_seconds``, with jitter (tenacity's policy); after
``webhook_failing_after`` failures in a row the endpoint is marked ``failing`` (``onec-sync
status``, ``/metrics``) and is still tried at the longest wait. Its events wait: retention keeps
every event an endpoint has not acknowledged. Deliveries run in the daemon's ``webhooks`` job
(or ``onec-sync webhooks deliver``), never inside a request or an import.

Signature (header ``Onec-Sync-Signature: t=<unix seconds>,v1=<hex>``):
``v1 = HMAC-SHA256(secret, "<t>." + body)``; receivers check it and reject old ``t``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session
from tenacity import RetryCallState, Retrying, wait_exponential_jitter

from config.settings import ChangesSettings
from syncd.store import changes, models
from syncd.store.engine import make_session_factory
from syncd.store.locks import LockBusy, named_lock

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Onec-Sync-Signature"
LOCK_NAME = "webhooks:deliver"
ACTIVE, FAILING = "active", "failing"
_RUN_BUDGET_SECONDS = 60.0  # one job run delivers for at most this long, then yields


class WebhookError(Exception):
    """A webhook command was given something it cannot use; the message says what to change."""


@dataclass
class DeliveryReport:
    delivered: int = 0  # events acknowledged
    failed: list[str] = field(default_factory=list)  # "<endpoint id>: <reason>"
    skipped: bool = False  # another process was delivering


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Onec-Sync-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


# --- the endpoints (CLI) -------------------------------------------------------------------------


def add_endpoint(engine: Engine, url: str, kinds: Sequence[str]) -> tuple[dict[str, Any], str]:
    """Register ``url`` for ``kinds`` (none: every kind), starting at the feed's head: it hears
    what changes from now on. Returns its description and its secret (shown once)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookError(f"{url!r} is not an http(s) URL; give e.g. https://shop.example/hooks")
    unknown = sorted(set(kinds) - set(changes.KINDS))
    if unknown:
        raise WebhookError(
            f"unknown event kind(s) {unknown}; choose from {', '.join(changes.KINDS)}"
        )
    secret = "whsec_" + secrets.token_urlsafe(32)
    with make_session_factory(engine)() as session:
        endpoint = models.WebhookEndpoint(
            url=url,
            secret=secret,
            kinds=sorted(set(kinds)),
            position=changes.head(session),
            state=ACTIVE,
            attempts=0,
            delivered=0,
        )
        session.add(endpoint)
        session.commit()
        return describe(endpoint), secret


def list_endpoints(engine: Engine) -> list[dict[str, Any]]:
    with make_session_factory(engine)() as session:
        head = changes.head(session)
        rows = session.execute(select(models.WebhookEndpoint).order_by(models.WebhookEndpoint.id))
        return [describe(e, head=head) for e in rows.scalars()]


def remove_endpoint(engine: Engine, endpoint_id: int) -> None:
    with make_session_factory(engine)() as session:
        table = models.table(models.WebhookEndpoint)
        result = session.execute(delete(table).where(table.c.id == endpoint_id))
        if not getattr(result, "rowcount", 0):
            raise WebhookError(f"there is no webhook {endpoint_id}; see `onec-sync webhooks list`")
        session.commit()


def redeliver(engine: Engine, endpoint_id: int, *, after: int) -> None:
    """Send ``endpoint_id`` every event after position ``after`` again, from its next delivery;
    also clears its failures (it is tried at once)."""
    if after < 0:
        raise WebhookError("--after must be a position (0 or more)")
    with make_session_factory(engine)() as session:
        endpoint = _get(session, endpoint_id)
        removed = changes.horizon(session)
        if after < removed:
            raise WebhookError(
                f"events up to {removed} were removed by retention; redeliver after {removed} "
                "or later"
            )
        endpoint.position = after
        endpoint.state, endpoint.attempts, endpoint.next_attempt_at = ACTIVE, 0, None
        session.commit()


def ping_endpoint(
    engine: Engine,
    endpoint_id: int,
    settings: ChangesSettings,
    *,
    client: httpx.Client | None = None,
) -> tuple[int | None, str]:
    """POST a signed ``ping`` to the endpoint now; returns (HTTP status or None, a reason)."""
    with make_session_factory(engine)() as session:
        endpoint = _get(session, endpoint_id)
        url, secret = endpoint.url, endpoint.secret
    body = orjson.dumps({"endpoint": endpoint_id, "ping": True, "events": []})
    with _client(settings, client) as http:
        try:
            response = _post(http, url, secret, body)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
    return response.status_code, response.reason_phrase


def describe(endpoint: models.WebhookEndpoint, *, head: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": endpoint.id,
        "url": endpoint.url,
        "kinds": list(endpoint.kinds or []) or ["*"],
        "state": endpoint.state,
        "position": endpoint.position,
        "delivered": endpoint.delivered,
        "attempts": endpoint.attempts,
        "next_attempt_at": _iso(endpoint.next_attempt_at),
        "last_success_at": _iso(endpoint.last_success_at),
        "last_error": endpoint.last_error,
    }
    if head is not None:
        out["behind"] = max(head - endpoint.position, 0)  # positions, whatever their kind
    return out


# --- delivery (the daemon's job) ----------------------------------------------------------------


def deliver_all(
    engine: Engine,
    settings: ChangesSettings,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    client: httpx.Client | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> DeliveryReport:
    """Deliver what each due endpoint has not acknowledged, until caught up, a failure, a stop
    request or the run's time budget. One process at a time (a named lock)."""
    report = DeliveryReport()
    try:
        with named_lock(engine, LOCK_NAME, wait=False), _client(settings, client) as http:
            sessions = make_session_factory(engine)
            with sessions() as session:
                due = [
                    e.id
                    for e in session.execute(select(models.WebhookEndpoint)).scalars()
                    if e.next_attempt_at is None or _aware(e.next_attempt_at) <= now()
                ]
            deadline = time.monotonic() + _RUN_BUDGET_SECONDS
            for endpoint_id in due:
                _deliver_endpoint(
                    sessions, http, endpoint_id, settings, report, now, deadline, should_stop
                )
    except LockBusy:
        report.skipped = True
    return report


def _deliver_endpoint(
    sessions: Any,
    http: httpx.Client,
    endpoint_id: int,
    settings: ChangesSettings,
    report: DeliveryReport,
    now: Callable[[], datetime],
    deadline: float,
    should_stop: Callable[[], bool],
) -> None:
    while time.monotonic() < deadline and not should_stop():
        with sessions() as session:
            endpoint = session.get(models.WebhookEndpoint, endpoint_id)
            if endpoint is None:
                return
            head = changes.head(session)
            events = list(
                changes.read(
                    session,
                    after=endpoint.position,
                    limit=settings.webhook_batch,
                    kinds=endpoint.kinds or (),
                )
            )
            if not events:
                endpoint.position = max(endpoint.position, head)  # nothing of its kinds: skip
                session.commit()
                return
            body = orjson.dumps(
                {"endpoint": endpoint.id, "events": [event_json(e) for e in events]}
            )
            url, secret = endpoint.url, endpoint.secret
        try:
            response = _post(http, url, secret, body)
            error = None if response.is_success else f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        with sessions() as session:
            endpoint = session.get(models.WebhookEndpoint, endpoint_id)
            if endpoint is None:
                return
            if error is None:
                _acknowledged(endpoint, events[-1].position, len(events), now())
                session.commit()
                report.delivered += len(events)
                continue
            _failed(endpoint, error, settings, now())
            session.commit()
            report.failed.append(f"{endpoint_id}: {error}")
            log.warning("webhook %d (%s) failed: %s", endpoint_id, url, error)
            return


def _acknowledged(endpoint: models.WebhookEndpoint, position: int, n: int, at: datetime) -> None:
    endpoint.position = position
    endpoint.delivered += n
    endpoint.state, endpoint.attempts = ACTIVE, 0
    endpoint.next_attempt_at, endpoint.last_error = None, None
    endpoint.last_success_at = at


def _failed(
    endpoint: models.WebhookEndpoint, error: str, settings: ChangesSettings, at: datetime
) -> None:
    endpoint.attempts += 1
    endpoint.last_error = error[:500]
    endpoint.next_attempt_at = at + timedelta(seconds=backoff(settings, endpoint.attempts))
    if endpoint.attempts >= settings.webhook_failing_after:
        endpoint.state = FAILING


def backoff(settings: ChangesSettings, attempt: int) -> float:
    """Seconds to wait after the ``attempt``-th failure in a row (exponential, with jitter)."""
    wait = wait_exponential_jitter(
        initial=settings.webhook_backoff_initial_seconds,
        max=settings.webhook_backoff_max_seconds,
        jitter=settings.webhook_backoff_initial_seconds,
    )
    state = RetryCallState(retry_object=Retrying(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    return float(min(wait(state), settings.webhook_backoff_max_seconds))


def event_json(event: models.ChangeEvent) -> dict[str, Any]:
    """One event as the feed and the webhooks send it."""
    return {
        "position": event.position,
        "kind": event.kind,
        "id": event.resource_id,
        "action": event.action,
        "data": event.data,
        "run_id": event.run_id,
        "at": _iso(event.created_at),
    }


def pending_counts(session: Session) -> dict[str, int]:
    """Endpoints by state (for ``/metrics`` and ``onec-sync status``)."""
    table = models.table(models.WebhookEndpoint)
    rows = session.execute(select(table.c.state, func.count()).group_by(table.c.state)).all()
    return {str(state): int(n) for state, n in rows}


# --- helpers --------------------------------------------------------------------------------------


def _post(http: httpx.Client, url: str, secret: str, body: bytes) -> httpx.Response:
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secret, int(time.time()), body),
        "User-Agent": "onec-sync-webhooks",
    }
    return http.post(url, content=body, headers=headers)


def _client(
    settings: ChangesSettings, client: httpx.Client | None
) -> AbstractContextManager[httpx.Client]:
    """The caller's client (left open), or one of our own (closed after use)."""
    if client is not None:
        return nullcontext(client)
    return httpx.Client(timeout=settings.webhook_timeout_seconds, follow_redirects=False)


def _get(session: Session, endpoint_id: int) -> models.WebhookEndpoint:
    endpoint = session.get(models.WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise WebhookError(f"there is no webhook {endpoint_id}; see `onec-sync webhooks list`")
    return endpoint


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str | None:
    return _aware(moment).isoformat() if moment else None
