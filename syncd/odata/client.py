"""A small synchronous client for one 1C base's standard OData interface (v3, JSON).

Reads retry by the policy of ``syncd.odata.retry``; writes (``create``, ``action``) never retry
on their own: a create that timed out may have happened, so callers look before they create
again (``syncd.odata.orders``). Every failure is an ``ODataError`` (``syncd.odata.errors``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Self, TypeVar

import httpx

from config import ODataSettings
from exchange_formats.errors import FormatError
from exchange_formats.odata import wire
from syncd.odata import query
from syncd.odata.errors import BadAnswer, ODataError, Unavailable, classify, from_transport
from syncd.odata.retry import ShouldStop, make_retrying

Row = dict[str, Any]
T = TypeVar("T")
_JSON = "application/json"


@dataclass(frozen=True, slots=True)
class Page:
    """The rows from ``$skip=skip``; ``last`` when no page follows."""

    skip: int
    rows: list[Row]
    last: bool


@dataclass(frozen=True, slots=True)
class Created:
    """1C's answer to a create: the new entity and its canonical URL (``Location``)."""

    entity: Row
    location: str | None


class ODataClient:
    """One 1C base. Use as a context manager, or ``close()`` it."""

    def __init__(
        self,
        settings: ODataSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        should_stop: ShouldStop | None = None,
    ) -> None:
        if not settings.url:
            raise ODataError("odata.url is not set: OData is off")
        self.settings = settings
        self.base = settings.url.rstrip("/") + "/"
        self.should_stop = should_stop
        self._http = httpx.Client(
            headers={"Accept": _JSON, "Authorization": _basic(settings)},
            timeout=httpx.Timeout(
                settings.timeout_seconds, connect=min(10.0, settings.timeout_seconds)
            ),
            verify=settings.verify_tls,
            transport=transport,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- reads (retried) ---------------------------------------------------------------------

    def get(
        self,
        resource: str,
        params: query.Params = (),
        *,
        retry: bool = True,
        timeout: float | None = None,
    ) -> Any:
        """The JSON document at ``resource`` (``$format=json`` is added).

        ``retry=False`` inside a unit the caller retries as a whole (attempts do not multiply).
        ``timeout`` (seconds) replaces ``timeout_seconds`` for slow calls (virtual tables).
        """
        target = query.url(self.base, resource, [("$format", "json"), *params])

        def read() -> Any:
            return self._json(self._send("GET", target, timeout=timeout), resource)

        return self.retrying(read) if retry else read()

    def rows(
        self,
        resource: str,
        params: query.Params = (),
        *,
        retry: bool = True,
        timeout: float | None = None,
    ) -> list[Row]:
        """The rows of a collection (an entity set, a virtual table)."""
        document = self.get(resource, params, retry=retry, timeout=timeout)
        return self._rows(document, resource)

    def pages(
        self,
        entity: str,
        *,
        select: Sequence[str],
        orderby: str,
        filter: str | None = None,
        start: int = 0,
    ) -> Iterator[Page]:
        """``entity`` page by page (``$top``/``$skip``, stable ``$orderby``), from ``$skip=start``.

        The set ends at the first page shorter than ``page_size``. A server that ignores
        ``$top`` and sends more is taken at its word: that page is the rest of the set.
        """
        size, skip = self.settings.page_size, start
        while True:
            params = [("$select", ",".join(select)), ("$orderby", orderby)]
            if filter:
                params.append(("$filter", filter))
            params += [("$top", str(size)), ("$skip", str(skip))]
            rows = self.rows(entity, params)
            last = len(rows) != size
            yield Page(skip=skip, rows=rows, last=last)
            if last:
                return
            skip += len(rows)

    def by_refs(
        self, entity: str, refs: Sequence[str], *, select: Sequence[str], filter: str | None = None
    ) -> Iterator[list[Row]]:
        """The rows of ``refs``, ``fetch_batch_size`` refs per request (URLs stay short)."""
        size = self.settings.fetch_batch_size
        for start in range(0, len(refs), size):
            condition = f"({query.any_of('Ref_Key', refs[start : start + size])})"
            if filter:
                condition = f"{condition} and ({filter})"
            yield self.rows(entity, [("$select", ",".join(select)), ("$filter", condition)])

    def metadata(self) -> bytes:
        """The raw ``$metadata`` document (CSDL XML; 1C has no JSON form of it)."""
        target = query.url(self.base, "$metadata")
        response = self.retrying(lambda: self._send("GET", target, accept="application/xml"))
        if response.content.lstrip()[:200].lower().startswith((b"<!doctype html", b"<html")):
            raise Unavailable(
                "1C answered $metadata with an HTML page", status=response.status_code
            )
        return response.content

    def exchange(self, function: str, node: str, message_no: int) -> bytes:
        """POST an exchange-plan function (``SelectChanges``, ``NotifyChangesReceived``) for
        ``node`` (the node's canonical URL) and message ``message_no``; the answer's body.

        Both are safe to repeat for the same message (1C sends the same package again; a second
        acknowledgement changes nothing), so they are retried like reads. The package can take
        long to build: the snapshot timeout applies.
        """
        params = [("DataExchangePoint", f"'{node}'"), ("MessageNo", str(message_no))]
        target = query.url(self.base, function, params)
        timeout = self.settings.snapshot_timeout_seconds
        response = self.retrying(
            lambda: self._send(
                "POST", target, content=b"", accept="application/atom+xml", timeout=timeout
            )
        )
        return response.content

    # --- writes (never retried here) ---------------------------------------------------------

    def create(self, entity: str, body: Row) -> Created:
        """POST a new object. A timeout or 5xx may hide a create that happened: look it up."""
        target = query.url(self.base, entity, [("$format", "json")])
        response = self._send("POST", target, content=wire.dumps(body))
        return Created(self._json(response, entity), response.headers.get("Location"))

    def action(self, resource: str, params: query.Params = ()) -> None:
        """POST to an action (``Document_X(guid'…')/Post``); the body of the answer is ignored."""
        self._send("POST", query.url(self.base, resource, params), content=b"")

    def retrying(self, unit: Callable[[], T]) -> T:
        """``unit()`` under the retry policy: retried while it raises ``Unavailable``."""
        result: T = make_retrying(self.settings, should_stop=self.should_stop)(unit)
        return result

    # --- one boundary for httpx ---------------------------------------------------------------

    def _send(
        self,
        method: str,
        target: str,
        *,
        content: bytes | None = None,
        accept: str = _JSON,
        timeout: float | None = None,
    ) -> httpx.Response:
        headers = {"Accept": accept}
        if content is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        limit = timeout or self.settings.timeout_seconds
        try:
            response = self._http.request(
                method,
                target,
                content=content,
                headers=headers,
                timeout=httpx.Timeout(limit, connect=min(10.0, limit)),
            )
        except httpx.HTTPError as exc:
            raise from_transport(exc, timeout=limit) from exc
        if response.status_code >= 400:
            raise classify(response)
        return response

    def _json(self, response: httpx.Response, resource: str) -> Any:
        if not response.content.strip():
            return {}
        try:
            return wire.loads(response.content, source=resource)
        except FormatError as exc:
            if response.content.lstrip()[:1] == b"<":  # a proxy's or 1C's HTML page with 200
                raise Unavailable(
                    f"1C answered {resource} with a page instead of JSON",
                    status=response.status_code,
                    url=str(response.request.url),
                ) from exc
            raise BadAnswer(
                str(exc), status=response.status_code, url=str(response.request.url)
            ) from exc

    def _rows(self, document: Any, resource: str) -> list[Row]:
        try:
            return wire.rows(document, source=resource)
        except FormatError as exc:
            raise BadAnswer(str(exc), url=resource) from exc


def _basic(settings: ODataSettings) -> str:
    """Basic credentials in UTF-8 (1C logins are often Cyrillic; httpx would not guarantee it)."""
    pair = f"{settings.username}:{settings.password.reveal()}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")
