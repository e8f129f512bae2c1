"""The scores kept as totals by the resolving transactions agree with the figures computed
afresh from the raw rows, by API.md's definitions written out here with NumPy and
scikit-learn (to 1e-9), on SQLite and PostgreSQL; and stay right when questions are
resolved at once from several connections, scored again after a write behind the API (an
import), and built by the migration from data already stored.
"""

from __future__ import annotations

import math
import random
import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sqlalchemy import text

from forecasts import questions as domain
from forecasts import score_totals
from forecasts.schemas import ForecastIn, QuestionCreate, ResolveIn, ScoresOut
from service import scoreboard_store
from service.db import Database
from tests.conftest import make_settings
from tests.factories import store_old_resolved_question, upgrade_to

TODAY = date(2026, 6, 1)
START = date(2026, 1, 1)
Z = 1.959964
# Spellings of one identity ("Ann" and "ann") and phrases among the numbers.
NAMES = ["Ann", "ann", "bo", "Cy", "dee", "Émile"]
PHRASES = ["bound to", "may very well", "unlikely", "probably"]


def build(db: Database, seed: int, questions: int = 40) -> list[int]:
    """Questions with random forecasts (some given as phrases, some after resolved_on, some
    on the same day as another), most of them resolved (backdated), one annulled."""
    rng = random.Random(seed)
    ids = []
    for k in range(questions):
        spec = QuestionCreate(
            title=f"Will the measured event number {k} happen in time?",
            resolution_criteria="It happens.",
            resolve_by=date(2026, 5, 1),
            opened_on=START,
            tags=[rng.choice("ab")],
            news_query="event",
        )
        with db.write() as conn:
            qid = domain.create_question(conn, spec, today=TODAY, actor="t")
            for name in rng.sample(NAMES, rng.randint(1, 4)):
                for _ in range(rng.randint(1, 3)):
                    made_on = START + timedelta(days=rng.randint(0, 110))
                    if rng.random() < 0.3:
                        forecast = ForecastIn(
                            forecaster=name, estimate=rng.choice(PHRASES), made_on=made_on
                        )
                    else:
                        p = round(rng.random(), rng.choice([1, 2, 2, 6]))
                        forecast = ForecastIn(forecaster=name, probability=p, made_on=made_on)
                    domain.add_forecast(conn, qid, forecast, today=TODAY, actor="t")
        ids.append(qid)
    for qid in ids[: questions - 4]:
        outcome = rng.choice(["yes", "no"])
        resolved_on = START + timedelta(days=rng.randint(20, 120))
        with db.write() as conn:
            domain.resolve_question(
                conn,
                qid,
                ResolveIn(outcome=outcome, resolved_on=resolved_on),
                today=TODAY,
                actor="t",
            )
    with db.write() as conn:
        domain.resolve_question(
            conn, ids[-1], ResolveIn(outcome="annulled"), today=TODAY, actor="t"
        )
    return ids


# --- the reference: API.md's definitions on the raw rows ---------------------------------


def raw(db: Database) -> tuple[list[Any], dict[int, Any]]:
    with db.read() as conn:
        forecasts = conn.execute(
            text(
                "SELECT question_id, forecaster_key, forecaster, probability, estimate, made_on,"
                " created_at, id FROM forecasts"
            )
        ).all()
        questions = {
            row.id: row
            for row in conn.execute(
                text("SELECT id, status, outcome, resolved_on, tag_index FROM questions")
            )
        }
    return forecasts, questions


