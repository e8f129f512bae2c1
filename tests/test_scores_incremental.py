"""Scores stay right as questions resolve: the cached board is caught up with only the newly
resolved questions, and gives exactly what a rebuild from scratch gives."""

from __future__ import annotations

import random
from datetime import date, timedelta

from forecasts import questions as domain
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


def test_catching_up_equals_rebuilding(db: Database, monkeypatch) -> None:  # noqa: ANN001
    builds: list[int | None] = []
    real_build = scoreboard_store.build_board

    def recording_build(conn, only_ids=None):  # noqa: ANN001, ANN202
        builds.append(None if only_ids is None else len(only_ids))
        return real_build(conn, only_ids)

    monkeypatch.setattr(scoreboard_store, "build_board", recording_build)
    rng = random.Random(7)
    first = add_questions(db, rng, 30, ["ann", "bo", "cy"])
    resolve(db, rng, first[:20])
    before = scores(db)
    assert before.n > 0

    # New forecasters and new resolutions, some of questions older than those scored.
    second = add_questions(db, rng, 10, ["ann", "dee", "eve"])
    resolve(db, rng, first[20:] + second[:5])
    builds.clear()
    caught_up = [scores(db), scores(db, tag="a"), scores(db, forecaster="dee")]
    assert builds == [15], "only the 15 newly resolved questions were fetched"
    assert caught_up[0].n > before.n
    assert {"dee", "eve"} <= {row.forecaster for row in caught_up[0].by_forecaster}

    scoreboard_store.clear_cache()
    rebuilt = [scores(db), scores(db, tag="a"), scores(db, forecaster="dee")]
    assert caught_up == rebuilt


def test_a_forecast_on_an_open_question_keeps_the_cached_board(db: Database) -> None:
    rng = random.Random(11)
    ids = add_questions(db, rng, 6, ["ann", "bo"])
    resolve(db, rng, ids[:3])
    scores(db)
    with db.read() as conn:
        cached = scoreboard_store._cache[conn.engine]
    with db.write() as conn:
        domain.add_forecast(
            conn,
            ids[4],
            ForecastIn(forecaster="zed", probability=0.3, made_on=date(2026, 2, 1)),
            today=TODAY,
            actor="t",
        )
    scores(db)
    with db.read() as conn:
        assert scoreboard_store._cache[conn.engine] is cached, "open questions do not move scores"
