"""`forecasts score`: the API's figures as terminal tables, on a temporary SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.db import Database
from service.settings import get_settings
from tests.factories import store_question, store_resolution

runner = CliRunner()
TODAY = date(2026, 7, 15)


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """An empty migrated SQLite file that the command line is pointed at."""
    url = f"sqlite:///{tmp_path / 'scores.db'}"
    monkeypatch.setenv("FORECASTS_DATABASE_URL", url)
    get_settings.cache_clear()
    db = Database(url)
    db.migrate()
    yield db
    db.dispose()
    get_settings.cache_clear()


def add_resolved(db: Database, title: str, who: str, p: float, outcome: str, tag: str) -> None:
    question_id = store_question(
        db,
        today=TODAY,
        title=title,
        resolution_criteria="As the title says.",
        resolve_by="2026-12-31",
        opened_on="2026-06-01",
        tags=[tag],
        news_query="event",
        forecast={"forecaster": who, "probability": p},
    )
    store_resolution(db, question_id, outcome, resolved_on=date(2026, 7, 1), today=TODAY)


@pytest.fixture
def scored(database: Database) -> Database:
    # alice: 0.8 yes (0.04), 0.3 no (0.09); bob: 0.4 yes (0.36). Brier (0.04+0.09+0.36)/3.
    add_resolved(database, "Will the first event happen?", "alice", 0.8, "yes", "econ")
    add_resolved(database, "Will the second event happen?", "alice", 0.3, "no", "econ")
    add_resolved(database, "Will the third event happen?", "bob", 0.4, "yes", "politics")
    return database


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["score", *args], env={"COLUMNS": "160"})
    return result.exit_code, result.output


def test_score_prints_summary_forecasters_and_calibration(scored: Database) -> None:
    code, out = run()
    assert code == 0, out
    for heading in ("Summary", "By forecaster", "Calibration"):
        assert heading in out
    assert "0.1633" in out  # Brier (0.04 + 0.09 + 0.36) / 3
    assert "0.6667" in out  # base rate 2/3
    alice_line = next(line for line in out.splitlines() if "alice" in line)
    assert "0.0650" in alice_line  # (0.04 + 0.09) / 2
    # Three non-empty bins of ten: 0.30–0.40, 0.40–0.50, 0.80–0.90.
    assert "0.30–0.40" in out and "0.40–0.50" in out and "0.80–0.90" in out
    assert "0.50–0.60" not in out


def test_score_takes_the_api_filters(scored: Database) -> None:
    code, out = run("--forecaster", "bob", "--bins", "2")
    assert code == 0, out
    assert "0.3600" in out
    assert "alice" not in out
    assert "0.00–0.50" in out
    code, out = run("--tag", "econ")
    assert code == 0, out
    assert "0.0650" in out and "bob" not in out


def test_score_with_nothing_resolved_says_so(database: Database) -> None:
    code, out = run()
    assert code == 0, out
    assert "No scored pairs" in out


def test_score_refuses_an_unknown_forecaster_and_bad_bins(scored: Database) -> None:
    result = runner.invoke(app, ["score", "--forecaster", "zed"])
    assert result.exit_code == 1
    assert "zed" in result.output
    for bins in ("0", "101"):
        code, out = run("--bins", bins)
        assert code == 2, out
        assert "bins" in out
    code, out = run("--resolved-from", "2026-07-02", "--resolved-to", "2026-07-01")
    assert code == 2
    assert "resolved_from" in out
