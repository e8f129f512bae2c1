"""Background work in a serving process gives way to the requests it serves.

A poll cycle run by `forecasts serve` (the scheduler's jobs, or POST /api/poll) does its
matching and recording in Python on a thread of the process that answers the API, so each
of its CPU-bound steps takes the interpreter from the request handlers. While any request
is in flight, the cycle therefore sleeps after each step for `poll_yield_factor` times as
long as the step took: the requests get most of the interpreter and the cycle the rest.
With no request in flight (or in a CLI command or a queue worker, which serve none) it runs
at full speed. Measured with bench/api.py (the API during a forced poll).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_in_flight = 0


@contextmanager
def serving_request() -> Iterator[None]:
    """Mark one request in flight for as long as the block runs (service.limits)."""
    global _in_flight
    with _lock:
        _in_flight += 1
    try:
        yield
    finally:
        with _lock:
            _in_flight -= 1


@contextmanager
def background_request() -> Iterator[None]:
    """For a request that is itself the background work (POST /api/poll, which waits for a
    whole cycle): it does not count as one the cycle gives way to."""
    global _in_flight
    with _lock:
        _in_flight -= 1
    try:
        yield
    finally:
        with _lock:
            _in_flight += 1


def requests_in_flight() -> int:
    return _in_flight


def pacer(yield_factor: float) -> Callable[[float], None]:
    """The cycle's pace (resolvers.items.PollConfig.pace): after a step of `seconds`,
    sleep `yield_factor` times as long if a request is in flight; a factor of 0 never
    sleeps."""

    def pace(seconds: float) -> None:
        if yield_factor > 0 and seconds > 0 and _in_flight > 0:
            time.sleep(min(seconds * yield_factor, MAX_PAUSE_SECONDS))

    return pace


# One pause never exceeds this, so a long step cannot stall the cycle for long.
MAX_PAUSE_SECONDS = 0.5