def as_day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def reference_pairs(db: Database) -> list[dict[str, Any]]:
    """Every scored pair, with p, o, Brier, log score, time-averaged and relative Brier."""
    forecasts, questions = raw(db)
    runs: dict[tuple[int, str], list[Any]] = {}
    for f in forecasts:
        q = questions[f.question_id]
        if q.status != "resolved" or as_day(f.made_on) > as_day(q.resolved_on):
            continue
        runs.setdefault((f.question_id, f.forecaster_key), []).append(f)
    pairs = []
    for (qid, key), rows in runs.items():
        q = questions[qid]
        o = 1.0 if q.outcome == "yes" else 0.0
        resolved_on = as_day(q.resolved_on)
        rows.sort(key=lambda f: (as_day(f.made_on), str(f.created_at), f.id))
        p = rows[-1].probability
        first = as_day(rows[0].made_on)
        days = [first + timedelta(days=d) for d in range((resolved_on - first).days)] or [first]
        errors = []
        for day in days:
            standing = [f for f in rows if as_day(f.made_on) <= day][-1]
            errors.append((standing.probability - o) ** 2)
        clipped = min(max(p, 0.001), 0.999)
        pairs.append(
            {
                "question": qid,
                "key": key,
                "name": rows[-1].forecaster,
                "p": p,
                "o": o,
                "phrase": rows[-1].estimate,
                "resolved_on": resolved_on,
                "tag_index": q.tag_index,
                "brier": (p - o) ** 2,
                "log": math.log(clipped) if o == 1.0 else math.log(1 - clipped),
                "tab": float(np.mean(errors)),
            }
        )
    for pair in pairs:
        others = [x["brier"] for x in pairs if x["question"] == pair["question"] and x is not pair]
        pair["relative"] = pair["brier"] - float(np.median(others)) if others else None
    return pairs


def reference_scores(pairs: list[dict[str, Any]], bins: int) -> dict[str, Any]:
    p = np.array([x["p"] for x in pairs])
    o = np.array([x["o"] for x in pairs])
    n = p.size
    brier = float(np.mean((p - o) ** 2))
    base = float(o.mean())
    k = np.minimum(np.floor(p * bins).astype(int), bins - 1)
    table, reliability, resolution = [], 0.0, 0.0
    for b in sorted(set(k.tolist())):
        at = k == b
        nb, mean_p, rate = int(at.sum()), float(p[at].mean()), float(o[at].mean())
        denominator = 1 + Z * Z / nb
        centre = (rate + Z * Z / (2 * nb)) / denominator
        half = Z * math.sqrt(rate * (1 - rate) / nb + Z * Z / (4 * nb * nb)) / denominator
        table.append((b / bins, (b + 1) / bins, nb, mean_p, rate, centre - half, centre + half))
        reliability += nb * (mean_p - rate) ** 2 / n
        resolution += nb * (rate - base) ** 2 / n
    uncertainty = base * (1 - base)
    people = []
    for key in sorted(
        {x["key"] for x in pairs}, key=lambda key: next(x["name"] for x in pairs if x["key"] == key)
    ):
        mine = [x for x in pairs if x["key"] == key]
        shared = [x["relative"] for x in mine if x["relative"] is not None]
        people.append(
            (
                mine[0]["name"],
                len(mine),
                float(np.mean([x["brier"] for x in mine])),
                float(np.mean([x["log"] for x in mine])),
                float(np.mean([x["tab"] for x in mine])),
                float(np.mean(shared)) if shared else None,
            )
        )
    phrases = []
    for phrase in {x["phrase"] for x in pairs} - {None}:
        mine = [x for x in pairs if x["phrase"] == phrase]
        gp, go = np.array([x["p"] for x in mine]), np.array([x["o"] for x in mine])
        phrases.append((phrase, len(mine), gp.mean(), go.mean(), float(np.mean((gp - go) ** 2))))
    phrases.sort(key=lambda g: (-g[2], g[0]))
    both = 0 < o.sum() < n
    right = ((p > 0.5) & (o == 1)) | ((p < 0.5) & (o == 0))
    return {
        "n": n,
        "brier": brier,
        "log_score": float(np.mean([x["log"] for x in pairs])),
        "base_rate": base,
        "brier_skill_score": 1 - brier / uncertainty if uncertainty else None,
        "decomposition": (reliability, resolution, uncertainty),
        "calibration": table,
        "by_forecaster": people,
        "by_estimate": phrases,
        "auc": float(roc_auc_score(o, p)) if both else None,
        "right_side": float((right.sum() + 0.5 * (p == 0.5).sum()) / n),
    }


