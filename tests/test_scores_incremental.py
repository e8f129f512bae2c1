"""Scores stay right as questions resolve: the totals each resolving transaction keeps give
what a rebuild from scratch gives, and nothing else moves them."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from forecasts import questions as domain
from forecasts import score_totals
from forecasts.schemas import ForecastIn, QuestionCreate, ResolveIn, ScoresOut
from service import scoreboard_store
from service.db import Database

TODAY = date(2026, 6, 1)


def add_questions(db: Database, rng: random.Random, count: int, names: list[str]) -> list[int]:
    ids = []
    for k in range(count):
        spec = QuestionCreate(
            title=f"Will event number {k} happen in time?",
            resolution_criteria="It happens.",
            resolve_by=date(2026, 5, 1),
            opened_on=date(2026, 1, 1),
            tags=[rng.choice("ab")],
            news_query="event",
        )
        with db.write() as conn:
            qid = domain.create_question(conn, spec, today=TODAY, actor="t")
            for name in rng.sample(names, rng.randint(1, len(names))):
                for _ in range(rng.randint(1, 3)):
                    made_on = date(2026, 1, 1) + timedelta(days=rng.randint(0, 110))
                    domain.add_forecast(
                        conn,
                        qid,
                        ForecastIn(
                            forecaster=name,
                            probability=round(rng.random(), 3),
                            made_on=made_on,
                        ),
                        today=TODAY,
                        actor="t",
                    )
        ids.append(qid)
    return ids


def resolve(db: Database, rng: random.Random, ids: list[int]) -> None:
    for qid in ids:
        with db.write() as conn:
            domain.resolve_question(
                conn,
                qid,
                ResolveIn(
                    outcome=rng.choice(["yes", "no"]),
                    resolved_on=date(2026, 1, 1) + timedelta(days=rng.randint(30, 150)),
                ),
                today=TODAY,
                actor="t",
            )


def scores(db: Database, **filters: object) -> ScoresOut:
    with db.read() as conn:
        return scoreboard_store.compute_scores(conn, **filters)  # type: ignore[arg-type]


def totals(db: Database) -> dict[str, list[tuple[object, ...]]]:
    stored = {}
    with db.read() as conn:
        for table in ("score_pairs", "score_value_totals", "score_forecaster_totals"):
            rows = conn.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2"))
            stored[table] = [tuple(row) for row in rows]
    return stored


def flat(value: object, path: str = "") -> dict[str, object]:
    """A result as {path: leaf}, so that floats compare with a tolerance at any depth."""
    if isinstance(value, dict):
        return {k: v for key in value for k, v in flat(value[key], f"{path}.{key}").items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in flat(item, f"{path}[{i}]").items()}
    return {path: value}


def same_scores(first: ScoresOut, second: ScoresOut) -> None:
    """Equal, up to the last bits of sums added in another order."""
    one, other = flat(first.model_dump()), flat(second.model_dump())
    assert one.keys() == other.keys()
    for key, value in one.items():
        if isinstance(value, float):
            assert value == pytest.approx(other[key], rel=1e-12), key
        else:
            assert value == other[key], key


def test_totals_kept_resolution_by_resolution_equal_a_rebuild(db: Database) -> None:
    rng = random.Random(7)
    first = add_questions(db, rng, 30, ["ann", "bo", "cy"])
    resolve(db, rng, first[:20])
    before = scores(db)
    assert before.n > 0

    # New forecasters and new resolutions, some of questions older than those scored.
    second = add_questions(db, rng, 10, ["ann", "dee", "eve"])
    resolve(db, rng, first[20:] + second[:5])
    kept = [scores(db), scores(db, tag="a"), scores(db, forecaster="dee")]
    assert kept[0].n > before.n
    assert {"dee", "eve"} <= {row.forecaster for row in kept[0].by_forecaster}

    with db.write() as conn:
        score_totals.refresh(conn, None)
    rebuilt = [scores(db), scores(db, tag="a"), scores(db, forecaster="dee")]
    for one, other in zip(kept, rebuilt, strict=True):
        same_scores(one, other)


def test_a_forecast_on_an_open_question_writes_no_totals(db: Database) -> None:
    rng = random.Random(11)
    ids = add_questions(db, rng, 6, ["ann", "bo"])
    resolve(db, rng, ids[:3])
    stored = totals(db)
    with db.write() as conn:
        domain.add_forecast(
            conn,
            ids[4],
            ForecastIn(forecaster="zed", probability=0.3, made_on=date(2026, 2, 1)),
            today=TODAY,
            actor="t",
        )
    assert totals(db) == stored, "open questions do not move scores"
