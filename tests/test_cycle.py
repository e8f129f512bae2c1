"""One poll cycle end to end, against a real archive file and a real RSS feed on loopback:
sources, storing, matching, joining, re-runs after a kill, backoff, deadlines."""

from __future__ import annotations

import dataclasses
import json
import tempfile
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select, update
from werkzeug import Request, Response

from forecasts.tables import links_t, news_t, sources_t, suggestions_t
from forecasts.tables import questions_t as questions_table
from resolvers.cycle import match_unmatched, run_cycle
from resolvers.items import PollConfig
from service.db import Database
from tests.conftest import ADMIN
from tests.factories import store_question, store_resolution, store_source

# Real asyncio time: the cycle's per-source deadlines run on the event loop's clock.
pytestmark = pytest.mark.freeze_time("2016-06-01T12:00:00Z", real_asyncio=True)

# Archive sources read only inside their folder: each test's archive file is written here.
ARCHIVE_DIR = Path(tempfile.mkdtemp(prefix="forecasts-test-archives-"))
CONFIG = PollConfig(
    allow_private_sources=True,
    source_deadline_seconds=5.0,
    fetch_timeout_seconds=5.0,
    fetch_retries=0,
    archive_dir=ARCHIVE_DIR,
)
WITHDRAW = "Russia (withdraw OR withdraws OR withdrew) Syria"


def rss(items: list[dict[str, str]]) -> str:
    """A small RSS 2.0 feed."""
    entries = "".join(
        "<item>"
        f"<title>{escape(i['title'])}</title>"
        f"<link>{escape(i['link'])}</link>"
        f"<description>{escape(i.get('summary', ''))}</description>"
        f"<pubDate>{format_datetime(datetime.fromisoformat(i['published_at']))}</pubDate>"
        f"<guid>{escape(i['link'])}</guid>"
        "</item>"
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Test wire</title><link>https://wire.example/</link>"
        f"<description>test</description>{entries}</channel></rss>"
    )


ARCHIVE_ITEMS = [
    {
        "key": "withdrawal-ordered",
        "published_at": "2016-03-14T12:00:00Z",
        "title": "Putin orders Russia's main force to withdraw from Syria",
        "summary": "Russia withdraws most of its aircraft from Syria from 15 March.",
        "link": "https://en.wikipedia.org/wiki/Russian_military_intervention_in_Syria",
    },
    {
        "key": "denial",
        "published_at": "2016-04-02T12:00:00Z",
        "title": "Kremlin says Russia did not withdraw its air defences from Syria",
        "summary": "The S-400 systems stay, officials said.",
        "link": "https://example.org/denial",
    },
    {
        "key": "unrelated",
        "published_at": "2016-04-03T12:00:00Z",
        "title": "Lisbon wins a football match",
        "summary": "Nothing about Syria here.",
        "link": "https://example.org/football",
    },
]
FEED_ITEMS = [
    {
        "title": "Russian jets leave Syria as Russia withdraws its bombers",
        "link": "https://wire.example/2016/03/15/jets?utm_source=rss&id=7",
        "summary": "The first group of aircraft landed in Russia.",
        "published_at": "2016-03-15T09:30:00+00:00",
    },
    {
        "title": "Russia plans to withdraw more troops from Syria",
        "link": "https://wire.example/2016/03/20/plans",
        "summary": "",
        "published_at": "2016-03-20T09:30:00+00:00",
    },
]


@pytest.fixture
def archive_file() -> Path:
    path = ARCHIVE_DIR / f"archive-{uuid.uuid4().hex}.json"
    path.write_text(json.dumps({"items": ARCHIVE_ITEMS}), encoding="utf-8")
    return path


def add_source(db: Database, name: str, kind: str, url: str, every: int = 60) -> int:
    return store_source(db, name, kind, url, every)


def add_question(db: Database, query: str = WITHDRAW, **fields: Any) -> int:
    body = {
        "title": "Will Russia withdraw its forces from Syria before 2017?",
        "resolution_criteria": "An announced and reported withdrawal of Russian forces.",
        "opened_on": "2015-11-01",
        "resolve_by": "2016-12-31",
        "news_query": query,
        **fields,
    }
    return store_question(db, today=date(2016, 6, 1), **body)


