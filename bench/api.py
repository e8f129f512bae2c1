"""Throughput and latency of the questions API against a bare FastAPI endpoint.

Both servers run in their own process on loopback with the same SQLite settings (WAL) and
10,000 stored questions; the same client drives both, so the ratio is what our layers cost.

    .venv/bin/python bench/api.py [--questions 10000] [--requests 2000] [--clients 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from fastapi import FastAPI, Request

from forecasts.tables import forecasts_t, questions_t

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-admin-token"
BODY = {
    "title": "Will the benchmark finish before lunch?",
    "resolution_criteria": "It prints its table before 12:00 UTC.",
    "resolve_by": "2030-01-01",
    "opened_on": "2025-01-01",
    "tags": ["bench"],
    "news_query": "benchmark finish",
    "forecast": {"forecaster": "bench", "probability": 0.6},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the bare endpoint: FastAPI + sqlite3, nothing else ----------------------------------------


def serve_bare(port: int, path: str) -> None:
    import uvicorn

    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=10000")
    lock = threading.Lock()
    app = FastAPI()

    @app.post("/q", status_code=201)
    async def create(request: Request) -> dict:
        body = await request.json()
        with lock:
            conn.execute("BEGIN IMMEDIATE")
            cur = conn.execute(
                "INSERT INTO q (title, criteria, resolve_by, tags) VALUES (?, ?, ?, ?)",
                (
                    body["title"],
                    body["resolution_criteria"],
                    body["resolve_by"],
                    json.dumps(body["tags"]),
                ),
            )
            conn.execute(
                "INSERT INTO f (q_id, forecaster, p) VALUES (?, ?, ?)",
                (cur.lastrowid, "bench", body["forecast"]["probability"]),
            )
            conn.execute("COMMIT")
        return {"id": cur.lastrowid, **body}

    @app.get("/q")
    def page() -> dict:
        with lock:
            rows = conn.execute(
                "SELECT id, title, criteria, resolve_by, tags FROM q ORDER BY id DESC LIMIT 50"
            ).fetchall()
            total = conn.execute("SELECT COUNT(*) FROM q").fetchone()[0]
        return {
            "items": [
                dict(zip(("id", "title", "criteria", "resolve_by", "tags"), r, strict=True))
                for r in rows
            ],
            "total": total,
        }

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def prepare_bare(path: str, n: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE q (id INTEGER PRIMARY KEY, title TEXT, criteria TEXT, "
        "resolve_by TEXT, tags TEXT)"
    )
    conn.execute("CREATE TABLE f (id INTEGER PRIMARY KEY, q_id INTEGER, forecaster TEXT, p REAL)")
    conn.executemany(
        "INSERT INTO q (title, criteria, resolve_by, tags) VALUES (?, ?, ?, ?)",
        [(BODY["title"], BODY["resolution_criteria"], "2030-01-01", '["bench"]')] * n,
    )
    conn.executemany(
        "INSERT INTO f (q_id, forecaster, p) VALUES (?, 'bench', 0.6)", [(i + 1,) for i in range(n)]
    )
    conn.commit()
    conn.close()


# --- our service ------------------------------------------------------------------------------


def serve_app(port: int, url: str) -> None:
    import uvicorn

    from service.app import create_app
    from service.settings import Settings

    settings = Settings(database_url=url, admin_token=TOKEN, scheduler="off")
    uvicorn.run(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )


def prepare_app(url: str, n: int) -> None:
    from sqlalchemy import insert

    from forecasts.models import utcnow
    from service.db import Database

    db = Database(url)
    db.migrate()
    now = utcnow()
    from datetime import date

    rows = [
        dict(
            title=BODY["title"],
            resolution_criteria=BODY["resolution_criteria"],
            opened_on=date(2025, 1, 1),
            resolve_by=date(2030, 1, 1),
            tags=["bench"],
            tag_index="|bench|",
            news_query="benchmark finish",
            default_outcome="no",
            status="open",
            evidence_urls=[],
            created_at=now,
            updated_at=now,
        )
        for _ in range(n)
    ]
    with db.write() as conn:
        conn.execute(insert(questions_t), rows)
        conn.execute(
            insert(forecasts_t),
            [
                dict(
                    question_id=i + 1,
                    forecaster="bench",
                    probability=0.6,
                    made_on=date(2025, 1, 1),
                    created_at=now,
                )
                for i in range(n)
            ],
        )
    db.dispose()


# --- the load -------------------------------------------------------------------------------


async def drive(
    base: str, method: str, path: str, requests: int, clients: int, headers: dict[str, str]
) -> dict[str, float]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)
    failures = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal failures
            while not queue.empty():
                queue.get_nowait()
                started = time.perf_counter()
                if method == "POST":
                    response = await client.post(path, json=BODY, headers=headers)
                else:
                    response = await client.get(path)
                latencies.append(time.perf_counter() - started)
                if response.status_code >= 300:
                    failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": requests / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "failures": failures,
    }


def wait_ready(base: str, path: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + path, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server at {base} did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--serve-bare", nargs=2, metavar=("PORT", "PATH"))
    parser.add_argument("--serve-app", nargs=2, metavar=("PORT", "URL"))
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(int(args.serve_bare[0]), args.serve_bare[1])
        return
    if args.serve_app:
        serve_app(int(args.serve_app[0]), args.serve_app[1])
        return

    workdir = Path(tempfile.mkdtemp(prefix="forecasts-bench-"))
    bare_path = str(workdir / "bare.db")
    app_url = f"sqlite:///{workdir / 'app.db'}"
    prepare_bare(bare_path, args.questions)
    prepare_app(app_url, args.questions)
    bare_port, app_port = free_port(), free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--serve-bare", str(bare_port), bare_path], env=env
        ),
        subprocess.Popen(
            [sys.executable, __file__, "--serve-app", str(app_port), app_url], env=env
        ),
    ]
    try:
        bare, ours = f"http://127.0.0.1:{bare_port}", f"http://127.0.0.1:{app_port}"
        wait_ready(bare, "/q")
        wait_ready(ours, "/healthz")
        auth = {"Authorization": f"Bearer {TOKEN}"}
        results = {}
        for name, base, method, path in (
            ("bare GET", bare, "GET", "/q"),
            ("ours GET /api/questions?limit=50", ours, "GET", "/api/questions?limit=50"),
            ("bare POST", bare, "POST", "/q"),
            ("ours POST /api/questions", ours, "POST", "/api/questions"),
        ):
            # A short warm-up, then the measured run.
            asyncio.run(drive(base, method, path, 50, args.clients, auth))
            results[name] = asyncio.run(
                drive(base, method, path, args.requests, args.clients, auth)
            )
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)

    print(
        f"\n{args.questions:,} questions stored, {args.requests:,} requests, "
        f"{args.clients} concurrent clients, SQLite WAL, loopback\n"
    )
    print(f"{'endpoint':36} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'failed':>7}")
    for name, r in results.items():
        print(
            f"{name:36} {r['rps']:9.0f} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} "
            f"{int(r['failures']):7d}"
        )
    read_ratio = results["ours GET /api/questions?limit=50"]["rps"] / results["bare GET"]["rps"]
    write_ratio = results["ours POST /api/questions"]["rps"] / results["bare POST"]["rps"]
    print(
        f"\nratio to the bare endpoint: read {read_ratio:.2f}x, write {write_ratio:.2f}x "
        f"(aim >= 0.5x; write p99 aim <= 250 ms at 16 clients)"
    )
    print(
        f"reproduce: .venv/bin/python bench/api.py --questions {args.questions} "
        f"--requests {args.requests} --clients {args.clients}"
    )


if __name__ == "__main__":
    main()
