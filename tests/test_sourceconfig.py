"""The source configuration `serve` loads: the bundled default and a file of one's own."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from forecasts.tables import sources_t as sources
from service.db import Database
from service.settings import Settings
from service.sourceconfig import configured_sources, sync_configured_sources
from tests.conftest import ADMIN

REAL_FEEDS = {
    "https://feeds.bbci.co.uk/news/world/rss.xml": "rss",
    "https://www.aljazeera.com/xml/rss/all.xml": "rss",
    "https://rss.nytimes.com/services/xml/rss/nyt/World.xml": "rss",
    "https://api.gdeltproject.org/api/v2/doc/doc": "gdelt",
    "https://content.guardianapis.com/search": "guardian",
}


def stored(db: Database) -> dict[str, dict[str, object]]:
    with db.read() as conn:
        rows = conn.execute(select(sources)).all()
    return {row.name: dict(row._mapping) for row in rows}


def with_file(settings: Settings, path: Path) -> Settings:
    return settings.model_copy(update={"sources_file": path})


def test_bundled_configuration_enables_only_the_offline_archive(settings: Settings) -> None:
    specs = {spec.name: spec for spec in configured_sources(settings)}
    archive = specs.pop("offline-archive")
    assert (archive.kind, archive.url, archive.enabled, archive.poll_every_minutes) == (
        "archive",
        "package:seeds/archive.json",
        True,
        1440,
    )
    # Real feeds are listed, ready to enable, but a fresh install fetches nothing outside.
    assert {spec.url: spec.kind for spec in specs.values()} == REAL_FEEDS
    assert not any(spec.enabled for spec in specs.values())


def test_sync_adds_the_configured_sources_once(db: Database, settings: Settings) -> None:
    expected = len(configured_sources(settings))
    assert sync_configured_sources(db, settings) == expected
    first = stored(db)
    assert len(first) == expected
    assert first["offline-archive"]["enabled"] is True
    assert first["BBC News World"]["enabled"] is False

    assert sync_configured_sources(db, settings) == 0
    assert stored(db) == first


def test_sync_never_overwrites_a_source_changed_through_the_api(
    client: TestClient, db: Database, settings: Settings
) -> None:
    sync_configured_sources(db, settings)
    archive_id = stored(db)["offline-archive"]["id"]
    bbc_id = stored(db)["BBC News World"]["id"]
    changed = client.patch(
        f"/api/sources/{archive_id}",
        json={"poll_every_minutes": 30, "enabled": False},
        headers=ADMIN,
    )
    assert changed.status_code == 200, changed.text
    renamed = client.patch(f"/api/sources/{bbc_id}", json={"name": "BBC"}, headers=ADMIN)
    assert renamed.status_code == 200, renamed.text

    # The renamed one no longer holds its configured name, so it is added again (once).
    assert sync_configured_sources(db, settings) == 1
    after = stored(db)
    assert (
        after["offline-archive"]["poll_every_minutes"],
        after["offline-archive"]["enabled"],
    ) == (
        30,
        False,
    )
    assert after["BBC"]["id"] == bbc_id
    assert after["BBC News World"]["enabled"] is False
    assert sync_configured_sources(db, settings) == 0


def test_a_file_of_ones_own_replaces_the_bundled_one(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(
        """
        [[sources]]
        name = "local archive"
        kind = "archive"
        url = "package:seeds/archive.json"

        [[sources]]
        name = "newsroom feed"
        kind = "rss"
        url = "http://127.0.0.1:8099/feed.xml"
        poll_every_minutes = 15
        enabled = false
        """,
        encoding="utf-8",
    )
    assert sync_configured_sources(db, with_file(settings, path)) == 2
    rows = stored(db)
    assert set(rows) == {"local archive", "newsroom feed"}
    assert rows["local archive"]["poll_every_minutes"] == 60
    assert rows["local archive"]["enabled"] is True
    assert rows["newsroom feed"]["poll_every_minutes"] == 15


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[[sources]\nname = 'x'", "not valid TOML"),
        ("[[feeds]]\nname = 'x'", "unknown top-level key(s) feeds"),
        (
            "[[sources]]\nname = 'ftp'\nkind = 'ftp'\nurl = 'ftp://example.org/'",
            "source #1 ('ftp'): kind",
        ),
        ("[[sources]]\nname = 'no url'\nkind = 'rss'", "source #1 ('no url'): url"),
        (
            "[[sources]]\nname = 'a'\nkind = 'archive'\nurl = 'package:seeds/archive.json'\n"
            "poll_every_minutes = 0",
            "poll_every_minutes",
        ),
        (
            "[[sources]]\nname = 'a'\nkind = 'archive'\nurl = 'package:seeds/archive.json'\n"
            "interval = 5",
            "interval",
        ),
        (
            "[[sources]]\nname = 'a'\nkind = 'archive'\nurl = 'package:seeds/archive.json'\n"
            "[[sources]]\nname = 'a'\nkind = 'archive'\nurl = 'package:seeds/archive.json'\n",
            "source #2 ('a'): the name 'a' is listed twice",
        ),
    ],
)
def test_a_malformed_file_is_refused_naming_the_file_and_problem(
    db: Database, settings: Settings, tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        sync_configured_sources(db, with_file(settings, path))
    message = str(caught.value)
    assert str(path) in message
    assert problem in message
    # Nothing half-added.
    assert stored(db) == {}


def test_a_missing_file_is_named(db: Database, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(ValueError, match="cannot read the sources file .*absent.toml"):
        sync_configured_sources(db, with_file(settings, path))