def suggestions(db: Database, status: str | None = None) -> list[Any]:
    with db.read() as conn:
        query = select(suggestions_t).order_by(suggestions_t.c.id)
        if status:
            query = query.where(suggestions_t.c.status == status)
        return list(conn.execute(query).all())


def count(db: Database, table: Any) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def source_row(db: Database, source_id: int) -> Any:
    with db.read() as conn:
        return conn.execute(select(sources_t).where(sources_t.c.id == source_id)).one()


@pytest.fixture
def two_sources(db: Database, archive_file: Path, httpserver: HTTPServer) -> dict[str, int]:
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss(FEED_ITEMS), content_type="application/rss+xml"
    )
    return {
        "archive": add_source(db, "local archive", "archive", archive_file.name),
        "wire": add_source(db, "test wire", "rss", httpserver.url_for("/feed.xml")),
    }


def test_a_cycle_polls_stores_matches_and_joins_evidence(db: Database, two_sources: dict):
    question_id = add_question(db)
    seen: list[tuple[str, int, int]] = []
    report = run_cycle(db, CONFIG, progress=lambda *step: seen.append(step))
    assert report.as_dict() == {
        "sources_polled": 2,
        "new_items": 5,
        "suggestions_created": 1,
        "errors": [],
    }
    assert ("fetch", 2, 2) in seen and ("match", 5, 5) in seen
    [suggestion] = suggestions(db)
    assert suggestion.question_id == question_id
    assert suggestion.outcome == "yes" and suggestion.status == "pending"
    # Two reports of the withdrawal joined one suggestion; the denial and the plan did not count.
    assert [e["title"] for e in suggestion.evidence] == [
        ARCHIVE_ITEMS[0]["title"],
        FEED_ITEMS[0]["title"],
    ]
    wire = suggestion.evidence[1]
    assert wire["url"] == FEED_ITEMS[0]["link"]  # exactly as the feed gave it
    assert wire["published_at"] == "2016-03-15T09:30:00Z"
    assert wire["source"] == "test wire"
    assert 0.5 < suggestion.confidence < 1
    assert "2 items from 2 sources" in suggestion.rationale
    archive = source_row(db, two_sources["archive"])
    assert archive.last_status == "ok" and archive.items_seen == 3
    assert archive.last_polled_at is not None and archive.last_error is None
    with db.read() as conn:
        unmatched = select(func.count()).where(news_t.c.matched.is_(False))
        assert conn.execute(unmatched).scalar_one() == 0


def test_a_rerun_raises_nothing_twice(db: Database, two_sources: dict):
    add_question(db)
    run_cycle(db, CONFIG)
    again = run_cycle(db, CONFIG, force=True)
    assert again.sources_polled == 2
    assert again.new_items == 0 and again.suggestions_created == 0
    # Both sent the same bytes as before (the feed without an ETag): not read again.
    assert {source_row(db, i).last_status for i in two_sources.values()} == {"unchanged"}
    [suggestion] = suggestions(db)
    assert len(suggestion.evidence) == 2
    # Even if every item were matched afresh, the evidence links keep them from recounting.
    with db.write() as conn:
        conn.execute(update(news_t).values(matched=False))
    assert run_cycle(db, CONFIG, source_ids=[]).suggestions_created == 0
    [suggestion] = suggestions(db)
    assert len(suggestion.evidence) == 2
    assert count(db, links_t) == 2


class Killed(Exception):
    pass


def die_at_matching(step: str, done: int, total: int) -> None:
    if step == "match":
        raise Killed


def test_a_cycle_killed_before_matching_is_finished_by_the_next(db: Database, two_sources: dict):
    add_question(db)
    with pytest.raises(Killed):
        run_cycle(db, CONFIG, progress=die_at_matching)
    assert count(db, news_t) == 5 and suggestions(db) == []
    report = run_cycle(db, CONFIG, force=True)
    assert report.new_items == 0 and report.suggestions_created == 1
    [suggestion] = suggestions(db)
    assert len(suggestion.evidence) == 2
    assert run_cycle(db, CONFIG, force=True).suggestions_created == 0
    assert len(suggestions(db)) == 1


