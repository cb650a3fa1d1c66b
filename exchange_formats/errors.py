"""Errors raised by the format readers and writers.

Every problem with the input is a ``FormatError`` that names where it is, so an operator can open
the file at that line:

    FormatError
     `- UnsafeDocumentError   DOCTYPE, entities, over-deep nesting, over-long text: refused
"""

from __future__ import annotations


class FormatError(ValueError):
    """The input is not a document we can read. Retrying the same bytes will fail the same way."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        element: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.element = element
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = [self.source or "<input>"]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.element:
            where.append(f"element <{self.element}>")
        return f"{', '.join(where)}: {self.message}"

    def __reduce__(self) -> tuple[object, ...]:  # keep keyword-only fields through pickling
        return (_rebuild, (self.__class__, self.message, self.source, self.line, self.element))


class UnsafeDocumentError(FormatError):
    """The document uses a construct we refuse outright (DTD, entities, absurd sizes)."""


def _rebuild(
    cls: type[FormatError], message: str, source: str | None, line: int | None, element: str | None
) -> FormatError:
    return cls(message, source=source, line=line, element=element)
