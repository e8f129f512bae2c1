"""The server under a hostile world: killed with SIGKILL mid-write, and many concurrent
writers from two processes on one SQLite file. An acknowledged write is never lost."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN, ADMIN_SECRET
from tests.waiting import wait_until

pytestmark = pytest.mark.slow
FORECASTS = Path(sys.executable).parent / "forecasts"
BODY = {
    "title": "Will this write survive a crash?",
    "resolution_criteria": "It is there after the restart.",
    "resolve_by": "2030-01-01",
    "forecast": {"forecaster": "crash-test", "probability": 0.5},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(database_url: str, workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "FORECASTS_DATABASE_URL": database_url,
        "FORECASTS_SCHEDULER": "off",
        "FORECASTS_ADMIN_TOKEN": ADMIN_SECRET,
        "FORECASTS_PORT": str(port),
    }
    proc = subprocess.Popen(
        [str(FORECASTS), "serve"],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200

    try:
        wait_until(healthy, 60, "the server to answer /healthz", ignore=(httpx.HTTPError,))
    except AssertionError:
        proc.kill()
        raise
    return proc, base


@pytest.fixture
def servers() -> Iterator[list[subprocess.Popen]]:
    started: list[subprocess.Popen] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def hammer(
    base: str,
    clients: int,
    stop: threading.Event,
    acked: list[int],
    statuses: list[int],
    limit: int,
) -> list[threading.Thread]:
    """Writers that post until told to stop; ids of 201 answers go into `acked`."""

    def writer() -> None:
        with httpx.Client(base_url=base, timeout=10) as client:
            while not stop.is_set() and len(statuses) < limit:
                try:
                    response = client.post("/api/questions", json=BODY, headers=ADMIN)
                except httpx.HTTPError:
                    return  # the server died mid-request: that write was not acknowledged
                statuses.append(response.status_code)
                if response.status_code == 201:
                    acked.append(response.json()["id"])

    threads = [threading.Thread(target=writer) for _ in range(clients)]
    for thread in threads:
        thread.start()
    return threads


def test_sigkill_mid_write_loses_no_acknowledged_write(tmp_path: Path, servers: list) -> None:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    proc, base = start_server(url, tmp_path)
    servers.append(proc)
    acked: list[int] = []
    statuses: list[int] = []
    stop = threading.Event()
    threads = hammer(base, 8, stop, acked, statuses, limit=100_000)
    wait_until(lambda: len(acked) >= 150, 60, "150 acknowledged writes", interval=0.02)
    proc.send_signal(signal.SIGKILL)  # mid-write: writers are still posting
    proc.wait(timeout=10)
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    assert len(acked) >= 150, "writes were acknowledged before the kill"
    assert set(statuses) <= {201}, f"only successes before the kill, got {set(statuses)}"

    proc, base = start_server(url, tmp_path)
    servers.append(proc)
    stored = httpx.get(f"{base}/api/questions?limit=1", timeout=10).json()["total"]
    assert stored >= len(acked)
    missing = [
        qid
        for qid in acked
        if httpx.get(f"{base}/api/questions/{qid}", timeout=10).status_code != 200
    ]
    assert missing == [], f"acknowledged writes lost after SIGKILL: {missing[:10]}"
    # Each acknowledged question kept its forecast too: one transaction per change.
    sample = httpx.get(f"{base}/api/questions/{acked[-1]}", timeout=10).json()
    assert len(sample["forecasts"]) == 1


def test_two_processes_of_concurrent_writers_on_one_sqlite_file(
    tmp_path: Path, servers: list
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first, base_a = start_server(url, tmp_path)
    second, base_b = start_server(url, tmp_path)
    servers.extend([first, second])
    acked: list[int] = []
    statuses: list[int] = []
    stop = threading.Event()
    threads = hammer(base_a, 8, stop, acked, statuses, limit=300)
    threads += hammer(base_b, 8, stop, acked, statuses, limit=300)
    for thread in threads:
        thread.join(timeout=120)
    stop.set()
    assert statuses and set(statuses) == {201}, f"every write succeeds, got {set(statuses)}"
    total = httpx.get(f"{base_a}/api/questions?limit=1", timeout=10).json()["total"]
    assert total == len(acked) == len(set(acked))
