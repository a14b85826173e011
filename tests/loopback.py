"""Servers the tests start on loopback (moto, Azurite): a free port, and waiting for one to
answer."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def free_port() -> int:
    """A port nothing listens on now (also what a test uses as a closed endpoint)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(proc: subprocess.Popen[bytes], probe: Callable[[], object], name: str,
                  log: Path, stop: Callable[[], None], seconds: float = 60) -> None:
    """Return once `probe()` stops raising OSError; raise (after `stop()`) when `proc` exits
    or `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited at start; see {log}")
        try:
            probe()
            return
        except OSError:
            time.sleep(0.1)
    stop()
    raise RuntimeError(f"{name} did not answer within {seconds:.0f} s; see {log}")
