"""`forecasts import` in bulk: an export imported into an empty database reproduces it (JSON
and CSV), a bad record anywhere refuses the whole file with nothing written, a second import
adds nothing, the scores are there at once, and the command shows its progress. On SQLite
and PostgreSQL (the `db` fixture)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import func, select
from typer.testing import CliRunner

from forecasts.errors import Conflict, InvalidInput
from forecasts.tables import audit_t, forecasts_t, questions_t
from service import bulk, cli
from service.app import create_app
from service.db import Database
from service.settings import get_settings
from service.transfer import FORMAT, export_csv, export_json, import_file
from tests.conftest import make_settings, truncate_all
from tests.factories import store_forecast, store_question, store_resolution

TODAY = date(2026, 6, 1)


def synthetic_export(questions: int, per_question: int) -> dict[str, Any]:
    """An export as `forecasts export` writes it, of `questions` questions (every third
    resolved) with `per_question` forecasts each, and an audit row per question."""
    items = []
    for n in range(1, questions + 1):
        opened = date(2020, 1, 1) + timedelta(days=n)
        resolved = n % 3 == 0
        items.append(
            {
                "id": n,
                "title": f"Will event {n} happen?",
                "resolution_criteria": f"YES if event {n} is reported.",
                "opened_on": opened.isoformat(),
                "resolve_by": (opened + timedelta(days=200)).isoformat(),
                "tags": ["bulk"],
                "news_query": f"event {n}",
                "status": "resolved" if resolved else "open",
                "outcome": ("yes" if n % 2 else "no") if resolved else None,
                "resolved_on": (opened + timedelta(days=200)).isoformat() if resolved else None,
                "evidence_urls": [],
                "created_at": f"2026-01-01T00:00:{n % 60:02d}+00:00",
                "updated_at": f"2026-01-01T00:00:{n % 60:02d}+00:00",
                "forecasts": [
                    {
                        "id": (n - 1) * per_question + k + 1,
                        "forecaster": f"Forecaster {k % 7}",
                        "probability": round((n * 31 + k * 17) % 100 / 100, 2),
                        "estimate": None,
                        "made_on": (opened + timedelta(days=k % 150)).isoformat(),
                        "rationale": None,
                        "created_by": "test",
                        "created_at": f"2026-01-02T00:00:00.{k + 1:06d}+00:00",
                    }
                    for k in range(per_question)
                ],
            }
        )
    audit = [
        {
            "id": n,
            "at": "2026-01-01T00:00:00+00:00",
            "actor": "test",
            "action": "question.create",
            "object": "question",
            "object_id": n,
            "question_id": n,
            "before": None,
            "after": {"id": n, "tags": ["bulk"]},
        }
        for n in range(1, questions + 1)
    ]
    return {
        "format": FORMAT,
        "questions": items,
        "suggestions": [],
        "evidence_links": [],
        "sources": [],
        "audit": audit,
    }


def counts(db: Database) -> tuple[int, int, int]:
    with db.read() as conn:
        return tuple(  # type: ignore[return-value]
            int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (questions_t, forecasts_t, audit_t)
        )


@pytest.fixture
def empty(db: Database, tmp_path: Path) -> Iterator[Any]:
    """A way to an empty database of `db`'s kind (a new file on SQLite; on PostgreSQL the
    test session's database emptied)."""
    made: list[Database] = []

    def make() -> Database:
        if db.is_sqlite:
            url = f"sqlite:///{tmp_path / f'empty{len(made)}.db'}"
            fresh = Database(url, make_settings(url))
            fresh.migrate()
            made.append(fresh)
            return fresh
        truncate_all(db)
        return db

    yield make
    for fresh in made:
        fresh.dispose()


