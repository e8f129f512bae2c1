"""Benchmark: `forecasts import` of a large export (JSON and CSV) into SQLite and PostgreSQL,
each beside a floor measured in the same run.

Builds an export in the `forecasts export` formats in a temporary folder (Q questions with F
forecasts each from a pool of 500 forecasters, a third of the questions resolved, and the
audit log a real export holds: a row per question made, per forecast and per resolution),
then times the real command line (`forecasts import FILE`, in a subprocess so its peak memory
is its own) into a fresh, migrated SQLite file and a fresh PostgreSQL database.

The floor is the leanest honest way to load the same file into the same tables (same indexes,
triggers, foreign keys and CHECK constraints at the end): the standard library's json.load (or
csv.reader) of the whole file, then plain sqlite3 executemany (PostgreSQL: psycopg COPY, in
text: the values are the file's text) of tuples, no checks of ours and no score totals.
Like the import, it loads the empty tables without their secondary indexes (PostgreSQL: and
foreign keys) and builds them again (adds them back) before the same transaction commits,
since that is the cheaper way to the same end state; unlike the import it keeps SQLite's
CHECK-emulating triggers, because it checks nothing itself.

    .venv/bin/python bench/import.py [--questions 10000] [--forecasts 100] [--formats json,csv]
        [--databases sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # Run as a script from a checkout: the project's packages sit next to bench/.
    sys.path.insert(0, str(ROOT))

from service.db import Database  # noqa: E402
from service.transfer import CSV_COLUMNS, FORMAT, csv_row  # noqa: E402

PG_ADMIN = os.environ.get(
    "FORECASTS_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
FORECASTERS = [f"Forecaster {n:03d}" for n in range(500)]
START = date(2018, 1, 1)
CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def _question(n: int, per_question: int, rng: random.Random) -> dict[str, Any]:
    """Question n (1-based) as the export writes it, with its forecasts."""
    opened = START + timedelta(days=n % 700)
    resolve_by = opened + timedelta(days=365)
    resolved = n % 3 == 0
    created = (CREATED + timedelta(seconds=n)).isoformat()
    forecasts = []
    for k in range(per_question):
        fid = (n - 1) * per_question + k + 1
        forecasts.append(
            {
                "id": fid,
                "forecaster": FORECASTERS[rng.randrange(len(FORECASTERS))],
                "probability": round(rng.random(), 6),
                "estimate": None,
                "made_on": (opened + timedelta(days=k % 300)).isoformat(),
                "rationale": None,
                "created_by": "bench",
                "created_at": (CREATED + timedelta(seconds=n, microseconds=k + 1)).isoformat(),
            }
        )
    return {
        "id": n,
        "seed_key": None,
        "title": f"Will event {n} happen before {resolve_by.isoformat()}?",
        "resolution_criteria": f"YES if event {n} is reported by two outlets before resolve_by.",
        "opened_on": opened.isoformat(),
        "resolve_by": resolve_by.isoformat(),
        "tags": ["bench", f"group-{n % 20}"],
        "news_query": f"event {n}",
        "news_query_derived": False,
        "match_pending": False,
        "default_outcome": "no",
        "source_title": None,
        "source_url": None,
        "source_publisher": None,
        "source_author": None,
        "source_published_on": None,
        "source_note": None,
        "status": "resolved" if resolved else "open",
        "outcome": ("yes" if n % 2 else "no") if resolved else None,
        "resolved_on": resolve_by.isoformat() if resolved else None,
        "resolution_note": "bench" if resolved else None,
        "evidence_urls": [],
        "resolved_by": "bench" if resolved else None,
        "created_by": "bench",
        "created_at": created,
        "updated_at": created,
        "forecasts": forecasts,
    }


def questions(count: int, per_question: int) -> Iterator[dict[str, Any]]:
    rng = random.Random(20261201)
    for n in range(1, count + 1):
        yield _question(n, per_question, rng)


def audit_rows(count: int, per_question: int) -> Iterator[dict[str, Any]]:
    """The audit log the record above leaves: question.create, forecast.create (the forecast
    as its `after`), question.resolve."""
    entry = 0
    for q in questions(count, per_question):
        history = q.pop("forecasts")
        entry += 1
        at = q["created_at"]
        yield _entry(entry, at, "question.create", "question", q["id"], q["id"], q)
        for f in history:
            entry += 1
            after = {**f, "question_id": q["id"], "forecaster_key": f["forecaster"].casefold()}
            yield _entry(
                entry, f["created_at"], "forecast.create", "forecast", f["id"], q["id"], after
            )
        if q["status"] == "resolved":
            entry += 1
            after = {"status": "resolved", "outcome": q["outcome"], "resolved_on": q["resolved_on"]}
            yield _entry(entry, at, "question.resolve", "question", q["id"], q["id"], after)


def _entry(
    n: int, at: str, action: str, obj: str, object_id: int, question_id: int, after: Any
) -> dict[str, Any]:
    return {
        "id": n,
        "at": at,
        "actor": "bench",
        "action": action,
        "object": obj,
        "object_id": object_id,
        "question_id": question_id,
        "before": None,
        "after": after,
    }


def _indented(value: Any, level: int) -> str:
    # json.dumps(indent=2) of the value as it sits `level` deep in the document: the same
    # bytes `forecasts export` writes (raw newlines never occur inside JSON strings).
    return ("  " * level) + json.dumps(value, indent=2, ensure_ascii=False).replace(
        "\n", "\n" + "  " * level
    )


def write_json(path: Path, count: int, per_question: int, audit: bool) -> None:
    """The export, written record by record (the whole document would not fit comfortably)."""
    with path.open("w", encoding="utf-8") as out:
        out.write('{\n  "format": ' + json.dumps(FORMAT) + ',\n  "questions": [\n')
        out.write(",\n".join(_indented(q, 2) for q in questions(count, per_question)))
        out.write('\n  ],\n  "suggestions": [],\n  "evidence_links": [],\n  "sources": [],\n')
        if audit:
            out.write('  "audit": [\n')
            out.write(",\n".join(_indented(a, 2) for a in audit_rows(count, per_question)))
            out.write("\n  ]\n}")
        else:
            out.write('  "audit": []\n}')


def write_csv(path: Path, count: int, per_question: int) -> None:
    """The CSV `forecasts export --format csv` writes for the same record."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for q in questions(count, per_question):
            for f in q["forecasts"]:
                writer.writerow(csv_row(q, f))


