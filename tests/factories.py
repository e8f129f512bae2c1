"""Builders for the records tests need, in one place.

Questions, forecasts and resolutions are made through the domain's own functions (or, for
`post_question`, through the API), so a test's data obeys the same rules as a user's.
"""

from __future__ import annotations

from datetime import date
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, insert, text

from forecasts import questions as domain
from forecasts.models import utcnow
from forecasts.schemas import ForecastIn, QuestionCreate, ResolveIn
from forecasts.tables import sources_t
from service.db import Database

QUESTION_DEFAULTS: dict[str, Any] = {
    "title": "Will the port reopen before the end of the year?",
    "resolution_criteria": "YES if the port authority reports it open to traffic.",
    "opened_on": "2020-01-01",
    "resolve_by": "2020-12-31",
}


def question_spec(**fields: Any) -> QuestionCreate:
    """A valid question body: the defaults above with `fields` laid over them."""
    return QuestionCreate.model_validate({**QUESTION_DEFAULTS, **fields})


def store_question(db: Database, *, today: date, actor: str = "test", **fields: Any) -> int:
    """Create a question through the domain, in a transaction of its own; returns its id."""
    with db.write() as conn:
        return domain.create_question(conn, question_spec(**fields), today=today, actor=actor)


def store_forecast(
    db: Database,
    question_id: int,
    forecaster: str,
    probability: float,
    *,
    made_on: date,
    today: date,
    actor: str = "test",
) -> int:
    """Add a forecast through the domain; returns its id."""
    spec = ForecastIn(forecaster=forecaster, probability=probability, made_on=made_on)
    with db.write() as conn:
        return domain.add_forecast(conn, question_id, spec, today=today, actor=actor)


def store_resolution(
    db: Database,
    question_id: int,
    outcome: str,
    *,
    resolved_on: date,
    today: date,
    actor: str = "test",
) -> None:
    """Resolve (or annul) a question through the domain."""
    spec = ResolveIn.model_validate({"outcome": outcome, "resolved_on": resolved_on})
    with db.write() as conn:
        domain.resolve_question(conn, question_id, spec, today=today, actor=actor)


def store_source(db: Database, name: str, kind: str, url: str, every: int = 60) -> int:
    """A source row as configuration would leave it (enabled, never polled); returns its id.
    Written straight to the table: tests use it for loopback and folder URLs that the API's
    checks are not the subject of."""
    now = utcnow()
    with db.write() as conn:
        return int(
            conn.execute(
                insert(sources_t)
                .values(
                    name=name,
                    kind=kind,
                    url=url,
                    poll_every_minutes=every,
                    enabled=True,
                    options={},
                    items_seen=0,
                    consecutive_failures=0,
                    created_at=now,
                    updated_at=now,
                )
                .returning(sources_t.c.id)
            ).scalar_one()
        )


def post_question(client: Any, headers: dict[str, str] | None = None, **fields: Any) -> int:
    """Create a question through the API (a TestClient or an httpx.Client); returns its id."""
    body = {**QUESTION_DEFAULTS, **fields}
    response = client.post("/api/questions", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


__all__ = [
    "QUESTION_DEFAULTS",
    "post_question",
    "question_spec",
    "store_forecast",
    "store_question",
    "store_resolution",
    "store_source",
]


def upgrade_to(db: Database, revision: str) -> None:
    """Migrate `db` only as far as `revision`, to hold data the way an older release did."""
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("service").joinpath("migrations"))
    )
    with db.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        conn.commit()


def store_old_resolved_question(conn: Connection) -> None:
    """Question 1, resolved yes on 2020-06-01, with Ann's forecast of 0.7: raw rows that
    every schema from revision 0003 on accepts (no domain code of today involved)."""
    conn.execute(
        text(
            "INSERT INTO questions (id, title, resolution_criteria, opened_on, resolve_by,"
            " tags, tag_index, news_query, match_pending, default_outcome, status,"
            " outcome, resolved_on, evidence_urls, created_at, updated_at) VALUES"
            " (1, 'Will the port reopen this year?', 'Reopened.', '2020-01-01',"
            " '2020-12-31', '[]', '', 'port reopen', 0, 'no', 'resolved', 'yes',"
            " '2020-06-01', '[]', '2020-01-01 00:00:00', '2020-01-01 00:00:00')"
        )
    )
    conn.execute(
        text(
            "INSERT INTO forecasts (question_id, forecaster, forecaster_key, probability,"
            " made_on, created_at) VALUES (1, 'Ann', 'ann', 0.7, '2020-01-02',"
            " '2020-01-02 00:00:00')"
        )
    )
