"""Question rules reached without HTTP: forecasts/questions.py and forecasts/estimates.py."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from forecasts import question_views as views
from forecasts import questions as domain
from forecasts import restore
from forecasts.errors import InvalidInput, NotFound, QuestionClosed, UnknownEstimate
from forecasts.estimates import estimate_table, normalise_phrase, probability_of
from forecasts.identity import Principal
from forecasts.schemas import ForecastIn, QuestionCreate, ResolveIn
from tests.factories import store_question

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
            spec(forecast={"forecaster": "A", "estimate": "unlikely"}, news_query="port reopen"),
            today=TODAY,
            actor="t",
        )
        question = views.get_question(conn, qid)
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
        domain.create_question(conn, spec(**changes), today=TODAY, actor=None)
    assert error.value.field == field
    with sqlite_db.read() as conn:
        assert views.list_questions(conn)[1] == 0, "the transaction left nothing behind"


def test_schema_refuses_loose_numbers() -> None:
    for bad in (True, "0.5", float("nan"), float("inf"), 1.01, -0.01):
        with pytest.raises(ValidationError):
            ForecastIn.model_validate({"forecaster": "A", "probability": bad})
    assert ForecastIn.model_validate({"forecaster": "A", "probability": 1}).probability == 1.0


def test_closed_questions_refuse_changes(sqlite_db) -> None:  # noqa: ANN001
    with sqlite_db.write() as conn:
        qid = domain.create_question(conn, spec(), today=TODAY, actor=None)
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
        qid = domain.create_question(conn, spec(news_query="port"), today=TODAY, actor=None)
    assert pending()
    with sqlite_db.write() as conn:
        conn.execute(update(table).values(match_pending=False))
        domain.update_question(conn, qid, QuestionPatch(tags=["x"]), today=TODAY)
    assert not pending(), "a change that cannot alter matches needs no pass"
    with sqlite_db.write() as conn:
        domain.update_question(conn, qid, QuestionPatch(resolve_by="2026-06-30"), today=TODAY)
    assert pending()


def test_the_domain_validates_and_derives_the_news_query(sqlite_db) -> None:  # noqa: ANN001
    from forecasts.schemas import QuestionPatch

    with pytest.raises(InvalidInput) as error, sqlite_db.write() as conn:
        domain.create_question(conn, spec(news_query="port AND ("), today=TODAY, actor=None)
    assert error.value.field == "news_query"
    with sqlite_db.write() as conn:
        qid = domain.create_question(conn, spec(), today=TODAY, actor=None)
        derived = views.get_question(conn, qid).news_query
        assert "port" in derived, "a question without a query gets one from its title"
        domain.update_question(conn, qid, QuestionPatch(news_query="harbour"), today=TODAY)
        assert views.get_question(conn, qid).news_query == "harbour"
        domain.update_question(conn, qid, QuestionPatch(news_query=""), today=TODAY)
        assert views.get_question(conn, qid).news_query == derived, "emptied: derived again"


def _pending_suggestion(conn, question_id: int, outcome: str) -> int:  # noqa: ANN001
    from datetime import UTC, datetime

    from forecasts.tables import suggestions_t

    now = datetime(2026, 2, 20, tzinfo=UTC)
    return int(
        conn.execute(
            suggestions_t.insert()
            .values(
                question_id=question_id,
                outcome=outcome,
                confidence=0.7,
                resolver="news-match",
                rationale="test",
                evidence=[],
                status="pending",
                created_at=now,
                updated_at=now,
            )
            .returning(suggestions_t.c.id)
        ).scalar_one()
    )


def test_deciding_a_question_supersedes_its_pending_suggestions_at_once(sqlite_db) -> None:  # noqa: ANN001
    """Resolving or annulling, by hand or by accepting one suggestion, leaves no pending
    suggestion on the question in the same transaction: nothing needs to sweep them up."""
    from sqlalchemy import select

    from forecasts.suggestions import accept_suggestion
    from forecasts.tables import suggestions_t

    def statuses(qid: int) -> dict[int, str]:
        with sqlite_db.read() as conn:
            rows = conn.execute(
                select(suggestions_t.c.id, suggestions_t.c.status).where(
                    suggestions_t.c.question_id == qid
                )
            )
            return {r.id: r.status for r in rows}

    with sqlite_db.write() as conn:
        by_hand = domain.create_question(conn, spec(), today=TODAY, actor=None)
        annulled = domain.create_question(conn, spec(), today=TODAY, actor=None)
        accepted = domain.create_question(conn, spec(), today=TODAY, actor=None)
        for qid in (by_hand, annulled, accepted):
            _pending_suggestion(conn, qid, "yes")
            _pending_suggestion(conn, qid, "no")
    with sqlite_db.write() as conn:
        domain.resolve_question(conn, by_hand, ResolveIn(outcome="yes"), today=TODAY, actor="r")
        domain.resolve_question(
            conn, annulled, ResolveIn(outcome="annulled"), today=TODAY, actor="r"
        )
    assert set(statuses(by_hand).values()) == {"superseded"}
    assert set(statuses(annulled).values()) == {"superseded"}
    chosen = min(statuses(accepted))
    with sqlite_db.write() as conn:
        accept_suggestion(conn, chosen, note=None, actor="r", today=TODAY)
    assert statuses(accepted) == {chosen: "accepted", chosen + 1: "superseded"}


def test_a_restored_question_obeys_the_rules_a_stored_one_does() -> None:
    """The import's checks are the domain's (forecasts/restore.py); that a refused record
    leaves nothing written is tests/test_bulk_import.py's."""
    values = {
        "id": 41,
        "title": "Will the port reopen this spring?",
        "resolution_criteria": "Reopened.",
        "opened_on": date(2026, 2, 1),
        "resolve_by": date(2026, 5, 31),
        "tags": ["ports", "ports"],
        "status": "open",
        "evidence_urls": [],
    }
    with pytest.raises(InvalidInput) as error:
        restore.check_forecast("question 41", 1, "A", 7.5, date(2026, 2, 1))
    assert "question 41, forecast 1: probability 7.5" in error.value.detail
    with pytest.raises(InvalidInput) as error:
        restore.check_question({**values, "status": "resolved"}, "question 41")
    assert "does not go with outcome" in error.value.detail
    stored = restore.check_question(values, "question 41")
    assert stored["tags"] == ["ports"]
    assert stored["tag_index"] == domain.tag_index(["ports"]), "the tag index is the domain's"