# -- the floor: the same file into the same tables, the leanest honest way --------------------

Q_COLUMNS = (
    "id", "seed_key", "title", "resolution_criteria", "opened_on", "resolve_by", "tags",
    "tag_index", "news_query", "news_query_derived", "match_pending", "default_outcome",
    "status", "outcome", "resolved_on", "resolution_note", "evidence_urls", "resolved_by",
    "created_by", "created_at", "updated_at",
)  # fmt: skip
F_COLUMNS = (
    "id", "question_id", "forecaster", "forecaster_key", "probability", "estimate", "made_on",
    "rationale", "created_by", "created_at",
)  # fmt: skip
A_COLUMNS = (
    "id", "at", "actor", "action", "object", "object_id", "question_id", "before", "after",
)  # fmt: skip


def _floor_rows(path: Path) -> tuple[list[tuple[Any, ...]], ...]:
    """Rows straight from the file: json.load (or csv.reader), values as they come."""
    qs: list[tuple[Any, ...]] = []
    fs: list[tuple[Any, ...]] = []
    audit: list[tuple[Any, ...]] = []
    if path.suffix == ".csv":
        seen: set[str] = set()
        with path.open(encoding="utf-8", newline="") as stream:
            reader = csv.reader(stream)
            at = {name: i for i, name in enumerate(next(reader))}
            for r in reader:
                qid = r[at["question_id"]]
                if qid not in seen:
                    seen.add(qid)
                    tags = r[at["tags"]].split(";")
                    qs.append(
                        (int(qid), None, r[at["title"]], r[at["resolution_criteria"]])
                        + (r[at["opened_on"]], r[at["resolve_by"]], json.dumps(tags))
                        + ("|" + "|".join(tags) + "|", r[at["news_query"]], False, False)
                        + (r[at["default_outcome"]], r[at["status"]], r[at["outcome"]] or None)
                        + (r[at["resolved_on"]] or None, None, "[]", None, None)
                        + (r[at["question_created_at"]],) * 2
                    )
                name = r[at["forecaster"]]
                fs.append(
                    (int(r[at["forecast_id"]]), int(qid), name, name.casefold())
                    + (float(r[at["probability"]]), r[at["estimate"]] or None, r[at["made_on"]])
                    + (None, r[at["recorded_by"]] or None, r[at["forecast_created_at"]])
                )
        return qs, fs, audit
    with path.open("rb") as stream:
        document = json.load(stream)
    for q in document["questions"]:
        qs.append(
            tuple(
                json.dumps(q[c]) if c in ("tags", "evidence_urls") else q.get(c)
                for c in Q_COLUMNS[:7]
            )
            + ("|" + "|".join(q["tags"]) + "|",)
            + tuple(q.get(c) for c in Q_COLUMNS[8:16])
            + (json.dumps(q["evidence_urls"]),)
            + tuple(q.get(c) for c in Q_COLUMNS[17:])
        )
        for f in q["forecasts"]:
            fs.append(
                (f["id"], q["id"], f["forecaster"], f["forecaster"].casefold(), f["probability"])
                + (f["estimate"], f["made_on"], f["rationale"], f["created_by"], f["created_at"])
            )
    for a in document["audit"]:
        audit.append(
            tuple(a[c] for c in A_COLUMNS[:7])
            + tuple(None if a[c] is None else json.dumps(a[c]) for c in ("before", "after"))
        )
    return qs, fs, audit


