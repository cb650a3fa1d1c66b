"""Every way a call to 1C's OData can fail, classified by what the caller must do.

::

    ODataError                 1C (or the way to it) failed; ``message`` is 1C's own text
     +-- Unavailable           try again later: 1C restarting or under maintenance, no free
     |                         licence or session, a lock conflict, 5xx/429, timeouts, HTML pages
     +-- RequestRejected       fix our side: unknown entity or property, bad query, URL too long
     +-- AccessDenied          fix the 1C user's password or rights
     +-- BusinessError         1C refused the data (its checks, posting): a person must act
     +-- NotFound              the object asked for does not exist
     +-- AlreadyExists         an object with that key exists (a create that already happened)
     +-- BadAnswer             1C answered "OK" with something that is not an OData answer

Only ``Unavailable`` is worth retrying (``syncd.odata.retry``). ``classify`` turns a 1C answer
into one of these; ``from_transport`` does the same for httpx's network errors.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from typing import Any

import httpx

# 1C texts that mean "this went wrong now, the same request may succeed later".
_TRANSIENT_TEXT = re.compile(
    r"Конфликт блокировок|Ошибка блокировки|блокировк\w* данных|лиценз|licen[cs]e|сеанс|session"
    r"|Превышено максимальное|lock conflict|lock timeout|deadlock|взаимоблокировк",
    re.IGNORECASE,
)
_INTERNAL_ODATA_ERROR = "внутренняя ошибка OData"
_QUERY_CODES = frozenset(
    {"0", "1", "2", "3", "6", "7", "8", "10", "11", "12", "13", "14", "18", "19", "21"}
)
_DATA_CODES = frozenset({"4", "5", "16", "17"})
_MESSAGE_LIMIT = 2000


class ODataError(Exception):
    """A failed call. ``status`` is the HTTP status (None: no answer), ``code`` 1C's error code."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        url: str | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.code = code
        self.url = url
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = f"HTTP {self.status}" if self.status is not None else "no answer"
        code = f", 1C code {self.code}" if self.code not in (None, "") else ""
        return f"{self.message} ({where}{code})"


class Unavailable(ODataError):
    """1C cannot serve the request now; ``retry_after`` is the server's hint in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class RequestRejected(ODataError):
    """Our request (entity name, field map, query) does not fit this 1C base."""


class AccessDenied(ODataError):
    """The configured 1C user may not do this."""


class BusinessError(ODataError):
    """1C's own checks refused the data; retrying the same request fails the same way."""


class NotFound(ODataError):
    """The object does not exist in 1C."""


class AlreadyExists(ODataError):
    """1C already holds an object with this key."""


class BadAnswer(ODataError):
    """A successful status with a body that is not what OData promises."""


def classify(response: httpx.Response) -> ODataError:
    """The error a failed (status >= 400) answer from 1C stands for."""
    status = response.status_code
    code, message, structured = describe(response)
    kwargs: dict[str, Any] = {"status": status, "code": code, "url": str(response.request.url)}
    transient_text = bool(_TRANSIENT_TEXT.search(message))
    if status in (429, 502, 503, 504) or (transient_text and (status >= 500 or code == "-1")):
        return Unavailable(message, retry_after=_retry_after(response), **kwargs)
    if status in (401, 403):
        return (Unavailable if transient_text else AccessDenied)(message, **kwargs)
    if code == "20":
        return AccessDenied(message, **kwargs)
    if code == "15":
        return AlreadyExists(message, **kwargs)
    if code == "9":
        return NotFound(message, **kwargs)
    if code == "-1":
        if _INTERNAL_ODATA_ERROR in message:
            return RequestRejected(message, **kwargs)
        return BusinessError(message, **kwargs)
    if code in _DATA_CODES:
        return BusinessError(message, **kwargs)
    if code in _QUERY_CODES or 400 <= status < 500:
        return RequestRejected(message, **kwargs)
    if not structured:  # a web server's or 1C's HTML page, a bare text: the server is in trouble
        return Unavailable(message, retry_after=_retry_after(response), **kwargs)
    return Unavailable(message, **kwargs)


