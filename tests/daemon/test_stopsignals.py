"""Stop handlers act in the daemon's process only, not in the workers it forks."""

from __future__ import annotations

import os
import signal
import time

from syncd.daemon import stopsignals


def test_the_installing_process_runs_the_handler_and_a_forked_child_just_dies() -> None:
    received: list[int] = []
    restore = stopsignals.install(lambda signum, _frame: received.append(signum),
                                  (signal.SIGTERM,))  # fmt: skip
    try:
        child = os.fork()
        if child == 0:  # the forked worker: wait to be terminated, as a pool's workers do
            time.sleep(10)
            os._exit(3)  # the handler swallowed SIGTERM: the bug this guards against
        time.sleep(0.2)
        os.kill(child, signal.SIGTERM)
        _, status = os.waitpid(child, 0)
        assert os.WIFSIGNALED(status)
        assert os.WTERMSIG(status) == signal.SIGTERM

        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)  # the handler runs between bytecodes of this thread
        assert received == [signal.SIGTERM]
    finally:
        restore()
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
