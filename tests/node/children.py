"""A child process killed mid-work, for the crash tests of the signer and the WAL."""

from __future__ import annotations

import os
import signal
import subprocess
import time


def kill_after_first_line(child: subprocess.Popen[str], delay: float) -> str:
    """Wait for `child`'s first line of output, let it work `delay` seconds more, SIGKILL it,
    and return the last complete line it printed (what it acknowledged before it died)."""
    try:
        first = child.stdout.readline()  # type: ignore[union-attr]
        assert first, "the child printed nothing"
        time.sleep(delay)
        os.kill(child.pid, signal.SIGKILL)
        lines = [first] + child.stdout.readlines()  # type: ignore[union-attr]
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=30)
        child.stdout.close()  # type: ignore[union-attr]
    assert child.returncode == -signal.SIGKILL
    return [line for line in lines if line.endswith("\n")][-1]
