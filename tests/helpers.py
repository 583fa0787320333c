"""Small helpers for tests."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable


def wait_for(
    predicate: Callable[[], object], timeout: float = 30, interval: float = 0.1, message: str = "condition"
) -> object:
    """Poll until predicate() is truthy; fail the test with `message` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def max_in_window(times: list[float], window: float) -> int:
    """The most events that fall within any `window` seconds (for rate-limit assertions)."""
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