def floor(path: Path, url: str) -> None:
    """Load `path` into the migrated database at `url` with no checks of ours."""
    qs, fs, audit = _floor_rows(path)
    tables = (("questions", Q_COLUMNS, qs), ("forecasts", F_COLUMNS, fs))
    tables += (("audit_log", A_COLUMNS, audit),)
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute("PRAGMA cache_size=-262144")  # what the import gives itself
        conn.execute("BEGIN IMMEDIATE")
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN ('forecasts', 'audit_log')"
        ).fetchall()
        for index, _sql in indexes:
            conn.execute(f'DROP INDEX "{index}"')
        for name, columns, rows in tables:
            quoted = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join("?" for _ in columns)
            conn.executemany(f"INSERT INTO {name} ({quoted}) VALUES ({marks})", rows)
        for _index, sql in indexes:
            conn.execute(sql)
        conn.execute("COMMIT")
        conn.close()
        return
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        with conn.cursor() as cursor:
            again = []
            for name in ("forecasts", "audit_log"):
                cursor.execute(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND "
                    "indexname NOT IN (SELECT conname FROM pg_constraint)",
                    (name,),
                )
                for index, sql in cursor.fetchall():
                    cursor.execute(f'DROP INDEX "{index}"')
                    again.append(sql)
                cursor.execute(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = %s::regclass AND contype = 'f'",
                    (name,),
                )
                for key, definition in cursor.fetchall():
                    cursor.execute(f'ALTER TABLE {name} DROP CONSTRAINT "{key}"')
                    again.append(f'ALTER TABLE {name} ADD CONSTRAINT "{key}" {definition}')
            for name, columns, rows in tables:
                quoted = ", ".join(f'"{c}"' for c in columns)
                # Text: the values are the file's text, for the server to parse (packing them
                # as binary would first need them parsed in Python).
                with cursor.copy(f"COPY {name} ({quoted}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")  # as the import
            for sql in again:
                cursor.execute(sql)


# -- the run ------------------------------------------------------------------------------------


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of one subprocess."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    out = process.stdout.read().decode() if process.stdout else ""
    errors = process.stderr.read().decode() if process.stderr else ""
    if status != 0:
        raise SystemExit(f"{shlex.join(command)} failed:\n{out}\n{errors[-3000:]}")
    return elapsed, usage.ru_maxrss / 1024


