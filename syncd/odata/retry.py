"""The one retry policy for calls to 1C, built from ``ODataSettings``.

Only ``Unavailable`` is retried (see ``syncd.odata.errors``), with exponential backoff and
jitter, honouring a ``Retry-After`` hint up to ``backoff_max_seconds``. Wrap only idempotent
units: one GET, a lookup-then-create, a check-then-post; never a bare create.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from config import ODataSettings
from syncd.odata.errors import Unavailable

log = logging.getLogger("syncd.odata")

ShouldStop = Callable[[], bool]
_SLEEP_STEP = 0.5


class Stopped(Exception):
    """A wait between attempts was cut short because the caller asked to stop."""


def make_retrying(settings: ODataSettings, *, should_stop: ShouldStop | None = None) -> Retrying:
    """A tenacity ``Retrying`` for one idempotent unit; the last error is re-raised as is.

    With ``should_stop``, a wait between attempts ends early by raising ``Stopped``.
    """
    backoff = wait_exponential(
        multiplier=settings.backoff_initial_seconds, max=settings.backoff_max_seconds
    ) + wait_random(0, min(1.0, settings.backoff_max_seconds))

    def wait(state: RetryCallState) -> float:
        seconds = backoff(state)
        error = state.outcome.exception() if state.outcome else None
        hint = getattr(error, "retry_after", None)
        if hint:
            seconds = max(seconds, min(float(hint), settings.backoff_max_seconds))
        return seconds

    return Retrying(
        retry=retry_if_exception_type(Unavailable),
        stop=stop_after_attempt(settings.max_attempts),
        wait=wait,
        sleep=_interruptible_sleep(should_stop),
        before_sleep=_log_attempt(settings.max_attempts),
        reraise=True,
    )


def _interruptible_sleep(should_stop: ShouldStop | None) -> Callable[[float], None]:
    def sleep(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if should_stop is not None and should_stop():
                raise Stopped("stopped while waiting to retry a call to 1C")
            time.sleep(min(left, _SLEEP_STEP))

    return sleep


def _log_attempt(max_attempts: int) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "1C unavailable (attempt %d of %d), retrying in %.1f s: %s",
            state.attempt_number,
            max_attempts,
            wait,
            error,
        )

    return before_sleep
