"""A stateful fake of one 1C base's standard OData interface, for respx.

It answers the way ODATA.md documents 1C does: ``{"odata.metadata": ..., "value": [...]}``
collections, ``$select``/``$filter``/``$orderby``/``$top``/``$skip`` on entity sets (the filter
subset we send: ``eq``/``ne``, ``ge``/``gt``/``le``/``lt`` on ``datetime'…'``, ``and``/``or``,
parentheses, ``guid'…'``/string/boolean literals),
``SliceLast``/``Balance`` virtual tables with ``Condition`` (``Balance`` omits zero rows), 201
creates with ``Location``, ``/Post`` actions, ``odata.error`` bodies, ``$metadata`` as XML.

Faults are queued with ``fail(*effects, when=...)``: each matching request consumes one effect,
an ``httpx.Response`` (answered instead), an exception (raised instead), ``After(exc)``
(the request is carried out, then ``exc`` is raised: a create whose answer was lost) or a
function of the request returning the answer.
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

import httpx

HOST = "https://1c.example.ru"
PREFIX = "/ut11/odata/standard.odata/"
BASE = HOST + PREFIX.rstrip("/")
Row = dict[str, Any]
Predicate = Callable[[httpx.Request], bool]


@dataclass
class After:
    """Carry the request out, then fail with ``error`` (the answer is lost on the way back)."""

    error: BaseException


def odata_error(status: int, code: str, message: str) -> httpx.Response:
    body = {"odata.error": {"code": code, "message": {"lang": "ru", "value": message}}}
    return httpx.Response(status, json=body)


class Fake1C:
    def __init__(self) -> None:
        self.entities: dict[str, dict[str, Row]] = defaultdict(dict)
        self.virtual: dict[str, list[Row]] = {}  # "<set>/SliceLast" | "<set>/Balance" -> rows
        self.schemas: dict[str, list[str]] = {}  # properties $metadata lists besides the rows'
        self.requests: list[httpx.Request] = []
        self.faults: list[tuple[Predicate, Any]] = []
        self._numbers = itertools.count(1)
        self._versions = itertools.count(1)
        self.plan: tuple[str, str] | None = None  # (ExchangePlan_…, our node's Ref_Key)
        self.registered: dict[tuple[str, str], int | None] = {}  # (entity, ref) -> message sent in

    def enable_plan(self, plan: str, node: str) -> None:
        """An exchange plan with our node; from now on every catalog write is registered."""
        self.plan = (plan, node)
        self.entities[plan][node] = {
            "Ref_Key": node, "DataVersion": self.next_version(), "DeletionMark": False,
            "Code": "SITE", "Description": "Сайт", "SentNo": "0", "ReceivedNo": "0",
            "ThisNode": False,
        }  # fmt: skip

    def delete(self, entity: str, ref: str) -> None:
        """Delete an object outright (registered as a deletion)."""
        del self.entities[entity][ref]
        self._register(entity, ref)

    def _register(self, entity: str, ref: str) -> None:
        if self.plan and entity.startswith("Catalog_"):
            self.registered[(entity, ref)] = None

    # --- set-up ------------------------------------------------------------------------------

    def put(self, entity: str, row: Row) -> Row:
        """Add or replace an object; its DataVersion changes like on any 1C write."""
        row = dict(row)
        row["DataVersion"] = self.next_version()
        self.entities[entity][row["Ref_Key"]] = row
        self._register(entity, row["Ref_Key"])
        return row

    def next_version(self) -> str:
        import base64

        return base64.b64encode(next(self._versions).to_bytes(8, "big")).decode()

    def fail(self, *effects: Any, when: Predicate = lambda request: True) -> None:
        self.faults.extend((when, effect) for effect in effects)

    def sent(self, method: str, resource_prefix: str) -> list[httpx.Request]:
        """Requests with this method whose decoded resource starts with ``resource_prefix``."""
        return [
            r
            for r in self.requests
            if r.method == method and resource(r).startswith(resource_prefix)
        ]

    # --- respx side effect ---------------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for index, (when, effect) in enumerate(self.faults):
            if when(request):
                del self.faults[index]
                if isinstance(effect, httpx.Response):
                    return effect
                if isinstance(effect, After):
                    self._handle(request)
                    raise effect.error
                if callable(effect) and not isinstance(effect, BaseException):
                    return effect(request)  # type: ignore[no-any-return]
                raise effect
        return self._handle(request)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        res = resource(request)
        params = dict(request.url.params)
        if res == "$metadata":
            return httpx.Response(
                200, content=self.metadata(), headers={"Content-Type": "application/xml"}
            )
        if res in ("SelectChanges", "NotifyChangesReceived") and request.method == "POST":
            return self._exchange(res, params)
        if match := re.fullmatch(r"(\w+)\(guid'([0-9a-f-]+)'\)/Post", res):
            return self._post_document(match.group(1), match.group(2))
        if match := re.fullmatch(r"(\w+)/(SliceLast|Balance)\((.*)\)", res, re.S):
            return self._virtual(match.group(1), match.group(2), match.group(3), params)
        if match := re.fullmatch(r"(\w+)\(guid'([0-9a-f-]+)'\)", res):
            return self._single(match.group(1), match.group(2))
        if request.method == "POST":
            return self._create(res, json.loads(request.content))
        return self._collection(res, params)

    # --- reads -----------------------------------------------------------------------------------

    def _collection(self, entity: str, params: dict[str, str]) -> httpx.Response:
        if entity not in self.entities:
            return odata_error(404, "8", f'"{entity}" entity is not found')
        rows = list(self.entities[entity].values())
        if "$filter" in params:
            test = parse_filter(params["$filter"])
            rows = [row for row in rows if test(row)]
        if "$orderby" in params:
            key = params["$orderby"].split()[0]
            rows.sort(key=lambda row: str(row.get(key)))
        skip = int(params.get("$skip", 0))
        rows = rows[skip:]
        if "$top" in params:
            rows = rows[: int(params["$top"])]
        return self._answer(entity, [project(row, params.get("$select")) for row in rows])

    def _virtual(
        self, entity: str, function: str, inner: str, params: dict[str, str]
    ) -> httpx.Response:
        key = f"{entity}/{function}"
        if key not in self.virtual:
            return odata_error(400, "6", "Метод не найден")
        rows = list(self.virtual[key])
        arguments = virtual_arguments(inner)
        condition = arguments.get("Condition")
        if condition:
            test = parse_filter(condition)
            rows = [row for row in rows if test(row)]
        if function == "SliceLast":
            rows = slice_last(rows, arguments.get("Period"))
        if function == "Balance":
            rows = [r for r in rows if any(v for k, v in r.items() if k.endswith("Balance"))]
        return self._answer(
            f"{entity}_{function}", [project(r, params.get("$select")) for r in rows]
        )

    def _single(self, entity: str, ref: str) -> httpx.Response:
        row = self.entities.get(entity, {}).get(ref)
        if row is None:
            return odata_error(404, "9", "Экземпляр сущности не найден по переданному ключу.")
        return httpx.Response(
            200, json=encode({"odata.metadata": f"{BASE}/$metadata#{entity}/@Element", **row})
        )

    def _answer(self, entity: str, rows: list[Row]) -> httpx.Response:
        body = {"odata.metadata": f"{BASE}/$metadata#{entity}", "value": rows}
        return httpx.Response(200, json=encode(body))

    # --- writes ----------------------------------------------------------------------------------

    def _create(self, entity: str, body: Row) -> httpx.Response:
        ref = body.get("Ref_Key") or str(uuid.uuid4())
        row = {
            **body,
            "Ref_Key": ref,
            "Number": f"УТ-{next(self._numbers):08d}",
            "Date": body.get("Date", "2025-01-21T10:15:36"),
            "Posted": False,
            "DeletionMark": False,
        }
        stored = self.put(entity, row)
        location = f"{BASE}/{quote(entity)}(guid'{ref}')"  # headers are ASCII: 1C encodes
        answer = {"odata.metadata": f"{BASE}/$metadata#{entity}/@Element", **stored}
        return httpx.Response(201, json=encode(answer), headers={"Location": location})

    def _post_document(self, entity: str, ref: str) -> httpx.Response:
        row = self.entities.get(entity, {}).get(ref)
        if row is None:
            return odata_error(404, "9", "Экземпляр сущности не найден по переданному ключу.")
        row["Posted"] = True
        row["DataVersion"] = self.next_version()
        return httpx.Response(200)

    # --- exchange plan ---------------------------------------------------------------------------

    def _exchange(self, function: str, params: dict[str, str]) -> httpx.Response:
        assert self.plan, "no exchange plan"
        plan, node = self.plan
        expected = f"'{BASE}/{plan}(guid'{node}')'"
        if params.get("DataExchangePoint") != expected:
            return odata_error(400, "6", f"Неверный узел обмена {params.get('DataExchangePoint')}")
        message = int(params["MessageNo"])
        row = self.entities[plan][node]
        if function == "NotifyChangesReceived":
            for key, sent in list(self.registered.items()):
                if sent is not None and sent <= message:
                    del self.registered[key]
            row["ReceivedNo"] = str(message)
            return httpx.Response(200)
        for key, sent in self.registered.items():
            if sent is None:
                self.registered[key] = message
        row["SentNo"] = str(message)
        return httpx.Response(
            200, content=self.feed(), headers={"Content-Type": "application/atom+xml"}
        )

    def feed(self) -> bytes:
        """The registered changes as 1C's Atom package."""
        parts = []
        for entity, ref in self.registered:
            row = self.entities.get(entity, {}).get(ref)
            url = f"{BASE}/{entity}(guid'{ref}')"
            if row is None:
                parts.append(f'<at:deleted-entry ref={quoteattr(url)} when="2025-01-21T10:00:00"/>')
                continue
            properties = "".join(_atom_property(name, value) for name, value in row.items())
            parts.append(
                f'<entry><id>{escape(url)}</id><category term="StandardODATA.{entity}" '
                'scheme="http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"/>'
                f'<content type="application/xml"><m:properties>{properties}</m:properties>'
                "</content></entry>"
            )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
            'xmlns:at="http://purl.org/atompub/tombstones/1.0" '
            'xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" '
            'xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">'
            + "".join(parts)
            + "</feed>"
        ).encode()

    # --- $metadata -----------------------------------------------------------------------------

    def metadata(self) -> bytes:
        types, sets = [], []
        for entity, rows in self.entities.items():
            names = sorted(
                {key for row in rows.values() for key in row} | set(self.schemas.get(entity, []))
            )
            types.append(_type("EntityType", entity, names))
            sets.append(
                f'<EntitySet Name={quoteattr(entity)} EntityType="StandardODATA.{entity}"/>'
            )
        for key, rows in self.virtual.items():
            entity, function = key.split("/")
            names = sorted({k for row in rows for k in row})
            base = entity.removesuffix("_RecordType")
            types.append(_type("ComplexType", f"{base}_{function}", names))
            sets.append(
                f'<EntitySet Name={quoteattr(entity)} EntityType="StandardODATA.{entity}"/>'
            )
            types.append(_type("EntityType", entity, ["Period"]))
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<edmx:Edmx xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" Version="1.0">'
            '<edmx:DataServices xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" m:DataServiceVersion="3.0">'
            '<Schema xmlns="http://schemas.microsoft.com/ado/2009/11/edm" Namespace="StandardODATA">'
            + "".join(types)
            + '<EntityContainer Name="StandardODATA" m:IsDefaultEntityContainer="true">'
            + "".join(sets)
            + "</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>"
        ).encode()


