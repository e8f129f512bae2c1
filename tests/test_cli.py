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
    return result.output


def test_seed_is_idempotent_and_loads_the_article(database: str) -> None:
    assert "8 created" in invoke("seed")
    assert "0 created, 8 already present" in invoke("seed")
    listing = invoke("questions", "list", "--limit", "100")
    assert "8 of 8 questions" in listing
    assert "Al-Monitor analysis" in listing


def test_seeded_questions_carry_the_article_and_its_hedges(database: str) -> None:
    from forecasts.questions import list_questions
    from service.cli import open_database

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


def test_token_create_prints_a_working_secret(database: str) -> None:
    from service.auth import TokenBook
    from service.cli import open_database

    secret = invoke("token", "create", "newsroom", "--scope", "forecast", "--scope", "review")
    secret = secret.strip()
    principal = TokenBook(open_database(), None).lookup(secret)
    assert principal is not None and principal.scopes == {"forecast", "review"}


def test_token_create_refuses_unknown_scopes(database: str) -> None:
    result = runner.invoke(app, ["token", "create", "x", "--scope", "superuser"])
    assert result.exit_code == 2
    assert "scopes must be among" in result.output


def test_json_export_import_round_trip_is_lossless(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.cli import open_database
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
    refused = runner.invoke(app, ["import", str(exported)])
    assert refused.exit_code == 2 and "already exists" in refused.output
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
    assert result.exit_code == 2 and "forecasts-export/1" in result.output