def test_a_cycle_killed_half_way_through_matching(db: Database, two_sources: dict):
    add_question(db)
    with pytest.raises(Killed):
        run_cycle(db, CONFIG, progress=die_at_matching)
    now = datetime(2016, 6, 1, 12, tzinfo=UTC)

    def die_after_two(step: str, done: int, total: int) -> None:
        if done >= 2:
            raise Killed

    # Batches of one item, each committed with its evidence; it dies after the second.
    with pytest.raises(Killed):
        match_unmatched(db, now=now, progress=die_after_two, batch_size=1)
    with db.read() as conn:
        left = conn.execute(
            select(func.count()).select_from(news_t).where(news_t.c.matched.is_(False))
        ).scalar_one()
    assert left == 3
    match_unmatched(db, now=now, batch_size=1)
    [suggestion] = suggestions(db)
    assert len(suggestion.evidence) == 2
    assert count(db, links_t) == 2


def test_a_batch_is_written_in_slices_each_item_with_its_evidence(
    db: Database, two_sources: dict, monkeypatch: pytest.MonkeyPatch
):
    import resolvers.cycle as cycle

    # One hit to a slice: the two reports of the withdrawal go in transactions of their own.
    monkeypatch.setattr(cycle, "WRITE_SLICE_HITS", 1)
    add_question(db)
    run_cycle(db, CONFIG, match=False)
    now = datetime(2016, 6, 1, 12, tzinfo=UTC)
    real_write = db.write
    writes = 0

    def dies_at_second_write() -> Any:
        nonlocal writes
        writes += 1
        if writes == 2:
            raise Killed
        return real_write()

    monkeypatch.setattr(db, "write", dies_at_second_write)
    with pytest.raises(Killed):
        match_unmatched(db, now=now)
    # The first slice landed whole: its item is matched and counted, the others are not.
    [suggestion] = suggestions(db)
    assert len(suggestion.evidence) == 1 and count(db, links_t) == 1
    with db.read() as conn:
        matched = conn.execute(
            select(func.count()).select_from(news_t).where(news_t.c.matched.is_(True))
        ).scalar_one()
    assert 1 <= matched < 5
    monkeypatch.setattr(db, "write", real_write)
    assert match_unmatched(db, now=now) == 0
    [suggestion] = suggestions(db)
    assert len(suggestion.evidence) == 2 and count(db, links_t) == 2
    assert count(db, news_t) == 5


def test_a_paced_cycle_reports_its_steps_and_raises_the_same_suggestions(
    db: Database,
    two_sources: dict,
):
    add_question(db)
    steps: list[float] = []
    report = run_cycle(db, dataclasses.replace(CONFIG, pace=steps.append))
    assert report.suggestions_created == 1
    [suggestion] = suggestions(db)
    assert len(suggestion.evidence) == 2
    # Matching and recording were both paced, each step with the time it took.
    assert len(steps) >= 2 and all(s >= 0 for s in steps)


def test_a_forced_poll_through_the_api_is_not_slowed_by_itself(
    client: Any, db: Database, two_sources: dict, monkeypatch: pytest.MonkeyPatch
):
    from service import foreground

    add_question(db)
    pauses: list[float] = []
    monkeypatch.setattr(foreground.time, "sleep", pauses.append)
    counts: list[int] = []
    real_pacer = foreground.pacer

    def recording_pacer(factor: float) -> Any:
        pace = real_pacer(factor)

        def recorded(seconds: float) -> None:
            counts.append(foreground.requests_in_flight())
            pace(seconds)

        return recorded

    monkeypatch.setattr("service.polling.pacer", recording_pacer)
    response = client.post("/api/poll", json={"force": True}, headers=ADMIN)
    assert response.status_code == 200, response.text
    # The cycle paced its steps, and found no other request to give way to.
    assert counts and all(n == 0 for n in counts) and pauses == []
    assert response.json()["suggestions_created"] == 1


def test_rejected_evidence_does_not_come_back(db: Database, two_sources: dict):
    add_question(db)
    run_cycle(db, CONFIG)
    with db.write() as conn:
        conn.execute(update(suggestions_t).values(status="rejected"))
        conn.execute(update(news_t).values(matched=False))
    report = run_cycle(db, CONFIG, force=True)
    assert report.suggestions_created == 0
    assert suggestions(db, "pending") == []


