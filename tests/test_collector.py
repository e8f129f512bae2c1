"""A serving process sets the cyclic collector once at startup (service/collector.py): what
is alive then is frozen out of later collections and the young generation is collected less
often; garbage in reference cycles is still freed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Run in a fresh interpreter: the settling happens once per process.
PROGRAM = """
import gc, json, sys, weakref
from fastapi.testclient import TestClient
from service.app import create_app
from service.collector import COLLECTOR_THRESHOLDS, settle_collector
from service.settings import Settings

before = gc.get_threshold()
app = create_app(Settings(database_url="sqlite:///" + sys.argv[1], scheduler="off"))
with TestClient(app) as client:
    health = client.get("/healthz").status_code

class Node:
    pass

a, b = Node(), Node()
a.other, b.other = b, a
gone = weakref.ref(a)
del a, b
gc.collect()
print(json.dumps({
    "before": before,
    "after": gc.get_threshold(),
    "wanted": COLLECTOR_THRESHOLDS,
    "frozen": gc.get_freeze_count(),
    "again": settle_collector(),
    "health": health,
    "cycle_freed": gone() is None,
}))
"""


def test_a_serving_process_settles_the_collector_once(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(tmp_path / "app.db")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["health"] == 200
    assert seen["after"] == seen["wanted"] != seen["before"]  # changed from the default
    assert seen["frozen"] > 0
    assert seen["again"] is False  # a second app in the same process changes nothing
    assert seen["cycle_freed"]  # reference cycles made after startup are still collected
