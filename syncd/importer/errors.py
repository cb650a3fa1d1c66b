"""Input the importer refuses before reading it: unsafe file names and dangerous archives.

Both doors raise these: the folder inbox and ``onec-sync import`` (a user's zip), and the HTTP
exchange (1C's uploads), which answers ``failure\\n<reason>`` with the message.

    InputRefusedError         a file or archive refused; ``str(exc)`` is the reason
     +- UnsafeNameError       a file name (or archive member) we refuse to write
     +- ArchiveError          a zip we refuse: truncated, zip-slip, bomb, too many members
"""

from __future__ import annotations


class InputRefusedError(Exception):
    """A file or archive refused before anything of it was read; the message is the reason."""


class UnsafeNameError(InputRefusedError):
    """A file name that could escape the staging folder or be executed by a web server."""


class ArchiveError(InputRefusedError):
    """A zip archive that is broken or dangerous; nothing of it was kept but the archive.

    ``kept_at`` is where the archive stays for inspection, once known.
    """

    kept_at: str | None = None
