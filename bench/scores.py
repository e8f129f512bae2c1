"""Benchmark: GET /api/scores (and the overview page) against NumPy on in-memory arrays.

Builds one SQLite database per size with N forecasts on resolved questions (five forecasters,
one to five forecasts per question each), then times the endpoint through the whole app and
the same figures computed by NumPy from the arrays it generated.

    .venv/bin/python bench/scores.py [--sizes 10000,100000,1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import shlex
import sqlite3
import sys
import tempfile
import time
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

from forecasts import calibration, scoreboard, scoring  # noqa: E402
from forecasts.scoreboard import relative_brier  # noqa: E402
from service import scoreboard_store  # noqa: E402
from service.app import create_app  # noqa: E402
from service.db import Database  # noqa: E402
from service.settings import Settings  # noqa: E402

FORECASTERS = ("alice", "bob", "carol", "dave", "erin")
EPOCH = np.datetime64("1970-01-01", "D")
FIRST_DAY = np.datetime64("2015-01-01", "D")
BINS = 10


@dataclass
class Dataset:
    """The generated forecasts, sorted as the scoring query returns them."""

    pair: np.ndarray  # pair id per forecast, 0..P-1 in (question, forecaster) order
    made_on: np.ndarray  # days since 1970-01-01
    probability: np.ndarray
    pair_question: np.ndarray
    pair_forecaster: np.ndarray  # index into FORECASTERS
    pair_resolved_on: np.ndarray  # days since 1970-01-01
    pair_outcome: np.ndarray  # 0.0 / 1.0


def generate(n: int, seed: int = 20240601) -> Dataset:
    """N forecasts: N/15 questions, five forecasters each, one to five forecasts per pair."""
    rng = np.random.default_rng(seed)
    questions = max(1, math.ceil(n / 15))
    per_pair = rng.integers(1, 6, size=questions * len(FORECASTERS))
    # Top the pairs up until they hold N forecasts, then cut the last pair short.
    while per_pair.sum() < n:
        per_pair = np.append(per_pair, rng.integers(1, 6, size=len(FORECASTERS)))
    cut = np.searchsorted(np.cumsum(per_pair), n)
    per_pair = per_pair[: cut + 1].copy()
    per_pair[-1] -= per_pair.sum() - n
    pairs = per_pair.size
    questions = math.ceil(pairs / len(FORECASTERS))

    opened = (FIRST_DAY - EPOCH).astype(np.int64) + rng.integers(0, 3000, size=questions)
    resolved = opened + rng.integers(0, 365, size=questions)
    truth = rng.random(questions)
    outcome = (rng.random(questions) < truth).astype(np.float64)

    pair_question = np.arange(pairs) // len(FORECASTERS)
    pair_forecaster = np.arange(pairs) % len(FORECASTERS)
    pair = np.repeat(np.arange(pairs), per_pair)
    q = pair_question[pair]
    made_on = opened[q] + np.floor(rng.random(n) * (resolved[q] - opened[q] + 1)).astype(np.int64)
    # Forecasters are noisy about the truth, and rounded to cents as people write them.
    skill = np.array([0.05, 0.1, 0.15, 0.25, 0.35])[pair_forecaster[pair]]
    probability = np.round(np.clip(truth[q] + rng.normal(0, 1, n) * skill, 0.0, 1.0), 2)
    # Sorted by made_on within each pair; created_at follows that order (the id breaks ties).
    order = np.lexsort((made_on, pair))
    return Dataset(
        pair=pair[order],
        made_on=made_on[order],
        probability=probability[order],
        pair_question=pair_question,
        pair_forecaster=pair_forecaster,
        pair_resolved_on=resolved[pair_question],
        pair_outcome=outcome[pair_question],
    )


def _iso(days: np.ndarray) -> list[str]:
    return list(np.datetime_as_string(EPOCH + days.astype("timedelta64[D]"), unit="D"))


def build_database(path: Path, data: Dataset) -> Database:
    """A migrated SQLite database holding `data` (raw executemany in one transaction)."""
    url = f"sqlite:///{path}"
    db = Database(url, Settings(database_url=url, scheduler="off"))
    db.migrate()
    question_count = int(data.pair_question.max()) + 1
    first_pair = np.searchsorted(data.pair_question, np.arange(question_count))
    resolved = data.pair_resolved_on[first_pair]
    outcome = data.pair_outcome[first_pair]
    stamp = "2024-06-01 12:00:00.000000"
    resolved_iso = _iso(resolved)
    # Opened before any of its forecasts: questions run for at most a year here.
    opened_iso = _iso(resolved - 400)
    question_rows = [
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
    ]
    made_iso = _iso(data.made_on)
    # Creation instants follow the order the forecasts were made, a microsecond apart.
    created = np.datetime64("2024-01-01T00:00:00", "us") + np.arange(data.pair.size).astype(
        "timedelta64[us]"
    )
    created_iso = [s.replace("T", " ") for s in np.datetime_as_string(created, unit="us")]
    names = np.array(FORECASTERS, dtype=object)[data.pair_forecaster[data.pair]]
    forecast_rows = zip(
        (data.pair_question[data.pair] + 1).tolist(),
        names.tolist(),
        data.probability.tolist(),
        made_iso,
        created_iso,
        strict=True,
    )
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO questions (id, title, resolution_criteria, opened_on, resolve_by, tags,"
            " tag_index, news_query, default_outcome, status, outcome, resolved_on,"
            " evidence_urls, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            question_rows,
        )
        conn.executemany(
            "INSERT INTO forecasts (question_id, forecaster, probability, made_on, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            forecast_rows,
        )
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
    finally:
        conn.close()
    return db


def numpy_scores(data: Dataset, bins: int = BINS) -> dict[str, Any]:
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
    count = np.bincount(code)
    return {
        "n": int(p.size),
        "brier": brier,
        "log_score": float(log_each.mean()),
        "base_rate": scoring.base_rate(o),
        "brier_skill_score": scoring.brier_skill_score(brier, decomposition.uncertainty),
        "calibration": calibration.calibration_bins(p, o, bins),
        "by_forecaster": {
            "brier": np.bincount(code, brier_each) / count,
            "time_averaged_brier": np.bincount(code, tab) / count,
            "relative_brier": np.bincount(code[shared], difference[shared])
            / np.bincount(code[shared]),
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


def check_same(api: dict[str, Any], floor: dict[str, Any]) -> None:
    """Fail loudly if the endpoint and the in-memory NumPy figures disagree."""
    assert api["n"] == floor["n"], (api["n"], floor["n"])
    for key in ("brier", "log_score", "base_rate", "brier_skill_score"):
        assert math.isclose(api[key], floor[key], rel_tol=1e-9, abs_tol=1e-12), key
    assert len(api["calibration"]) == len(floor["calibration"])
    by_name = {row["forecaster"]: row for row in api["by_forecaster"]}
    for i, name in enumerate(FORECASTERS):
        for key, values in floor["by_forecaster"].items():
            assert math.isclose(by_name[name][key], values[i], rel_tol=1e-9, abs_tol=1e-12), key


def resolve_one_more(db: Database) -> None:
    """A new question with a forecast, resolved: the cached board catches up with it alone."""
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
            ForecastIn(forecaster="alice", probability=0.5, made_on=date(2020, 2, 1)),
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


def run_size(n: int, workdir: Path, repeat: int) -> dict[str, Any]:
    """Build the database for N forecasts and time every way of getting its scores."""
    start = time.perf_counter()
    data = generate(n)
    db = build_database(workdir / f"bench_{n}.db", data)
    build = time.perf_counter() - start
    settings = Settings(database_url=str(db.url), scheduler="off")
    times: dict[str, float | None] = {}
    with TestClient(create_app(settings, db)) as client:

        def get(path: str, **params: Any) -> Any:
            response = client.get(path, params=params)
            response.raise_for_status()
            return response

        def cold(path: str, **params: Any) -> Callable[[], Any]:
            def run() -> Any:
                scoreboard_store.clear_cache()
                return get(path, **params)

            return run

        times["api cold"], response = best_of(repeat, cold("/api/scores", bins=BINS))
        api_body = response.json()
        times["api warm"], _ = best_of(repeat, lambda: get("/api/scores", bins=BINS))
        times["api ?forecaster= warm"], _ = best_of(
            repeat, lambda: get("/api/scores", forecaster="alice")
        )
        times["api after a resolution"], _ = best_of(
            repeat, lambda: (resolve_one_more(db), get("/api/scores", bins=BINS))
        )
        if client.get("/").status_code == 404:
            times["page cold"] = times["page warm"] = None
        else:
            times["page cold"], _ = best_of(repeat, cold("/"))
            times["page warm"], _ = best_of(repeat, lambda: get("/"))
    # Where a cold request's time goes: fetching rows into arrays, then the figures.
    with db.read() as conn:
        times["  of which fetch"], board = best_of(
            repeat, lambda: scoreboard_store.build_board(conn)
        )
        keep = np.ones(board.size, dtype=bool)
        times["  of which figures"], _ = best_of(
            repeat, lambda: scoreboard.scores_of(board, keep, bins=BINS)
        )
    times["numpy in memory"], floor = best_of(repeat, lambda: numpy_scores(data))
    check_same(api_body, floor)
    db.dispose()
    return {"n": n, "pairs": int(data.pair_question.size), "build": build, "times": times}


ROWS = (
    ("numpy in memory", "NumPy on the generated arrays (floor)"),
    ("api cold", "GET /api/scores, cache cleared"),
    ("  of which fetch", "  of which: query + rows to arrays"),
    ("  of which figures", "  of which: figures from the arrays"),
    ("api warm", "GET /api/scores, cached"),
    ("api ?forecaster= warm", "GET /api/scores?forecaster=, cached"),
    ("api after a resolution", "GET /api/scores after one more resolution"),
    ("page cold", "GET / (overview page), cache cleared"),
    ("page warm", "GET / (overview page), cached"),
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated forecast counts")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (best is kept)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    results = []
    with tempfile.TemporaryDirectory(prefix="forecasts-bench-") as tmp:
        for n in sizes:
            results.append(run_size(n, Path(tmp), args.repeat))
            print(f"  N={n:,}: built in {results[-1]['build']:.1f} s, timed", flush=True)
    print()
    width = 40
    print(f"{'forecasts (N)':<{width}}" + "".join(f"{r['n']:>22,}" for r in results))
    print(f"{'scored pairs':<{width}}" + "".join(f"{r['pairs']:>22,}" for r in results))
    for key, label in ROWS:
        cells = []
        for r in results:
            seconds = r["times"][key]
            floor = r["times"]["numpy in memory"]
            if seconds is None:
                cells.append(f"{'n/a':>22}")
            else:
                cells.append(f"{seconds * 1000:>11.1f} ms {seconds / floor:>6.1f}x")
        print(f"{label:<{width}}" + "".join(cells))
    print("(times are the best of each run; ratios are to the NumPy floor of the same N)")
    if any(r["times"]["page cold"] is None for r in results):
        print("GET / answered 404: the overview page is not rendered yet, so it was skipped.")
    print("reproduce with:")
    print(
        "  .venv/bin/python bench/scores.py "
        + shlex.join(["--sizes", args.sizes, "--repeat", str(args.repeat)])
    )


if __name__ == "__main__":
    main()