def test_a_failing_source_is_recorded_backed_off_and_stops_no_other(
    db: Database, archive_file: Path, httpserver: HTTPServer, freezer: Any
):
    add_question(db)
    archive = add_source(db, "local archive", "archive", archive_file.name, every=1440)
    broken = add_source(db, "broken wire", "rss", httpserver.url_for("/broken.xml"), every=30)
    httpserver.expect_request("/broken.xml").respond_with_data("overloaded", status=503)
    report = run_cycle(db, CONFIG)
    assert report.sources_polled == 2 and report.new_items == 3
    [error] = report.errors
    assert error["source"] == "broken wire" and "503" in error["error"]
    row = source_row(db, broken)
    assert row.last_status == "error" and "503" in row.last_error
    assert row.consecutive_failures == 1
    # Backoff: poll_every × 2^failures = 60 minutes.
    polled = row.last_polled_at.replace(tzinfo=UTC)
    assert row.backoff_until.replace(tzinfo=UTC) - polled == timedelta(minutes=60)
    assert len(suggestions(db)) == 1  # the archive's items were matched all the same

    freezer.move_to("2016-06-01T12:45:00Z")  # due again by its interval, but backing off
    assert run_cycle(db, CONFIG).sources_polled == 0
    freezer.move_to("2016-06-01T13:01:00Z")
    report = run_cycle(db, CONFIG)
    assert report.sources_polled == 1 and len(report.errors) == 1
    row = source_row(db, broken)
    assert row.consecutive_failures == 2
    assert row.backoff_until.replace(tzinfo=UTC) - row.last_polled_at.replace(
        tzinfo=UTC
    ) == timedelta(minutes=120)
    assert source_row(db, archive).consecutive_failures == 0

    httpserver.clear()
    httpserver.expect_request("/broken.xml").respond_with_data(
        rss(FEED_ITEMS[:1]), content_type="application/rss+xml"
    )
    report = run_cycle(db, CONFIG, force=True)
    assert report.errors == [] and report.new_items == 1
    row = source_row(db, broken)
    assert row.last_status == "ok" and row.last_error is None
    assert row.consecutive_failures == 0 and row.backoff_until is None


def test_retry_after_lengthens_the_backoff(db: Database, httpserver: HTTPServer):
    source = add_source(db, "busy", "rss", httpserver.url_for("/busy.xml"), every=5)
    httpserver.expect_request("/busy.xml").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "7200"}
    )
    run_cycle(db, CONFIG)
    row = source_row(db, source)
    wait = row.backoff_until.replace(tzinfo=UTC) - row.last_polled_at.replace(tzinfo=UTC)
    assert wait == timedelta(hours=2)


@pytest.fixture
def hanging(httpserver: HTTPServer) -> Iterator[str]:
    release = threading.Event()

    def handler(request: Request) -> Response:
        release.wait(30)
        return Response("<rss/>", content_type="application/rss+xml")

    httpserver.expect_request("/hang.xml").respond_with_handler(handler)
    yield httpserver.url_for("/hang.xml")
    release.set()


def test_a_hung_source_is_cut_at_its_deadline(db: Database, archive_file: Path, hanging: str):
    add_question(db)
    add_source(db, "local archive", "archive", archive_file.name)
    hung = add_source(db, "hung wire", "rss", hanging)
    config = PollConfig(
        allow_private_sources=True,
        source_deadline_seconds=1.5,
        fetch_retries=0,
        archive_dir=ARCHIVE_DIR,
    )
    report = run_cycle(db, config)
    assert report.new_items == 3
    [error] = report.errors
    assert error["source"] == "hung wire" and "deadline" in error["error"]
    assert source_row(db, hung).last_status == "error"
    assert len(suggestions(db)) == 1


def test_due_sources_only_unless_forced(db: Database, two_sources: dict, freezer: Any):
    assert run_cycle(db, CONFIG).sources_polled == 2
    assert run_cycle(db, CONFIG).sources_polled == 0
    assert run_cycle(db, CONFIG, force=True).sources_polled == 2
    freezer.move_to("2016-06-01T13:00:00Z")
    assert run_cycle(db, CONFIG).sources_polled == 2
    assert run_cycle(db, CONFIG, source_ids=[two_sources["wire"]]).sources_polled == 1
    assert run_cycle(db, CONFIG, source_ids=[]).sources_polled == 0
    with db.write() as conn:
        conn.execute(update(sources_t).values(enabled=False))
    assert run_cycle(db, CONFIG, force=True).sources_polled == 0