def _atom_property(name: str, value: Any) -> str:
    if "@" in name:
        return ""
    if value is None:
        return f'<d:{name} m:null="true"/>'
    if isinstance(value, list):
        items = "".join(
            "<d:element>" + "".join(_atom_property(k, v) for k, v in item.items()) + "</d:element>"
            for item in value
        )
        return f'<d:{name} m:type="Collection(StandardODATA.Row)">{items}</d:{name}>'
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return f"<d:{name}>{escape(text)}</d:{name}>"


def _type(kind: str, name: str, properties: list[str]) -> str:
    inner = "".join(f'<Property Name={quoteattr(p)} Type="Edm.String"/>' for p in properties)
    return f"<{kind} Name={quoteattr(name)}>{inner}</{kind}>"


SLICE_DIMENSIONS = ("Номенклатура_Key", "Характеристика_Key", "ВидЦены_Key")


def slice_last(rows: list[Row], period: str | None) -> list[Row]:
    """1C's SliceLast: per dimension values, the last record at ``period`` (datetime'…').

    Without ``Period`` 1C takes the last record of all, future-dated ones included.
    """
    moment = period.removeprefix("datetime'").removesuffix("'") if period else None
    last: dict[tuple[Any, ...], Row] = {}
    for row in sorted(rows, key=lambda r: str(r.get("Period", ""))):
        if moment is not None and str(row.get("Period", "")) > moment:
            continue
        last[tuple(row.get(name) for name in SLICE_DIMENSIONS)] = row
    return list(last.values())


