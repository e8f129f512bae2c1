"""The e-mail digest for reviewers: the suggestions waiting for review and the open questions
past their deadline, sent over SMTP (stdlib smtplib) by a daily scheduler job and by
`forecasts digest`."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import Connection, select

from forecasts.questions import utc_today
from forecasts.tables import questions_t, suggestions_t
from service.db import Database
from service.settings import Settings

LIMIT = 50


@dataclass(frozen=True)
class Digest:
    pending: int
    past_deadline: int
    subject: str
    text: str


def build_digest(conn: Connection, *, today: date, public_url: str = "") -> Digest:
    """What the digest says: pending suggestions (most confident first), then open questions
    whose resolve_by has passed (longest overdue first)."""
    base = public_url.rstrip("/")
    pending = conn.execute(
        select(
            suggestions_t.c.id,
            suggestions_t.c.outcome,
            suggestions_t.c.confidence,
            questions_t.c.title,
        )
        .join(questions_t, questions_t.c.id == suggestions_t.c.question_id)
        .where(suggestions_t.c.status == "pending")
        .order_by(suggestions_t.c.confidence.desc(), suggestions_t.c.id)
    ).all()
    overdue = conn.execute(
        select(questions_t.c.id, questions_t.c.title, questions_t.c.resolve_by)
        .where(questions_t.c.status == "open", questions_t.c.resolve_by < today)
        .order_by(questions_t.c.resolve_by, questions_t.c.id)
    ).all()
    lines = [f"Forecasts digest for {today.isoformat()}", ""]
    lines.append(f"{len(pending)} suggestion(s) waiting for review: {base}/review")
    for row in pending[:LIMIT]:
        lines.append(
            f"  - resolve {row.outcome.upper()} ({row.confidence:.0%}): {row.title} "
            f"{base}/review#suggestion-{row.id}"
        )
    if len(pending) > LIMIT:
        lines.append(f"  … and {len(pending) - LIMIT} more")
    lines += ["", f"{len(overdue)} open question(s) past their deadline:"]
    for row in overdue[:LIMIT]:
        lines.append(f"  - {row.title} (resolve by {row.resolve_by}) {base}/questions/{row.id}")
    if len(overdue) > LIMIT:
        lines.append(f"  … and {len(overdue) - LIMIT} more")
    subject = (
        f"Forecasts: {len(pending)} to review, {len(overdue)} past deadline ({today.isoformat()})"
    )
    return Digest(len(pending), len(overdue), subject, "\n".join(lines) + "\n")


def send_digest(db: Database, settings: Settings, *, today: date | None = None) -> Digest:
    """Build the digest and send it to settings.digest_recipients through settings.smtp_host;
    ValueError when no host or no recipient is configured, smtplib's errors when sending fails."""
    if not settings.smtp_host or not settings.digest_recipients:
        raise ValueError(
            "the digest needs FORECASTS_SMTP_HOST and FORECASTS_DIGEST_RECIPIENTS "
            "(a JSON list, e.g. '[\"reviewers@example.org\"]')"
        )
    with db.read() as conn:
        digest = build_digest(conn, today=today or utc_today(), public_url=settings.public_url)
    message = EmailMessage()
    message["From"] = settings.smtp_sender
    message["To"] = ", ".join(settings.digest_recipients)
    message["Subject"] = digest.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain="forecasts")
    message.set_content(digest.text)
    with smtplib.SMTP(
        settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds
    ) as smtp:
        smtp.send_message(message)
    return digest
