"""The one error configuration loading raises."""

from __future__ import annotations


class ConfigError(Exception):
    """The configuration has problems; ``problems`` lists every one of them, in file order.

    ``tables`` names, for each problem, the table it belongs to (``""`` for the file itself:
    unreadable, invalid TOML, an unknown table), so a caller can tell which parts are unusable.
    """

    def __init__(self, problems: list[str], tables: list[str] | None = None) -> None:
        self.problems = problems
        self.tables = tables if tables is not None else [""] * len(problems)
        super().__init__("\n".join(problems))
