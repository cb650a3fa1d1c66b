"""Turn query strings and JSON bodies into pydantic models, or a 400 naming every bad field."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from storefront.errors import BadRequest

M = TypeVar("M", bound=BaseModel)


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
