"""Backtest: replaying the seed archive against the seed questions, in memory only; and the
`forecasts poll` and `forecasts backtest` commands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from forecasts.tables import news_t, suggestions_t
from resolvers.backtest import BacktestResult, bundled_archive, replay, seed_questions
from service.cli import app
from service.cli_database import open_database
from service.settings import get_settings

SEEDS = Path(__file__).parents[1] / "seeds"
runner = CliRunner()


@pytest.fixture(scope="module")
def results() -> dict[int, BacktestResult]:
    replayed = replay(seed_questions(), bundled_archive(), until=date(2026, 1, 1))
    return {r.question.id: r for r in replayed}


def decisive_item(claim: int) -> dict:
    """The archive's earliest item that decides the claim (expected "yes")."""
    items = json.loads((SEEDS / "archive.json").read_text(encoding="utf-8"))["items"]
    deciding = [
        i
        for i in items
        if i["expected"] == "yes" and f"almonitor-2015-claim-{claim}" in i["bears_on"]
    ]
    return min(deciding, key=lambda i: i["published_at"])


@pytest.mark.parametrize("claim", [1, 3, 8])
def test_claims_are_flagged_yes_on_the_day_of_their_decisive_item(
    results: dict[int, BacktestResult], claim: int
):
    entry = decisive_item(claim)
    news = results[claim].news
    assert news is not None and news.item is not None
    assert news.outcome == "yes"
    assert news.day.isoformat() == entry["published_at"][:10]
    assert news.item.title == entry["title"]
    # The news, not the deadline's default, is the answer.
    assert results[claim].answer is news


def test_assad_is_not_flagged_as_leaving_before_the_end_of_2016(
    results: dict[int, BacktestResult],
):
    result = results[4]
    assert result.news is None or result.news.day > date(2016, 12, 31)
    # What stands is the status quo: the deadline's default "yes".
    assert result.deadline is not None and result.deadline.outcome == "yes"
    assert result.answer is result.deadline


def test_no_look_alike_item_flags_any_seed_claim(results: dict[int, BacktestResult]):
    items = json.loads((SEEDS / "archive.json").read_text(encoding="utf-8"))["items"]
    look_alikes = {i["title"] for i in items if i["expected"] == "none"}
    for result in results.values():
        for evidence in result.evidence:
            assert evidence["title"] not in look_alikes, (result.question.id, evidence["title"])


def test_a_question_is_not_flagged_before_it_opens():
    [claim_1, *_] = seed_questions()
    later = type(claim_1)(
        claim_1.id, claim_1.query, date(2017, 11, 12), claim_1.resolve_by, "no", claim_1.title
    )
    [result] = replay([later], bundled_archive(), until=date(2026, 1, 1))
    assert result.news is None


# --- the commands ----------------------------------------------------------------------------


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("FORECASTS_DATABASE_URL", url)
    monkeypatch.delenv("FORECASTS_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("FORECASTS_SOURCES_FILE", raising=False)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args), terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


def counts() -> tuple[int, int]:
    with open_database().read() as conn:
        items = conn.execute(select(func.count()).select_from(news_t)).scalar_one()
        suggestions = conn.execute(select(func.count()).select_from(suggestions_t)).scalar_one()
    return int(items), int(suggestions)


def test_backtest_command_prints_first_flags_and_writes_nothing(database: str):
    invoke("seed")
    output = invoke("backtest")
    assert "2017-11-11: yes" in output  # claim 1
    assert "2016-08-22: yes" in output  # claim 3
    assert "2025-01-17: yes" in output  # claim 8
    assert "2017-01-08: yes" in output  # claim 4: its deadline proposes the status quo
    assert counts() == (0, 0)
    only = invoke("backtest", "--question", "3")
    assert "2016-08-22: yes" in only and "2017-11-11" not in only
    elsewhere = invoke("backtest", "--source", "no-such-source")
    assert "not flagged" in elsewhere and "2016-08-22: yes" not in elsewhere


def test_poll_command_runs_a_cycle_and_reports(database: str):
    invoke("seed")
    output = invoke("poll")
    assert "Polled 1 source(s): 30 new item(s)" in output
    items, suggestions = counts()
    assert items == 30 and suggestions > 0
    again = invoke("poll", "--force")
    assert "0 new item(s), 0 new suggestion(s)" in again
