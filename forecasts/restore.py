"""Restoring an export: the JSON import's way into the domain. Each record is checked
against the rules a stored question always obeys before anything is written, and keeps its
id (or gets a fresh one)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

from sqlalchemy import Connection, insert, select

from forecasts.derived_query import derive_query
from forecasts.errors import Conflict, InvalidInput
from forecasts.identity import forecaster_key
from forecasts.questions import INSERT_QUESTION, bump_revision, tag_index, unique_tags
from forecasts.tables import audit_t
from forecasts.tables import forecasts_t as forecasts
from forecasts.tables import links_t as links
from forecasts.tables import questions_t as questions
from forecasts.tables import suggestions_t as suggestions

STATUSES = ("open", "resolved", "annulled")


def _check_restored(values: dict[str, Any], history: Sequence[dict[str, Any]], where: str) -> None:
    """The rules a stored question always obeys, checked on an imported one."""
    for required in ("title", "resolution_criteria", "opened_on", "resolve_by"):
        if not values.get(required):
            raise InvalidInput(f"{where}: {required} is missing", field=required)
    if values["resolve_by"] < values["opened_on"]:
        raise InvalidInput(f"{where}: resolve_by is before opened_on", field="resolve_by")
    status = values.get("status", "open")
    if status not in STATUSES:
        raise InvalidInput(f"{where}: status {status!r} is not one of {STATUSES}", field="status")
    outcome = values.get("outcome")
    if (status == "resolved") != (outcome in ("yes", "no")):
        raise InvalidInput(
            f"{where}: status {status!r} does not go with outcome {outcome!r}", field="outcome"
        )
    for n, forecast in enumerate(history, start=1):
        probability = forecast.get("probability")
        if not isinstance(probability, int | float) or not 0.0 <= float(probability) <= 1.0:
            raise InvalidInput(
                f"{where}, forecast {n}: probability {probability!r} is not in [0, 1]",
                field="probability",
            )
        if not forecast.get("forecaster") or not forecast.get("made_on"):
            raise InvalidInput(
                f"{where}, forecast {n}: forecaster and made_on are required", field="forecaster"
            )


def restore_question(
    conn: Connection,
    values: dict[str, Any],
    history: Sequence[dict[str, Any]],
    *,
    keep_id: bool,
) -> int | None:
    """Store an exported question and its forecast history as they were (the restore path
    of the JSON import); returns its id, or None when that very question is already stored.
    With `keep_id` the exported id is kept; otherwise it gets a fresh one (and no seed key,
    which belongs to the original)."""
    values = dict(values)
    where = f"question {values.get('id', '?')}"
    _check_restored(values, history, where)
    tags = unique_tags(values.get("tags") or [])
    values["tags"] = tags
    values["tag_index"] = tag_index(tags)
    if "news_query_derived" not in values:
        # An export from before the flag: derived when it is what the title derives.
        query = " ".join(str(values.get("news_query") or "").split())
        values["news_query_derived"] = query == derive_query(str(values["title"]))
    if keep_id:
        taken = conn.execute(
            select(questions.c.id, questions.c.title, questions.c.created_at).where(
                questions.c.id == values.get("id")
            )
        ).first()
        if taken is not None:
            if _same_instant(taken.created_at, values.get("created_at")) and (
                taken.title == values["title"]
            ):
                return None  # imported before: importing the same file again adds nothing
            raise Conflict(
                f"{where} already exists and differs; import into an empty database or pass "
                "--new-ids"
            )
    else:
        values.pop("id", None)
        values["seed_key"] = None
    question_id = int(conn.execute(INSERT_QUESTION, values).scalar_one())
    for forecast in history:
        row = {**forecast, "question_id": question_id}
        row["forecaster_key"] = forecaster_key(str(forecast["forecaster"]))
        if not keep_id:
            row.pop("id", None)
        conn.execute(insert(forecasts), row)
    bump_revision(conn)
    return question_id


def _same_instant(stored: Any, exported: Any) -> bool:
    if stored is None or exported is None:
        return stored is exported
    a = stored if stored.tzinfo is not None else stored.replace(tzinfo=UTC)
    b = exported if exported.tzinfo is not None else exported.replace(tzinfo=UTC)
    return bool(a == b)


SUGGESTION_STATUSES = ("pending", "accepted", "rejected", "superseded")


def restore_suggestion(conn: Connection, values: dict[str, Any]) -> bool:
    """Store an exported suggestion (with its evidence and review) under its id; False when
    it is stored already. Its question must be there."""
    where = f"suggestion {values.get('id', '?')}"
    if values.get("outcome") not in ("yes", "no", "annulled"):
        raise InvalidInput(f"{where}: outcome {values.get('outcome')!r}", field="outcome")
    if values.get("status") not in SUGGESTION_STATUSES:
        raise InvalidInput(f"{where}: status {values.get('status')!r}", field="status")
    confidence = values.get("confidence")
    if not isinstance(confidence, int | float) or not 0.0 <= float(confidence) <= 1.0:
        raise InvalidInput(
            f"{where}: confidence {confidence!r} is not in [0, 1]", field="confidence"
        )
    if not isinstance(values.get("evidence", []), list):
        raise InvalidInput(f"{where}: evidence must be a list", field="evidence")
    if conn.execute(select(suggestions.c.id).where(suggestions.c.id == values["id"])).first():
        return False
    question = values.get("question_id")
    if not conn.execute(select(questions.c.id).where(questions.c.id == question)).first():
        raise InvalidInput(
            f"{where}: its question {question} is not in the file", field="question_id"
        )
    conn.execute(insert(suggestions), values)
    return True


def restore_evidence_link(conn: Connection, values: dict[str, Any]) -> None:
    """Store which item already counted for which question and outcome (once)."""
    found = conn.execute(
        select(links.c.id).where(
            links.c.question_id == values["question_id"],
            links.c.outcome == values["outcome"],
            links.c.item_key == values["item_key"],
        )
    ).first()
    if found is None:
        conn.execute(insert(links), values)


def restore_audit_entry(conn: Connection, values: dict[str, Any]) -> None:
    """Append an exported audit row under its id (rows are only ever appended)."""
    if not values.get("action") or not values.get("actor") or values.get("at") is None:
        raise InvalidInput(f"audit row {values.get('id', '?')}: action, actor and at needed")
    if conn.execute(select(audit_t.c.id).where(audit_t.c.id == values["id"])).first() is None:
        conn.execute(insert(audit_t), values)
