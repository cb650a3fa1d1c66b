"""Reading small CommerceML structures out of an lxml element, by local name.

Shared by the catalog, offers and orders readers. Every helper raises ``BadValue`` carrying the
offending element, so the document reader can name the file, line and element path.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation

from lxml import etree

from exchange_formats._xml import LOCAL
from exchange_formats.commerceml._values import BadValue, to_bool, to_datetime, to_decimal
from exchange_formats.records import (
    Characteristic,
    PropertyValue,
    Requisite,
    UnitRef,
)

Element = etree._Element


class ElementError(BadValue):
    """A bad value together with the element it was found in."""

    def __init__(self, message: str, element: Element) -> None:
        super().__init__(message)
        self.element = element


def fail(element: Element, message: str) -> ElementError:
    """The error to raise for ``element`` (``raise fail(child, "...")``)."""
    return ElementError(message, element)


def text(element: Element) -> str | None:
    """Stripped text, ``None`` when empty: 1C pads codes and names with spaces."""
    value = element.text
    if value is None:
        return None
    value = value.strip()
    return value or None


def child_texts(element: Element, *names: str) -> dict[str, str | None]:
    """Stripped texts of the named children (first occurrence each), in one pass."""
    found: dict[str, str | None] = dict.fromkeys(names)
    for child in element:
        name = LOCAL[child.tag]
        if name in found and found[name] is None:
            found[name] = text(child)
    return found


def required_id(element: Element, value: str | None, what: str) -> str:
    if value is None:
        raise fail(element, f"{what} has no Ид")
    return value


def optional_decimal(element: Element) -> Decimal | None:
    """The element's number (lenient: ``1 719,50``); ``None`` when empty."""
    raw = element.text
    if raw is None:
        return None
    try:
        value = Decimal(raw)  # the common case, fast; Decimal also takes surrounding blanks
    except InvalidOperation:
        if not raw.strip():
            return None
        try:
            return to_decimal(raw)
        except BadValue as exc:
            raise fail(element, str(exc)) from None
    if not value.is_finite():
        raise fail(element, f"not a number: {raw!r}")
    return value


def bool_of(element: Element) -> bool | None:
    return bool_from(element, text(element))


def bool_from(element: Element, raw: str | None) -> bool | None:
    """``raw`` (text read from ``element`` or one of its children) as a yes/no value."""
    if raw is None:
        return None
    try:
        return to_bool(raw)
    except BadValue as exc:
        raise fail(element, str(exc)) from None


def datetime_of(element: Element, raw: str | None, tz: tzinfo) -> datetime | None:
    if raw is None:
        return None
    try:
        return to_datetime(raw, tz)
    except BadValue as exc:
        raise fail(element, str(exc)) from None


def requisites(container: Element) -> tuple[Requisite, ...]:
    """ЗначенияРеквизитов: one Requisite per Значение (a requisite with none has value "")."""
    found: list[Requisite] = []
    for item in container:
        name: str | None = None
        values: list[str] = []
        for part in item:
            part_name = LOCAL[part.tag]
            if part_name == "Наименование":
                name = text(part)
            elif part_name == "Значение":
                values.append((part.text or "").strip())
        if name is not None:
            found.extend(Requisite(name=name, value=value) for value in values or [""])
    return tuple(found)


def property_values(container: Element) -> tuple[PropertyValue, ...]:
    """ЗначенияСвойств: raw values (ИдЗначения or literal) in order; empty ones dropped."""
    found: list[PropertyValue] = []
    for item in container:
        onec_id: str | None = None
        values: list[str] = []
        for part in item:
            part_name = LOCAL[part.tag]
            if part_name == "Ид":
                onec_id = text(part)
            elif part_name == "Значение":
                value = text(part)
                if value is not None:
                    values.append(value)
        if onec_id is None:
            raise fail(item, "a property value has no Ид of its property")
        found.append(PropertyValue(property_onec_id=onec_id, values=tuple(values)))
    return tuple(found)


def characteristics(container: Element) -> tuple[Characteristic, ...]:
    """ХарактеристикиТовара: name/value pairs, with the characteristic's Ид where sent."""
    found: list[Characteristic] = []
    for item in container:
        parts = child_texts(item, "Ид", "Наименование", "Значение")
        name = parts["Наименование"]
        if name is None:
            raise fail(item, "a characteristic has no Наименование")
        found.append(Characteristic(name=name, value=parts["Значение"] or "", onec_id=parts["Ид"]))
    return tuple(found)


def unit_ref(element: Element) -> UnitRef | None:
    """БазоваяЕдиница: its text (a name, or in 3.1 a unit code) and attributes; None if empty.

    Memoised on the element's text and attributes: a catalog repeats a handful of units.
    """
    key = (element.text, tuple(element.items()))
    try:
        return _UNITS[key]
    except KeyError:
        if len(_UNITS) > 10_000:
            _UNITS.clear()
    get = element.get
    ref: UnitRef | None = UnitRef(
        text=text(element) or _stripped(get("НаименованиеКраткое")),
        code=_stripped(get("Код")),
        full_name=_stripped(get("НаименованиеПолное")),
        international=_stripped(get("МеждународноеСокращение")),
    )
    if ref == _EMPTY_UNIT:
        ref = None
    _UNITS[key] = ref
    return ref


_UNITS: dict[tuple[object, ...], UnitRef | None] = {}


def line_unit(element: Element) -> UnitRef | None:
    """An order line's Единица: a bare code, or {Ид, НаименованиеКраткое, Код, НаименованиеПолное}."""
    if not len(element):
        code = text(element)
        return UnitRef(code=code) if code else None
    parts = child_texts(element, "НаименованиеКраткое", "Код", "НаименованиеПолное", "Ид")
    ref = UnitRef(
        text=parts["НаименованиеКраткое"],
        code=parts["Код"] or parts["Ид"],
        full_name=parts["НаименованиеПолное"],
    )
    return None if ref == _EMPTY_UNIT else ref


_EMPTY_UNIT = UnitRef()


def _stripped(value: str | None) -> str | None:
    if value is None:
        return None
    return value.strip() or None


def is_deleted_status(element: Element) -> bool:
    """``Статус="Удален"`` on a Товар/Предложение."""
    status = element.get("Статус")
    return status is not None and status.strip().lower() == "удален"
