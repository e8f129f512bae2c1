"""Checks on the bundled seed data (seeds/questions.json and seeds/archive.json)."""

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

SEEDS = Path(__file__).parents[1] / "seeds"

ESTIMATE_PHRASES = {
    "not far-fetched",
    "may very well",
    "bound to",
    "will attempt to",
    "is pursuing",
    "has pledged to",
    "inducing consideration of",
    "will probably",
}
HORIZON_SENTENCE = " ".join(
    [
        "Horizon, wording and criteria are editorial choices of this project;",
        "the article gives no horizon.",
    ]
)
CLAIMS_WITH_DECISIVE_ITEMS = [1, 3, 5, 6, 8]


@pytest.fixture(scope="module")
def questions():
    return json.loads((SEEDS / "questions.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def archive():
    return json.loads((SEEDS / "archive.json").read_text(encoding="utf-8"))


def test_eight_questions_in_order_with_unique_keys(questions):
    assert len(questions) == 8
    keys = [q["seed_key"] for q in questions]
    assert keys == [f"almonitor-2015-claim-{n}" for n in range(1, 9)]
    assert len(set(keys)) == 8


def test_question_fields(questions):
    for q in questions:
        assert 10 <= len(q["title"]) <= 300, q["seed_key"]
        assert q["resolution_criteria"].strip().endswith(HORIZON_SENTENCE), q["seed_key"]
        opened = date.fromisoformat(q["opened_on"])
        resolve_by = date.fromisoformat(q["resolve_by"])
        assert resolve_by >= opened, q["seed_key"]
        assert q["news_query"].strip(), q["seed_key"]
        assert "almonitor-2015" in q["tags"] and "syria" in q["tags"], q["seed_key"]
        assert q["source"]["publisher"] == "Al-Monitor"
        forecast = q["forecast"]
        assert forecast["estimate"] in ESTIMATE_PHRASES, q["seed_key"]
        made_on = date.fromisoformat(forecast["made_on"])
        assert opened <= made_on <= resolve_by, q["seed_key"]


def test_default_outcomes(questions):
    for q in questions:
        expected = "yes" if q["seed_key"] == "almonitor-2015-claim-4" else "no"
        assert q["default_outcome"] == expected, q["seed_key"]


def test_estimate_phrases_each_used_once(questions):
    assert sorted(q["forecast"]["estimate"] for q in questions) == sorted(ESTIMATE_PHRASES)


def test_archive_keys_unique(archive):
    keys = [item["key"] for item in archive["items"]]
    assert keys, "the archive is empty"
    assert len(keys) == len(set(keys))


def test_archive_published_at_is_iso_utc(archive):
    for item in archive["items"]:
        value = item["published_at"]
        assert value.endswith("Z"), item["key"]
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        assert parsed.utcoffset() == timedelta(0), item["key"]


def test_archive_items_well_formed(archive, questions):
    seed_keys = {q["seed_key"] for q in questions}
    for item in archive["items"]:
        assert item["title"].strip() and item["summary"].strip(), item["key"]
        assert item["link"].startswith("https://"), item["key"]
        assert item["reference"].strip(), item["key"]
        assert item["bears_on"], item["key"]
        for key in item["bears_on"]:
            assert key in seed_keys, (item["key"], key)
        assert item["expected"] in {"yes", "no", "none"}, item["key"]


@pytest.mark.parametrize("claim", CLAIMS_WITH_DECISIVE_ITEMS)
def test_decisive_item_exists(archive, claim):
    seed_key = f"almonitor-2015-claim-{claim}"
    decisive = [
        item
        for item in archive["items"]
        if seed_key in item["bears_on"] and item["expected"] == "yes"
    ]
    assert decisive, f"no item with expected 'yes' for {seed_key}"


def test_the_seed_articles_record_links_the_article() -> None:
    from service.seeding import seed_records

    urls = {record["source"]["url"] for record in seed_records()}
    assert urls == {"https://www.al-monitor.com/originals/2015/11/iran-russia-syria.html"}
