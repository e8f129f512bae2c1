"""resolvers.ingest: normalising items and storing each story once, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select

from forecasts.tables import news_t as news_items
from forecasts.tables import sources_t
from resolvers.fetch import Fetcher
from resolvers.ingest import RawItem, html_to_text, normalise_items, store_items
from resolvers.items import NewsItemIn, PollConfig, dedup_key
from resolvers.sources import SourceSpec, poll_source
from service.db import Database
from tests.conftest import make_settings, truncate_all

NOW = datetime(2026, 8, 14, 12, 0, tzinfo=UTC)


def item(n: int, *, link: str | None = None, source_name: str = "Feed") -> NewsItemIn:
    link = f"https://example.org/story/{n}" if link is None else link
    published_at = NOW - timedelta(hours=n)
    return NewsItemIn(
        title=f"Story {n}",
        summary=f"Summary {n}",
        link=link,
        published_at=published_at,
        source_name=source_name,
        dedup_key=dedup_key(link, f"Story {n}", published_at),
    )


def add_source(db: Database, name: str) -> int:
    with db.write() as conn:
        return int(
            conn.execute(
                sources_t.insert()
                .values(name=name, kind="rss", url=f"https://example.org/{name}", options={})
                .returning(sources_t.c.id)
            ).scalar_one()
        )


def stored(db: Database) -> list[dict[str, object]]:
    with db.read() as conn:
        rows = conn.execute(select(news_items).order_by(news_items.c.id)).mappings()
        return [dict(row) for row in rows]


def test_new_items_are_stored_unmatched_and_their_ids_returned(db: Database) -> None:
    source_id = add_source(db, "feed")
    with db.write() as conn:
        ids = store_items(conn, source_id, [item(1), item(2)])
    rows = stored(db)
    assert ids == [row["id"] for row in rows]
    assert [row["title"] for row in rows] == ["Story 1", "Story 2"]
    assert all(row["matched"] is False and row["source_id"] == source_id for row in rows)
    assert rows[0]["published_at"] == NOW - timedelta(hours=1)
    assert rows[0]["link"] == "https://example.org/story/1"


def test_storing_again_adds_nothing_and_returns_only_new_ids(db: Database) -> None:
    with db.write() as conn:
        first = store_items(conn, None, [item(1), item(2)])
    with db.write() as conn:
        again = store_items(conn, None, [item(2), item(1), item(3)])
    assert len(first) == 2
    assert len(again) == 1
    assert [row["title"] for row in stored(db)] == ["Story 1", "Story 2", "Story 3"]
    assert again == [stored(db)[2]["id"]]


def test_the_same_key_twice_in_one_batch_is_stored_once(db: Database) -> None:
    with db.write() as conn:
        ids = store_items(conn, None, [item(1), item(1), item(2)])
    assert len(ids) == 2
    assert len(stored(db)) == 2


def test_the_same_story_from_two_feeds_is_stored_once(db: Database, httpserver: HTTPServer) -> None:
    story = (
        "<item><title>Ceasefire agreed in Gaza</title>"
        "<link>https://example.org/world/ceasefire?utm_source={}</link>"
        "<pubDate>Mon, 10 Aug 2026 10:00:00 GMT</pubDate></item>"
    )
    for name in ("one", "two"):
        httpserver.expect_request(f"/{name}").respond_with_data(
            f'<rss version="2.0"><channel><title>{name}</title>{story.format(name)}'
            "</channel></rss>",
            content_type="application/rss+xml",
        )
    first_id, second_id = add_source(db, "one"), add_source(db, "two")
    config = PollConfig(allow_private_sources=True, fetch_retries=0)

    async def poll_both() -> list[list[NewsItemIn]]:
        async with Fetcher(config) as fetcher:
            outcomes = [
                await poll_source(
                    fetcher,
                    SourceSpec(
                        id=i, name=name, kind="rss", url=httpserver.url_for(f"/{name}"), options={}
                    ),
                    [],
                    config,
                    now=NOW,
                )
                for i, name in ((first_id, "one"), (second_id, "two"))
            ]
        return [outcome.items for outcome in outcomes]

    from_one, from_two = asyncio.run(poll_both())
    assert from_one[0].dedup_key == from_two[0].dedup_key
    with db.write() as conn:
        assert len(store_items(conn, first_id, from_one)) == 1
    with db.write() as conn:
        assert store_items(conn, second_id, from_two) == []
    rows = stored(db)
    assert len(rows) == 1
    assert rows[0]["source_id"] == first_id
    assert rows[0]["link"] == "https://example.org/world/ceasefire?utm_source=one"


def test_large_batches_are_stored_in_chunks(db: Database) -> None:
    batch = [item(n) for n in range(1, 1201)]
    with db.write() as conn:
        ids = store_items(conn, None, batch)
    assert len(ids) == 1200
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(news_items)).scalar_one() == 1200


def test_a_cycle_killed_before_commit_leaves_nothing_and_a_rerun_stores_all(
    db: Database,
) -> None:
    with db.write() as conn:
        store_items(conn, None, [item(1)])
    with pytest.raises(RuntimeError), db.write() as conn:
        store_items(conn, None, [item(1), item(2), item(3)])
        raise RuntimeError("the cycle died here")
    assert [row["title"] for row in stored(db)] == ["Story 1"]
    with db.write() as conn:
        ids = store_items(conn, None, [item(1), item(2), item(3)])
    assert len(ids) == 2
    assert [row["title"] for row in stored(db)] == ["Story 1", "Story 2", "Story 3"]


def test_two_cycles_racing_store_each_item_once(db: Database) -> None:
    batch = [item(n) for n in range(1, 101)]
    start = threading.Barrier(2)
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def cycle() -> None:
        try:
            start.wait(10)
            with db.write() as conn:
                results.append(store_items(conn, None, batch))
        except BaseException as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=cycle) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(results) == 2
    all_ids = results[0] + results[1]
    assert len(all_ids) == len(set(all_ids)) == 100
    assert len(stored(db)) == 100


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Database]:
    """PostgreSQL only: SQLite writers are serialised by Database.write, so two are never
    open at once there and this race cannot happen."""
    database = Database(pg_url, make_settings(pg_url))
    truncate_all(database)
    yield database
    database.dispose()


def test_a_racing_insert_of_an_uncommitted_item_skips_it(pg_db: Database) -> None:
    db = pg_db
    outcome: list[list[int]] = []
    with db.engine.connect() as first:
        with first.begin():
            assert len(store_items(first, None, [item(1)])) == 1

            def second() -> None:
                with db.engine.begin() as conn:
                    outcome.append(store_items(conn, None, [item(1), item(2)]))

            racer = threading.Thread(target=second)
            racer.start()
            # The racer blocks on the unique key until this transaction ends.
        racer.join(30)
    assert len(outcome) == 1
    assert len(outcome[0]) == 1
    assert [row["title"] for row in stored(db)] == ["Story 1", "Story 2"]


# ------------------------------------------------------------------------ normalising


def test_normalise_keeps_undated_items_undated_and_drops_future_ones() -> None:
    raw = [
        RawItem("Undated", "", "https://example.org/a", None),
        RawItem("Tomorrow evening", "", "https://example.org/b", NOW + timedelta(hours=23)),
        RawItem("Next week", "", "https://example.org/c", NOW + timedelta(days=7)),
        RawItem(
            "Offset", "", "https://example.org/d", datetime.fromisoformat("2026-08-13T10:00+02:00")
        ),
    ]
    items, counts = normalise_items(raw, source_name="Feed", now=NOW)
    by_title = {i.title: i for i in items}
    assert set(by_title) == {"Undated", "Tomorrow evening", "Offset"}
    assert by_title["Undated"].published_at is None
    assert by_title["Offset"].published_at == datetime(2026, 8, 13, 8, 0, tzinfo=UTC)
    assert by_title["Offset"].published_at.tzinfo == UTC
    assert counts["undated"] == 1
    assert counts["dropped_future"] == 1


def test_normalise_cleans_text_and_drops_empty_items() -> None:
    raw = [
        RawItem("  Breaking:\x00 talks\n\tresume  ", "  a\x07 b ", "https://example.org/a", NOW),
        RawItem("", "", "https://example.org/empty", NOW),
        RawItem("", "Only a summary here", "https://example.org/b", NOW),
    ]
    items, counts = normalise_items(raw, source_name="Feed", now=NOW)
    assert [(i.title, i.summary) for i in items] == [
        ("Breaking: talks resume", "a b"),
        ("Only a summary here", "Only a summary here"),
    ]
    assert counts["dropped_empty"] == 1


def test_normalise_keeps_a_stable_key_of_the_source() -> None:
    items, _ = normalise_items(
        [RawItem("Title", "", "https://example.org/a", NOW, key="k" * 64)],
        source_name="Archive",
        now=NOW,
    )
    assert items[0].dedup_key == "k" * 64


def test_html_to_text() -> None:
    assert html_to_text("<p>One &amp; two</p><p>three<br/>four</p>") == "One & two three four"
    assert html_to_text("<b>bold</b>face <script>evil()</script>&eacute;t&#233;") == "boldface été"
    assert html_to_text("a < b and c > d") == "a < b and c > d"
    assert html_to_text("plain") == "plain"
