"""The one error configuration loading raises."""

from __future__ import annotations


class ConfigError(Exception):
    """The configuration has problems; ``problems`` lists every one of them, in file order."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))
