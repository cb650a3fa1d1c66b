"""Cutting a record stream into batches, and writing them on a second thread.

Reading CommerceML is CPU work in this process; writing a batch is mostly waiting for the
database server, which works on another core. ``BackgroundWriter`` overlaps the two while keeping
batches strictly in order (one writer thread) and memory flat (a short queue).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Generic, TypeVar

T = TypeVar("T")

_STOP = object()


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class BackgroundWriter(Generic[T]):
    """``submit(batch)`` hands a batch to ``write`` on the writer thread; ``close()`` waits for
    every submitted batch and re-raises the writer's error, if any. A failed write stops the
    thread: later ``submit`` calls raise that error at once."""

    def __init__(self, write: Callable[[list[T]], None], depth: int = 2) -> None:
        self._write = write
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="batch-writer", daemon=True)
        self._thread.start()

    def submit(self, batch: list[T]) -> None:
        while True:
            self._raise_if_failed()
            try:
                self._queue.put(batch, timeout=0.2)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        """Wait for the queued batches to be written; raise the writer's error if it failed."""
        while self._thread.is_alive():
            try:
                self._queue.put(_STOP, timeout=0.2)
                break
            except queue.Full:
                continue
        self._thread.join()
        self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            try:
                self._write(item)  # type: ignore[arg-type]
            except BaseException as exc:  # noqa: BLE001 - re-raised in the submitting thread
                self._error = exc
                return
