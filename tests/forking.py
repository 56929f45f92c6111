"""Run a check in a forked child, as Dask's and multiprocessing's fork start method would."""

from __future__ import annotations

import os
import signal
import time
from typing import Callable

import pytest


def check_in_forked_child(check: Callable[[], int], what: str, timeout: float = 60.0) -> None:
    """Forks; the child runs ``check()`` (0: right, another int: which check failed) and
    exits with it. Fails the test when the child exits non-zero, or hangs (then named by
    ``what``) for more than ``timeout`` seconds."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = check()
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"the forked child hangs in {what}")
        time.sleep(0.05)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