def _record(db: Database) -> None:
    """A small record through the domain: forecasts by two people, one question resolved."""
    first = store_question(db, today=TODAY, title="Will the port reopen?", tags=["ports"])
    second = store_question(db, today=TODAY, title="=cmd|' /C calc'!A0 will it rain?")
    for question, people in ((first, ("Ann", "Bob")), (second, ("ann",))):
        for k, who in enumerate(people):
            store_forecast(db, question, who, 0.2 + 0.3 * k, made_on=date(2020, 2, 1), today=TODAY)
    store_resolution(db, first, "yes", resolved_on=date(2020, 6, 1), today=TODAY)


def test_a_json_export_imported_into_an_empty_database_reproduces_it(
    db: Database, empty: Any, tmp_path: Path
) -> None:
    _record(db)
    document = export_json(db)
    with TestClient(create_app(make_settings(str(db.url)), db)) as before:
        scores = before.get("/api/scores").json()
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document, indent=2))
    fresh = empty()
    result = import_file(fresh, path)
    assert (result.added, result.present) == (2, 0)
    assert export_json(fresh) == document
    with TestClient(create_app(make_settings(str(fresh.url)), fresh)) as after:
        assert after.get("/api/scores").json() == scores, "scored at once, from the totals"
    again = import_file(fresh, path)
    assert (again.added, again.present) == (0, 2), "the second import adds nothing"
    assert export_json(fresh) == document


def test_a_csv_export_imported_into_an_empty_database_reproduces_it(
    db: Database, empty: Any, tmp_path: Path
) -> None:
    _record(db)
    exported = export_csv(db)
    assert "'=cmd" in exported, "the formula stays defused in the file"
    path = tmp_path / "export.csv"
    path.write_text(exported, newline="")
    fresh = empty()
    assert import_file(fresh, path).added == 2
    assert export_csv(fresh) == exported
    with fresh.read() as conn:
        titles = set(conn.execute(select(questions_t.c.title)).scalars())
    assert "=cmd|' /C calc'!A0 will it rain?" in titles, "stored as it was typed"
    assert import_file(fresh, path).added == 0
    assert export_csv(fresh) == exported


