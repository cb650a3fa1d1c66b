"""Errors of the exchange endpoint, classified by what the caller (1C) is told.

Every one of them ends as ``failure\\n<reason>`` with HTTP 200 (1C shows the reason in its log);
none of them means "retry the same bytes": the request itself was refused.

    ExchangeError                 a protocol request refused; ``str(exc)`` is the reason for 1C
     +- AuthenticationError       no valid credentials, unknown or expired session, rate limited
     +- UnknownCommandError       unknown ``type`` or ``mode``
     +- UnsafeNameError           a ``filename`` (or archive member) we refuse to write
     +- UploadTooLargeError       a file over ``exchange.max_upload_bytes``
     +- ArchiveError              a zip we refuse: truncated, zip-slip, bomb, too many members
"""

from __future__ import annotations


class ExchangeError(Exception):
    """A request refused with a reason 1C can show; the message is that reason."""


class AuthenticationError(ExchangeError):
    """The request does not belong to an authenticated exchange session."""


class UnknownCommandError(ExchangeError):
    """``type``/``mode`` names nothing this endpoint implements."""


class UnsafeNameError(ExchangeError):
    """A file name that could escape the staging folder or be executed by a web server."""


class UploadTooLargeError(ExchangeError):
    """A file grew past ``exchange.max_upload_bytes``."""


class ArchiveError(ExchangeError):
    """A zip archive that is broken or dangerous; nothing of it was kept but the archive.

    ``kept_at`` is where the archive stays for inspection, once known.
    """

    kept_at: str | None = None