def from_transport(exc: httpx.HTTPError, *, timeout: float | None = None) -> ODataError:
    """An ``ODataError`` for a request that got no usable answer."""
    url = str(exc.request.url) if _has_request(exc) else None
    if isinstance(exc, httpx.TimeoutException):
        limit = f" after {timeout:g} s" if timeout else ""
        return Unavailable(f"1C did not answer{limit} ({type(exc).__name__})", url=url)
    if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        return Unavailable(f"connection to 1C failed: {type(exc).__name__}: {exc}", url=url)
    return RequestRejected(f"cannot send the request: {type(exc).__name__}: {exc}", url=url)


def describe(response: httpx.Response) -> tuple[str | None, str, bool]:
    """``(code, message, structured)`` from any of 1C's error formats.

    JSON ``odata.error``; JSON ``#exception`` (the platform's, e.g. sessions blocked); XML
    ``m:error`` (message maybe base64); HTML pages (1C's "application error", web servers');
    anything else as trimmed text. ``structured`` is False for HTML and bare text.
    """
    body = response.content.removeprefix(b"\xef\xbb\xbf")
    text = body.decode("utf-8", errors="replace").strip()
    document = _json(text)
    if isinstance(document, dict) and isinstance(document.get("odata.error"), dict):
        error = document["odata.error"]
        message = error.get("message")
        value = message.get("value") if isinstance(message, dict) else message
        return _text(error.get("code")), _limit(str(value or "") or _reason(response)), True
    if isinstance(document, dict) and "#exception" in document:
        return None, _limit(_exception_text(document.get("exception")) or _reason(response)), True
    if "<m:error" in text or ("<error" in text and "metadata" in text):
        return _xml_error(text, response)
    if text.startswith("<") or "<html" in text[:500].lower():
        return None, _limit(_html_text(text) or _reason(response)), False
    return None, _limit(text or _reason(response)), False


def _json(text: str) -> Any:
    if not text.startswith(("{", "[")):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _exception_text(exception: Any) -> str:
    """The meaningful ``descr`` texts of a platform exception, outermost generic one dropped."""
    texts: list[str] = []
    while isinstance(exception, dict):
        descr = str(exception.get("descr") or "").strip()
        if descr and not any(descr in seen for seen in texts):
            texts.append(descr)
        exception = exception.get("inner")
    inner = texts[1:] or texts
    return " / ".join(" ".join(t.split()) for t in inner)


def _xml_error(text: str, response: httpx.Response) -> tuple[str | None, str, bool]:
    code = re.search(r"<(?:m:)?code>(.*?)</(?:m:)?code>", text, re.S)
    message = re.search(r"<(?:m:)?message[^>]*>(.*?)</(?:m:)?message>", text, re.S)
    value = html.unescape(message.group(1).strip()) if message else ""
    return (
        html.unescape(code.group(1).strip()) if code else None,
        _limit(_maybe_base64(value) or _reason(response)),
        True,
    )


def _maybe_base64(value: str) -> str:
    """1C base64-encodes a message holding characters XML cannot carry."""
    if not value or " " in value or len(value) % 4:
        return value
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return value


def _html_text(text: str) -> str:
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.S | re.I)
    reason = re.search(r"by reason:\s*</b>(.*?)(?:<|$)", text, re.S | re.I)
    parts = [p for p in (title and title.group(1), reason and reason.group(1)) if p]
    if not parts:
        parts = [re.sub(r"<[^>]+>", " ", text)]
    return " ".join(html.unescape(" ".join(parts)).split())


def _reason(response: httpx.Response) -> str:
    return f"{response.status_code} {response.reason_phrase}".strip()


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _limit(text: str) -> str:
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"


def _has_request(exc: httpx.HTTPError) -> bool:
    try:
        exc.request  # noqa: B018 - raises RuntimeError when the error has no request
    except RuntimeError:
        return False
    return True
