"""Question rules reached without HTTP: forecasts/questions.py and forecasts/estimates.py."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from forecasts import questions as domain
from forecasts.errors import InvalidInput, NotFound, QuestionClosed, UnknownEstimate
from forecasts.estimates import estimate_table, normalise_phrase, probability_of
from forecasts.schemas import ForecastIn, QuestionCreate, ResolveIn

TODAY = date(2026, 3, 1)


def spec(**changes: object) -> QuestionCreate:
    base = {
        "title": "Will the port reopen this spring?",
        "resolution_criteria": "Reopened.",
        "resolve_by": "2026-05-31",
        "opened_on": "2026-02-01",
    }
    return QuestionCreate.model_validate({**base, **changes})


def test_survey_medians_come_from_the_bundled_survey() -> None:
    # Medians of zonination/perceptions probly.csv (46 answers per phrase), in percent / 100.
    assert probability_of("Almost Certainly") == 0.95
    assert probability_of("about even") == 0.5
    assert probability_of("Highly Unlikely") == 0.05


def test_mapped_phrases_say_where_they_map() -> None:
    table = {e.phrase: e for e in estimate_table()}
    assert table["bound to"].probability == table["almost certainly"].probability
    assert "mapped to 'almost certainly'" in table["bound to"].source
    assert len(table) == len(estimate_table()), "no phrase appears twice"


def test_phrases_are_normalised() -> None:
    assert normalise_phrase("  Not  Far\u2011Fetched ") == "not far-fetched"
    assert probability_of("NOT FAR-FETCHED") == probability_of("not far-fetched")
    with pytest.raises(UnknownEstimate) as error:
        probability_of("perhaps")
    assert "bound to" in error.value.detail


def test_create_and_read_back(sqlite_db) -> None:  # noqa: ANN001
    with sqlite_db.write() as conn:
        qid = domain.create_question(
            conn,
            spec(forecast={"forecaster": "A", "estimate": "unlikely"}),
            news_query="port reopen",
            today=TODAY,
            actor="t",
        )
        question = domain.get_question(conn, qid)
    assert question.forecasts[0].probability == probability_of("unlikely")
    assert question.forecasts[0].made_on == date(2026, 2, 1)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"opened_on": "2026-03-02"}, "opened_on"),
        ({"resolve_by": "2026-01-31"}, "resolve_by"),
        ({"forecast": {"forecaster": "A", "probability": 0.5, "made_on": "2026-06-01"}}, "made_on"),
    ],
)
def test_window_rules(sqlite_db, changes: dict, field: str) -> None:  # noqa: ANN001
    with pytest.raises(InvalidInput) as error, sqlite_db.write() as conn:
        domain.create_question(conn, spec(**changes), news_query="x", today=TODAY, actor=None)
    assert error.value.field == field
    with sqlite_db.read() as conn:
        assert domain.list_questions(conn)[1] == 0, "the transaction left nothing behind"


def test_schema_refuses_loose_numbers() -> None:
    for bad in (True, "0.5", float("nan"), float("inf"), 1.01, -0.01):
        with pytest.raises(ValidationError):
            ForecastIn.model_validate({"forecaster": "A", "probability": bad})
    assert ForecastIn.model_validate({"forecaster": "A", "probability": 1}).probability == 1.0


def test_closed_questions_refuse_changes(sqlite_db) -> None:  # noqa: ANN001
    with sqlite_db.write() as conn:
        qid = domain.create_question(conn, spec(), news_query="x", today=TODAY, actor=None)
        domain.resolve_question(conn, qid, ResolveIn(outcome="no"), today=TODAY, actor="r")
    with pytest.raises(QuestionClosed), sqlite_db.write() as conn:
        domain.add_forecast(
            conn,
            qid,
            ForecastIn(forecaster="A", probability=0.5, made_on="2026-02-10"),
            today=TODAY,
            actor=None,
        )
    with pytest.raises(NotFound), sqlite_db.write() as conn:
        domain.resolve_question(conn, qid + 1, ResolveIn(outcome="no"), today=TODAY, actor="r")


def test_new_or_requeried_questions_wait_for_a_news_pass(sqlite_db) -> None:  # noqa: ANN001
    """The next poll cycle matches stored news against a question created or re-queried."""
    from sqlalchemy import select, update

    from forecasts.schemas import QuestionPatch

    table = domain.questions

    def pending() -> bool:
        with sqlite_db.read() as conn:
            return bool(conn.execute(select(table.c.match_pending)).scalar_one())

    with sqlite_db.write() as conn:
        qid = domain.create_question(conn, spec(), news_query="port", today=TODAY, actor=None)
    assert pending()
    with sqlite_db.write() as conn:
        conn.execute(update(table).values(match_pending=False))
        domain.update_question(conn, qid, QuestionPatch(tags=["x"]), today=TODAY)
    assert not pending(), "a change that cannot alter matches needs no pass"
    with sqlite_db.write() as conn:
        domain.update_question(conn, qid, QuestionPatch(resolve_by="2026-06-30"), today=TODAY)
    assert pending()
