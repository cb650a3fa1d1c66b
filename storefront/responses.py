"""JSON responses, and the cached-read decorator with ETag / Cache-Control / gzip."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec
from urllib.parse import urlencode

from flask import Response, current_app, request

from storefront.cache import CachedBody, ResponseCache
from storefront.formatting import RawJSON

P = ParamSpec("P")
CACHE_EXTENSION = "onec_sync_cache"
# Clients may keep a copy but must revalidate (cheap: 304 by ETag), so a sync's change is never
# hidden behind a client-side max-age.
CATALOG_CACHE_CONTROL = "private, no-cache"


def dumps(payload: Any) -> bytes:
    """Compact JSON; a top-level object's ``RawJSON`` values are written as they are."""
    if isinstance(payload, dict) and any(isinstance(v, RawJSON) for v in payload.values()):
        members = (
            f"{_json(key)}:{value.text if isinstance(value, RawJSON) else _json(value)}"
            for key, value in payload.items()
        )
        return ("{" + ",".join(members) + "}").encode()
    return _json(payload).encode()


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    response = Response(dumps(payload), status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def response_cache() -> ResponseCache:
    cache: ResponseCache = current_app.extensions[CACHE_EXTENSION]
    return cache


def cached_read(view: Callable[P, Any]) -> Callable[P, Response]:
    """Serve the view's JSON from the catalog cache, filling it on a miss.

    The view must return a JSON-able payload that depends only on the URL (not on who asks);
    authentication runs before this decorator, errors it raises are never cached.
    """

    @wraps(view)
    def serve(*args: P.args, **kwargs: P.kwargs) -> Response:
        cache = response_cache()
        key = _request_key()
        entry, generation = cache.get(key)
        if entry is None:
            # Compress once for the cache, or for this client only if it wants gzip.
            compress = generation is not None or _accepts_gzip()
            entry = CachedBody.from_body(dumps(view(*args, **kwargs)), compress=compress)
            cache.put(key, generation, entry)
        return _send(entry)

    return serve


def _accepts_gzip() -> bool:
    return bool(request.accept_encodings["gzip"])


def _request_key() -> str:
    args = sorted(request.args.items(multi=True))
    return f"{request.path}?{urlencode(args)}"


def _send(entry: CachedBody) -> Response:
    if request.if_none_match.contains_weak(entry.etag):
        response = Response(status=304)
    elif entry.gzipped is not None and _accepts_gzip():
        response = Response(entry.gzipped, mimetype="application/json")
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = Response(entry.body, mimetype="application/json")
    response.set_etag(entry.etag, weak=True)
    response.headers["Cache-Control"] = CATALOG_CACHE_CONTROL
    response.vary.add("Accept-Encoding")
    return response
