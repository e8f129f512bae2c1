"""The e-mail digest, sent to a real SMTP server on loopback (aiosmtpd), by the command line."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from typer.testing import CliRunner

from service.cli import app
from service.db import Database
from service.settings import get_settings
from tests.conftest import make_settings


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, Message]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        self.messages.append((envelope, message_from_bytes(content)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_forecasts_digest_mails_pending_and_past_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    url = f"sqlite:///{tmp_path / 'digest.db'}"
    db = Database(url, make_settings(url))
    db.migrate()
    from service.seeding import load_seeds
    from tests.test_review_page import add_suggestion

    load_seeds(db)  # the seed article's questions are long past their deadlines
    add_suggestion(db, 1, "yes", 0.9, rationale="news says so")
    monkeypatch.setenv("FORECASTS_DATABASE_URL", url)
    monkeypatch.setenv("FORECASTS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("FORECASTS_SMTP_PORT", str(port))
    monkeypatch.setenv("FORECASTS_SMTP_SENDER", "forecasts@example.org")
    monkeypatch.setenv("FORECASTS_DIGEST_RECIPIENTS", '["reviewers@example.org"]')
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["digest"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "1 to review" in result.stdout
    ((envelope, message),) = inbox.messages
    assert envelope.rcpt_tos == ["reviewers@example.org"]
    assert message["From"] == "forecasts@example.org"
    assert "1 to review" in message["Subject"]
    body = message.get_payload(decode=True).decode()
    assert "resolve YES (90%)" in body
    assert "past their deadline" in body


def test_digest_without_smtp_settings_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORECASTS_DATABASE_URL", f"sqlite:///{tmp_path / 'd.db'}")
    monkeypatch.delenv("FORECASTS_SMTP_HOST", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["digest"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "FORECASTS_SMTP_HOST" in result.output
