"""An import into an empty database writes its questions and forecasts while the rest of
the file is still being checked (service.transfer._Stream): a bad record found after them
still refuses the whole file, naming it, with nothing written; and the score totals it
writes set-based (forecasts.score_totals._add) are those a rebuild of everything writes."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from forecasts import score_totals
from forecasts.derived_query import derive_query
from forecasts.errors import InvalidInput
from forecasts.tables import questions_t
from service.db import Database
from service.transfer import import_file
from tests.test_bulk_import import counts, synthetic_export


def test_a_bad_audit_row_after_the_forecasts_are_written_refuses_the_file(
    db: Database, tmp_path: Path
) -> None:
    document = synthetic_export(120, 15)
    document["audit"][100]["actor"] = ""
    path = tmp_path / "late.json"
    path.write_text(json.dumps(document))
    with pytest.raises(InvalidInput, match="audit row 101: action, actor and at needed"):
        import_file(db, path)
    assert counts(db) == (0, 0, 0), "the questions and forecasts written are rolled back"

    document["audit"][100]["actor"] = "test"
    path.write_text(json.dumps(document))
    assert import_file(db, path).added == 120
    assert counts(db) == (120, 1800, 120)


def _totals(db: Database) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with db.read() as conn:
        values = conn.execute(
            select(score_totals.value_totals_t).order_by(*score_totals.value_totals_t.c)
        ).all()
        people = conn.execute(
            select(score_totals.forecaster_totals_t).order_by(
                score_totals.forecaster_totals_t.c.forecaster_key
            )
        ).all()
    return [tuple(r) for r in values], [tuple(r) for r in people]


def test_imported_totals_equal_a_rebuild_even_where_a_phrase_is_empty(
    db: Database, tmp_path: Path
) -> None:
    """A phrase given as '' shares its totals row with a p given as a number (both are
    totalled under ''): one row counts both."""
    document = synthetic_export(30, 12)
    # Questions 3 and 9 are both resolved yes: p 0.5 on each, given as '' on 3.
    for question, phrase in ((document["questions"][2], ""), (document["questions"][8], None)):
        for forecast in question["forecasts"]:
            forecast["probability"], forecast["estimate"] = 0.5, phrase
    path = tmp_path / "phrases.json"
    path.write_text(json.dumps(document))
    import_file(db, path)
    imported = _totals(db)
    assert imported[0] and imported[1]
    assert {row[2] for row in imported[0]} == {score_totals.NO_PHRASE}
    with db.read() as conn:
        pairs = conn.execute(
            select(
                score_totals.pairs_t.c.probability,
                score_totals.pairs_t.c.outcome,
                score_totals.pairs_t.c.estimate,
            )
        ).all()
    keys: dict[tuple[object, object], set[object]] = {}
    for p, o, estimate in pairs:
        keys.setdefault((p, o), set()).add(estimate)
    assert any(kinds == {"", None} for kinds in keys.values()), "both kinds under one key"
    assert sum(int(str(row[3])) for row in imported[0]) == len(pairs)
    with db.write() as conn:
        score_totals.refresh(conn, None)
    assert _totals(db) == imported
    # Scored again question by question (taking their pairs away first), still the same.
    with db.write() as conn:
        score_totals.refresh(conn, [q["id"] for q in document["questions"]])
    assert _totals(db) == imported


@pytest.mark.parametrize("new_ids", [False, True])
def test_a_csv_question_has_its_query_derived_flag_once_stored(
    db: Database, tmp_path: Path, new_ids: bool
) -> None:
    """A CSV carries no news_query_derived: each question's is worked out after its rows are
    written (import_files.QuestionLedger) and set on the stored row, nothing else changed."""
    title = "Will the Bank of England cut rates before 2031?"
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["question_id", "title", "resolution_criteria", "opened_on", "resolve_by"]
                    + ["forecaster", "probability", "made_on", "news_query"]
                    + ["question_created_at"])  # fmt: skip
    for qid, query in ((7, derive_query(title)), (8, "my own query")):
        for forecaster in ("Ann", "Bob"):
            writer.writerow([qid, title, "YES if it does.", "2026-01-01", "2031-01-01"]
                            + [forecaster, 0.5, "2026-01-02", query]
                            + ["2026-01-01T00:00:00+00:00"])  # fmt: skip
    path = tmp_path / "derived.csv"
    path.write_text(out.getvalue(), newline="")
    assert import_file(db, path, new_ids=new_ids).added == 2
    with db.read() as conn:
        rows = conn.execute(
            select(
                questions_t.c.news_query, questions_t.c.news_query_derived, questions_t.c.updated_at
            ).order_by(questions_t.c.id)
        ).all()
    assert [(query != "my own query", derived) for query, derived, _at in rows] == [
        (True, True),
        (False, False),
    ]
    assert {_naive(at) for _q, _d, at in rows} == {datetime(2026, 1, 1)}, "updated_at kept"
    assert counts(db)[:2] == (2, 4)


def _naive(instant: object) -> datetime:
    assert isinstance(instant, datetime)
    return instant.replace(tzinfo=None)
