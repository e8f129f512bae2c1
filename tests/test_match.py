"""Matching items to questions: the inverted index, windows, negation and hedging, scores,
and recording evidence as suggestions."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from forecasts.derived_query import derive_query
from forecasts.news_query import parse_query
from forecasts.tables import links_t, questions_t, suggestions_t
from resolvers.analysis import AnalysedItem, MatchItem, QuestionSpec, question_spec
from resolvers.evidence import combine
from resolvers.judging import judge
from resolvers.match import MatchIndex, hits_for
from resolvers.news_store import load_open_questions
from resolvers.suggestion_store import record_hits
from service.db import Database
from tests.factories import store_question

SEEDS = Path(__file__).parents[1] / "seeds"


def spec(
    qid: int,
    query: str,
    opened: str = "2016-01-01",
    resolve_by: str = "2018-12-31",
    default: str = "no",
) -> QuestionSpec:
    return QuestionSpec(
        qid, parse_query(query), date.fromisoformat(opened), date.fromisoformat(resolve_by), default
    )


def item(
    title: str,
    summary: str = "",
    *,
    when: str = "2017-06-01T12:00:00Z",
    source: str = "wire",
    key: str | None = None,
    link: str = "",
) -> MatchItem:
    return MatchItem(
        key=key or f"k-{abs(hash((title, summary, when, source)))}",
        title=title,
        summary=summary,
        link=link or f"https://news.example/{abs(hash(title))}",
        published_at=datetime.fromisoformat(when.replace("Z", "+00:00")),
        source=source,
    )


WITHDRAW = "Russia (withdraw OR withdraws OR withdrew) Syria"


def verdict_kind(query: str, title: str, summary: str = "") -> str | None:
    found = judge(spec(1, query), AnalysedItem(item(title, summary)))
    return found.kind if found else None


# --- the index ------------------------------------------------------------------------------


def test_questions_sharing_no_term_with_an_item_are_never_evaluated():
    index = MatchIndex(
        [
            spec(1, WITHDRAW),
            spec(2, '"interest rates" (Fed OR "Federal Reserve")'),
            spec(3, "(Apple OR iPhone) foldable"),
        ]
    )
    verdicts = index.match(item("Russia withdraws its troops from Syria"))
    assert [v.question_id for v in verdicts] == [1]
    assert index.evaluations == 1
    index.match(item("Weather: sunny spells in Lisbon"))
    assert index.evaluations == 1


def test_an_item_sharing_only_a_non_anchor_term_is_not_evaluated():
    # "Russia" is in both queries, so each is indexed by its rarer required term: an item
    # that shares only "Russia" with them is not evaluated against either.
    index = MatchIndex([spec(1, "Russia Golan"), spec(2, "Russia Iran treaty")])
    index.match(item("Russia holds talks in Moscow"))
    assert index.evaluations == 0
    assert [v.question_id for v in index.match(item("Russia patrols the Golan frontier"))] == [1]
    assert index.evaluations == 1


def test_window_is_opened_on_to_resolve_by_in_utc_inclusive():
    index = MatchIndex([spec(1, WITHDRAW, opened="2016-03-01", resolve_by="2016-03-31")])
    title = "Russia withdraws troops from Syria"
    assert index.match(item(title, when="2016-03-01T00:00:00Z"))
    assert index.match(item(title, when="2016-03-31T23:59:59Z"))
    assert not index.match(item(title, when="2016-02-29T23:59:59Z"))
    # 20:00 in New York on the 31st is already April 1st in UTC.
    assert not index.match(item(title, when="2016-03-31T20:00:00-05:00"))
    # 01:00 in Moscow on April 1st is still March 31st in UTC.
    assert index.match(item(title, when="2016-04-01T01:00:00+03:00"))


# --- negation and hedging --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("Russia did not withdraw its troops from Syria", ""),
        ("Russia didn't withdraw from Syria, officials say", ""),
        ("Russia plans to withdraw troops from Syria", ""),
        ("Russia could withdraw from Syria next year", ""),
        ("Russia may withdraw from Syria", ""),
        ("Russia proposes to withdraw forces from Syria", ""),
        ("Russia denies it will withdraw from Syria", ""),
        ("Russia rejects calls to withdraw from Syria", ""),
        ("Russia fails to withdraw from Syria on time", ""),
        ("Opposition calls for Russia to withdraw from Syria", ""),
        ("Syria talks end without agreement", "Russia was asked to withdraw; no date was set."),
        ("Russia expected to withdraw from Syria", ""),
        ("No date was set for Russia to withdraw from Syria", ""),
    ],
)
def test_negated_or_anticipated_news_is_not_evidence(title: str, summary: str):
    assert verdict_kind(WITHDRAW, title, summary) in ("negated", "anticipated", None)


def test_plain_reports_are_evidence():
    assert verdict_kind(WITHDRAW, "Russia withdraws its main force from Syria") == "evidence"
    # "May" the month is not a hedge.
    assert verdict_kind(WITHDRAW, "On 3 May Russia withdraws its force from Syria") == "evidence"


def test_negation_stays_in_its_clause():
    # The second clause denies something else; the event itself is reported plainly.
    found = judge(
        spec(1, WITHDRAW),
        AnalysedItem(item("Russia withdraws troops from Syria, but no timetable for the rest")),
    )
    assert found is not None and found.kind == "evidence"


def test_a_cue_that_is_the_questions_own_term_is_the_event():
    query = "(Iran OR Iranian) (Russia OR Russian) (reject OR criticise)"
    assert verdict_kind(query, "Iran rejects Russian call for foreign forces to leave") == (
        "evidence"
    )
    # The same words for a question not about rejecting: the rejection negates.
    assert (
        verdict_kind("Iran Russia forces leave", "Iran rejects Russian call for forces to leave")
        != "evidence"
    )


def test_excluded_terms_exclude_even_when_negated():
    assert verdict_kind("Russia withdraw -rumour", "Russia withdraws, not a rumour") is None


# --- scores ----------------------------------------------------------------------------------


def test_title_match_scores_higher_than_body_match():
    strong = judge(spec(1, WITHDRAW), AnalysedItem(item("Russia withdraws from Syria")))
    weak = judge(
        spec(1, WITHDRAW),
        AnalysedItem(item("Kremlin statement", "Russia withdraws most of its force from Syria.")),
    )
    assert strong and weak and strong.score > weak.score > 0


def test_confidence_grows_with_independent_evidence_and_stays_below_one():
    one = combine([{"score": 0.5, "source": "a"}])
    same_source = combine([{"score": 0.5, "source": "a"}, {"score": 0.5, "source": "a"}])
    independent = combine([{"score": 0.5, "source": "a"}, {"score": 0.5, "source": "b"}])
    assert 0 < one < same_source < independent < 1
    many = combine([{"score": 0.7, "source": str(n)} for n in range(50)])
    assert many < 1.0


# --- the seed archive ------------------------------------------------------------------------


def _seed_index() -> tuple[MatchIndex, list[dict]]:
    questions = json.loads((SEEDS / "questions.json").read_text(encoding="utf-8"))
    specs = [
        question_spec(
            n,
            q["news_query"],
            date.fromisoformat(q["opened_on"]),
            date.fromisoformat(q["resolve_by"]),
            q["default_outcome"],
            q["title"],
        )
        for n, q in enumerate(questions, start=1)
    ]
    archive = json.loads((SEEDS / "archive.json").read_text(encoding="utf-8"))["items"]
    return MatchIndex([s for s in specs if s]), archive


def _archive_item(entry: dict) -> MatchItem:
    return item(entry["title"], entry["summary"], when=entry["published_at"], key=entry["key"])


def test_seed_look_alikes_never_count_as_evidence():
    index, archive = _seed_index()
    for entry in archive:
        if entry["expected"] != "none":
            continue
        claims = {int(k.rsplit("-", 1)[1]) for k in entry["bears_on"]}
        evidence = [v for v in index.match(_archive_item(entry)) if v.kind == "evidence"]
        assert not [v for v in evidence if v.question_id in claims], entry["key"]


def test_seed_decisive_items_are_evidence_for_their_claims():
    index, archive = _seed_index()
    for entry in archive:
        if entry["expected"] != "yes":
            continue
        claims = {int(k.rsplit("-", 1)[1]) for k in entry["bears_on"]}
        found = {v.question_id for v in index.match(_archive_item(entry)) if v.kind == "evidence"}
        assert claims <= found, entry["key"]


# --- recording -------------------------------------------------------------------------------


def _question(db: Database, query: str = WITHDRAW, **kw: object) -> int:
    body = {
        "title": "Will Russia withdraw its forces from Syria before 2019?",
        "resolution_criteria": "An announced and reported withdrawal.",
        "opened_on": "2016-01-01",
        "resolve_by": "2018-12-31",
        "news_query": query,
        **kw,
    }
    return store_question(db, today=date(2020, 1, 1), **body)


NOW = datetime(2020, 1, 1, tzinfo=UTC)


def _record(db: Database, items: list[MatchItem]) -> int:
    with db.read() as conn:
        index = MatchIndex(load_open_questions(conn))
    with db.write() as conn:
        return record_hits(conn, hits_for(index, items), now=NOW)


def _pending(db: Database) -> list:
    with db.read() as conn:
        return conn.execute(select(suggestions_t).where(suggestions_t.c.status == "pending")).all()


def test_two_items_for_the_same_outcome_make_one_suggestion(db: Database):
    qid = _question(db)
    first = item(
        "Russia withdraws its main force from Syria",
        source="wire-a",
        link="https://a.example/story?id=1&utm_source=rss",
        when="2016-03-15T10:00:00Z",
    )
    assert _record(db, [first]) == 1
    [single] = _pending(db)
    second = item(
        "Russia withdraws bombers from Syria", source="wire-b", when="2016-03-14T18:00:00+01:00"
    )
    assert _record(db, [second]) == 0
    [joined] = _pending(db)
    assert joined.id == single.id and joined.question_id == qid and joined.outcome == "yes"
    assert len(joined.evidence) == 2
    assert joined.confidence > single.confidence
    # Evidence is in date order, instants in UTC with a Z, links exactly as the source gave.
    assert [e["published_at"] for e in joined.evidence] == [
        "2016-03-14T17:00:00Z",
        "2016-03-15T10:00:00Z",
    ]
    assert joined.evidence[1]["url"] == "https://a.example/story?id=1&utm_source=rss"
    assert {e["source"] for e in joined.evidence} == {"wire-a", "wire-b"}
    assert joined.rationale.startswith("2 items from 2 sources match the query")
    assert "strongest: 'Russia withdraws" in joined.rationale
    assert joined.resolver == "news-match"


def test_the_same_item_never_counts_twice(db: Database):
    _question(db)
    story = item("Russia withdraws its main force from Syria")
    assert _record(db, [story, story]) == 1
    assert _record(db, [story]) == 0
    [pending] = _pending(db)
    assert len(pending.evidence) == 1
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(links_t)).scalar_one() == 1


def test_rejected_evidence_does_not_come_back_but_new_evidence_does(db: Database):
    _question(db)
    old = item("Russia withdraws its main force from Syria", key="old")
    _record(db, [old])
    with db.write() as conn:
        conn.execute(update(suggestions_t).values(status="rejected"))
    assert _record(db, [old]) == 0
    assert _pending(db) == []
    new = item("Russia withdraws the rest of its troops from Syria", key="new")
    assert _record(db, [old, new]) == 1
    [pending] = _pending(db)
    assert [e["title"] for e in pending.evidence] == [new.title]


def test_no_evidence_for_closed_questions(db: Database):
    qid = _question(db)
    with db.read() as conn:
        index = MatchIndex(load_open_questions(conn))
    with db.write() as conn:
        conn.execute(
            update(questions_t)
            .where(questions_t.c.id == qid)
            .values(status="resolved", outcome="yes", resolved_on=date(2018, 1, 1))
        )
    with db.write() as conn:
        created = record_hits(conn, hits_for(index, [item("Russia withdraws from Syria")]), now=NOW)
    assert created == 0 and _pending(db) == []


def test_status_quo_question_news_suggests_no(db: Database):
    _question(
        db,
        query='Assad ("step down" OR resign OR ousted)',
        title="Will Bashar al-Assad still be President of Syria on 2016-12-31?",
        default_outcome="yes",
        resolve_by="2016-12-31",
    )
    _record(db, [item("Assad steps down as Syria's president", when="2016-06-01T12:00:00Z")])
    [pending] = _pending(db)
    assert pending.outcome == "no"


def test_an_item_meets_only_the_questions_both_of_whose_parts_it_carries():
    # A thousand questions share "Russia": an item about Russia and none of their places is
    # judged against none of them, and one naming a place against that question alone, so
    # the work per item does not grow with the questions open.
    index = MatchIndex([spec(n, f"Russia Place{n}") for n in range(1000)])
    index.match(item("Russia holds talks in Moscow"))
    assert index.evaluations == 0
    verdicts = index.match(item("Russia deploys troops to Place7"))
    assert [v.question_id for v in verdicts] == [7]
    assert index.evaluations == 1


def test_the_index_finds_every_verdict_judging_every_question_finds():
    # The index and its prefilters only skip what cannot match: judging every in-window
    # question for every seed item gives the same verdicts, derived queries included.
    index, archive = _seed_index()
    questions = json.loads((SEEDS / "questions.json").read_text(encoding="utf-8"))
    derived = [
        question_spec(
            100 + n,
            derive_query(q["title"]),
            date.fromisoformat(q["opened_on"]),
            date.fromisoformat(q["resolve_by"]),
            q["default_outcome"],
            q["title"],
        )
        for n, q in enumerate(questions)
    ]
    specs = index.questions + [s for s in derived if s]
    index = MatchIndex(specs)
    for entry in archive:
        analysed = AnalysedItem(_archive_item(entry))
        day = analysed.item.day
        every = [
            v
            for q in specs
            if q.opened_on <= day <= q.resolve_by and (v := judge(q, analysed)) is not None
        ]
        every.sort(key=lambda v: (-v.score, v.question_id))
        assert index.match(analysed) == every, entry["key"]


def test_a_question_is_analysed_once_until_it_changes():
    fields = (1, WITHDRAW, date(2016, 1, 1), date(2018, 12, 31), "no", "Will Russia leave Syria?")
    first = question_spec(*fields)
    assert question_spec(*fields) is first
    assert question_spec(*fields[:1], "Russia Syria", *fields[2:]) is not first
