"""Free loopback ports, polling with a deadline, and background processes stopped as a group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
LOOPBACK = "127.0.0.1"


class ServiceError(RuntimeError):
    """A service did not come up (or went down) in time; the message points at its log file."""


def free_port() -> int:
    """A port that is free on loopback now (the OS picks it; a race with another process is unlikely)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def wait_until(probe: Callable[[], T | None], timeout: float, what: str, interval: float = 0.5,
               alive: Callable[[], None] | None = None) -> T:
    """Poll `probe` until it returns something truthy: no fixed sleeps, a clear error on timeout.

    `alive` is called between polls so that a crashed service fails at once instead of at the deadline.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if alive is not None:
            alive()
        if time.monotonic() > deadline:
            raise ServiceError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def http_get(url: str, timeout: float = 5.0) -> bytes | None:
    """The body of a 200 answer, or None while the server is not answering yet."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.read() if answer.status == 200 else None
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None


class BackgroundProcess:
    """A command in its own process group with its output in a log file; stop() ends the whole group."""

    def __init__(self, name: str, command: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None,
                 cwd: str | os.PathLike | None = None, user: str | None = None):
        self.name = name
        self.log_path = Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(list(command), stdout=self._log, stderr=subprocess.STDOUT,
                                        env=dict(env) if env is not None else None, cwd=cwd,
                                        start_new_session=True, user=user)

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            raise ServiceError(f"{self.name} exited with status {code}; see {self.log_path}\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM to the group (children included), then SIGKILL after `timeout`."""
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait(10)
        self._signal_group(signal.SIGKILL)      # stragglers the leader left behind in its group
        self._log.close()

    def _signal_group(self, sig: signal.Signals) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