def test_a_hand_written_csv_of_the_needed_columns_imports(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["question_id", "title", "resolution_criteria", "opened_on", "resolve_by"]
    header += ["forecaster", "probability", "made_on", "status", "outcome", "resolved_on"]
    rain = [7, "Rain?", "YES if it rains.", "2020-01-01", "2020-02-01"]
    snow = [8, "Snow?", "YES if it snows.", "2020-01-01", "2020-03-01"]
    writer.writerow(header)
    writer.writerow(rain + ["Ann", 0.7, "2020-01-02", "resolved", "yes", "2020-02-01"])
    writer.writerow(rain + ["Bob", 0.1, "2020-01-03", "resolved", "yes", "2020-02-01"])
    writer.writerow(snow + ["", "", "", "", "", ""])
    path.write_text(out.getvalue(), newline="")
    assert import_file(db, path).added == 2
    assert counts(db)[:2] == (2, 2)
    with TestClient(create_app(make_settings(str(db.url)), db)) as client:
        scores = client.get("/api/scores").json()
        assert client.get("/api/questions/8").json()["forecasts"] == []
    assert "Ann" in json.dumps(scores) and "Bob" in json.dumps(scores)
    assert import_file(db, path).added == 0, "the second import adds nothing"


@pytest.mark.parametrize(
    ("cell", "named"),
    [
        ("abc", "line 3: question 7, forecast 2: probability"),
        ("1.5", "line 3: question 7, forecast 2: probability 1.5 is not in [0, 1]"),
    ],
)
def test_a_bad_csv_cell_refuses_the_file_naming_its_line_and_field(
    sqlite_db: Database, tmp_path: Path, cell: str, named: str
) -> None:
    path = tmp_path / "bad.csv"
    head = (
        "question_id,title,resolution_criteria,opened_on,resolve_by,forecaster,probability,made_on"
    )
    rain = "7,Rain?,YES if it rains.,2020-01-01,2020-02-01"
    path.write_text(f"{head}\n{rain},Ann,0.5,2020-01-02\n{rain},Bob,{cell},2020-01-02\n")
    with pytest.raises(InvalidInput) as refused:
        import_file(sqlite_db, path)
    assert named in refused.value.detail and refused.value.field == "probability"
    assert counts(sqlite_db) == (0, 0, 0)


def test_a_bad_record_deep_in_a_big_file_refuses_it_whole(db: Database, tmp_path: Path) -> None:
    document = synthetic_export(300, 20)
    document["questions"][250]["forecasts"][13]["probability"] = 1.5
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(InvalidInput) as refused:
        import_file(db, path)
    assert "question 251, forecast 14: probability 1.5 is not in [0, 1]" in str(refused.value)
    assert refused.value.field == "probability"
    assert counts(db) == (0, 0, 0), "nothing written"

    document["questions"][250]["forecasts"][13]["probability"] = 0.5
    document["questions"][120]["status"] = "resolved"
    document["questions"][120]["outcome"] = None
    path.write_text(json.dumps(document))
    with pytest.raises(InvalidInput, match="question 121: status 'resolved' does not go with"):
        import_file(db, path)
    assert counts(db) == (0, 0, 0)


def test_a_file_the_database_refuses_midway_leaves_nothing_written(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows go in many stretches; a clash found by the database in a late one (a forecast
    id another question's forecast holds) undoes the earlier ones too."""
    monkeypatch.setattr(bulk, "CHUNK", 500)
    store_question(db, today=TODAY, title="Already here")
    with db.read() as conn:
        here = int(conn.execute(select(questions_t.c.id)).scalar_one())
    store_forecast(db, here, "Ann", 0.5, made_on=date(2020, 1, 1), today=TODAY)
    before = counts(db)
    with db.read() as conn:
        taken = int(conn.execute(select(forecasts_t.c.id)).scalar_one())
    document = synthetic_export(300, 20)
    for q in document["questions"]:
        q["id"] += 1000
        for f in q["forecasts"]:
            f["id"] += 10_000
    document["questions"][280]["forecasts"][5]["id"] = taken
    document["audit"] = []
    path = tmp_path / "clash.json"
    path.write_text(json.dumps(document))
    with pytest.raises(Conflict, match="nothing was imported"):
        import_file(db, path)
    assert counts(db) == before


def test_the_command_shows_its_progress_and_refuses_naming_the_record(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORECASTS_DATABASE_URL", db.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    screen = io.StringIO()
    monkeypatch.setattr(cli, "err", Console(file=screen, force_terminal=True, width=120))
    document = synthetic_export(60, 10)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document))
    try:
        done = CliRunner().invoke(cli.app, ["import", str(path)])
        assert done.exit_code == 0, done.output
        assert "Imported 60 question(s) (0 already present)" in done.stdout
        shown = screen.getvalue()
        assert "checking" in shown and "writing" in shown
        assert "120/120" in shown and "720/720" in shown, "each phase to its end"
        assert counts(db) == (60, 600, 60)

        document["questions"][30]["forecasts"][2]["made_on"] = "someday"
        document["questions"][30]["id"] = 999
        path.write_text(json.dumps(document))
        refused = CliRunner().invoke(cli.app, ["import", str(path)])
        assert refused.exit_code == 2
        assert "question record 31" in screen.getvalue() and "made_on" in screen.getvalue()
        assert counts(db) == (60, 600, 60), "nothing of the refused file written"
    finally:
        get_settings.cache_clear()


def _schema(db: Database) -> set[tuple[str, ...]]:
    """The indexes, triggers and constraints of the tables an import loads."""
    with db.read() as conn:
        if db.is_sqlite:
            rows = conn.exec_driver_sql(
                "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN "
                "('index', 'trigger') OR name IN ('forecasts', 'audit_log', 'score_pairs')"
            )
        else:
            rows = conn.exec_driver_sql(
                "SELECT 'index', indexname, tablename, indexdef FROM pg_indexes "
                "WHERE schemaname = 'public' UNION ALL SELECT 'constraint', conname, "
                "conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE connamespace = 'public'::regnamespace UNION ALL SELECT 'trigger', "
                "tgname, tgrelid::regclass::text, pg_get_triggerdef(oid) FROM pg_trigger "
                "WHERE NOT tgisinternal"
            )
        return {tuple(str(v) for v in row) for row in rows}


def test_an_import_into_empty_tables_leaves_their_indexes_and_checks_as_they_were(
    empty: Any, tmp_path: Path
) -> None:
    """The load sets indexes (and SQLite's CHECK triggers, PostgreSQL's foreign keys) aside
    while the rows go in; they are all back, and working, once it has committed."""
    fresh = empty()
    before = _schema(fresh)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(synthetic_export(30, 5)))
    assert import_file(fresh, path).added == 30
    assert _schema(fresh) == before
    with pytest.raises(Exception, match="probability|CHECK"), fresh.write() as conn:
        conn.execute(
            forecasts_t.insert().values(
                question_id=1, forecaster="Ann", forecaster_key="ann", probability=1.5,
                made_on=date(2020, 1, 2), created_at=datetime.now(UTC),
            )
        )  # fmt: skip
    with pytest.raises(Exception, match="(?i)foreign key"), fresh.write() as conn:
        conn.execute(
            forecasts_t.insert().values(
                question_id=999, forecaster="Ann", forecaster_key="ann", probability=0.5,
                made_on=date(2020, 1, 2), created_at=datetime.now(UTC),
            )
        )  # fmt: skip


def test_a_forecast_id_used_twice_is_named_and_refuses_the_file(
    db: Database, tmp_path: Path
) -> None:
    document = synthetic_export(40, 10)
    document["questions"][30]["forecasts"][6]["id"] = document["questions"][2]["forecasts"][1]["id"]
    path = tmp_path / "twice.json"
    path.write_text(json.dumps(document))
    with pytest.raises(InvalidInput, match="question 31, forecast 7: id 22 is used twice"):
        import_file(db, path)
    assert counts(db) == (0, 0, 0)


def test_a_csv_import_checks_each_line_of_a_question_and_names_a_bad_one(
    db: Database, tmp_path: Path
) -> None:
    """Lines of a question are read together; a bad cell among them is still named as the
    line it is, and a question's lines need not be next to each other."""
    head = "question_id,title,resolution_criteria,opened_on,resolve_by,forecaster,probability"
    rain = "7,Rain?,YES if it rains.,2020-01-01,2020-02-01"
    snow = "8,Snow?,YES if it snows.,2020-01-01,2020-02-01"
    good = [f"{rain},Ann,0.5,2020-01-02", f"{rain},'=Bob,0.25,2020-01-03"]
    good += [f"{snow},Cy,0.1,2020-01-02", f"{rain},Dee,1,2020-01-04"]
    path = tmp_path / "lines.csv"
    path.write_text("\n".join([head + ",made_on", *good, ""]))
    assert import_file(db, path).added == 2
    with db.read() as conn:
        names = conn.execute(select(forecasts_t.c.forecaster).order_by(forecasts_t.c.id))
        assert list(names.scalars()) == ["Ann", "=Bob", "Cy", "Dee"]
    bad = path.with_name("bad.csv")
    lines = [f"{rain.replace('7,', '9,', 1)},P{n},0.5,2020-01-02" for n in range(5)]
    lines[3] = lines[3].replace(",0.5,", ",nan,")
    bad.write_text("\n".join([head + ",made_on", *lines, ""]))
    with pytest.raises(InvalidInput, match="line 5: question 9, forecast 4: probability nan"):
        import_file(db, bad)
