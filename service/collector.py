"""The cyclic garbage collector, set once for a serving process.

A request makes a few thousand short-lived objects (ASGI scopes, pydantic models, SQLAlchemy
statements' parameters); with CPython's default thresholds (700, 10, 10) a collection of
the young generation ran every few requests and an older one every few dozen, each walking
objects that live as long as the process: the app, SQLAlchemy's metadata, the lemmatizer's
and WordNet's tables. Measured with bench/api.py on SQLite, the server's CPU per create or
forecast fell by 10 to 20 % with the settings below.

So, once the app has started: the long-lived tables are loaded (the first request would
load them anyway), everything alive is moved out of the collector's sight (gc.freeze: it is
still freed by reference counting, never scanned again), and the young generation is
collected every COLLECTOR_THRESHOLDS[0] allocations instead of 700. Garbage in reference
cycles then waits longer to be freed (until the next collection of its generation); what
reference counting frees, most of a request's garbage, is freed at once as before.
"""

from __future__ import annotations

import gc
import logging
import threading

log = logging.getLogger(__name__)

COLLECTOR_THRESHOLDS = (20_000, 20, 20)
_settled = False
_lock = threading.Lock()


def settle_collector() -> bool:
    """Load the long-lived tables, freeze what is alive and raise the thresholds, once per
    process (later calls do nothing); returns whether this call did it."""
    global _settled
    with _lock:
        if _settled:
            return False
        _settled = True
    from forecasts.derived_query import derive_query

    # The lemmatizer and the lexicon load on first use: loaded now, they are frozen too.
    derive_query("Will the central bank raise interest rates before the election?")
    gc.collect()
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
    log.debug("collector settled: %d objects frozen", gc.get_freeze_count())
    return True
