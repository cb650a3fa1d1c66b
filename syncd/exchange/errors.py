"""Errors of the exchange endpoint, classified by what the caller (1C) is told.

Every one of them ends as ``failure\\n<reason>`` with HTTP 200 (1C shows the reason in its log);
none of them means "retry the same bytes": the request itself was refused.

    ExchangeError                 a protocol request refused; ``str(exc)`` is the reason for 1C
     +- AuthenticationError       no valid credentials, unknown or expired session, rate limited
     +- UnknownCommandError       unknown ``type`` or ``mode``
     +- UploadTooLargeError       a file over ``exchange.max_upload_bytes``

Unsafe names and refused archives are the importer's (``syncd.importer.errors``), raised for the
folder and the CLI too; the endpoint answers them the same way.
"""

from __future__ import annotations


class ExchangeError(Exception):
    """A request refused with a reason 1C can show; the message is that reason."""


class AuthenticationError(ExchangeError):
    """The request does not belong to an authenticated exchange session."""


class UnknownCommandError(ExchangeError):
    """``type``/``mode`` names nothing this endpoint implements."""


class UploadTooLargeError(ExchangeError):
    """A file grew past ``exchange.max_upload_bytes``."""