def test_items_outside_the_window_are_not_evidence(db: Database, two_sources: dict):
    add_question(db, opened_on="2016-03-16", resolve_by="2016-12-31")
    run_cycle(db, CONFIG)
    assert suggestions(db) == []


# --- the deadline check ----------------------------------------------------------------------


def test_deadline_suggestion_after_the_grace_period(db: Database, freezer: Any):
    question_id = add_question(db, resolve_by="2016-06-01")
    freezer.move_to("2016-06-08T23:59:00Z")  # resolve_by + 7 days: still in grace
    assert run_cycle(db, CONFIG).suggestions_created == 0
    freezer.move_to("2016-06-09T00:00:00Z")
    assert run_cycle(db, CONFIG).suggestions_created == 1
    [deadline] = suggestions(db)
    assert deadline.question_id == question_id
    assert deadline.outcome == "no" and deadline.resolver == "deadline"
    assert deadline.confidence == pytest.approx(0.6)
    assert "resolve_by 2016-06-01 passed" in deadline.rationale
    assert deadline.evidence == []
    assert run_cycle(db, CONFIG).suggestions_created == 0
    # Rejected, it is not raised again.
    with db.write() as conn:
        conn.execute(update(suggestions_t).values(status="rejected"))
    assert run_cycle(db, CONFIG).suggestions_created == 0
    assert suggestions(db, "pending") == []


def test_deadline_suggestion_beside_news_for_the_event(
    db: Database, two_sources: dict, freezer: Any
):
    add_question(db, resolve_by="2016-04-30")
    report = run_cycle(db, CONFIG)
    assert report.suggestions_created == 2
    news, deadline = sorted(suggestions(db, "pending"), key=lambda s: s.resolver != "news-match")
    assert news.outcome == "yes" and deadline.outcome == "no"
    # The news is stronger than the deadline's default, so it is the answer.
    assert news.confidence > deadline.confidence
    assert f"suggestion #{news.id}" in deadline.rationale
    # Once the news is rejected, the deadline stands at full strength.
    with db.write() as conn:
        conn.execute(
            update(suggestions_t).where(suggestions_t.c.id == news.id).values(status="rejected")
        )
    run_cycle(db, CONFIG)
    [deadline] = suggestions(db, "pending")
    assert deadline.confidence == pytest.approx(0.6)


def test_status_quo_question_gets_its_default_yes_at_the_deadline(db: Database, freezer: Any):
    add_question(
        db,
        query='Assad ("step down" OR resign OR ousted)',
        title="Will Bashar al-Assad still be President of Syria on 2016-12-31?",
        resolve_by="2016-12-31",
        default_outcome="yes",
    )
    freezer.move_to("2017-01-08T00:00:00Z")
    run_cycle(db, CONFIG)
    [deadline] = suggestions(db)
    assert deadline.outcome == "yes"


def test_suggestions_of_questions_resolved_directly_are_superseded(db: Database, two_sources: dict):
    """Resolving by hand supersedes the question's pending suggestion in the same
    transaction, and no later cycle brings it back."""
    question_id = add_question(db)
    run_cycle(db, CONFIG)
    store_resolution(db, question_id, "yes", resolved_on=date(2016, 3, 14), today=date(2016, 6, 1))
    [suggestion] = suggestions(db)
    assert suggestion.status == "superseded"
    run_cycle(db, CONFIG, source_ids=[])
    assert [s.status for s in suggestions(db)] == ["superseded"]


def test_a_question_added_after_its_news_was_matched_gets_that_news_once(
    db: Database, two_sources: dict
):
    run_cycle(db, CONFIG)  # the items are matched while no question exists
    question_id = add_question(db)
    assert run_cycle(db, CONFIG, source_ids=[]).suggestions_created == 1
    [suggestion] = suggestions(db)
    assert suggestion.question_id == question_id and len(suggestion.evidence) == 2
    # Asked to match its news again (its window changed), nothing is counted twice.
    with db.write() as conn:
        conn.execute(update(questions_table).values(match_pending=True))
    assert run_cycle(db, CONFIG, source_ids=[]).suggestions_created == 0
    assert len(suggestions(db)[0].evidence) == 2
    with db.read() as conn:
        pending = conn.execute(select(questions_table.c.match_pending)).scalars().all()
    assert pending == [False], "the pass is done once, not every cycle"
