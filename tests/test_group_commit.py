"""The group-committing writer: many writers at once, each answered only once its write is
committed, a failing write alone refused, and every acknowledged write there to read."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Connection, func, select

from forecasts import question_views as views
from forecasts import questions as domain
from forecasts.errors import InvalidInput, QuestionClosed
from forecasts.schemas import ForecastIn
from forecasts.tables import audit_t, forecasts_t, questions_t
from service.app import create_app
from service.db import Database
from service.settings import Settings
from tests.conftest import ADMIN
from tests.factories import question_spec, store_question, store_resolution
from tests.waiting import wait_until

QUESTION = {
    "title": "Will the harbour bridge reopen this year?",
    "resolution_criteria": "YES if the city reports it open to traffic.",
    "opened_on": "2025-01-01",
    "resolve_by": "2030-12-31",
    "forecast": {"probability": 0.4},
}
WRITERS = 8
WRITES_EACH = 6


@contextmanager
def serving(settings: Settings, db: Database) -> Iterator[str]:
    """The whole app under uvicorn on a loopback port, in a thread; yields its base URL."""
    config = uvicorn.Config(create_app(settings, db), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 30, "uvicorn to start")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _count(db: Database, table: Any, *where: Any) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar())


def test_every_acknowledged_write_of_many_concurrent_writers_is_stored(
    db: Database, settings: Settings
) -> None:
    today = domain.utc_today()
    target = store_question(db, today=today, opened_on="2025-01-01", resolve_by="2030-12-31")

    def writer(n: int) -> list[tuple[str, dict[str, Any]]]:
        answers = []
        with httpx.Client(base_url=base, headers=ADMIN, timeout=60) as http:
            for k in range(WRITES_EACH):
                if k % 2:
                    body = {"probability": round(0.01 * (n * WRITES_EACH + k), 2)}
                    answer = http.post(f"/api/questions/{target}/forecasts", json=body)
                    kind = "forecast"
                else:
                    answer = http.post("/api/questions", json={**QUESTION, "tags": [f"w{n}"]})
                    kind = "question"
                assert answer.status_code == 201, answer.text
                answers.append((kind, answer.json()))
        return answers

    with serving(settings, db) as base, ThreadPoolExecutor(WRITERS) as pool:
        answers = [a for batch in pool.map(writer, range(WRITERS)) for a in batch]
        with httpx.Client(base_url=base) as http:
            listed = http.get("/api/questions", params={"limit": 1000}).json()
            target_after = http.get(f"/api/questions/{target}").json()

    made_questions = {a["id"] for kind, a in answers if kind == "question"}
    made_forecasts = {a["id"] for kind, a in answers if kind == "forecast"}
    assert len(made_questions) == len(made_forecasts) == WRITERS * WRITES_EACH // 2
    assert made_questions <= {q["id"] for q in listed["items"]}
    assert listed["total"] == len(made_questions) + 1
    assert made_forecasts == {f["id"] for f in target_after["forecasts"]}
    # One audit row for each acknowledged change, no more, no fewer.
    assert _count(db, audit_t, audit_t.c.action == "question.create") == len(made_questions) + 1
    assert _count(db, audit_t, audit_t.c.action == "forecast.create") == (
        len(made_questions) + len(made_forecasts)
    )


def _hold_the_writer(db: Database) -> tuple[threading.Event, threading.Event]:
    """Occupy the writer with a change that waits, so the next changes queue up behind it
    and are committed together as one batch."""
    holding, release = threading.Event(), threading.Event()

    def wait(conn: Connection) -> None:
        holding.set()
        release.wait(30)

    db.writer.submit(wait)
    assert holding.wait(30), "the writer took the first change"
    return holding, release


def test_a_failing_change_in_a_batch_fails_alone_and_writes_nothing(db: Database) -> None:
    today = domain.utc_today()
    closed = store_question(db, today=today)
    store_resolution(db, closed, "yes", resolved_on=today, today=today)

    def good(n: int) -> Any:
        return lambda conn: (
            domain.store_question(
                conn, question_spec(title=f"Will the good change {n} land?"), today=today, actor="t"
            ).id
        )

    def half_then_refused(conn: Connection) -> None:
        # Writes a question, then is refused: none of it may land.
        domain.store_question(
            conn,
            question_spec(title="Will the half-written change vanish?"),
            today=today,
            actor="t",
        )
        raise InvalidInput("refused after a write", field="title")

    def on_closed_question(conn: Connection) -> int:
        spec = ForecastIn(probability=0.5)
        return int(domain.store_forecast(conn, closed, spec, today=today, actor="t")["id"])

    _holding, release = _hold_the_writer(db)
    futures = [
        db.writer.submit(good(0)),
        db.writer.submit(half_then_refused),
        db.writer.submit(good(1)),
        db.writer.submit(on_closed_question),
        db.writer.submit(good(2)),
    ]
    release.set()
    with pytest.raises(InvalidInput, match="refused after a write"):
        futures[1].result(30)
    with pytest.raises(QuestionClosed):
        futures[3].result(30)
    landed = [futures[i].result(30) for i in (0, 2, 4)]

    with db.read() as conn:
        titles = set(conn.execute(select(questions_t.c.title)).scalars())
        ids = set(conn.execute(select(questions_t.c.id)).scalars())
    assert set(landed) <= ids
    assert {f"Will the good change {n} land?" for n in range(3)} <= titles
    assert "Will the half-written change vanish?" not in titles
    assert _count(db, forecasts_t, forecasts_t.c.question_id == closed) == 0
    # The batch's audit rows are written together at its end: the three that landed have
    # theirs, the refused half-write has none, and readers see the revision move.
    with db.read() as conn:
        audited = set(
            conn.execute(
                select(audit_t.c.object_id).where(audit_t.c.action == "question.create")
            ).scalars()
        )
    assert set(landed) <= audited
    assert audited <= ids
    assert _count(db, audit_t, audit_t.c.action == "forecast.create") == 0


def test_a_batch_moves_the_revision_readers_cache_pages_by(db: Database) -> None:
    today = domain.utc_today()
    with db.read() as conn:
        before = views.data_version(conn)
    _holding, release = _hold_the_writer(db)
    futures = [
        db.writer.submit(
            lambda conn, n=n: (
                domain.store_question(
                    conn,
                    question_spec(title=f"Will batched change {n} land?"),
                    today=today,
                    actor="t",
                ).id
            )
        )
        for n in range(4)
    ]
    release.set()
    made = [f.result(30) for f in futures]
    with db.read() as conn:
        assert views.data_version(conn) > before
        rows = conn.execute(
            select(audit_t.c.object_id, audit_t.c.actor).where(
                audit_t.c.action == "question.create"
            )
        ).all()
    assert sorted(r.object_id for r in rows) == sorted(made)
    assert {r.actor for r in rows} == {"t"}


def test_a_refused_write_among_concurrent_ones_gets_its_own_4xx(
    db: Database, settings: Settings
) -> None:
    today = domain.utc_today()
    closed = store_question(db, today=today)
    store_resolution(db, closed, "yes", resolved_on=today, today=today)
    with serving(settings, db) as base:
        _holding, release = _hold_the_writer(db)

        def post(n: int) -> httpx.Response:
            with httpx.Client(base_url=base, headers=ADMIN, timeout=60) as http:
                if n == 2:
                    return http.post(f"/api/questions/{closed}/forecasts", json={"probability": 1})
                return http.post("/api/questions", json={**QUESTION, "tags": [f"n{n}"]})

        with ThreadPoolExecutor(5) as pool:
            pending = [pool.submit(post, n) for n in range(5)]
            # Every request is queued behind the held change before the writer goes on.
            wait_until(lambda: db.writer.queued() >= 5, 30, "the five writes to queue up")
            release.set()
            answers = [p.result(60) for p in pending]
        with httpx.Client(base_url=base) as http:
            listed = http.get("/api/questions", params={"limit": 100}).json()

    assert answers[2].status_code == 409, answers[2].text
    assert "resolved" in answers[2].json()["detail"]
    made = [answers[n].json() for n in (0, 1, 3, 4)]
    assert all(answers[n].status_code == 201 for n in (0, 1, 3, 4))
    assert {m["id"] for m in made} <= {q["id"] for q in listed["items"]}
    assert _count(db, forecasts_t, forecasts_t.c.question_id == closed) == 0


def test_a_write_is_read_back_right_after_its_201(db: Database, settings: Settings) -> None:
    with serving(settings, db) as base, httpx.Client(base_url=base, timeout=60) as http:
        for n in range(5):
            made = http.post("/api/questions", json=QUESTION, headers=ADMIN)
            assert made.status_code == 201, made.text
            question = made.json()
            assert http.get(f"/api/questions/{question['id']}").json() == question
            page = http.get("/api/questions", params={"limit": 1}).json()
            assert page["items"] == [question]
            forecast = http.post(
                f"/api/questions/{question['id']}/forecasts",
                json={"probability": 0.1 * n, "made_on": "2025-02-01"},
                headers=ADMIN,
            )
            assert forecast.status_code == 201, forecast.text
            seen = http.get(f"/api/questions/{question['id']}").json()["forecasts"]
            assert forecast.json()["id"] in {f["id"] for f in seen}


# PostgreSQL only: a server ends idle sessions (restart, idle timeout); an SQLite file has
# no session to end.
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_write_after_the_server_dropped_the_writers_connection_lands(
    db: Database, settings: Settings
) -> None:
    from fastapi.testclient import TestClient
    from sqlalchemy import text

    with TestClient(create_app(settings, db)) as http:
        first = http.post("/api/questions", json=QUESTION, headers=ADMIN)
        assert first.status_code == 201, first.text
        # As a restart or an idle timeout would: every other session on the database ends.
        with db.engine.connect() as admin:
            admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        second = http.post("/api/questions", json=QUESTION, headers=ADMIN)
        assert second.status_code == 201, second.text
        assert http.get(f"/api/questions/{second.json()['id']}").json() == second.json()
