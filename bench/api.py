"""Throughput and latency of the write and read paths, each beside a lean floor in the same run.

The floor is the leanest honest way to do the same work: an async FastAPI endpoint on ONE
shared database connection, pydantic validation of the same body, a bearer-token check and
`json.dumps` into the response; every write is its own transaction (BEGIN, the inserts,
COMMIT), and every read runs its queries (the page of 50 newest questions, their forecasts
and the count) afresh.
- SQLite floor: one sqlite3 connection with WAL, synchronous=NORMAL and a 64 MiB page cache
  (PRAGMA cache_size=-65536), used straight on the event loop.
- PostgreSQL floor: one shared psycopg AsyncConnection (statements prepared by psycopg after
  a few runs), one transaction at a time under an asyncio.Lock.
Ours is the whole service as `forecasts serve` runs it (service.serving.uvicorn_config):
auth, audit rows, the revision counter, identities, the page cache. Each server runs in a
process of its own on loopback; one lean client (asyncio streams and h11, 16 connections by
default, each one request at a time) drives them all, so its cost is the same for both.

Measured: POST /api/questions, POST /api/questions/{id}/forecasts, GET /api/questions?limit=50
(req/s, p50, p99, ratio to the floor), on SQLite and PostgreSQL (a scratch database on
127.0.0.1:5432, created and dropped here). Then the API during a poll cycle: our app with
open questions and 24 loopback RSS feeds of 300 new items each (served by a process of the
bench), half the clients reading the page and half creating questions, idle and while a
forced `POST /api/poll` runs; it prints both p99s and their ratio (aim <= 2x).

    .venv/bin/python bench/api.py [--backend sqlite|postgresql|both] [--questions 10000]
        [--requests 3000] [--clients 16] [--rounds 4] [--feeds 24] [--items 300] [--no-cycle]
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import psycopg
from fastapi import FastAPI, Query, Request, Response
from pydantic import BaseModel, Field

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    # Run as a script: the bench package sits beside the installed ones.
    sys.path.insert(0, str(ROOT))

from bench.api_load import (  # noqa: E402  # noqa: E402
    TOKEN,
    Req,
    cpu_seconds,
    free_port,
    load,
    send_one,
    serve_feeds,
    summary,
)

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BODY = {
    "title": "Will the benchmark finish before lunch?",
    "resolution_criteria": "It prints its table before 12:00 UTC.",
    "resolve_by": "2030-01-01",
    "opened_on": "2025-01-01",
    "tags": ["bench"],
    "news_query": "benchmark finish",
    "forecast": {"forecaster": "bench", "probability": 0.6},
}
FORECAST = {"forecaster": "bench", "probability": 0.7, "made_on": "2025-06-01"}


# --- the floors -----------------------------------------------------------------------------


class FloorForecast(BaseModel):
    forecaster: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    probability: Annotated[float, Field(ge=0, le=1)]
    made_on: date | None = None


class FloorQuestion(BaseModel):
    title: Annotated[str, Field(min_length=10, max_length=300)]
    resolution_criteria: Annotated[str, Field(min_length=1)]
    resolve_by: date
    opened_on: date | None = None
    tags: list[str] = []
    news_query: str | None = None
    forecast: FloorForecast | None = None


FLOOR_SCHEMA = (
    "CREATE TABLE bench_q (id {pk}, title TEXT, criteria TEXT, opened_on DATE, resolve_by DATE,"
    " tags TEXT, news_query TEXT, status TEXT, created_at TEXT)",
    "CREATE TABLE bench_f (id {pk}, q_id INTEGER REFERENCES bench_q(id), forecaster TEXT,"
    " p REAL, made_on DATE, created_at TEXT)",
    "CREATE INDEX bench_f_q ON bench_f (q_id)",
)
INSERT_Q = (
    "INSERT INTO bench_q (title, criteria, opened_on, resolve_by, tags, news_query, status,"
    " created_at) VALUES (%s, %s, %s, %s, %s, %s, 'open', %s) RETURNING id"
)
INSERT_F = (
    "INSERT INTO bench_f (q_id, forecaster, p, made_on, created_at) VALUES (%s, %s, %s, %s, %s)"
    " RETURNING id"
)
PAGE = "SELECT id, title, criteria, opened_on, resolve_by, tags, news_query, status FROM bench_q"
PAGE += " ORDER BY id DESC LIMIT %s"
COLUMNS = ("id", "title", "criteria", "opened_on", "resolve_by", "tags", "news_query", "status")


def _authorised(request: Request) -> bool:
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(secret.encode(), TOKEN.encode())


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, default=str), status, media_type="application/json")


def _question_rows(spec: FloorQuestion) -> tuple[tuple[Any, ...], str]:
    now = datetime.now(UTC).isoformat()
    opened = spec.opened_on or datetime.now(UTC).date()
    return (
        spec.title,
        spec.resolution_criteria,
        opened,
        spec.resolve_by,
        json.dumps(spec.tags),
        spec.news_query,
        now,
    ), now


def floor_app(execute: Callable[..., Any]) -> FastAPI:
    """The floor's three endpoints over `execute(fn)`, which runs fn(run) in one transaction
    (run(sql, params) -> rows) on the backend's one connection."""
    app = FastAPI()

    @app.post("/q")
    async def create(request: Request) -> Response:
        if not _authorised(request):
            return _json({"detail": "invalid token"}, 401)
        spec = FloorQuestion.model_validate_json(await request.body())
        values, now = _question_rows(spec)

        async def work(run: Callable[..., Any]) -> dict[str, Any]:
            qid = (await run(INSERT_Q, values))[0][0]
            made = []
            if spec.forecast is not None:
                f = spec.forecast
                fid = await run(INSERT_F, (qid, f.forecaster, f.probability, values[2], now))
                made.append({"id": fid[0][0], "probability": f.probability})
            return {"id": qid, **spec.model_dump(mode="json"), "forecasts": made}

        return _json(await execute(work), 201)

    @app.post("/q/{qid}/f")
    async def forecast(qid: int, request: Request) -> Response:
        if not _authorised(request):
            return _json({"detail": "invalid token"}, 401)
        spec = FloorForecast.model_validate_json(await request.body())
        now = datetime.now(UTC).isoformat()

        async def work(run: Callable[..., Any]) -> dict[str, Any] | None:
            if not await run("SELECT status FROM bench_q WHERE id = %s", (qid,)):
                return None
            made = spec.made_on or datetime.now(UTC).date()
            fid = (await run(INSERT_F, (qid, spec.forecaster, spec.probability, made, now)))[0][0]
            return {"id": fid, "question_id": qid, **spec.model_dump(mode="json")}

        made = await execute(work)
        return _json(made, 201) if made else _json({"detail": "not found"}, 404)

    @app.get("/q")
    async def page(limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> Response:
        async def work(run: Callable[..., Any]) -> dict[str, Any]:
            rows = await run(PAGE, (limit,))
            ids = [r[0] for r in rows]
            marks = ", ".join(["%s"] * len(ids))
            by_q: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
            if ids:
                sql = (
                    f"SELECT id, q_id, forecaster, p, made_on FROM bench_f WHERE q_id IN ({marks})"
                )
                for f in await run(sql, tuple(ids)):
                    by_q[f[1]].append({"id": f[0], "forecaster": f[2], "p": f[3], "made_on": f[4]})
            total = (await run("SELECT COUNT(*) FROM bench_q", ()))[0][0]
            items = [{**dict(zip(COLUMNS, r, strict=True)), "forecasts": by_q[r[0]]} for r in rows]
            return {"items": items, "total": total}

        return _json(await execute(work))

    return app


def sqlite_floor(path: str) -> FastAPI:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA cache_size=-65536")

    async def run(sql: str, params: tuple[Any, ...]) -> list[Any]:
        return conn.execute(sql.replace("%s", "?"), params).fetchall()

    async def execute(work: Callable[..., Any]) -> Any:
        # Straight on the event loop: nothing awaits between BEGIN and COMMIT, so one
        # transaction runs at a time without a lock.
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = await work(run)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    return floor_app(execute)


def pg_floor(dsn: str) -> FastAPI:
    state: dict[str, Any] = {}
    lock = asyncio.Lock()

    async def execute(work: Callable[..., Any]) -> Any:
        if "conn" not in state:
            state["conn"] = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
        conn = state["conn"]

        async def run(sql: str, params: tuple[Any, ...]) -> list[Any]:
            cur = await conn.execute(sql, params)
            return await cur.fetchall() if cur.description else []

        async with lock, conn.transaction():
            return await work(run)

    return floor_app(execute)


def prepare_floor(backend: str, target: str, n: int) -> None:
    now = datetime.now(UTC).isoformat()
    q = (BODY["title"], BODY["resolution_criteria"], "2025-01-01", "2030-01-01", '["bench"]')
    q_rows = [(*q, "benchmark finish", "open", now)] * n
    f_rows = [(i + 1, "bench", 0.6, "2025-01-01", now) for i in range(n)]
    insert_q, insert_f = INSERT_Q.split(" RETURNING")[0], INSERT_F.split(" RETURNING")[0]
    insert_q = insert_q.replace("'open', ", "%s, ")
    if backend == "sqlite":
        conn = sqlite3.connect(target)
        conn.execute("PRAGMA journal_mode=WAL")
        for ddl in FLOOR_SCHEMA:
            conn.execute(ddl.format(pk="INTEGER PRIMARY KEY"))
        conn.executemany(insert_q.replace("%s", "?"), q_rows)
        conn.executemany(insert_f.replace("%s", "?"), f_rows)
        conn.commit()
        conn.close()
        return
    with psycopg.connect(target) as pg:
        for ddl in FLOOR_SCHEMA:
            pg.execute(ddl.format(pk="SERIAL PRIMARY KEY"))
        with pg.cursor() as cur:
            cur.executemany(insert_q, q_rows)
            cur.executemany(insert_f, f_rows)


# --- our service ------------------------------------------------------------------------------


def serve_ours(port: int, url: str) -> None:
    import uvicorn

    from service.app import create_app
    from service.serving import uvicorn_config
    from service.settings import Settings

    settings = Settings(
        database_url=url, admin_token=TOKEN, scheduler="off", allow_private_sources=True
    )
    config = uvicorn_config(
        create_app(settings), settings, host="127.0.0.1", port=port, log_level="warning"
    )
    config.access_log = False
    uvicorn.Server(config).run()


def prepare_ours(url: str, n: int) -> None:
    from sqlalchemy import insert

    from forecasts.models import utcnow
    from forecasts.tables import forecasts_t, questions_t
    from service.db import Database

    db = Database(url)
    db.migrate()
    now = utcnow()
    common = dict(
        resolution_criteria=BODY["resolution_criteria"],
        opened_on=date(2025, 1, 1),
        resolve_by=date(2030, 1, 1),
        tags=["bench"],
        tag_index="|bench|",
        default_outcome="no",
        status="open",
        evidence_urls=[],
        created_by="admin",
        created_at=now,
        updated_at=now,
    )
    # Distinct titles and queries, so the cycle's matching has real candidates to judge.
    topics = ("election", "ceasefire", "merger", "strike", "launch", "summit", "default")
    rows = []
    for i in range(n):
        topic = topics[i % len(topics)]
        rows.append(
            dict(
                common,
                title=f"Will the {topic} in region {i} happen by 2030?",
                news_query=f'"region {i}" {topic}',
            )
        )
    with db.write() as conn:
        conn.execute(insert(questions_t), rows)
        conn.execute(
            insert(forecasts_t),
            [
                dict(
                    question_id=i + 1,
                    forecaster="bench",
                    forecaster_key="bench",
                    probability=0.6,
                    made_on=date(2025, 1, 1),
                    created_by="admin",
                    created_at=now,
                )
                for i in range(n)
            ],
        )
    db.dispose()


def start(*args: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", args[0], str(port), *args[1:]], env=env
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{args[0]} did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=20)


# --- the runs -------------------------------------------------------------------------------------


def paths(n: int, floor: bool) -> dict[str, Callable[[int], Req]]:
    question, forecast = json.dumps(BODY).encode(), json.dumps(FORECAST).encode()
    return {
        "POST /api/questions": lambda i: ("POST", "/q" if floor else "/api/questions", question),
        "POST /api/questions/{id}/forecasts": lambda i: (
            "POST",
            f"/q/{i % n + 1}/f" if floor else f"/api/questions/{i % n + 1}/forecasts",
            forecast,
        ),
        "GET /api/questions?limit=50": lambda i: (
            "GET",
            "/q?limit=50" if floor else "/api/questions?limit=50",
            b"",
        ),
    }


def throughput(backend: str, floor_target: str, ours_url: str, args: argparse.Namespace) -> None:
    floor_proc, floor_port = start(f"floor-{backend}", floor_target)
    ours_proc, ours_port = start("ours", ours_url)
    results: list[tuple[str, dict[str, float], dict[str, float]]] = []
    try:
        floor_paths, ours_paths = paths(args.questions, True), paths(args.questions, False)
        for name in floor_paths:
            sides = ((floor_port, floor_paths[name]), (ours_port, ours_paths[name]))
            for port, make in sides:
                asyncio.run(load(port, make, args.clients, requests=200))  # warm-up
            # Floor and ours take turns in short rounds, so a neighbour's burst on this shared
            # machine falls on both alike rather than on one of them.
            runs: list[list[Any]] = [[], []]
            cpu = [0.0, 0.0]
            for _ in range(args.rounds):
                for side, (port, make) in enumerate(sides):
                    pid = (floor_proc, ours_proc)[side].pid
                    before = cpu_seconds(pid)
                    r = asyncio.run(
                        load(port, make, args.clients, requests=args.requests // args.rounds)
                    )
                    cpu[side] += cpu_seconds(pid) - before
                    runs[side].append(r["raw"])
            floor, ours = summary(runs[0]), summary(runs[1])
            floor["cpu"], ours["cpu"] = (c * 1000 / floor["n"] for c in cpu)
            results.append((name, floor, ours))
    finally:
        stop(floor_proc)
        stop(ours_proc)
    print(
        f"\n{backend}: {args.questions:,} questions stored, {args.requests:,} requests each, "
        f"{args.clients} clients, loopback"
    )
    print(
        f"{'endpoint':36} {'':5} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'fail':>5}"
        f" {'cpu ms/req':>10} ratio"
    )
    for name, floor, ours in results:
        for label, r in (("floor", floor), ("ours", ours)):
            ratio = f"{ours['rps'] / floor['rps']:.2f}x" if label == "ours" else ""
            print(
                f"{name if label == 'floor' else '':36} {label:5} {r['rps']:7.0f} {r['p50']:7.1f}"
                f" {r['p99']:7.1f} {int(r['failures']):5d} {r['cpu']:10.2f} {ratio}"
            )
    print(
        "aim: ours >= 0.5x the floor for each; write p99 <= 250 ms. cpu ms/req: the server "
        "process's CPU time per request (a database server's own not counted), steadier than "
        "req/s on a busy machine"
    )


def cycle(backend: str, ours_url: str, args: argparse.Namespace) -> None:
    feeds_proc, feeds_port = start("feeds", str(args.items))
    ours_proc, ours_port = start("ours", ours_url)
    try:
        mixed = paths(args.questions, False)
        read, write = mixed["GET /api/questions?limit=50"], mixed["POST /api/questions"]

        async def run(poll: bool) -> dict[str, dict[str, float]]:
            done = asyncio.Event()
            half = max(1, args.clients // 2)
            if not poll:
                asyncio.get_running_loop().call_later(args.idle_seconds, done.set)
            tasks = [
                asyncio.create_task(load(ours_port, make, half, until=done))
                for make in (read, write)
            ]
            took = 0.0
            if poll:
                started = time.perf_counter()
                status = await send_one(ours_port, "POST", "/api/poll", {"force": True})
                took = time.perf_counter() - started
                done.set()
                if status != 200:
                    raise SystemExit(f"POST /api/poll answered {status}")
            reads, writes = await asyncio.gather(*tasks)
            return {"read": reads, "write": writes, "took": {"s": took}}

        async def add_sources() -> None:
            for k in range(args.feeds):
                url = f"http://127.0.0.1:{feeds_port}/feed/{k}.xml"
                body = {"name": f"bench feed {k}", "kind": "rss", "url": url}
                status = await send_one(ours_port, "POST", "/api/sources", body)
                if status != 201:
                    raise SystemExit(f"POST /api/sources answered {status}")

        asyncio.run(add_sources())
        asyncio.run(load(ours_port, read, 4, requests=100))  # warm-up
        idle = asyncio.run(run(poll=False))
        busy = asyncio.run(run(poll=True))
    finally:
        stop(ours_proc)
        stop(feeds_proc)
    print(
        f"\n{backend}: API during a forced poll of {args.feeds} feeds x {args.items} new items, "
        f"{args.questions:,} open questions, {args.clients} clients (half reading, half "
        f"writing); the poll took {busy['took']['s']:.1f} s"
    )
    print(
        f"{'endpoint':30} {'idle p99':>9} {'cycle p99':>10} {'ratio':>6} {'n idle':>7} "
        f"{'n cycle':>8}"
    )
    for kind, name in (("read", "GET /api/questions?limit=50"), ("write", "POST /api/questions")):
        i, b = idle[kind], busy[kind]
        print(
            f"{name:30} {i['p99']:9.1f} {b['p99']:10.1f} {b['p99'] / i['p99']:5.2f}x "
            f"{int(i['n']):7d} {int(b['n']):8d}"
        )
    print("aim: p99 during the cycle <= 2x idle")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=3_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--feeds", type=int, default=24)
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--cycle-questions", type=int, default=300)
    parser.add_argument("--idle-seconds", type=float, default=5.0)
    parser.add_argument("--no-cycle", action="store_true")
    parser.add_argument("--cycle-only", action="store_true", help="only the API during a poll")
    parser.add_argument("--serve", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        kind, port, *rest = args.serve
        if kind == "feeds":
            serve_feeds(int(port), int(rest[0]))
            return
        if kind == "ours":
            serve_ours(int(port), rest[0])
            return
        import uvicorn

        app = sqlite_floor(rest[0]) if kind == "floor-sqlite" else pg_floor(rest[0])
        uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning", access_log=False)
        return

    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    for backend in backends:
        with scratch(backend) as (floor_target, ours_url, cycle_url):
            if not args.cycle_only:
                prepare_floor(backend, floor_target, args.questions)
                prepare_ours(ours_url, args.questions)
                throughput(backend, floor_target, ours_url, args)
            if not args.no_cycle:
                prepare_ours(cycle_url, args.cycle_questions)
                cycle_args = argparse.Namespace(**{**vars(args), "questions": args.cycle_questions})
                cycle(backend, cycle_url, cycle_args)
    print(
        f"\nreproduce: .venv/bin/python bench/api.py --backend {args.backend} "
        f"--questions {args.questions} --requests {args.requests} --clients {args.clients} "
        f"--rounds {args.rounds} "
        f"--feeds {args.feeds} --items {args.items} --cycle-questions {args.cycle_questions}"
        + (" --no-cycle" if args.no_cycle else "")
        + (" --cycle-only" if args.cycle_only else "")
    )


class scratch:  # noqa: N801 - used as a context manager
    """Where one backend's run keeps its data: files in a temporary folder, or scratch
    PostgreSQL databases on 127.0.0.1:5432 (created here, dropped after)."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.names: list[str] = []

    def __enter__(self) -> tuple[str, str, str]:
        if self.backend == "sqlite":
            folder = Path(tempfile.mkdtemp(prefix="forecasts-bench-"))
            return (
                str(folder / "floor.db"),
                f"sqlite:///{folder / 'ours.db'}",
                f"sqlite:///{folder / 'cycle.db'}",
            )
        tag = uuid.uuid4().hex[:8]
        self.names = [f"bench_{kind}_{tag}" for kind in ("floor", "ours", "cycle")]
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            for name in self.names:
                conn.execute(f'CREATE DATABASE "{name}"')
        base = "postgres@127.0.0.1:5432/"
        return (
            f"postgresql://{base}{self.names[0]}",
            f"postgresql+psycopg://{base}{self.names[1]}",
            f"postgresql+psycopg://{base}{self.names[2]}",
        )

    def __exit__(self, *exc: object) -> None:
        if self.names:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                for name in self.names:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
