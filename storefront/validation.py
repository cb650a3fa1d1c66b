"""Turn query strings and JSON bodies into pydantic models, or a 400 naming every bad field.

Bodies are limited before they are parsed: in size by ``MAX_CONTENT_LENGTH`` (413, see
``storefront.protection``) and in nesting by ``[storefront] max_json_depth`` (400), so no body
can exhaust the parser's stack.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from storefront.context import settings
from storefront.errors import BadRequest

M = TypeVar("M", bound=BaseModel)
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def query(model: type[M]) -> M:
    """``model`` from the query string; list fields take repeated parameters."""
    data: dict[str, Any] = {}
    for name in request.args:
        field = model.model_fields.get(name)
        values = request.args.getlist(name)
        is_list = field is not None and _is_list(field.annotation)
        data[name] = values if is_list else values[-1]
    return _validate(model, data, "query parameter")


def body(model: type[M]) -> M:
    """``model`` from a JSON request body."""
    if not request.is_json:
        raise BadRequest("send a JSON body with Content-Type: application/json")
    limit = settings().storefront.max_json_depth
    if _depth_above(request.get_data(cache=True), limit):
        raise BadRequest(
            f"the JSON body is nested more than {limit} levels deep",
            details=[{"field": None, "message": "too deeply nested"}],
        )
    data = request.get_json(silent=True)
    if data is None:
        raise BadRequest("the request body is not valid JSON")
    return _validate(model, data, "body field")


def _validate(model: type[M], data: Any, what: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [
            {"field": _location(error["loc"]) or None, "message": error["msg"]}
            for error in exc.errors(include_url=False, include_input=False)
        ]
        fields = ", ".join(sorted({d["field"] or "(body)" for d in details}))
        raise BadRequest(f"invalid {what}(s): {fields}", details=details) from exc


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _is_list(annotation: Any) -> bool:
    return getattr(annotation, "__origin__", None) is list


def _depth_above(raw: bytes, limit: int) -> bool:
    """Whether arrays and objects in ``raw`` nest deeper than ``limit`` (strings skipped)."""
    depth = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub(b"", raw)):
        depth += 1 if bracket.group() in (b"[", b"{") else -1
        if depth > limit:
            return True
    return False


MAX_PATH_ID = 255  # the documented bound of every id in a path (``openapi.ONEC_ID_PARAM``)


def path_id(value: str, field: str) -> str:
    """An id taken from the path, within the documented bound; 400 naming the field if not."""
    if not 1 <= len(value) <= MAX_PATH_ID:
        raise BadRequest(
            f"{field} must be 1 to {MAX_PATH_ID} characters",
            details=[{"field": field, "message": f"1 to {MAX_PATH_ID} characters"}],
        )
    return value