def resource(request: httpx.Request) -> str:
    return request.url.path.removeprefix(PREFIX)


def project(row: Row, select: str | None) -> Row:
    if not select:
        return row
    names = select.split(",")
    return {name: row[name] for name in names if name in row}


def encode(document: Any) -> Any:
    """JSON-ready: Decimals as numbers (json.loads(parse_float=Decimal) restores them)."""
    return json.loads(
        json.dumps(document, default=lambda d: float(d) if isinstance(d, Decimal) else str(d))
    )


def virtual_arguments(inner: str) -> dict[str, str]:
    parts = re.split(r",(?=(?:Period|Condition|Dimensions)=)", inner) if inner else []
    out = {}
    for part in parts:
        name, _, value = part.partition("=")
        out[name] = value[1:-1] if value.startswith("'") and value.endswith("'") else value
    return out


# --- a $filter subset: eq/ne (and ge/gt/le/lt on dates), and/or, parentheses -----------------

_TOKEN = re.compile(r"\(|\)|guid'[^']*'|'(?:[^']|'')*'|[^\s()]+")


_CAST = re.compile(r"cast\((guid'[^']*'),\s*'[^']*'\)")


def parse_filter(text: str) -> Callable[[Row], bool]:
    tokens = _TOKEN.findall(_CAST.sub(r"\1", text))  # a composite field compares as its ref
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        position += 1
        return tokens[position - 1]

    def expression() -> Callable[[Row], bool]:
        left = term()
        while peek() == "or":
            take()
            right, prev = term(), left
            left = lambda row, a=prev, b=right: a(row) or b(row)  # noqa: E731
        return left

    def term() -> Callable[[Row], bool]:
        left = factor()
        while peek() == "and":
            take()
            right, prev = factor(), left
            left = lambda row, a=prev, b=right: a(row) and b(row)  # noqa: E731
        return left

    def factor() -> Callable[[Row], bool]:
        if peek() == "(":
            take()
            inner = expression()
            assert take() == ")", text
            return inner
        name, op, literal = take(), take(), value(take())
        assert op in ("eq", "ne", *_ORDERED), f"unsupported operator {op} in {text}"

        def compare(row: Row) -> bool:
            found = row.get(name)
            if op in _ORDERED:
                assert isinstance(literal, Moment), f"{op} compares dates only here: {text}"
                return isinstance(found, str) and _ORDERED[op](found, literal.text)
            if isinstance(literal, str) and isinstance(found, str) and name.endswith("_Key"):
                same = found.lower() == literal.lower()
            else:
                same = found == literal
            return same if op == "eq" else not same

        return compare

    test = expression()
    assert position == len(tokens), f"unparsed filter tail in {text!r}"
    return test


_ORDERED: dict[str, Callable[[str, str], bool]] = {
    "ge": lambda a, b: a >= b,
    "gt": lambda a, b: a > b,
    "le": lambda a, b: a <= b,
    "lt": lambda a, b: a < b,
}


@dataclass(frozen=True)
class Moment:
    """A ``datetime'…'`` literal; 1C's naive ISO texts compare in time order as strings."""

    text: str


def value(token: str) -> Any:
    if token.startswith("datetime'"):
        return Moment(token[9:-1])
    if token.startswith("guid'"):
        return token[5:-1]
    if token.startswith("'"):
        return token[1:-1].replace("''", "'")
    if token in ("true", "false"):
        return token == "true"
    return Decimal(token)
