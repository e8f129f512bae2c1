"""Archive sources read only the bundled seeds or the configured archive folder: other
packages, absolute paths, file: URLs, `..` and links out of the folder are refused with one
message, whether or not the file exists, through the adapter, the poll and the API."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from forecasts.errors import InvalidInput
from resolvers.fetch import Fetcher
from resolvers.ingest import ContentError
from resolvers.items import FetchOutcome, PollConfig
from resolvers.sources import SourceSpec, archive, poll_source, validate_options
from service.app import create_app
from service.db import Database
from service.polling import poll_config
from tests.conftest import ADMIN, make_settings

CONFIG = PollConfig(allow_private_sources=True, fetch_retries=0)
ITEMS = {
    "items": [
        {
            "key": "k1",
            "published_at": "2016-03-15T09:30:00+00:00",
            "title": "Russia withdraws its jets from Syria",
            "summary": "",
            "link": "https://example.org/k1",
        }
    ]
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """An archive folder with one archive in it and one in a subfolder, and a secret file
    next to the folder (outside it)."""
    root = tmp_path / "archives"
    (root / "news").mkdir(parents=True)
    (root / "archive.json").write_text(json.dumps(ITEMS), encoding="utf-8")
    (root / "news" / "2016.json").write_text(json.dumps(ITEMS), encoding="utf-8")
    (tmp_path / "secret.json").write_text(json.dumps(ITEMS), encoding="utf-8")
    return root


def outside_urls(folder: Path) -> dict[str, tuple[str, str]]:
    """Pairs of URLs that must be refused alike: (one naming a file that exists, one not)."""
    secret = folder.parent / "secret.json"
    missing = folder.parent / "no-such-file.json"
    return {
        "package with an absolute path": ("package:seeds//etc/passwd", "package:seeds//etc/nope"),
        "package traversal": (
            "package:seeds/../service/default_sources.toml",
            "package:seeds/../service/nope.toml",
        ),
        "another package": ("package:service/default_sources.toml", "package:nope/x.json"),
        "absolute path": (str(secret), str(missing)),
        "absolute /etc": ("/etc/passwd", "/etc/no-such-file"),
        "file: URL": (secret.as_uri(), missing.as_uri()),
        "file: URL with a host": ("file://localhost/etc/passwd", "file://localhost/etc/nope"),
        "traversal": ("../secret.json", "../no-such-file.json"),
        "traversal inside": ("news/../../secret.json", "news/../../no-such-file.json"),
        "dot segment": ("./archive.json", "./nope.json"),
        "empty segment": ("news//2016.json", "news//nope.json"),
        "home": ("~/secret.json", "~/nope.json"),
        "backslash": ("..\\secret.json", "..\\nope.json"),
        "http": ("http://127.0.0.1/archive.json", "https://example.org/nope.json"),
        "link out": ("leak.json", "dangling.json"),
        "directory link out": ("outside/secret.json", "outside/no-such-file.json"),
    }


@pytest.fixture
def links(folder: Path) -> Path:
    """Links inside the folder: two pointing out of it (one to a real file, one dangling),
    a directory link out, and one pointing at a file inside."""
    os.symlink(folder.parent / "secret.json", folder / "leak.json")
    os.symlink(folder.parent / "no-such-file.json", folder / "dangling.json")
    os.symlink(folder.parent, folder / "outside")
    os.symlink(folder / "news" / "2016.json", folder / "inside.json")
    return folder


def refusal(url: str, archive_dir: Path | None) -> str:
    with pytest.raises(ValueError) as caught:
        archive.locate(url, archive_dir=archive_dir)
    return str(caught.value)


def test_outside_urls_are_refused_with_one_message_whether_or_not_the_file_exists(
    links: Path,
) -> None:
    for what, (existing, missing) in outside_urls(links).items():
        first, second = refusal(existing, links), refusal(missing, links)
        assert first == second == archive.REFUSED, what
        # The message names no path, so it tells nothing about the disk either.
        assert "secret" not in first and "passwd" not in first


def test_files_inside_the_folders_are_read(links: Path) -> None:
    assert archive.locate("archive.json", archive_dir=links) == links / "archive.json"
    assert archive.locate("news/2016.json", archive_dir=links) == links / "news" / "2016.json"
    # A link that stays inside the folder is followed.
    assert archive.locate("inside.json", archive_dir=links) == links / "news" / "2016.json"
    bundled = archive.locate("package:seeds/archive.json")
    assert bundled.name == "archive.json" and bundled.is_file()
    assert json.loads(archive.read_archive("news/2016.json", max_bytes=10_000, archive_dir=links))
    # A missing file inside the folder is named as missing: that tells nothing outside.
    assert refusal("news/2017.json", links) == "no archive file at news/2017.json"
    assert refusal("package:seeds/nothing.json", None).startswith("no archive file")
    # The folder itself is no archive file.
    assert refusal("news", links) == "no archive file at news"


def test_without_an_archive_folder_only_the_seeds_are_read(folder: Path) -> None:
    message = refusal("archive.json", None)
    assert "no archive folder is configured" in message
    assert refusal("../secret.json", None) == archive.REFUSED
    with pytest.raises(ContentError) as caught:
        archive.read_archive("archive.json", max_bytes=10_000)
    assert "no archive folder" in caught.value.message


def test_validation_checks_the_form_without_looking_at_the_disk(links: Path) -> None:
    # At the API the folder is not consulted: a relative path is accepted by its form ...
    validate_options("archive", "news/2016.json", {})
    validate_options("archive", "not/there/yet.json", {})
    validate_options("archive", "package:seeds/archive.json", {})
    # ... and every way out is refused with the one message.
    for what, (existing, missing) in outside_urls(links).items():
        if what in ("link out", "directory link out"):
            continue  # only the folder knows its links; polling refuses them (below)
        for url in (existing, missing):
            with pytest.raises(InvalidInput) as caught:
                validate_options("archive", url, {})
            assert caught.value.field == "url"
            assert caught.value.detail == archive.REFUSED, (what, url)


def poll(url: str, config: PollConfig) -> FetchOutcome:
    source = SourceSpec(id=9, name="Archive", kind="archive", url=url, options={})

    async def go() -> FetchOutcome:
        async with Fetcher(config) as fetcher:
            return await poll_source(fetcher, source, [], config)

    return asyncio.run(go())


def test_polling_reads_the_folder_and_refuses_the_rest(links: Path) -> None:
    config = replace(CONFIG, archive_dir=links)
    for url in ("archive.json", "news/2016.json", "inside.json", "package:seeds/archive.json"):
        outcome = poll(url, config)
        assert outcome.status == "ok", (url, outcome.error)
        assert outcome.items, url
    for what, (existing, missing) in outside_urls(links).items():
        first, second = poll(existing, config), poll(missing, config)
        assert first.status == second.status == "error", what
        assert first.error == second.error, what
        assert first.items == [] and archive.REFUSED in (first.error or ""), what
    # Without a folder configured, the folder's files are not read at all.
    assert poll("archive.json", CONFIG).status == "error"


def test_the_setting_reaches_the_poll_configuration(tmp_path: Path) -> None:
    settings = make_settings("sqlite://", archive_dir=tmp_path)
    assert poll_config(settings).archive_dir == tmp_path
    assert poll_config(make_settings("sqlite://", archive_dir=None)).archive_dir is None


def test_the_api_refuses_outside_archives_alike(sqlite_db: Database, links: Path) -> None:
    url = sqlite_db.url.render_as_string(hide_password=False)
    app = create_app(make_settings(url, archive_dir=links), sqlite_db)
    with TestClient(app) as client:
        details = set()
        for what, (existing, missing) in outside_urls(links).items():
            if what in ("link out", "directory link out"):
                continue
            for source_url in (existing, missing):
                response = client.post(
                    "/api/sources",
                    json={"name": f"a {what} {source_url}", "kind": "archive", "url": source_url},
                    headers=ADMIN,
                )
                assert response.status_code == 422, (what, response.text)
                assert response.json()["field"] == "url"
                details.add(response.json()["detail"])
        assert details == {archive.REFUSED}
        # A link out is accepted by its form, and refused when polled: nothing is read.
        created = client.post(
            "/api/sources",
            json={"name": "leak", "kind": "archive", "url": "leak.json"},
            headers=ADMIN,
        )
        assert created.status_code == 201, created.text
        good = client.post(
            "/api/sources",
            json={"name": "good", "kind": "archive", "url": "news/2016.json"},
            headers=ADMIN,
        )
        assert good.status_code == 201, good.text
        report = client.post("/api/poll", json={"force": True}, headers=ADMIN)
        assert report.status_code == 200, report.text
        by_name = {s["name"]: s for s in client.get("/api/sources").json()["items"]}
        assert by_name["leak"]["last_status"] == "error"
        assert archive.REFUSED in by_name["leak"]["last_error"]
        assert by_name["good"]["last_status"] == "ok" and by_name["good"]["items_seen"] == 1
