"""Reusing the match index between cycles: an index of nearly the same open questions takes
over the filing of the one before and files only what changed, and what it matches is what
an index built afresh matches, whichever questions were added, resolved or edited."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select, update

import resolvers.cycle as cycle
import resolvers.match as match
from forecasts.tables import questions_t, suggestions_t
from resolvers.analysis import AnalysedItem, MatchItem, QuestionSpec, question_spec
from resolvers.ingest import store_items
from resolvers.items import NewsItemIn, PollConfig
from resolvers.match import MatchIndex
from service.db import Database
from tests.factories import store_question, store_source

NOW = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def small_reuse(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Reuse for any number of questions and any share changed, from a clean slate."""
    monkeypatch.setattr(match, "REUSE_MIN_QUESTIONS", 1)
    monkeypatch.setattr(match, "REUSE_MAX_CHANGE", 10.0)
    match.forget_filings()
    yield
    match.forget_filings()


def spec(qid: int, query: str, title: str = "") -> QuestionSpec:
    found = question_spec(qid, query, date(2016, 1, 1), date(2030, 12, 31), "no", title)
    assert found is not None
    return found


def item(title: str, summary: str = "", when: str = "2019-06-01T12:00:00+00:00") -> MatchItem:
    return MatchItem(
        key=f"k-{abs(hash((title, summary)))}",
        title=title,
        summary=summary,
        link=f"https://news.example/{abs(hash(title))}",
        published_at=datetime.fromisoformat(when),
        source="wire",
    )


def matched(index: MatchIndex, entry: MatchItem) -> list[int]:
    return sorted(v.question_id for v in index.match(AnalysedItem(entry)))


def fresh(questions: list[QuestionSpec]) -> MatchIndex:
    match.forget_filings()
    return MatchIndex(questions)


GOLAN = spec(1, "Russia Golan")
TREATY = spec(2, "Russia Iran treaty")
PLACES = [spec(10 + n, f"Place{n} (floods OR flooding)") for n in range(20)]
NATO = spec(3, "Finland NATO")
ITEMS = [
    item("Russia deploys troops to the Golan Heights"),
    item("Russia and Iran sign a treaty"),
    item("Finland joins NATO"),
    item("Place7 floods again", "Flooding in Place7 and Place8"),
    item("Russia holds talks in Moscow"),
]


def test_an_added_question_is_matched_and_a_removed_one_no_longer():
    first = MatchIndex([GOLAN, TREATY, *PLACES])
    assert not first.reused
    assert matched(first, ITEMS[2]) == []
    del first
    gc.collect()
    second = MatchIndex([GOLAN, *PLACES, NATO])  # TREATY resolved, NATO added
    assert second.reused
    assert matched(second, ITEMS[2]) == [3]
    assert matched(second, ITEMS[1]) == []
    assert matched(second, ITEMS[0]) == [1]
    assert matched(second, ITEMS[3]) == [17, 18]


def test_an_edited_question_is_matched_by_its_new_query_only():
    first = MatchIndex([GOLAN, TREATY, *PLACES])
    assert matched(first, ITEMS[0]) == [1]
    del first
    edited = spec(1, "Russia Moscow talks")  # a new spec: its fields changed
    second = MatchIndex([edited, TREATY, *PLACES])
    assert second.reused
    assert matched(second, ITEMS[0]) == []
    assert matched(second, ITEMS[4]) == [1]


def test_a_reused_index_matches_what_a_fresh_one_does():
    sets = [
        [GOLAN, TREATY, *PLACES],
        [GOLAN, *PLACES[5:], NATO],
        [TREATY, *PLACES[:12], NATO, spec(4, "Iran (treaty OR deal)")],
        [GOLAN, TREATY, *PLACES, NATO],
        [],
        [*PLACES],
    ]
    for questions in sets:
        match.forget_filings()
        expected = [matched(MatchIndex(questions), entry) for entry in ITEMS]
        match.forget_filings()
        for before in sets:
            previous = MatchIndex(before)
            del previous
            index = MatchIndex(questions)
            assert index.reused == (len(questions) >= 1 and len(before) >= 1)
            assert [matched(index, entry) for entry in ITEMS] == expected, (before, questions)
            del index
            match.forget_filings()


def test_an_index_still_in_use_keeps_its_filing():
    first = MatchIndex([GOLAN, TREATY, *PLACES])
    second = MatchIndex([GOLAN, *PLACES, NATO])
    # The first is alive: the second builds its own, and neither sees the other's changes.
    assert not second.reused
    assert matched(first, ITEMS[1]) == [2] and matched(first, ITEMS[2]) == []
    assert matched(second, ITEMS[1]) == [] and matched(second, ITEMS[2]) == [3]


def test_the_same_spec_twice_is_matched_twice_as_before():
    index = MatchIndex([GOLAN, GOLAN])
    assert [v.question_id for v in index.match(ITEMS[0])] == [1, 1]
    del index
    again = MatchIndex([GOLAN, GOLAN])
    assert not again.reused
    assert [v.question_id for v in again.match(ITEMS[0])] == [1, 1]


