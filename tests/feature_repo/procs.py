"""Stopping the real servers the feature-store tests start (redis-server, the Feast feature server)."""

from __future__ import annotations

import subprocess


def stop(proc: subprocess.Popen, timeout: float) -> None:
    """SIGTERM, then SIGKILL when ``proc`` has not exited within ``timeout`` seconds; waits for it either way."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
