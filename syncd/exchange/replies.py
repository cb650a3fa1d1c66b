"""Replies in the shape 1C reads: ``text/plain`` lines, the first one a bare keyword.

1C reads line 1 (``success``, ``progress`` or ``failure``) and shows the rest; anything printed
before the keyword makes it log «Получен неизвестный статус импорта». Every protocol outcome is
HTTP 200; only a request without any credentials gets 401 (see ``challenge``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from flask import Response

Status = Literal["success", "progress", "failure"]
# What a reason line may carry: 1C splits on "\n", so a reason never contains one.
_MAX_REASON = 2000
# An absolute server path (two or more segments): replies show only its last segment, so 1C
# (or whoever holds its password) never learns where the daemon keeps its files.
_SERVER_PATH = re.compile(r"(?<![\w:/.])/(?:[^\s/'\"]+/)+([^\s/'\"]*)")


@dataclass(frozen=True, slots=True)
class Reply:
    """One text reply: ``status`` on line 1 (a ``Status``, or ``init``'s ``zip=...``), then
    ``lines``."""

    status: Status | str
    lines: tuple[str, ...] = ()

    def text(self) -> str:
        body = [self.status, *(_one_line(without_paths(line)) for line in self.lines)]
        return "\n".join(body) + "\n"


def success(*lines: str) -> Reply:
    return Reply("success", lines)


def progress(*lines: str) -> Reply:
    return Reply("progress", lines)


def failure(reason: str, *more: str) -> Reply:
    return Reply("failure", (reason, *more))


def to_response(reply: Reply, encoding: str) -> Response:
    """The HTTP response for ``reply``: status 200, ``text/plain`` in ``encoding``.

    Characters the encoding lacks become ``?`` rather than failing the reply.
    """
    body = reply.text().encode(encoding, errors="replace")
    return Response(body, status=200, content_type=f"text/plain; charset={encoding}")


def xml_response(body: bytes, encoding: str) -> Response:
    """The orders document of ``mode=query``."""
    return Response(body, status=200, content_type=f"application/xml; charset={encoding}")


def challenge(encoding: str) -> Response:
    """401 asking for Basic credentials: the only non-200 answer, for requests with none."""
    body = failure("authentication required (HTTP Basic)").text().encode(encoding, errors="replace")
    return Response(
        body,
        status=401,
        content_type=f"text/plain; charset={encoding}",
        headers={"WWW-Authenticate": 'Basic realm="1c", charset="UTF-8"'},
    )


def without_paths(text: str) -> str:
    """``text`` with every absolute path cut to its last segment."""
    return _SERVER_PATH.sub(r"\1", text)


def _one_line(text: str) -> str:
    flat = " ".join(text.replace("\r", " ").split("\n"))
    return flat if len(flat) <= _MAX_REASON else flat[: _MAX_REASON - 1] + "…"
