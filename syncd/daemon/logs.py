"""Logging for the daemon and the CLI: one JSON object a line on stderr, or plain text.

journald keeps stderr, so JSON lines are searchable as they are (``journalctl -u onec-syncd -o
cat | jq 'select(.run_id == "...")'``). Every line logged inside ``log_context(job=..., run_id=...)``
carries those fields, in the thread that entered it (threads started inside do not inherit it).
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

from config import LoggingSettings

_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("onec_log_context")
# Attributes every LogRecord has; anything else was passed with ``extra=`` and is logged.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "context"}
_QUIET = (
    "alembic",  # its plugin and migration-context lines on every schema check
    "waitress.queue",
    "apscheduler.executors.default",
    "apscheduler.executors.watchdog",
    "apscheduler.scheduler",
    "alembic.runtime.migration",
)


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to every line logged in this block (nested blocks add to the outer)."""
    token = _context.set({**_context.get({}), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> dict[str, Any]:
    return dict(_context.get({}))


class ContextFilter(logging.Filter):
    """Puts the ``log_context`` fields on each record (as ``record.context``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.context = _context.get({})
        return True


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", <context>, <extra>, "exception"}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "context", {}))
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``2026-01-01 10:00:00 INFO syncd.daemon.process [job=folder_scan run_id=...] message``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(where)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        context = getattr(record, "context", {})
        record.where = (
            " [" + " ".join(f"{k}={v}" for k, v in context.items()) + "]" if context else ""
        )
        return super().format(record)


def configure_logging(settings: LoggingSettings, stream: TextIO | None = None) -> None:
    """Route every logger to ``stream`` (stderr) in the configured format; call once at start."""
    stream = stream or sys.stderr
    use_json = settings.format == "json" or (settings.format == "auto" and not stream.isatty())
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.level)
    if settings.level != "DEBUG":
        for name in _QUIET:  # a line per job execution or queued request is noise at INFO
            logging.getLogger(name).setLevel(logging.WARNING)
