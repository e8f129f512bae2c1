"""Benchmark: GET /api/scores from the score totals, up to ten million forecasts.

Builds one SQLite database per size: N forecasts on resolved questions (N/15 questions, five
forecasters each out of a pool, one to five forecasts per pair, p in cents as people write
them, one forecast in twenty given as an estimate phrase). The rows go in with executemany
in chunks, indexes built after the load; then forecasts.score_totals.refresh builds the
pairs and totals from them (what migration 0009 and an import do). Then it times, beside
floors measured in the same run:

- GET /api/scores from scratch in a new process (nothing is cached anywhere: the figures
  come from the totals tables), and that request's peak memory (tracemalloc peak, and how
  far the process's peak RSS grew during it), each in a process of its own; beside it the
  first GET /healthz of a new process (what any first request costs) and the scores
  request right after that one;
- the same request warm, and with each filter (which totals the pairs in scope in SQL);
- GET /api/scores/questions?limit=50, and a resolution (its transaction) and the next GET.

Floors: "NumPy in memory" computes the same figures from the generated arrays with no
database (pairs, time-averaged and relative Brier, calibration, AUC…); "bare SQL, totals"
is sqlite3 reading the two totals tables (what the unfiltered endpoint reads, no more);
"bare SQL, pairs" is sqlite3 running `SELECT probability, outcome, count(*) FROM score_pairs
GROUP BY 1, 2` (what any figure computed from the pairs must at least pay). The endpoint's
figures are checked against the NumPy floor to 1e-9.

    .venv/bin/python bench/scores.py [--sizes 1000000,10000000] [--repeat 5] [--pool 1000]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # Run as a script from a checkout: the project's packages sit next to bench/.
    sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from forecasts import calibration, score_totals, scoring  # noqa: E402
from forecasts.scoreboard import relative_brier  # noqa: E402
from service.app import create_app  # noqa: E402
from service.db import Database  # noqa: E402
from service.settings import Settings  # noqa: E402

PER_QUESTION = 5
EPOCH = np.datetime64("1970-01-01", "D")
FIRST_DAY = np.datetime64("2015-01-01", "D")
BINS = 10
# Table phrases and their probabilities (forecasts/data): a few forecasts are given so.
PHRASES = (("likely", 0.7), ("unlikely", 0.2), ("bound to", 0.95), ("may very well", 0.7))
LOAD_CHUNK = 500_000


@dataclass
class Dataset:
    """The generated forecasts, sorted as the scoring query reads them."""

    pair: np.ndarray  # pair id per forecast, 0..P-1 in (question, forecaster) order
    made_on: np.ndarray  # days since 1970-01-01
    probability: np.ndarray
    phrase: np.ndarray  # index into PHRASES, or -1 for a number
    pair_question: np.ndarray
    pair_forecaster: np.ndarray  # index into the pool
    pair_resolved_on: np.ndarray  # days since 1970-01-01
    pair_outcome: np.ndarray  # 0.0 / 1.0


def name_of(i: int) -> str:
    return f"forecaster{i:05d}"


def generate(n: int, pool: int, seed: int = 20240601) -> Dataset:
    """N forecasts: N/15 questions, five forecasters each, one to five forecasts per pair."""
    rng = np.random.default_rng(seed)
    questions = max(1, math.ceil(n / 15))
    per_pair = rng.integers(1, 6, size=questions * PER_QUESTION)
    # Top the pairs up until they hold N forecasts, then cut the last pair short.
    while per_pair.sum() < n:
        per_pair = np.append(per_pair, rng.integers(1, 6, size=PER_QUESTION))
    cut = np.searchsorted(np.cumsum(per_pair), n)
    per_pair = per_pair[: cut + 1].copy()
    per_pair[-1] -= per_pair.sum() - n
    pairs = per_pair.size
    questions = math.ceil(pairs / PER_QUESTION)

    opened = (FIRST_DAY - EPOCH).astype(np.int64) + rng.integers(0, 3000, size=questions)
    resolved = opened + rng.integers(0, 365, size=questions)
    truth = rng.random(questions)
    outcome = (rng.random(questions) < truth).astype(np.float64)

    pair_question = np.arange(pairs) // PER_QUESTION
    # Five different forecasters on each question (pool >= 5), in key order within it.
    pair_forecaster = (pair_question * PER_QUESTION) % pool + np.arange(pairs) % PER_QUESTION
    pair_forecaster %= pool
    order_in_question = np.lexsort((pair_forecaster, pair_question))
    pair_forecaster = pair_forecaster[order_in_question]
    pair = np.repeat(np.arange(pairs), per_pair)
    q = pair_question[pair]
    made_on = opened[q] + np.floor(rng.random(n) * (resolved[q] - opened[q] + 1)).astype(np.int64)
    # Forecasters are noisy about the truth, and rounded to cents as people write them.
    skill = np.array([0.05, 0.1, 0.15, 0.25, 0.35])[pair_forecaster[pair] % 5]
    probability = np.round(np.clip(truth[q] + rng.normal(0, 1, n) * skill, 0.0, 1.0), 2)
    phrase = np.where(rng.random(n) < 0.05, rng.integers(0, len(PHRASES), size=n), -1)
    table_p = np.array([p for _, p in PHRASES])
    probability = np.where(phrase >= 0, table_p[np.maximum(phrase, 0)], probability)
    # Sorted by made_on within each pair; created_at follows that order (the id breaks ties).
    order = np.lexsort((made_on, pair))
    return Dataset(
        pair=pair[order],
        made_on=made_on[order],
        probability=probability[order],
        phrase=phrase[order],
        pair_question=pair_question,
        pair_forecaster=pair_forecaster,
        pair_resolved_on=resolved[pair_question],
        pair_outcome=outcome[pair_question],
    )


def _iso(days: np.ndarray) -> list[str]:
    return np.datetime_as_string(EPOCH + days.astype("timedelta64[D]"), unit="D").tolist()


def load(path: Path, data: Dataset) -> None:
    """The questions and forecasts, straight into the migrated tables with sqlite3."""
    question_count = int(data.pair_question.max()) + 1
    first_pair = np.searchsorted(data.pair_question, np.arange(question_count))
    resolved = data.pair_resolved_on[first_pair]
    outcome = data.pair_outcome[first_pair]
    stamp = "2024-06-01 12:00:00.000000"
    resolved_iso = _iso(resolved)
    # Opened before any of its forecasts: questions run for at most a year here.
    opened_iso = _iso(resolved - 400)
    question_rows = (
        (
            i + 1,
            f"Bench question number {i + 1} about an event",
            "As the bench says.",
            opened_iso[i],
            resolved_iso[i],
            '["bench"]' if i % 2 else '["bench", "odd"]',
            "|bench|" if i % 2 else "|bench|odd|",
            "bench",
            "no",
            "resolved",
            "yes" if outcome[i] else "no",
            resolved_iso[i],
            "[]",
            stamp,
            stamp,
        )
        for i in range(question_count)
    )
    phrases = [None] + [phrase for phrase, _ in PHRASES]
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        # Indexes are built once after the load: far cheaper than row by row.
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'forecasts'"
            " AND sql IS NOT NULL"
        ).fetchall()
        conn.execute("BEGIN")
        for name, _sql in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.executemany(
            "INSERT INTO questions (id, title, resolution_criteria, opened_on, resolve_by, tags,"
            " tag_index, news_query, default_outcome, status, outcome, resolved_on,"
            " evidence_urls, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            question_rows,
        )
        created_start = np.datetime64("2024-01-01T00:00:00", "us")
        pool = np.array([name_of(i) for i in range(int(data.pair_forecaster.max()) + 1)])
        for start in range(0, data.pair.size, LOAD_CHUNK):
            at = slice(start, start + LOAD_CHUNK)
            pair = data.pair[at]
            names = pool[data.pair_forecaster[pair]].tolist()
            # Creation instants follow the order the forecasts were made, a microsecond apart.
            created = created_start + np.arange(start, start + pair.size).astype("timedelta64[us]")
            created_iso = [
                s.replace("T", " ") for s in np.datetime_as_string(created, unit="us").tolist()
            ]
            conn.executemany(
                "INSERT INTO forecasts (question_id, forecaster, forecaster_key, probability,"
                " estimate, made_on, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                zip(
                    (data.pair_question[pair] + 1).tolist(),
                    names,
                    names,
                    data.probability[at].tolist(),
                    [phrases[i + 1] for i in data.phrase[at].tolist()],
                    _iso(data.made_on[at]),
                    created_iso,
                    strict=True,
                ),
            )
        for _name, sql in indexes:
            conn.execute(sql)
        conn.execute("COMMIT")
    finally:
        conn.close()


def build_database(path: Path, data: Dataset) -> tuple[Database, float, float]:
    """A migrated SQLite database holding `data`, its pairs and totals built; returns it with
    the seconds the load and the totals took."""
    url = f"sqlite:///{path}"
    db = Database(url, Settings(database_url=url, scheduler="off"))
    db.migrate()
    start = time.perf_counter()
    load(path, data)
    loaded = time.perf_counter()
    with db.write() as conn:
        score_totals.refresh(conn, None)
    built = time.perf_counter()
    raw = sqlite3.connect(path)
    raw.execute("ANALYZE")
    raw.close()
    return db, loaded - start, built - loaded


def numpy_scores(data: Dataset, pool: int, bins: int = BINS) -> dict[str, Any]:
    """The same figures, straight from the generated arrays (the floor for the endpoint)."""
    ends = scoring.pair_ends(data.pair)
    p, o = data.probability[ends], data.pair_outcome
    tab = scoring.time_averaged_brier(
        data.pair, data.made_on, data.probability, data.pair_resolved_on, o
    )
    brier_each = scoring.squared_errors(p, o)
    log_each = scoring.log_scores(p, o)
    difference, shared = relative_brier(data.pair_question, brier_each)
    decomposition = calibration.murphy_decomposition(p, o, bins)
    brier = float(brier_each.mean())
    code = data.pair_forecaster
    count = np.bincount(code, minlength=pool)
    phrase = data.phrase[ends]
    return {
        "n": int(p.size),
        "brier": brier,
        "log_score": float(log_each.mean()),
        "base_rate": scoring.base_rate(o),
        "brier_skill_score": scoring.brier_skill_score(brier, decomposition.uncertainty),
        "reliability": decomposition.reliability,
        "resolution": decomposition.resolution,
        "calibration": calibration.calibration_bins(p, o, bins),
        "auc": scoring.auc(p, o),
        "right_side": scoring.right_side(p, o),
        "by_estimate": scoring.by_estimate(
            [None if i < 0 else PHRASES[i][0] for i in phrase.tolist()], p, o
        ),
        "by_forecaster": {
            "n": count,
            "brier": np.bincount(code, brier_each, minlength=pool) / count,
            "time_averaged_brier": np.bincount(code, tab, minlength=pool) / count,
            "relative_brier": np.bincount(code[shared], difference[shared], minlength=pool)
            / np.bincount(code[shared], minlength=pool),
        },
    }


def best_of(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of `repeat` runs (seconds) and the last result."""
    best, result = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def check_same(api: dict[str, Any], floor: dict[str, Any]) -> None:
    """Fail loudly if the endpoint and the in-memory NumPy figures disagree (to 1e-9)."""
    assert api["n"] == floor["n"], (api["n"], floor["n"])
    for key in ("brier", "log_score", "base_rate", "brier_skill_score"):
        assert _close(api[key], floor[key]), key
    for key in ("reliability", "resolution"):
        assert _close(api["decomposition"][key], floor[key]), key
    for key in ("auc", "right_side"):
        assert _close(api["discrimination"][key], floor[key]), key
    assert len(api["calibration"]) == len(floor["calibration"])
    for got, want in zip(api["calibration"], floor["calibration"], strict=True):
        for key in ("n", "mean_probability", "observed_rate", "ci_low", "ci_high"):
            assert _close(got[key], getattr(want, key)), key
    for got, want in zip(api["by_estimate"], floor["by_estimate"], strict=True):
        assert got["estimate"] == want.estimate and got["n"] == want.n
        for key in ("mean_probability", "observed_rate", "brier"):
            assert _close(got[key], getattr(want, key)), key
    by_name = {row["forecaster"]: row for row in api["by_forecaster"]}
    figures = floor["by_forecaster"]
    for i in np.flatnonzero(figures["n"]):
        row = by_name[name_of(int(i))]
        for key, values in figures.items():
            assert _close(row[key], float(values[i])), (key, i)