def test_a_first_spelling_read_from_a_rolled_back_write_is_forgotten(sqlite_db) -> None:  # noqa: ANN001
    """The first spelling of a forecaster is remembered on the connection, but one read from
    a forecast that is then rolled back never names the forecaster."""
    today = domain.utc_today()
    qid = store_question(sqlite_db, today=today)
    admin = Principal("admin", frozenset({"admin"}))

    def forecast_as(conn, name: str) -> str:  # noqa: ANN001
        spec = ForecastIn(forecaster=name, probability=0.5, made_on=date(2020, 6, 1))
        return str(domain.store_forecast(conn, qid, spec, today=today, actor=admin)["forecaster"])

    with sqlite_db.engine.connect() as conn:
        with pytest.raises(RuntimeError), conn.begin():
            assert forecast_as(conn, "Zed Example") == "Zed Example"
            # Read back inside the same transaction: the spelling is the uncommitted one.
            assert forecast_as(conn, "ZED EXAMPLE") == "Zed Example"
            raise RuntimeError("the transaction is rolled back")
        with conn.begin():
            assert forecast_as(conn, "zed EXAMPLE") == "zed EXAMPLE"
            assert forecast_as(conn, "Zed Example") == "zed EXAMPLE"
    with sqlite_db.read() as conn:
        shown = {f.forecaster for f in views.get_question(conn, qid).forecasts}
    assert shown == {"zed EXAMPLE"}