class _Scratch:
    """A fresh, migrated database of the kind asked for."""

    def __init__(self, kind: str, folder: Path) -> None:
        self.kind = kind
        self.name = f"forecasts_bench_{uuid.uuid4().hex[:8]}"
        if kind == "sqlite":
            self.url = f"sqlite:///{folder / (self.name + '.db')}"
        else:
            import psycopg
            from sqlalchemy import make_url

            admin = make_url(PG_ADMIN)
            with psycopg.connect(host=admin.host, port=admin.port or 5432, user=admin.username,
                                 dbname=admin.database, autocommit=True) as conn:  # fmt: skip
                conn.execute(f'CREATE DATABASE "{self.name}"')
            self.url = admin.set(database=self.name).render_as_string(hide_password=False)
        database = Database(self.url)
        database.migrate()
        database.dispose()

    def drop(self) -> None:
        if self.kind == "postgresql":
            import psycopg
            from sqlalchemy import make_url

            admin = make_url(PG_ADMIN)
            with psycopg.connect(host=admin.host, port=admin.port or 5432, user=admin.username,
                                 dbname=admin.database, autocommit=True) as conn:  # fmt: skip
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(self.url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--forecasts", type=int, default=100, help="per question")
    parser.add_argument("--formats", default="json,csv")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--no-audit", action="store_true", help="leave the audit log out")
    parser.add_argument("--keep", type=Path, help="build the files in (and reuse from) here")
    parser.add_argument("--floor", nargs=2, metavar=("FILE", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor:
        floor(Path(args.floor[0]), args.floor[1])
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="forecasts-bench-import-"))
    folder.mkdir(parents=True, exist_ok=True)
    tag = f"{args.questions}x{args.forecasts}{'' if args.no_audit else '-audit'}"
    files = {"json": folder / f"export-{tag}.json", "csv": folder / f"export-{tag}.csv"}
    for fmt in args.formats.split(","):
        if not files[fmt].exists():
            started = time.perf_counter()
            if fmt == "json":
                write_json(files[fmt], args.questions, args.forecasts, not args.no_audit)
            else:
                write_csv(files[fmt], args.questions, args.forecasts)
            print(f"built {files[fmt]} ({files[fmt].stat().st_size / 2**20:.0f} MiB) in "
                  f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
    total = args.questions * args.forecasts
    audit = args.questions + total + args.questions // 3
    print(
        f"{args.questions:,} questions, {total:,} forecasts"
        + ("" if args.no_audit else f" (+ {audit:,} audit rows in the JSON)")
        + f"; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print("database   format  import s  floor s  ratio  import MiB  floor MiB")
    env = {**os.environ, "FORECASTS_SCHEDULER": "off"}
    # The real command line, as installed in the virtualenv running this.
    cli = [str(Path(sys.executable).parent / "forecasts")]
    for kind in args.databases.split(","):
        for fmt in args.formats.split(","):
            path = files[fmt]
            floor_db = _Scratch(kind, folder)
            try:
                floor_s, floor_mib = _timed(
                    [sys.executable, __file__, "--floor", str(path), floor_db.url], env
                )
            finally:
                floor_db.drop()
            target = _Scratch(kind, folder)
            try:
                at = {**env, "FORECASTS_DATABASE_URL": target.url}
                ours_s, ours_mib = _timed([*cli, "import", str(path)], at)
            finally:
                target.drop()
            ratio = ours_s / floor_s
            print(
                f"{kind:<11}{fmt:<7}{ours_s:>9.1f}{floor_s:>9.1f}{ratio:>6.2f}x"
                f"{ours_mib:>12.0f}{floor_mib:>11.0f}",
                flush=True,
            )
    command = [".venv/bin/python", "bench/import.py", "--questions", str(args.questions)]
    command += ["--forecasts", str(args.forecasts), "--formats", args.formats]
    command += ["--databases", args.databases] + (["--no-audit"] if args.no_audit else [])
    print("reproduce: cd " + shlex.quote(str(ROOT)) + " && " + shlex.join(command))


if __name__ == "__main__":
    main()
