"""The sources API: create, list, read, change and delete news sources."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from forecasts.tables import sources_t as sources
from service import scheduler as scheduler_module
from service.app import create_app
from service.auth import create_token
from service.db import Database
from service.scheduler import source_job_id
from tests.conftest import ADMIN, make_settings

FEED = {"name": "Local feed", "kind": "rss", "url": "http://127.0.0.1:8099/feed.xml"}
ARCHIVE = {"name": "Archive", "kind": "archive", "url": "package:seeds/archive.json"}
FIELDS = {
    "id", "name", "kind", "url", "poll_every_minutes", "enabled", "options", "last_polled_at",
    "last_status", "last_error", "items_seen", "consecutive_failures", "backoff_until",
    "created_at", "updated_at",
}  # fmt: skip


def create(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/sources", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def stored_options(db: Database, source_id: int) -> dict[str, Any]:
    with db.read() as conn:
        return dict(
            conn.execute(select(sources.c.options).where(sources.c.id == source_id)).scalar_one()
        )


def test_create_with_defaults_and_read_back(client: TestClient) -> None:
    created = create(client, **FEED)
    assert set(created) == FIELDS
    assert created["name"] == "Local feed"
    assert (created["kind"], created["url"]) == ("rss", FEED["url"])
    assert (created["poll_every_minutes"], created["enabled"], created["options"]) == (60, True, {})
    assert created["last_polled_at"] is None and created["last_status"] is None
    assert (created["items_seen"], created["consecutive_failures"]) == (0, 0)
    assert datetime.fromisoformat(created["created_at"]).utcoffset() == timedelta(0)

    fetched = client.get(f"/api/sources/{created['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == created


def test_list_pages_with_a_total(client: TestClient) -> None:
    ids = [create(client, **{**FEED, "name": f"feed {n}"})["id"] for n in range(5)]
    page = client.get("/api/sources", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == 5
    assert [item["id"] for item in page["items"]] == ids[1:3]
    assert client.get("/api/sources").json()["total"] == 5
    assert client.get("/api/sources", params={"limit": 1001}).status_code == 422


def test_patch_changes_only_what_it_names(client: TestClient) -> None:
    created = create(client, **ARCHIVE, poll_every_minutes=1440)
    response = client.patch(f"/api/sources/{created['id']}", json={"enabled": False}, headers=ADMIN)
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["enabled"] is False
    assert {k: v for k, v in changed.items() if k not in ("enabled", "updated_at")} == {
        k: v for k, v in created.items() if k not in ("enabled", "updated_at")
    }
    assert changed["updated_at"] >= created["updated_at"]

    moved = client.patch(
        f"/api/sources/{created['id']}",
        json={"kind": "rss", "url": "http://127.0.0.1:8099/other.xml", "poll_every_minutes": 5},
        headers=ADMIN,
    ).json()
    assert (moved["kind"], moved["url"], moved["poll_every_minutes"]) == (
        "rss",
        "http://127.0.0.1:8099/other.xml",
        5,
    )
    assert client.get(f"/api/sources/{created['id']}").json() == moved


def test_delete_then_gone(client: TestClient) -> None:
    created = create(client, **FEED)
    response = client.delete(f"/api/sources/{created['id']}", headers=ADMIN)
    assert response.status_code == 204
    assert response.content == b""
    assert client.get(f"/api/sources/{created['id']}").status_code == 404
    assert client.delete(f"/api/sources/{created['id']}", headers=ADMIN).status_code == 404
    assert client.get("/api/sources").json() == {"items": [], "total": 0}


def test_unknown_ids(client: TestClient) -> None:
    assert client.get("/api/sources/999").status_code == 404
    assert client.get("/api/sources/999").json()["detail"] == "source 999 not found"
    missing = client.patch("/api/sources/999", json={"enabled": False}, headers=ADMIN)
    assert missing.status_code == 404
    assert client.get("/api/sources/0").status_code == 422
    assert client.get("/api/sources/99999999999").status_code == 422


def test_duplicate_names_conflict(client: TestClient) -> None:
    create(client, **FEED)
    again = client.post("/api/sources", json={**ARCHIVE, "name": FEED["name"]}, headers=ADMIN)
    assert again.status_code == 409
    assert "Local feed" in again.json()["detail"]
    other = create(client, **ARCHIVE)
    clash = client.patch(f"/api/sources/{other['id']}", json={"name": FEED["name"]}, headers=ADMIN)
    assert clash.status_code == 409
    assert client.get(f"/api/sources/{other['id']}").json()["name"] == "Archive"
    # Renaming a source to its own name is no conflict.
    same = client.patch(f"/api/sources/{other['id']}", json={"name": "Archive"}, headers=ADMIN)
    assert same.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {**FEED, "kind": "ftp"},
        {**FEED, "poll_every_minutes": 0},
        {**FEED, "poll_every_minutes": 10081},
        {**FEED, "poll_every_minutes": "60"},
        {**FEED, "poll_every_minutes": 1.5},
        {**FEED, "poll_every_minutes": True},
        {**FEED, "enabled": "yes"},
        {**FEED, "name": "  "},
        {**FEED, "name": "x" * 201},
        {**FEED, "name": "nul\u0000name"},
        {**FEED, "colour": "red"},
        {**FEED, "options": []},
        {**FEED, "options": {"api_key": "k"}},
        {**FEED, "url": "ftp://127.0.0.1/feed.xml"},
        {**FEED, "url": "not a url"},
        {**ARCHIVE, "url": "package:seeds/absent.json"},
        {**ARCHIVE, "url": "https://example.org/archive.json"},
        {"name": "Guardian", "kind": "guardian", "url": "https://content.guardianapis.com/search",
         "options": {"page_size": 0}},
        {"name": "missing url", "kind": "rss"},
    ],
)  # fmt: skip
def test_invalid_sources_are_refused_and_nothing_is_stored(
    client: TestClient, body: dict[str, Any]
) -> None:
    response = client.post("/api/sources", json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]
    assert client.get("/api/sources").json()["total"] == 0


@pytest.mark.parametrize(
    "patch",
    [
        {"name": None},
        {"enabled": None},
        {"poll_every_minutes": 0},
        {"kind": "gdelt", "options": {"until": "2020-01-01"}},
        {"url": "package:seeds/absent.json"},
        {"id": 5},
    ],
)
def test_invalid_patches_change_nothing(client: TestClient, patch: dict[str, Any]) -> None:
    created = create(client, **ARCHIVE)
    response = client.patch(f"/api/sources/{created['id']}", json=patch, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert client.get(f"/api/sources/{created['id']}").json() == created


def test_api_key_is_never_shown_and_survives_a_round_trip(client: TestClient, db: Database) -> None:
    created = create(
        client,
        name="Guardian",
        kind="guardian",
        url="https://content.guardianapis.com/search",
        options={"api_key": "s3cret-key", "page_size": 20},
    )
    assert created["options"] == {"api_key": "***", "page_size": 20}
    assert client.get("/api/sources").json()["items"][0]["options"]["api_key"] == "***"
    assert stored_options(db, created["id"])["api_key"] == "s3cret-key"

    # A client that sends back what it read (mask included) keeps the stored key.
    sent_back = {**created["options"], "page_size": 50}
    response = client.patch(
        f"/api/sources/{created['id']}", json={"options": sent_back}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    assert response.json()["options"] == {"api_key": "***", "page_size": 50}
    assert stored_options(db, created["id"]) == {"api_key": "s3cret-key", "page_size": 50}

    replaced = client.patch(
        f"/api/sources/{created['id']}", json={"options": {"api_key": "new-key"}}, headers=ADMIN
    )
    assert replaced.json()["options"] == {"api_key": "***"}
    assert stored_options(db, created["id"]) == {"api_key": "new-key"}


def test_writes_need_an_admin_token_and_reads_do_not(client: TestClient, db: Database) -> None:
    created = create(client, **FEED)
    path = f"/api/sources/{created['id']}"
    forecaster = {"Authorization": f"Bearer {create_token(db, 'forecaster', ['forecast'])[1]}"}
    reviewer = {"Authorization": f"Bearer {create_token(db, 'reviewer', ['review'])[1]}"}
    bogus = {"Authorization": "Bearer not-a-token"}
    for headers, status in (({}, 401), (bogus, 401), (forecaster, 403), (reviewer, 403)):
        assert client.post("/api/sources", json=ARCHIVE, headers=headers).status_code == status
        assert client.patch(path, json={"enabled": False}, headers=headers).status_code == status
        assert client.delete(path, headers=headers).status_code == status
    assert client.get(path).json() == created
    assert client.get("/api/sources").json()["total"] == 1
    assert "admin" in client.post("/api/sources", json=ARCHIVE, headers=forecaster).json()["detail"]


@pytest.fixture
def guarded_client(sqlite_db: Database) -> Iterator[TestClient]:
    """The app with the private-address guard on, as deployed by default."""
    url = sqlite_db.url.render_as_string(hide_password=False)
    settings = make_settings(url, allow_private_sources=False)
    with TestClient(create_app(settings, sqlite_db)) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("rss", "http://127.0.0.1/"),
        ("rss", "http://10.0.0.1/feed.xml"),
        ("rss", "http://169.254.169.254/latest/meta-data/"),
        ("rss", "http://[::1]:8080/feed"),
        ("gdelt", "http://10.0.0.1/api/v2/doc/doc"),
        ("guardian", "https://192.168.1.10/search"),
    ],
)
def test_private_addresses_are_refused_unless_allowed(
    guarded_client: TestClient, kind: str, url: str
) -> None:
    body = {"name": "inside", "kind": kind, "url": url}
    response = guarded_client.post("/api/sources", json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert "private" in response.json()["detail"]
    assert guarded_client.get("/api/sources").json()["total"] == 0


def test_a_patch_cannot_point_a_source_at_a_private_address(guarded_client: TestClient) -> None:
    # The archive is a packaged file, so the address guard does not apply to it.
    created = guarded_client.post("/api/sources", json=ARCHIVE, headers=ADMIN)
    assert created.status_code == 201, created.text
    source = created.json()
    response = guarded_client.patch(
        f"/api/sources/{source['id']}",
        json={"kind": "rss", "url": "http://127.0.0.1/feed.xml"},
        headers=ADMIN,
    )
    assert response.status_code == 422
    assert guarded_client.get(f"/api/sources/{source['id']}").json() == source


@pytest.fixture
def scheduled_client(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The app with its scheduler on; new jobs are due only in a day, so none runs here."""
    monkeypatch.setattr(scheduler_module, "FIRST_RUN_DELAY", timedelta(days=1))
    url = sqlite_db.url.render_as_string(hide_password=False)
    with TestClient(create_app(make_settings(url, scheduler="on"), sqlite_db)) as test_client:
        yield test_client