def close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def assert_agrees(got: ScoresOut, want: dict[str, Any]) -> None:
    assert got.n == want["n"]
    for name in ("brier", "log_score", "base_rate", "brier_skill_score"):
        assert close(getattr(got, name), want[name]), name
    d = got.decomposition
    assert all(
        close(x, y)
        for x, y in zip(
            (d.reliability, d.resolution, d.uncertainty), want["decomposition"], strict=True
        )
    )
    assert len(got.calibration) == len(want["calibration"])
    for b, w in zip(got.calibration, want["calibration"], strict=True):
        values = (
            b.bin_low,
            b.bin_high,
            b.n,
            b.mean_probability,
            b.observed_rate,
            b.ci_low,
            b.ci_high,
        )
        assert all(close(x, y) for x, y in zip(values, w, strict=True)), (values, w)
    assert [r.forecaster for r in got.by_forecaster] == [w[0] for w in want["by_forecaster"]]
    for r, w in zip(got.by_forecaster, want["by_forecaster"], strict=True):
        values = (r.n, r.brier, r.log_score, r.time_averaged_brier, r.relative_brier)
        assert all(close(x, y) for x, y in zip(values, w[1:], strict=True)), (r, w)
    assert [g.estimate for g in got.by_estimate] == [w[0] for w in want["by_estimate"]]
    for g, w in zip(got.by_estimate, want["by_estimate"], strict=True):
        values = (g.n, g.mean_probability, g.observed_rate, g.brier)
        assert all(close(x, y) for x, y in zip(values, w[1:], strict=True)), (g, w)
    assert close(got.discrimination.auc, want["auc"])
    assert close(got.discrimination.right_side, want["right_side"])


def scores(db: Database, **filters: Any) -> ScoresOut:
    with db.read() as conn:
        return scoreboard_store.compute_scores(conn, **filters)


def check_every_view(db: Database) -> None:
    """Unfiltered and filtered scores at several bin counts against the reference."""
    pairs = reference_pairs(db)
    assert pairs, "the data must hold scored pairs"
    middle = date(2026, 3, 1)
    views: list[tuple[dict[str, Any], Any]] = [
        ({}, lambda x: True),
        # "ANN" is the identity of "Ann" and "ann": one forecaster.
        ({"forecaster": "ANN"}, lambda x: x["key"] == "ann"),
        ({"tag": "a"}, lambda x: "|a|" in x["tag_index"]),
        ({"resolved_from": middle}, lambda x: x["resolved_on"] >= middle),
        (
            {"resolved_to": middle, "tag": "b"},
            lambda x: x["resolved_on"] <= middle and "|b|" in x["tag_index"],
        ),
    ]
    for filters, keep in views:
        chosen = [x for x in pairs if keep(x)]
        if not chosen:
            assert scores(db, **filters).n == 0, filters
            continue
        for bins in (1, 7, 10, 100):
            assert_agrees(scores(db, bins=bins, **filters), reference_scores(chosen, bins))


def test_scores_agree_with_numpy_on_the_raw_rows(db: Database) -> None:
    build(db, seed=3)
    check_every_view(db)
    assert scores(db).by_forecaster[0].forecaster == "Ann", "shown as first spelled"


