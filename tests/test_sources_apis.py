"""The API adapters (GDELT, Guardian), the archive and the sources' options, through
poll_source, served from loopback with recorded answers (tests/fixtures, see PROVENANCE.md)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from forecasts.errors import InvalidInput
from resolvers.items import PollConfig, QuestionWindow
from resolvers.sources import (
    CURSOR_PREFIX,
    SourceSpec,
    query_clauses,
    validate_options,
)
from resolvers.sources import gdelt as gdelt_adapter
from resolvers.sources import guardian as guardian_adapter
from tests.source_polling import CONFIG, fixture_bytes, poll

# --------------------------------------------------------------------------- GDELT


def gdelt_source(url: str, **options: Any) -> SourceSpec:
    options.setdefault("min_interval_seconds", 0)
    return SourceSpec(id=2, name="GDELT", kind="gdelt", url=url, options=options)


def window(question_id: int, news_query: str, opened_on: date, resolve_by: date) -> QuestionWindow:
    return QuestionWindow(question_id, news_query, opened_on, resolve_by)


def test_gdelt_artlist_for_one_window(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/api/v2/doc/doc",
        query_string={
            "query": 'india (tariffs OR "trade deal")',
            "mode": "artlist",
            "format": "json",
            "maxrecords": "250",
            "startdatetime": "20260110000000",
            # resolve_by 2026-01-31 plus 7 grace days is later than now: now ends it.
            "enddatetime": "20260201060000",
            "sort": "datedesc",
        },
    ).respond_with_data(
        fixture_bytes("gdelt/artlist_query-india_2026-01.json"), content_type="application/json"
    )
    outcome = poll(
        gdelt_source(httpserver.url_for("/api/v2/doc/doc")),
        [window(1, 'india (tariffs OR "trade deal")', date(2026, 1, 10), date(2026, 1, 31))],
        now=datetime(2026, 2, 1, 6, 0, tzinfo=UTC),
    )
    assert outcome.status == "ok", outcome.error
    assert len(outcome.items) == 20
    first = outcome.items[0]
    assert first.link == (
        "https://www.mathrubhumi.com/news/india/india-navigates-trump-trade-diplomacy-s8bz9nqh"
    )
    assert first.published_at == datetime(2026, 1, 21, 8, 30, tzinfo=UTC)
    assert " ; " not in first.title and "; " in first.title
    titles = [item.title for item in outcome.items]
    assert "Trump Pressure Allegation: India Loses Chabahar Port Control; MEA Denies" in titles
    assert any("4,500" in title for title in titles)
    # The explicit port is part of the link as GDELT gave it.
    assert any(item.link.startswith("https://www.cna.com.tw:443/") for item in outcome.items)
    assert outcome.etag == f"{CURSOR_PREFIX}1"


def test_gdelt_second_recorded_artlist(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/doc").respond_with_data(
        fixture_bytes("gdelt/artlist_vizhinjam_2024.json"), content_type="application/json"
    )
    outcome = poll(
        gdelt_source(httpserver.url_for("/doc")),
        [window(4, "Vizhinjam port", date(2024, 6, 1), date(2024, 7, 31))],
    )
    assert outcome.status == "ok", outcome.error
    assert [item.published_at.date() for item in outcome.items] == [
        date(2024, 6, 15),
        date(2024, 7, 6),
        date(2024, 6, 20),
        date(2024, 7, 15),
    ]
    assert outcome.items[0].title == "Customs grants approval to Vizhinjam International Seaport"
    assert outcome.items[1].title.startswith("ട്രോളിങ് നിയന്ത്രണം നീങ്ങി; വിഴിഞ്ഞം തീരത്ത് ആവേശം,")


@pytest.mark.parametrize(
    ("status", "content_type"), [(429, "text/plain"), (429, "text/html"), (200, "text/html")]
)
def test_gdelt_rate_limit_notice(httpserver: HTTPServer, status: int, content_type: str) -> None:
    notice = fixture_bytes("gdelt/error_rate_limited.txt")
    httpserver.expect_request("/doc").respond_with_data(
        notice, status=status, content_type=content_type
    )
    outcome = poll(
        gdelt_source(httpserver.url_for("/doc")),
        [window(1, "Vizhinjam port", date(2024, 6, 1), date(2024, 7, 31))],
    )
    assert outcome.status == "error"
    assert outcome.error is not None
    assert "Please limit requests to one every 5 seconds" in outcome.error
    assert outcome.retry_after_seconds is not None and outcome.retry_after_seconds >= 5


def test_gdelt_refused_query_notice(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/doc").respond_with_data(
        fixture_bytes("gdelt/error_keywords_too_short.txt"), content_type="text/html"
    )
    outcome = poll(
        gdelt_source(httpserver.url_for("/doc")),
        [window(1, "Brazil protests", date(2024, 6, 1), date(2024, 7, 31))],
    )
    assert outcome.status == "error"
    assert outcome.error == (
        "GDELT refused the query: One or more of your keywords were too short, too long or "
        "too common: (locationcc:br)"
    )


def test_gdelt_one_refused_query_does_not_stop_the_others(httpserver: HTTPServer) -> None:
    def answer(request: Request) -> Response:
        if request.args["query"] == "Brazil":
            return Response(fixture_bytes("gdelt/error_keywords_too_short.txt"))
        return Response(
            fixture_bytes("gdelt/artlist_vizhinjam_2024.json"), content_type="application/json"
        )

    httpserver.expect_request("/doc").respond_with_handler(answer)
    outcome = poll(
        gdelt_source(httpserver.url_for("/doc")),
        [
            window(1, "Brazil", date(2024, 6, 1), date(2024, 7, 31)),
            window(2, "Vizhinjam", date(2024, 6, 1), date(2024, 7, 31)),
        ],
    )
    assert outcome.status == "ok"
    assert len(outcome.items) == 4
    assert set(outcome.extra["query_errors"]) == {1}


def test_gdelt_skips_windows_before_its_coverage(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/doc").respond_with_json({})
    outcome = poll(
        gdelt_source(httpserver.url_for("/doc")),
        [window(1, "Assad resigns", date(2015, 11, 1), date(2016, 12, 31))],
    )
    assert outcome.status == "ok"
    assert outcome.items == []
    assert outcome.extra["windows_skipped"] == 1
    assert httpserver.log == []


def test_gdelt_starts_no_earlier_than_the_earliest_option(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/doc").respond_with_json({})
    outcome = poll(
        gdelt_source(httpserver.url_for("/doc"), earliest="2018-03-01"),
        [window(1, "Assad resigns", date(2015, 11, 1), date(2018, 12, 31))],
    )
    assert outcome.status == "ok"
    request = httpserver.log[0][0]
    assert request.args["startdatetime"] == "20180301000000"
    assert request.args["enddatetime"] == "20190107235959"


def test_gdelt_queries_at_most_max_queries_and_takes_turns(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/doc").respond_with_json({"articles": []})
    windows = [window(qid, f"topic{qid}", date(2024, 6, 1), date(2024, 7, 31)) for qid in (1, 2, 3)]
    source = gdelt_source(httpserver.url_for("/doc"), max_queries=2)
    first = poll(source, windows)
    assert [r.args["query"] for r, _ in httpserver.log] == ["topic1", "topic2"]
    assert first.etag == f"{CURSOR_PREFIX}2"
    assert first.extra["windows_deferred"] == 1
    source.etag = first.etag
    second = poll(source, windows)
    assert [r.args["query"] for r, _ in httpserver.log[2:]] == ["topic3", "topic1"]
    assert second.etag == f"{CURSOR_PREFIX}1"


def test_gdelt_stops_before_the_source_deadline(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/doc").respond_with_json({"articles": []})
    windows = [window(qid, f"topic{qid}", date(2024, 6, 1), date(2024, 7, 31)) for qid in (1, 2)]
    # A second request could not finish within a deadline shorter than one fetch timeout.
    tight = PollConfig(**{**CONFIG.__dict__, "source_deadline_seconds": 0.2})
    outcome = poll(gdelt_source(httpserver.url_for("/doc")), windows, config=tight)
    assert outcome.status == "ok"
    assert len(httpserver.log) == 1
    assert outcome.extra["windows_deferred"] == 1


def test_gdelt_garbage_is_an_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/doc").respond_with_data(
        '{"articles": [', content_type="application/json"
    )
    outcome = poll(
        gdelt_source(httpserver.url_for("/doc")),
        [window(1, "Vizhinjam", date(2024, 6, 1), date(2024, 7, 31))],
    )
    assert outcome.status == "error"
    assert outcome.error is not None and outcome.error.startswith("GDELT sent invalid JSON")


# ------------------------------------------------------------------------ Guardian


def guardian_source(url: str, **options: Any) -> SourceSpec:
    options.setdefault("min_interval_seconds", 0)
    return SourceSpec(id=3, name="The Guardian", kind="guardian", url=url, options=options)


def test_guardian_current_shape(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/search",
        query_string={
            "q": 'Putin AND (Syria OR "Hmeimim airbase")',
            "from-date": "2017-12-01",
            "to-date": "2018-01-07",
            "page-size": "50",
            "order-by": "newest",
            "show-fields": "trailText,standfirst",
            "api-key": "test-key",
        },
    ).respond_with_data(
        fixture_bytes("guardian/search_show-fields_standfirst-thumbnail.json"),
        content_type="application/json",
    )
    outcome = poll(
        guardian_source(httpserver.url_for("/search"), api_key="test-key"),
        [window(9, 'Putin (Syria OR "Hmeimim airbase")', date(2017, 12, 1), date(2017, 12, 31))],
    )
    assert outcome.status == "ok", outcome.error
    assert len(outcome.items) == 10
    by_title = {item.title: item for item in outcome.items}
    putin = by_title["Vladimir Putin makes triumphant visit to Syria airbase"]
    assert putin.link.startswith("https://www.theguardian.com/")
    assert putin.published_at == datetime(2017, 12, 11, 16, 45, 8, tzinfo=UTC)
    assert putin.summary.startswith("President Assad tells Russian leader")
    assert "<" not in putin.summary
    architecture = next(item for item in outcome.items if item.title.startswith("Wet docks"))
    assert "the V&A unveils" in architecture.summary
    assert (
        outcome.items[0].title == "Harry Potter and the £4.50 chocolate frog | Alice O\u2019Keeffe"
    )


def test_guardian_2012_shape(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/search").respond_with_data(
        fixture_bytes("guardian/search_2012-02-22_show-fields-all_show-tags-all.json"),
        content_type="application/json",
    )
    config = PollConfig(**{**CONFIG.__dict__, "guardian_api_key": "from-settings"})
    outcome = poll(
        guardian_source(httpserver.url_for("/search")),
        [window(1, "Syria", date(2012, 2, 1), date(2012, 2, 29))],
        config=config,
    )
    assert outcome.status == "ok", outcome.error
    assert httpserver.log[0][0].args["api-key"] == "from-settings"
    assert [item.link for item in outcome.items] == [
        "http://www.guardian.co.uk/world/middle-east-live/2012/feb/22/syria-yemen",
        "http://www.guardian.co.uk/politics/2012/feb/22/staff-welfare-work-company-4ae-arrested",
    ]
    first = outcome.items[0]
    assert first.title == "Journalists reported killed in Syria – live updates"
    assert first.summary == (
        "Claim of 500 defectors joining Free Syrian Army Last day of Mubarak's trial in Egypt "
        "Nine reported dead in Yemen election violence"
    )
    assert first.published_at == datetime(2012, 2, 22, 8, 55, tzinfo=UTC)


@pytest.mark.parametrize("status", [200, 400])
def test_guardian_error_envelope(httpserver: HTTPServer, status: int) -> None:
    # The documented error envelope; no recorded error body exists (see PROVENANCE.md).
    httpserver.expect_request("/search").respond_with_json(
        {"response": {"status": "error", "message": "Invalid from-date"}}, status=status
    )
    outcome = poll(
        guardian_source(httpserver.url_for("/search"), api_key="k"),
        [window(1, "Syria", date(2012, 2, 1), date(2012, 2, 29))],
    )
    assert outcome.status == "error"
    assert outcome.error is not None and "Invalid from-date" in outcome.error


def test_guardian_rejected_key_is_a_source_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/search").respond_with_json(
        {"message": "Invalid authentication credentials"}, status=401
    )
    outcome = poll(
        guardian_source(httpserver.url_for("/search"), api_key="wrong"),
        [
            window(1, "Syria", date(2012, 2, 1), date(2012, 2, 29)),
            window(2, "Yemen", date(2012, 2, 1), date(2012, 2, 29)),
        ],
    )
    assert outcome.status == "error"
    assert outcome.error == "the Guardian answered HTTP 401: Invalid authentication credentials"
    assert len(httpserver.log) == 1


def test_guardian_without_a_key_is_an_error(httpserver: HTTPServer) -> None:
    outcome = poll(
        guardian_source(httpserver.url_for("/search")),
        [window(1, "Syria", date(2012, 2, 1), date(2012, 2, 29))],
    )
    assert outcome.status == "error"
    assert outcome.error is not None and outcome.error.startswith("no API key")
    assert httpserver.log == []


# ------------------------------------------------------------------------- archive


def archive_source(url: str, **options: Any) -> SourceSpec:
    return SourceSpec(id=4, name="Archive", kind="archive", url=url, options=options)


def test_bundled_archive() -> None:
    import seeds

    data = json.loads((Path(seeds.__file__).parent / "archive.json").read_bytes())
    outcome = poll(archive_source("package:seeds/archive.json"))
    assert outcome.status == "ok", outcome.error
    assert len(outcome.items) == len(data["items"])
    first, item = data["items"][0], outcome.items[0]
    assert item.dedup_key == hashlib.sha256(f"archive:{first['key']}".encode()).hexdigest()
    assert item.title == first["title"]
    assert item.link == first["link"]
    assert item.published_at == datetime.fromisoformat(first["published_at"])
    assert item.source_name == "Archive"


def in_folder(folder: Path) -> PollConfig:
    """The test config, with `folder` as the one archive sources may read."""
    return dataclasses.replace(CONFIG, archive_dir=folder)


def test_archive_until_hides_later_items(tmp_path: Path) -> None:
    path = tmp_path / "archive.json"
    path.write_text(
        json.dumps(
            {
                "items": [
                    {
                        "key": "a",
                        "published_at": "2016-01-10T12:00:00Z",
                        "title": "Early",
                        "summary": "",
                        "link": "https://example.org/a",
                    },
                    {
                        "key": "b",
                        "published_at": "2016-01-11T12:00:00Z",
                        "title": "Late",
                        "summary": "",
                        "link": "https://example.org/b",
                    },
                    {"key": "c", "published_at": "not a date", "title": "Broken"},
                ]
            }
        )
    )
    outcome = poll(archive_source(path.name, until="2016-01-10"), config=in_folder(tmp_path))
    assert [item.title for item in outcome.items] == ["Early"]
    assert outcome.extra["hidden_after_until"] == 1
    assert [
        item.title for item in poll(archive_source(path.name), config=in_folder(tmp_path)).items
    ] == [
        "Early",
        "Late",
    ]


def test_archive_faults_are_error_outcomes(tmp_path: Path) -> None:
    missing = poll(archive_source("missing.json"), config=in_folder(tmp_path))
    assert missing.status == "error"
    assert missing.error is not None and "no archive file" in missing.error
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    outcome = poll(archive_source(broken.name), config=in_folder(tmp_path))
    assert outcome.status == "error"
    assert outcome.error is not None and outcome.error.startswith("the archive is not valid JSON")


# ----------------------------------------------------------- options and queries


def test_validate_options_accepts_good_sources() -> None:
    validate_options("rss", "https://feeds.bbci.co.uk/news/world/rss.xml", {})
    validate_options("gdelt", "https://api.gdeltproject.org/api/v2/doc/doc", {"max_queries": 5})
    validate_options("guardian", "https://content.guardianapis.com/search", {})
    validate_options("archive", "package:seeds/archive.json", {"until": "2016-06-30"})


@pytest.mark.parametrize(
    ("kind", "url", "options", "field", "message"),
    [
        ("atom", "https://example.org/feed", {}, "kind", "kind must be one of"),
        ("rss", "ftp://example.org/feed", {}, "url", "rss sources need an http(s) URL"),
        ("rss", "not a url", {}, "url", "http(s) URL"),
        ("rss", "https://example.org/feed", {"max_queries": 3}, "options", "unknown option"),
        ("gdelt", "https://example.org/doc", {"max_queries": 0}, "options", "max_queries"),
        ("gdelt", "https://example.org/doc", {"max_queries": True}, "options", "max_queries"),
        ("gdelt", "https://example.org/doc", {"earliest": "2017"}, "options", "earliest"),
        ("guardian", "https://example.org/s", {"api_key": ""}, "options", "api_key"),
        ("guardian", "https://example.org/s", {"page_size": 500}, "options", "page_size"),
        ("archive", "package:seeds/nothing.json", {}, "url", "no archive file"),
        ("archive", "https://example.org/a.json", {}, "url", "not a package:"),
    ],
)
def test_validate_options_refuses(
    kind: str, url: str, options: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(
        InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")
    ) as caught:
        validate_options(kind, url, options)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("news_query", "gdelt_query", "guardian_query"),
    [
        ("Assad resigns", "Assad resigns", "Assad AND resigns"),
        (
            '"Bashar al-Assad" (resigns OR ousted) -rumour',
            '"Bashar al-Assad" (resigns OR ousted) -rumour',
            '"Bashar al-Assad" AND (resigns OR ousted) AND NOT rumour',
        ),
        (
            "Russia Iran S-300 delivery",
            'Russia Iran "S-300" delivery',
            'Russia AND Iran AND "S-300" AND delivery',
        ),
        # (x y) OR z is (x OR z) AND (y OR z); GDELT is given what it can take.
        (
            "(Putin visit) OR summit",
            "(Putin OR summit) (visit OR summit)",
            "(Putin OR summit) AND (visit OR summit)",
        ),
        # An exclusion inside an OR: GDELT cannot take it, the Guardian can.
        ("Iran -(sanctions troops)", "Iran", "Iran AND (NOT sanctions OR NOT troops)"),
        ("-war", None, None),
        ("US UN", None, "US AND UN"),
    ],
)
def test_news_query_translation(
    news_query: str, gdelt_query: str | None, guardian_query: str | None
) -> None:
    clauses = query_clauses(news_query)
    assert gdelt_adapter.build_query(clauses) == gdelt_query
    assert guardian_adapter.build_query(clauses) == guardian_query


def test_gdelt_pauses_between_queries_even_under_a_frozen_clock(
    httpserver: HTTPServer, freezer: Any
) -> None:
    freezer.move_to("2024-08-01T12:00:00Z")
    httpserver.expect_request("/doc").respond_with_json({"articles": []})
    windows = [window(qid, f"topic{qid}", date(2024, 6, 1), date(2024, 7, 31)) for qid in (1, 2)]
    source = gdelt_source(httpserver.url_for("/doc"), min_interval_seconds=0.01)
    outcome = poll(source, windows, now=datetime(2024, 8, 1, 12, 0, tzinfo=UTC))
    assert outcome.status == "ok"
    assert [request.args["query"] for request, _ in httpserver.log] == ["topic1", "topic2"]
