"""The `forecasts` command line: seed, token, questions list, export and import."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.settings import get_settings

runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("FORECASTS_DATABASE_URL", url)
    monkeypatch.delenv("FORECASTS_ADMIN_TOKEN", raising=False)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    # stdout alone: every command names its database on stderr.
    return result.stdout


def test_seed_is_idempotent_and_loads_the_article(database: str) -> None:
    assert "8 created" in invoke("seed")
    assert "0 created, 8 already present" in invoke("seed")
    listing = invoke("questions", "list", "--limit", "100")
    assert "8 of 8 questions" in listing
    assert "Al-Monitor analysis" in listing


def test_seeded_questions_carry_the_article_and_its_hedges(database: str) -> None:
    from forecasts.question_views import list_questions
    from service.cli_database import open_database

    invoke("seed")
    with open_database().read() as conn:
        items, total = list_questions(conn, tag="almonitor-2015")
    assert total == 8
    for question in items:
        assert question.opened_on.isoformat() == "2015-11-01"
        assert question.source is not None and question.source.publisher == "Al-Monitor"
        [forecast] = question.forecasts
        assert forecast.forecaster == "Al-Monitor analysis (Nov 2015)"
        assert forecast.estimate and 0 < forecast.probability < 1
    status_quo = [q for q in items if q.default_outcome == "yes"]
    assert len(status_quo) == 1 and "Assad" in status_quo[0].title


def test_token_create_list_and_revoke(database: str) -> None:
    from service.auth import TokenBook
    from service.cli_database import open_database

    printed = invoke("token", "create", "newsroom", "--scope", "forecast", "--scope", "review")
    assert "'newsroom'" in printed and "forecast, review" in printed, "name and scopes shown"
    secret = next(line for line in printed.splitlines() if line.startswith("fct_")).strip()
    principal = TokenBook(open_database(), None).lookup(secret)
    assert principal is not None and principal.scopes == {"forecast", "review"}
    listed = invoke("token", "list")
    assert "newsroom" in listed and secret not in listed
    assert "Revoked token" in invoke("token", "revoke", "newsroom")
    assert TokenBook(open_database(), None).lookup(secret) is None
    again = runner.invoke(app, ["token", "revoke", "newsroom"])
    assert again.exit_code == 2 and "no live token" in again.output


def test_token_create_refuses_unknown_scopes(database: str) -> None:
    result = runner.invoke(app, ["token", "create", "x", "--scope", "superuser"])
    assert result.exit_code == 2
    assert "scopes must be one or more of" in result.output


def test_json_export_import_round_trip_is_lossless(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.cli_database import open_database
    from service.transfer import export_json

    invoke("seed")
    db = open_database()
    from forecasts import questions as domain
    from forecasts.schemas import ForecastIn, ResolveIn

    with db.write() as conn:
        domain.add_forecast(
            conn,
            1,
            ForecastIn(forecaster="Crowd", probability=0.3, made_on="2016-01-05"),
            today=domain.utc_today(),
            actor="t",
        )
        domain.resolve_question(
            conn,
            1,
            ResolveIn(
                outcome="yes",
                resolved_on="2017-11-11",
                note="memorandum",
                evidence_urls=["https://a"],
            ),
            today=domain.utc_today(),
            actor="t",
        )
    exported = tmp_path / "export.json"
    invoke("export", str(exported))
    first = json.loads(exported.read_text())

    other = f"sqlite:///{tmp_path / 'other.db'}"
    monkeypatch.setenv("FORECASTS_DATABASE_URL", other)
    get_settings.cache_clear()
    assert "Imported 8 question(s)" in invoke("import", str(exported))
    second = export_json(open_database())
    assert second == first
    again = invoke("import", str(exported))
    assert "Imported 0 question(s) (8 already present)" in again
    assert export_json(open_database()) == first, "importing the same file twice adds nothing"
    bad = json.loads(exported.read_text())
    bad["questions"][3]["forecasts"][0]["probability"] = 7.5
    bad["questions"][3]["id"] = 99
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(bad))
    refused = runner.invoke(app, ["import", str(broken)])
    assert refused.exit_code == 2 and "question 99, forecast 1: probability 7.5" in refused.output
    assert len(export_json(open_database())["questions"]) == 8, "a refused import writes nothing"
    invoke("import", str(exported), "--new-ids")
    assert len(export_json(open_database())["questions"]) == 16


def test_csv_export_has_a_row_per_forecast(database: str) -> None:
    invoke("seed")
    text = invoke("export", "-", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 8
    assert {r["forecaster"] for r in rows} == {"Al-Monitor analysis (Nov 2015)"}
    assert all(0 < float(r["probability"]) < 1 for r in rows)


def test_import_rejects_a_foreign_document(database: str, tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"questions": []}')
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code == 2 and "forecasts-export/2" in result.output


def test_serve_refuses_a_short_admin_token(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORECASTS_ADMIN_TOKEN", "x")
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["serve", "--port", "1"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "FORECASTS_ADMIN_TOKEN has 1 characters; it must have at least 32" in result.output


def test_every_command_names_its_database_and_warns_before_creating_one(
    database: str, tmp_path: Path
) -> None:
    first = runner.invoke(app, ["questions", "list"])
    assert first.exit_code == 0
    assert f"database: {database}" in first.stderr
    assert "creating a new, empty SQLite database" in first.stderr
    again = runner.invoke(app, ["questions", "list"])
    assert f"database: {database}" in again.stderr
    assert "creating a new" not in again.stderr


def test_questions_list_refuses_an_unknown_status(database: str) -> None:
    result = runner.invoke(app, ["questions", "list", "--status", "closed"])
    assert result.exit_code == 2
    assert "closed" in result.output
    for valid in ("open", "resolved", "annulled"):
        assert valid in result.output