def test_reopening_and_resolving_again_keep_the_totals_right(db: Database) -> None:
    ids = build(db, seed=5, questions=20)
    before = scores(db)
    with db.write() as conn:
        domain.reopen_question(conn, ids[0], note="wrong call", actor="t")
        domain.reopen_question(conn, ids[-1], note="not void after all", actor="t")
    check_every_view(db)
    # Forecasts added while it is open count once it resolves again.
    with db.write() as conn:
        domain.add_forecast(
            conn,
            ids[0],
            ForecastIn(forecaster="late", probability=0.9, made_on=date(2026, 4, 30)),
            today=TODAY,
            actor="t",
        )
        domain.resolve_question(conn, ids[0], ResolveIn(outcome="yes"), today=TODAY, actor="t")
        domain.resolve_question(conn, ids[-1], ResolveIn(outcome="no"), today=TODAY, actor="t")
    check_every_view(db)
    assert scores(db).n >= before.n + 1


def test_reopening_everything_leaves_no_totals_behind(db: Database) -> None:
    ids = build(db, seed=9, questions=8)
    with db.write() as conn:
        for qid in ids[:-4]:
            domain.reopen_question(conn, qid, note=None, actor="t")
    assert scores(db).n == 0
    with db.read() as conn:
        for table in ("score_pairs", "score_value_totals", "score_forecaster_totals"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0, table


def test_a_refresh_scores_questions_written_behind_the_api_once(db: Database) -> None:
    """What an import does: rows stored directly, then refresh for those questions; a second
    refresh (or a full one) changes nothing."""
    build(db, seed=11, questions=6)
    with db.write() as conn:
        qid = conn.execute(
            text(
                "INSERT INTO questions (title, resolution_criteria, opened_on, resolve_by, tags,"
                " tag_index, news_query, news_query_derived, match_pending, default_outcome,"
                " status, outcome, resolved_on, evidence_urls, created_at, updated_at) VALUES"
                " ('Will the imported event happen?', 'It does.', '2025-01-01', '2025-12-31',"
                " '[\"a\"]', '|a|', 'event', false, false, 'no', 'resolved', 'yes', '2025-06-01',"
                " '[]', '2025-01-01 00:00:00', '2025-01-01 00:00:00') RETURNING id"
            )
        ).scalar_one()
        for name, p, made_on in (
            ("bo", 0.2, "2025-02-01"),
            ("bo", 0.6, "2025-04-01"),
            ("zoe", 0.9, "2025-03-01"),
        ):
            conn.execute(
                text(
                    "INSERT INTO forecasts (question_id, forecaster, forecaster_key, probability,"
                    " made_on, created_at) VALUES (:q, :name, :key, :p, :made_on,"
                    " '2025-01-01 00:00:00')"
                ),
                {"q": qid, "name": name, "key": name, "p": p, "made_on": made_on},
            )
        score_totals.refresh(conn, [qid])
    check_every_view(db)
    once = scores(db)
    with db.write() as conn:
        score_totals.refresh(conn, [qid])
    assert scores(db) == once
    with db.write() as conn:
        score_totals.refresh(conn, None)
    check_every_view(db)


def test_resolutions_committed_at_once_add_up(db: Database) -> None:
    """Eight connections resolve eight questions at the same moment (on PostgreSQL truly at
    once, on SQLite one after another): the totals are those of a rebuild."""
    ids = build(db, seed=13, questions=12)
    with db.write() as conn:
        for qid in ids[:8]:
            domain.reopen_question(conn, qid, note=None, actor="t")
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def resolve(qid: int) -> None:
        try:
            start.wait()
            with db.write() as conn:
                domain.resolve_question(conn, qid, ResolveIn(outcome="yes"), today=TODAY, actor="t")
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=resolve, args=(qid,)) for qid in ids[:8]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    check_every_view(db)


def test_the_migration_scores_what_is_already_stored(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = Database(url, make_settings(url))
    try:
        upgrade_to(db, "0008")
        with db.write() as conn:
            store_old_resolved_question(conn)
        db.migrate()
        body = scores(db)
        assert body.n == 1
        assert body.brier == pytest.approx(0.09)
        assert [r.forecaster for r in body.by_forecaster] == ["Ann"]
    finally:
        db.dispose()
