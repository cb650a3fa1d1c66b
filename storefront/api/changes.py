"""The change feed (``GET /changes``) and the images' bytes (``GET /media/{sha256}``).

Neither is cached: the feed is read from its position (an index range scan), and media
responses carry their own validators (the content hash is the ETag; the bytes never change).
"""

from __future__ import annotations

import re
import time
from contextlib import nullcontext
from typing import Any

from flask import Blueprint, Response, current_app, send_file
from sqlalchemy import select

from storefront import database
from storefront.auth.guard import require
from storefront.auth.roles import CATALOG_READ
from storefront.context import settings
from storefront.errors import BadRequest, Gone, NotFound
from storefront.feed_waker import feed_waker
from storefront.queries import changes
from storefront.responses import json_response
from storefront.schemas import ChangesQuery
from storefront.validation import query
from storefront.wait_slots import WAIT_SLOTS_EXTENSION, WaitSlots
from syncd.store.models import MediaFile

blueprint = Blueprint("changes", __name__)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@blueprint.get("/changes")
@require(CATALOG_READ)
def feed() -> Response:
    params = query(ChangesQuery)
    limit = settings().changes.max_wait_seconds
    if params.wait > limit:
        raise BadRequest(
            f"wait may be at most {limit:g} seconds (changes.max_wait_seconds)",
            details=[{"field": "wait", "message": f"at most {limit:g}"}],
        )
    slots: WaitSlots = current_app.extensions[WAIT_SLOTS_EXTENSION]
    with slots.hold() if params.wait > 0 else nullcontext(True) as may_wait:
        payload = _read_feed(params, params.wait if may_wait else 0.0)
    headers = {"Cache-Control": "no-store"}
    if not may_wait and not payload["items"]:  # every wait slot taken: answered at once
        headers["Retry-After"] = "1"  # so a reader pauses before it asks again
    return json_response(payload, headers=headers)


def _read_feed(params: ChangesQuery, wait: float) -> dict[str, Any]:
    """The page after ``params.after``, waiting up to ``wait`` seconds for one to commit."""
    session = database.session()
    deadline = time.monotonic() + wait
    waker = feed_waker()
    while True:
        mark = waker.mark()
        removed = changes.horizon(session)
        if params.after < removed:
            raise Gone(
                f"events up to position {removed} were removed by retention "
                "([housekeeping] change_events_days): read the catalog again, then follow the "
                f"feed from the position in `head` of any /changes answer",
                details=[{"field": "after", "message": f"must be at least {removed}"}],
            )
        kinds = list(params.kinds)
        head = changes.head(session)  # before the page: every event up to it is visible
        items = changes.page(session, after=params.after, limit=params.limit, kinds=kinds)
        if items or time.monotonic() >= deadline:
            break
        session.rollback()  # end the snapshot (SQLite): the next look sees new commits
        waker.wait(mark, deadline - time.monotonic())
    next_after = items[-1]["position"] if items else params.after
    if not items and kinds:
        next_after = max(params.after, head)  # none of these kinds up to head: skip ahead
    head = max(head, next_after)
    return {"items": items, "next_after": next_after, "head": head}


@blueprint.get("/media/<sha256>")
@require(CATALOG_READ)
def media(sha256: str) -> Response:
    if not _SHA256.match(sha256):
        raise NotFound("there is no image with this hash (64 lowercase hex digits)")
    stmt = select(MediaFile.content_type).where(MediaFile.sha256 == sha256).limit(1)
    row = database.session().execute(stmt).first()
    # The path is built from the validated hash only, never from anything stored or sent.
    path = settings().paths.media_dir / sha256[:2] / sha256
    if row is None or not path.is_file():
        raise NotFound("there is no image with this hash")
    content_type = row[0] or "application/octet-stream"
    accel = settings().storefront.media_accel_prefix
    if accel:
        response = Response(status=200, mimetype=content_type)
        response.headers["X-Accel-Redirect"] = f"{accel.rstrip('/')}/{sha256[:2]}/{sha256}"
    else:
        response = send_file(
            path, mimetype=content_type, etag=sha256, conditional=True, max_age=31536000
        )
    response.set_etag(sha256)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
