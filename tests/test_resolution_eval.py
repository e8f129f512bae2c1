"""The resolution evaluation set (bench/resolution/): its data rules, and the service's figures
on the held-out part held to floors.

The floors sit a little under what `bench/resolution.py --part heldout` printed when the set
was written; they are the current measurement, not a target. Raise them as the matcher
improves (the held-out part is never tuned on: change code because of the dev part only).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date, datetime
from typing import Any

import pytest

from bench import resolution

FIVE_KINDS = {"direction", "called_off", "another_actor", "stage", "paraphrase"}
ROLES = {"decides", "near_miss", "lookalike", "late_event", "context"}

# Current measurement on the held-out part (61 questions: 30 YES, 31 NO), after the rules for
# paraphrases and look-alikes (tests/test_judge_paraphrase.py):
#   given:   accuracy 78.7 %, false YES 4 (12.9 %), missed YES 9 (30.0 %), evidence-right 95.2 %,
#            Brier of confidence 0.169
#   derived: accuracy 82.0 %, false YES 5 (16.1 %), missed YES 6 (20.0 %), evidence-right 87.5 %,
#            Brier of confidence 0.176
# (Before them: given 78.7 % with 5 false YES and 8 missed; derived 77.0 %, 6 and 8. Before the
# general evidence rules: given 77.0 % with 7 and 7; derived 77.0 %, 7 and 7.)
# The floors are that measurement less one to three questions' worth, never looser than they
# were, but for given-query missed YES, which went from 8 to 9 and whose floor went from 0.30
# to 0.34 with it. Raise them as it improves.
FLOORS: dict[str, dict[str, float]] = {
    "given": {
        "accuracy": 0.75,
        "false_yes_share": 0.19,
        "missed_yes_share": 0.34,
        "evidence_right": 0.85,
        "brier": 0.19,
    },
    "derived": {
        "accuracy": 0.78,
        "false_yes_share": 0.23,
        "missed_yes_share": 0.27,
        "evidence_right": 0.80,
        "brier": 0.20,
    },
}


@pytest.fixture(scope="module")
def parts() -> dict[str, list[dict[str, Any]]]:
    return {name: resolution.load_part(name) for name in resolution.PARTS}


@pytest.fixture(scope="module")
def heldout_results() -> dict[str, dict[str, Any]]:
    return {mode: resolution.evaluate("heldout", mode) for mode in resolution.MODES}


# ---------------------------------------------------------------------------------------------
# Data rules


def test_size_and_fields(parts: dict[str, list[dict[str, Any]]]) -> None:
    questions = parts["dev"] + parts["heldout"]
    assert len(questions) >= 150
    per_field = Counter(q["field"] for q in questions)
    assert len(per_field) >= 10
    assert sum(1 for n in per_field.values() if n >= 12) >= 10, per_field
    # Every field in both parts.
    assert {q["field"] for q in parts["dev"]} == set(per_field)
    assert {q["field"] for q in parts["heldout"]} == set(per_field)
    # About half YES, half NO.
    yes = sum(1 for q in questions if q["answer"] == "yes")
    assert 0.4 <= yes / len(questions) <= 0.6


def test_no_question_in_both_parts(parts: dict[str, list[dict[str, Any]]]) -> None:
    dev, heldout = parts["dev"], parts["heldout"]
    assert not {q["key"] for q in dev} & {q["key"] for q in heldout}
    assert not {q["title"] for q in dev} & {q["title"] for q in heldout}
    keys = [q["key"] for q in dev + heldout]
    assert len(keys) == len(set(keys))
    items = [i["key"] for q in dev + heldout for i in q["items"]]
    assert len(items) == len(set(items))


def test_split_follows_the_stated_rule(parts: dict[str, list[dict[str, Any]]]) -> None:
    """README: per field, ranked by sha256(key), the first round(0.6 n) of the questions
    written with the set are dev; a question added later (`added_after_split`) is dev
    exactly when int(sha256(key)[:8], 16) % 100 < 60."""
    by_field: dict[str, list[str]] = {}
    added = [q for q in parts["dev"] + parts["heldout"] if q.get("added_after_split")]
    for q in added:
        share = int(hashlib.sha256(q["key"].encode("utf-8")).hexdigest()[:8], 16) % 100
        assert (share < 60) == (q in parts["dev"]), q["key"]
    for q in parts["dev"] + parts["heldout"]:
        if q.get("added_after_split"):
            continue
        by_field.setdefault(q["field"], []).append(q["key"])
    expected_dev = set()
    for keys in by_field.values():
        ranked = sorted(keys, key=lambda k: hashlib.sha256(k.encode("utf-8")).hexdigest())
        expected_dev.update(ranked[: round(0.6 * len(ranked))])
    assert {q["key"] for q in parts["dev"] if not q.get("added_after_split")} == expected_dev


def test_questions_are_well_formed(parts: dict[str, list[dict[str, Any]]]) -> None:
    for q in parts["dev"] + parts["heldout"]:
        assert 10 <= len(q["title"]) <= 300, q["key"]
        assert q["title"].startswith("Will ") and " before " in q["title"], q["key"]
        assert q["resolution_criteria"].strip(), q["key"]
        assert q["news_query"].strip(), q["key"]
        assert q["answer"] in ("yes", "no"), q["key"]
        assert q["default_outcome"] == "no", q["key"]
        opened, resolve_by = date.fromisoformat(q["opened_on"]), date.fromisoformat(q["resolve_by"])
        assert date(2010, 1, 1) <= opened <= resolve_by < date(2026, 1, 1), q["key"]


def test_items_have_dates_links_and_labels(parts: dict[str, list[dict[str, Any]]]) -> None:
    for q in parts["dev"] + parts["heldout"]:
        items = q["items"]
        assert 2 <= len(items) <= 6, q["key"]
        opened, resolve_by = date.fromisoformat(q["opened_on"]), date.fromisoformat(q["resolve_by"])
        for item in items:
            at = datetime.fromisoformat(item["published_at"].replace("Z", "+00:00"))
            assert at.tzinfo is not None and at.utcoffset().total_seconds() == 0, item["key"]
            assert date(2010, 1, 1) <= at.date() <= date(2025, 12, 31), item["key"]
            assert item["link"].startswith("https://") and " " not in item["link"], item["key"]
            assert item["title"].strip() and item["summary"].strip(), item["key"]
            assert item["role"] in ROLES, item["key"]
            assert item["near_miss"] is None or item["near_miss"] in FIVE_KINDS, item["key"]
            assert item["in_window"] == (opened <= at.date() <= resolve_by), item["key"]
            if item["near_miss"] == "paraphrase":
                assert item["role"] == "decides", item["key"]


def test_answers_and_deciding_items_agree(parts: dict[str, list[dict[str, Any]]]) -> None:
    for q in parts["dev"] + parts["heldout"]:
        deciding = [i for i in q["items"] if i["role"] == "decides"]
        assert [i["key"] for i in deciding] == q["deciding_items"], q["key"]
        if q["answer"] == "yes":
            assert deciding and all(i["in_window"] for i in deciding), q["key"]
            # Evidence-right matches on links: no other item of the question shares one.
            others = {i["link"] for i in q["items"] if i["role"] != "decides"}
            assert not {i["link"] for i in deciding} & others, q["key"]
        else:
            assert not deciding, q["key"]
        for item in q["items"]:
            if item["role"] == "late_event":
                assert not item["in_window"], item["key"]


def test_near_misses_are_at_least_40_percent(parts: dict[str, list[dict[str, Any]]]) -> None:
    items = [i for q in parts["dev"] + parts["heldout"] for i in q["items"]]
    near = [i for i in items if i["near_miss"] in FIVE_KINDS]
    assert len(near) / len(items) >= 0.40
    assert set(Counter(i["near_miss"] for i in near)) == FIVE_KINDS


# ---------------------------------------------------------------------------------------------
# Figures on the held-out part


@pytest.mark.parametrize("mode", resolution.MODES)
def test_heldout_figures_hold_their_floors(
    heldout_results: dict[str, dict[str, Any]], mode: str
) -> None:
    overall = heldout_results[mode]["overall"]
    floors = FLOORS[mode]
    assert overall["n"] == len(resolution.load_part("heldout"))
    assert overall["accuracy"] >= floors["accuracy"], overall
    assert overall["false_yes_share"] <= floors["false_yes_share"], overall
    assert overall["missed_yes_share"] <= floors["missed_yes_share"], overall
    assert overall["evidence_right"] >= floors["evidence_right"], overall
    assert overall["calibration"]["brier"] <= floors["brier"], overall


def test_every_question_gets_an_answer(heldout_results: dict[str, dict[str, Any]]) -> None:
    """Past every deadline, each question has at least the deadline check's suggestion."""
    for result in heldout_results.values():
        for row in result["rows"]:
            assert row["answer"] in ("yes", "no"), row["key"]
            assert 0.0 <= row["confidence"] <= 1.0, row["key"]
        assert sum(b["n"] for b in result["overall"]["calibration"]["bins"]) == len(result["rows"])