def test_source_changes_reach_the_running_scheduler(scheduled_client: TestClient) -> None:
    assert scheduled_client.get("/healthz").json()["scheduler"] == "running"
    scheduler = scheduled_client.app.state.scheduler  # type: ignore[attr-defined]

    def job_interval(source_id: int) -> timedelta | None:
        job = next((j for j in scheduler.jobs() if j.id == source_job_id(source_id)), None)
        return None if job is None else job.trigger.interval

    created = scheduled_client.post("/api/sources", json=FEED, headers=ADMIN).json()
    assert job_interval(created["id"]) == timedelta(minutes=60)
    path = f"/api/sources/{created['id']}"
    scheduled_client.patch(path, json={"poll_every_minutes": 5}, headers=ADMIN)
    assert job_interval(created["id"]) == timedelta(minutes=5)
    scheduled_client.patch(path, json={"enabled": False}, headers=ADMIN)
    assert job_interval(created["id"]) is None
    scheduled_client.patch(path, json={"enabled": True}, headers=ADMIN)
    assert job_interval(created["id"]) == timedelta(minutes=5)
    scheduled_client.delete(path, headers=ADMIN)
    assert job_interval(created["id"]) is None
    disabled = scheduled_client.post(
        "/api/sources", json={**ARCHIVE, "enabled": False}, headers=ADMIN
    ).json()
    assert job_interval(disabled["id"]) is None