def resolve_one_more(db: Database) -> None:
    """A new question with a forecast, resolved: its pair goes into the totals."""
    from forecasts import questions as domain
    from forecasts.schemas import ForecastIn, QuestionCreate, ResolveIn

    spec = QuestionCreate(
        title="Will one more question resolve in the bench?",
        resolution_criteria="It does.",
        resolve_by=date(2020, 6, 1),
        opened_on=date(2020, 1, 1),
        news_query="bench",
    )
    today = domain.utc_today()
    with db.write() as conn:
        qid = domain.create_question(conn, spec, today=today, actor="bench")
        domain.add_forecast(
            conn,
            qid,
            ForecastIn(forecaster=name_of(0), probability=0.5, made_on=date(2020, 2, 1)),
            today=today,
            actor="bench",
        )
        domain.resolve_question(
            conn,
            qid,
            ResolveIn(outcome="yes", resolved_on=date(2020, 6, 1)),
            today=today,
            actor="bench",
        )


def first_request(path: Path, measure: str) -> dict[str, Any]:
    """In this (new) process: the first GET /api/scores on the database, timed or with its
    memory measured (tracemalloc slows allocation, so never both at once)."""
    url = f"sqlite:///{path}"
    db = Database(url, Settings(database_url=url, scheduler="off"))
    with TestClient(create_app(Settings(database_url=url, scheduler="off"), db)) as client:
        healthz = None
        if measure == "after healthz":
            # The cost of any first request in a process (thread portal, middleware, the
            # first query), measured apart from the scores path's own.
            start = time.perf_counter()
            client.get("/healthz").raise_for_status()
            healthz = time.perf_counter() - start
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if measure == "memory":
            tracemalloc.start()
        start = time.perf_counter()
        response = client.get("/api/scores", params={"bins": BINS})
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] if measure == "memory" else None
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        response.raise_for_status()
    db.dispose()
    return {
        "seconds": seconds,
        "healthz": healthz,
        "peak_bytes": peak,
        "rss_growth_kib": rss_after - rss_before,
    }