def test_small_indexes_are_built_afresh_by_default(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(match, "REUSE_MIN_QUESTIONS", 1000)
    first = MatchIndex([GOLAN, TREATY, *PLACES])
    del first
    assert not MatchIndex([GOLAN, TREATY, *PLACES]).reused


# --- between two cycles ----------------------------------------------------------------------


def _question(db: Database, title: str, query: str) -> int:
    return store_question(
        db,
        today=date(2020, 1, 1),
        title=title,
        resolution_criteria="Reported by a major outlet.",
        opened_on="2016-01-01",
        resolve_by="2030-12-31",
        news_query=query,
    )


def _store(db: Database, *titles: str) -> None:
    rows = [
        NewsItemIn(
            title=t,
            summary="",
            link=f"https://news.example/{abs(hash(t))}",
            published_at=datetime(2019, 6, 1, 12, tzinfo=UTC),
            source_name="wire",
            dedup_key=f"k-{abs(hash(t))}",
        )
        for t in titles
    ]
    with db.write() as conn:
        store_items(conn, None, rows)


def _suggested(db: Database) -> set[int]:
    with db.read() as conn:
        return set(conn.execute(select(suggestions_t.c.question_id)).scalars())


def test_a_question_added_or_resolved_between_cycles_is_or_is_no_longer_matched(
    db: Database, monkeypatch: pytest.MonkeyPatch
):
    built: list[MatchIndex] = []

    class Recording(MatchIndex):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            built.append(self)

    monkeypatch.setattr(cycle, "MatchIndex", Recording)
    golan = _question(db, "Will Russia deploy troops to the Golan Heights?", "Russia Golan")
    treaty = _question(db, "Will Russia and Iran sign a treaty?", "Russia Iran treaty")
    _store(db, "Russia and Iran sign a treaty in Tehran")
    cycle.match_and_check(db, PollConfig(), now=NOW)
    assert _suggested(db) == {treaty}
    assert not built[0].reused
    built.clear()

    # Between the cycles: the treaty question is resolved, a NATO one is added.
    with db.write() as conn:
        conn.execute(
            update(questions_t)
            .where(questions_t.c.id == treaty)
            .values(status="resolved", outcome="yes", resolved_on=date(2019, 12, 1))
        )
        conn.execute(update(suggestions_t).values(status="accepted"))
    nato = _question(db, "Will Finland join NATO?", "Finland NATO")
    gc.collect()
    _store(
        db,
        "Finland joins NATO at a summit",
        "Russia and Iran sign a second treaty",
        "Russia deploys troops to the Golan Heights",
    )
    cycle.match_and_check(db, PollConfig(), now=NOW)
    # The index of every open question took over the first cycle's filing.
    assert [index.reused for index in built if len(index.questions) == 2] == [True]
    assert _suggested(db) == {treaty, nato, golan}
    [index] = [index for index in built if len(index.questions) == 2]
    assert matched(index, item("Russia and Iran sign a second treaty")) == []
    assert matched(index, item("Finland joins NATO at a summit")) == [nato]
    assert matched(index, item("Russia deploys troops to the Golan Heights")) == [golan]
    with db.read() as conn:
        rows = conn.execute(
            select(suggestions_t.c.question_id, suggestions_t.c.evidence).where(
                suggestions_t.c.question_id == treaty
            )
        ).all()
    # The resolved question got no evidence from the second cycle's treaty story.
    assert [len(r.evidence) for r in rows] == [1]


def test_unchanged_questions_are_the_same_specs():
    # Reuse recognises an unchanged question by its spec's identity: the analysis cache
    # hands back the very same spec for the same stored fields.
    fields = (7, "Russia Golan", date(2016, 1, 1), date(2030, 12, 31), "no", "t", "", False)
    assert question_spec(*fields) is question_spec(*fields)


def test_open_questions_analysed_ahead_are_found_analysed_by_the_cycle(db: Database):
    from resolvers.news_store import analyse_open_questions, load_open_questions

    _question(db, "Will Finland join NATO?", "Finland NATO")
    _question(db, "Will Russia deploy troops to the Golan Heights?", "Russia Golan")
    assert len(analyse_open_questions(db)) == 2
    with db.read() as conn:
        specs = load_open_questions(conn)
    assert all("index_terms" in vars(s) for s in specs)


def test_a_cycle_files_the_open_questions_while_it_fetches(
    db: Database, monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer
):
    """The questions are filed during the fetch, under anchors chosen by the items already
    stored, and the matching pass takes that filing over: the same suggestions, no second
    filing of every question after the fetch."""
    built: list[tuple[int, bool]] = []  # each index's questions and whether it took over

    class Recording(MatchIndex):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            # Not the index itself: holding it would keep its filing from being taken over.
            built.append((len(self.questions), self.reused))

    monkeypatch.setattr(cycle, "MatchIndex", Recording)
    golan = _question(db, "Will Russia deploy troops to the Golan Heights?", "Russia Golan")
    treaty = _question(db, "Will Russia and Iran sign a treaty?", "Russia Iran treaty")
    # Stored before the cycle and not matched yet: the sample the fetch-time filing reads.
    _store(db, "Russia and Iran sign a treaty in Tehran")
    story = "Russia deploys troops to the Golan Heights"
    httpserver.expect_request("/wire.xml").respond_with_data(
        '<rss version="2.0"><channel><title>wire</title><item>'
        f"<title>{story}</title><link>https://news.invalid/golan</link>"
        "<pubDate>Sat, 01 Jun 2019 12:00:00 GMT</pubDate></item></channel></rss>",
        content_type="application/rss+xml",
    )
    store_source(db, "wire", "rss", httpserver.url_for("/wire.xml"))
    config = PollConfig(allow_private_sources=True, fetch_retries=0)
    report = cycle.run_cycle(db, config, force=True, now=NOW)
    assert report.errors == [] and report.new_items == 1
    assert _suggested(db) == {golan, treaty}
    assert built[0] == (2, False)  # filed during the fetch
    assert [reused for n, reused in built[1:] if n == 2] == [True]  # the pass took it over
