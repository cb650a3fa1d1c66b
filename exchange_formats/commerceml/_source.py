"""Reading the same document twice: once for its header, once for its records."""

from __future__ import annotations

import io
import os

from exchange_formats._xml import Readable, Source


class _Recorder:
    """Reads from a non-seekable stream and keeps a copy of what was read."""

    def __init__(self, raw: Readable) -> None:
        self.raw = raw
        self.copy = bytearray()

    def read(self, size: int = -1, /) -> bytes:
        chunk = self.raw.read(size)
        self.copy += chunk
        return chunk


class _Replay:
    """The recorded bytes first, then the rest of the stream."""

    def __init__(self, recorded: bytes, raw: Readable) -> None:
        self.pending = recorded
        self.raw = raw

    def read(self, size: int = -1, /) -> bytes:
        if not self.pending:
            return self.raw.read(size)
        if size < 0:
            chunk, self.pending = self.pending + self.raw.read(), b""
            return chunk
        chunk, self.pending = self.pending[:size], self.pending[size:]
        return chunk


class Rewindable:
    """A path is opened twice; a seekable file is rewound to where it was; a pipe is replayed
    (only the bytes read for the header are kept in memory)."""

    def __init__(self, source: Source, name: str | None) -> None:
        self.source = source
        self._recorder: _Recorder | None = None
        self._start: int | None = None
        self._seekable: io.IOBase | None = None
        if isinstance(source, str | os.PathLike):
            self.name = name or os.fspath(source)
            return
        self.name = name or str(getattr(source, "name", "<stream>"))
        if isinstance(source, io.IOBase) and source.seekable():
            self._seekable, self._start = source, source.tell()

    def first(self) -> Source:
        if isinstance(self.source, str | os.PathLike) or self._start is not None:
            return self.source
        self._recorder = _Recorder(self.source)
        return self._recorder

    def second(self) -> Source:
        if isinstance(self.source, str | os.PathLike):
            return self.source
        if self._seekable is not None and self._start is not None:
            self._seekable.seek(self._start)
            return self.source
        if self._recorder is None:
            raise RuntimeError("a non-seekable stream can be read only once")
        recorder, self._recorder = self._recorder, None
        return _Replay(bytes(recorder.copy), recorder.raw)
