"""OData v3 URLs and literals as 1C reads them.

We build the query string ourselves: httpx's ``params=`` writes spaces as ``+``, and nothing
shows that 1C decodes ``+`` in ``$filter``; ``%20`` is what working clients send. Cyrillic entity
and property names are percent-encoded as UTF-8; ``'``, ``(``, ``)``, ``,`` and ``=`` stay raw.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, tzinfo
from urllib.parse import quote

from exchange_formats.odata.values import is_guid, naive_local

Params = Sequence[tuple[str, str]]
_PATH_SAFE = "/()',=$"
_QUERY_SAFE = "$,()'/:*"


def guid(ref: str) -> str:
    """``guid'…'``; raises ValueError for anything but a GUID (no injection through refs)."""
    if not is_guid(ref):
        raise ValueError(f"{ref!r} is not a Ref_Key (GUID)")
    return f"guid'{ref.lower()}'"


def string(text: str) -> str:
    """A string literal, with ``'`` doubled as OData requires."""
    return "'" + text.replace("'", "''") + "'"


def any_of(field: str, refs: Iterable[str]) -> str:
    """``field eq guid'a' or field eq guid'b' ...``."""
    return " or ".join(f"{field} eq {guid(ref)}" for ref in refs)


def function(
    entity: str, name: str, arguments: Mapping[str, str], literals: Mapping[str, str] = {}
) -> str:
    """A virtual table call in the path: ``X/SliceLast(Period=datetime'…',Condition='...')``.

    ``literals`` (``Period``) are OData literals written as they are; ``arguments`` go between
    single quotes as given: 1C's documentation writes the literals inside ``Condition`` with
    their own quotes undoubled (``Condition='Склад_Key eq guid'…''``).
    """
    parts = [f"{key}={value}" for key, value in literals.items() if value]
    parts += [f"{key}='{value}'" for key, value in arguments.items() if value]
    return f"{entity}/{name}({','.join(parts)})"


def datetime_literal(moment: datetime, zone: tzinfo) -> str:
    """``datetime'2025-01-21T10:14:02'``: ``moment`` in 1C's server time, which has no zone."""
    return f"datetime'{naive_local(moment, zone)}'"


def url(base: str, resource: str, params: Params = ()) -> str:
    """``base`` + ``resource`` + ``?params``, percent-encoded for 1C."""
    path = base.rstrip("/") + "/" + quote(resource, safe=_PATH_SAFE)
    if not params:
        return path
    query = "&".join(f"{quote(k, safe='$')}={quote(v, safe=_QUERY_SAFE)}" for k, v in params)
    return f"{path}?{query}"
