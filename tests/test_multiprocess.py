"""Many processes on one PostgreSQL database, started from deploy/Procfile as a deployment
runs them: two `web` processes (one of them `--workers 2`, so three API processes in all,
each with the scheduler on) and one `worker`, on the machine's PostgreSQL (a scratch
database, dropped after) and RabbitMQ (a queue of this run's own).

What a user would notice: a write through one process is read through another, and a feed
is fetched once per poll interval, not once per process.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import create_engine, make_url, text

from service.worker import READY_LINE
from tests import waiting
from tests.conftest import ADMIN, ADMIN_SECRET, PG_ADMIN_URL, require_postgresql
from tests.test_queue import AMQP_URL, queue_name, rss  # noqa: F401 (queue_name: a fixture)

PROCFILE = Path(__file__).parent.parent / "deploy" / "Procfile"
BIN = str(Path(sys.executable).parent)
FEED_ITEMS = 4
# FORECASTS_QUEUE_DISPATCH_SECONDS: the elected scheduler hands due sources out this often.
DISPATCH_SECONDS = 1

pytestmark = pytest.mark.slow


def procfile() -> dict[str, str]:
    """The process types of deploy/Procfile and their commands."""
    entries = {}
    for line in PROCFILE.read_text(encoding="utf-8").splitlines():
        found = re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line)
        if found:
            entries[found.group(1)] = found.group(2)
    return entries


@pytest.fixture
def scratch_pg() -> Iterator[str]:
    """A new, empty PostgreSQL database (the processes migrate it), dropped after."""
    require_postgresql()
    base = make_url(PG_ADMIN_URL)
    name = f"forecasts_mp_{uuid.uuid4().hex[:10]}"
    params: dict[str, Any] = dict(
        host=base.host, port=base.port or 5432, user=base.username, autocommit=True
    )
    with psycopg.connect(dbname=base.database, **params) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield base.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(dbname=base.database, **params) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Processes:
    """The Procfile's processes, each started through a shell as honcho or foreman would."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.started: list[tuple[str, subprocess.Popen[str], list[str]]] = []

    def start(self, kind: str, **env: str) -> list[str]:
        command = procfile()[kind]
        process = subprocess.Popen(
            ["bash", "-c", f"exec {command}"],
            env={**self.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        lines: list[str] = []

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                lines.append(line)

        threading.Thread(target=read, daemon=True).start()
        self.started.append((kind, process, lines))
        return lines

    def check_alive(self) -> None:
        for kind, process, lines in self.started:
            assert process.poll() is None, f"{kind} exited:\n{''.join(lines[-40:])}"

    def stop(self) -> None:
        for _kind, process, _lines in self.started:
            if process.poll() is None:
                process.terminate()
        for _kind, process, _lines in self.started:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def deployment(
    request: pytest.FixtureRequest, scratch_pg: str, httpserver: HTTPServer, tmp_path: Path
) -> Iterator[tuple[Processes, list[str]]]:
    queue = request.getfixturevalue("queue_name")
    if shutil.which("bash") is None:
        pytest.skip("bash is needed to run the Procfile's commands")
    httpserver.expect_request("/wire.xml").respond_with_data(
        rss(1), content_type="application/rss+xml"
    )
    sources_file = tmp_path / "sources.toml"
    sources_file.write_text(
        "[[sources]]\n"
        'name = "loopback wire"\nkind = "rss"\n'
        f'url = "{httpserver.url_for("/wire.xml")}"\npoll_every_minutes = 1\n',
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "FORECASTS_DATABASE_URL": scratch_pg,
        "FORECASTS_ADMIN_TOKEN": ADMIN_SECRET,
        "FORECASTS_SCHEDULER": "on",
        "FORECASTS_SOURCES_FILE": str(sources_file),
        "FORECASTS_ALLOW_PRIVATE_SOURCES": "true",
        "FORECASTS_QUEUE_URL": AMQP_URL,
        "FORECASTS_QUEUE_NAME": queue,
        "FORECASTS_QUEUE_DISPATCH_SECONDS": str(DISPATCH_SECONDS),
    }
    processes = Processes(env)
    bases = []
    try:
        for workers in ("2", "1"):
            port = free_port()
            processes.start("web", PORT=str(port), FORECASTS_SERVE_WORKERS=workers)
            bases.append(f"http://127.0.0.1:{port}")
        worker_lines = processes.start("worker")
        for base in bases:
            waiting.wait_until(lambda base=base: healthy(base, processes), 90, f"{base} to serve")
        waiting.wait_until(
            lambda: any(READY_LINE in line for line in worker_lines), 60, "the worker to start"
        )
        yield processes, bases
    finally:
        processes.stop()


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def healthy(base: str, processes: Processes) -> bool:
    processes.check_alive()
    try:
        return httpx.get(f"{base}/healthz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def test_several_processes_share_one_database_and_poll_once_per_interval(
    deployment: tuple[Processes, list[str]], httpserver: HTTPServer, scratch_pg: str
) -> None:
    processes, (first, second) = deployment
    created = httpx.post(
        f"{first}/api/questions",
        json={
            "title": "Will the port reopen before the end of the year?",
            "resolution_criteria": "YES if the port authority reports it open to traffic.",
            "resolve_by": "2030-12-31",
        },
        headers=ADMIN,
        timeout=30,
    )
    assert created.status_code == 201, created.text
    read_back = httpx.get(f"{second}/api/questions/{created.json()['id']}", timeout=30)
    assert read_back.status_code == 200
    assert read_back.json()["title"] == "Will the port reopen before the end of the year?"

    engine = create_engine(scratch_pg)
    try:

        def fetches() -> int:
            return sum(1 for request, _ in httpserver.log if request.path == "/wire.xml")

        def source() -> Any:
            [row] = httpx.get(f"{second}/api/sources", timeout=30).json()["items"]
            return row

        def dispatch_ticks() -> float:
            # The elected scheduler's dispatch job: its next run moves on at every tick.
            with engine.connect() as conn:
                return float(
                    conn.execute(
                        text("SELECT next_run_time FROM apscheduler_jobs WHERE id = 'dispatch'")
                    ).scalar_one_or_none()
                    or 0.0
                )

        def ticks_pass(count: int) -> None:
            start = dispatch_ticks()
            waiting.wait_until(
                lambda: dispatch_ticks() >= start + count * DISPATCH_SECONDS,
                60,
                f"{count} dispatch ticks",
            )

        # The source was never polled, so it is due at once: fetched once, by the worker.
        waiting.wait_until(lambda: source()["items_seen"] == FEED_ITEMS, 90, "the first poll")
        first_poll = source()["last_polled_at"]
        # Three schedulers were started; ticks go by, and no one fetches it again this minute.
        ticks_pass(3)
        processes.check_alive()
        assert fetches() == 1
        assert source()["last_polled_at"] == first_poll

        # A minute passes for the source (its last poll moved back by its interval, rather
        # than this test waiting for one): it is fetched once more, not once per process.
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE sources SET last_polled_at = last_polled_at - :interval"),
                {"interval": timedelta(minutes=1)},
            )
        waiting.wait_until(lambda: fetches() >= 2, 60, "the second poll")
        ticks_pass(3)
        assert fetches() == 2
        assert source()["items_seen"] == FEED_ITEMS  # the same items, stored once
    finally:
        engine.dispose()