def in_new_process(path: Path, measure: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--first-request", str(path), "--measure", measure]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def bare_sql_totals(path: Path) -> Callable[[], Any]:
    def run() -> Any:
        conn = sqlite3.connect(path)
        try:
            values = conn.execute("SELECT * FROM score_value_totals").fetchall()
            people = conn.execute("SELECT * FROM score_forecaster_totals").fetchall()
            return values, people
        finally:
            conn.close()

    return run


def bare_sql_pairs(path: Path) -> Callable[[], Any]:
    def run() -> Any:
        conn = sqlite3.connect(path)
        try:
            return conn.execute(
                "SELECT probability, outcome, count(*) FROM score_pairs GROUP BY 1, 2"
            ).fetchall()
        finally:
            conn.close()

    return run


def run_size(n: int, workdir: Path, repeat: int, pool: int) -> dict[str, Any]:
    """Build the database for N forecasts and time every way of getting its scores."""
    data = generate(n, pool)
    path = workdir / f"bench_{n}.db"
    db, load_seconds, totals_seconds = build_database(path, data)
    times: dict[str, float] = {}
    times["numpy in memory"], floor = best_of(repeat, lambda: numpy_scores(data, pool))
    times["bare sql totals"], _ = best_of(repeat, bare_sql_totals(path))
    times["bare sql pairs"], _ = best_of(repeat, bare_sql_pairs(path))
    runs = max(1, min(repeat, 3))
    times["api new process"] = min(in_new_process(path, "time")["seconds"] for _ in range(runs))
    after = [in_new_process(path, "after healthz") for _ in range(runs)]
    times["healthz new process"] = min(r["healthz"] for r in after)
    times["api after healthz"] = min(r["seconds"] for r in after)
    memory = in_new_process(path, "memory")
    settings = Settings(database_url=str(db.url), scheduler="off")
    with TestClient(create_app(settings, db)) as client:

        def get(path: str, **params: Any) -> Any:
            response = client.get(path, params=params)
            response.raise_for_status()
            return response

        times["api warm"], response = best_of(repeat, lambda: get("/api/scores", bins=BINS))
        check_same(response.json(), floor)
        times["api ?forecaster="], _ = best_of(
            repeat, lambda: get("/api/scores", forecaster=name_of(1))
        )
        times["api ?tag="], _ = best_of(repeat, lambda: get("/api/scores", tag="odd"))
        times["api ?resolved_from="], _ = best_of(
            repeat, lambda: get("/api/scores", resolved_from="2022-01-01")
        )
        times["api questions page"], _ = best_of(
            repeat, lambda: get("/api/scores/questions", limit=50)
        )
        times["resolve one more"], _ = best_of(repeat, lambda: resolve_one_more(db))
        times["api after a resolution"], _ = best_of(
            repeat, lambda: (resolve_one_more(db), get("/api/scores", bins=BINS))
        )
        times["api after a resolution"] -= times["resolve one more"]
    with db.read() as conn:
        sizes = {
            table: conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
            for table in ("score_value_totals", "score_forecaster_totals")
        }
    db.dispose()
    path.unlink()
    return {
        "n": n,
        "pairs": int(data.pair_question.size),
        "load": load_seconds,
        "totals": totals_seconds,
        "times": times,
        "memory": memory,
        "sizes": sizes,
    }


ROWS = (
    ("numpy in memory", "floor: NumPy on the generated arrays"),
    ("bare sql totals", "floor: sqlite3 reading the totals"),
    ("bare sql pairs", "floor: sqlite3 GROUP BY over the pairs"),
    ("healthz new process", "floor: GET /healthz, first in a process"),
    ("api new process", "GET /api/scores, first in a new process"),
    ("api after healthz", "GET /api/scores, next after that /healthz"),
    ("api warm", "GET /api/scores, warm"),
    ("api ?forecaster=", "GET /api/scores?forecaster= (pairs)"),
    ("api ?tag=", "GET /api/scores?tag= (half the pairs)"),
    ("api ?resolved_from=", "GET /api/scores?resolved_from= (pairs)"),
    ("api questions page", "GET /api/scores/questions?limit=50"),
    ("resolve one more", "create+forecast+resolve transaction"),
    ("api after a resolution", "GET /api/scores right after it"),
)


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    width = 42
    print()
    print(f"{'forecasts (N)':<{width}}" + "".join(f"{r['n']:>30,}" for r in results))
    print(f"{'scored pairs':<{width}}" + "".join(f"{r['pairs']:>30,}" for r in results))
    for key, label in (("score_value_totals", "rows of value totals"),
                       ("score_forecaster_totals", "rows of forecaster totals")):  # fmt: skip
        print(f"{label:<{width}}" + "".join(f"{r['sizes'][key]:>30,}" for r in results))
    for key, label in (("load", "load (executemany, s)"), ("totals", "build pairs+totals (s)")):
        print(f"{label:<{width}}" + "".join(f"{r[key]:>30.1f}" for r in results))
    for key, label in ROWS:
        cells = []
        for r in results:
            seconds = r["times"][key]
            numpy_floor = r["times"]["numpy in memory"]
            sql_floor = r["times"]["bare sql totals"]
            cells.append(
                f"{seconds * 1000:>10.1f} ms {seconds / numpy_floor:>6.3f}x np"
                f" {seconds / sql_floor:>6.1f}x sql"
            )
        print(f"{label:<{width}}" + "".join(f"{c:>30}" for c in cells))
    for r in results:
        memory = r["memory"]
        print(
            f"memory of the first GET /api/scores at N={r['n']:,}: tracemalloc peak"
            f" {memory['peak_bytes'] / 1024:.0f} KiB, peak RSS grew {memory['rss_growth_kib']} KiB"
        )
    print("(best of each run; x np: to NumPy on the arrays, x sql: to sqlite3 reading the totals)")
    print("reproduce with:")
    print(
        "  .venv/bin/python bench/scores.py "
        + shlex.join(
            ["--sizes", args.sizes, "--repeat", str(args.repeat), "--pool", str(args.pool)]
        )
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated forecast counts")
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing (best is kept)")
    parser.add_argument("--pool", type=int, default=1000, help="forecasters in all (>= 5)")
    parser.add_argument("--first-request", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--measure", default="time", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.first_request is not None:
        print(json.dumps(first_request(args.first_request, args.measure)))
        return
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    results = []
    with tempfile.TemporaryDirectory(prefix="forecasts-bench-") as tmp:
        for n in sizes:
            results.append(run_size(n, Path(tmp), args.repeat, max(PER_QUESTION, args.pool)))
            r = results[-1]
            print(
                f"  N={n:,}: loaded in {r['load']:.1f} s, pairs and totals built in"
                f" {r['totals']:.1f} s, timed",
                flush=True,
            )
    report(results, args)


if __name__ == "__main__":
    main()
