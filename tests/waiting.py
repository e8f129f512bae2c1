"""Waiting on a condition with a bound, for tests that watch another process or thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
_never = threading.Event()


def wait_until(
    condition: Callable[[], T],
    timeout: float,
    what: str,
    interval: float = 0.1,
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """Re-check `condition` until it is truthy (returned) or `timeout` passes (AssertionError)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = condition()
            if last:
                return last  # type: ignore[return-value]
        except ignore as exc:
            last = exc
        _never.wait(interval)  # an Event nobody sets: a bounded pause between checks
    raise AssertionError(f"gave up waiting for {what} after {timeout} s; last saw {last!r}")
