"""Restoring an export: the import's way into the domain. Every record is checked against
the rules a stored question, forecast and audit row always obey before anything is written
(`check_question`, `check_forecast`, `check_audit_entry`), and a question already stored is
recognised (`stored_questions`), so that importing the same file twice adds nothing. The
import (service.transfer) checks a whole file with these first, then writes it in bulk."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from forecasts.derived_query import derive_query
from forecasts.errors import Conflict, InvalidInput
from forecasts.questions import tag_index, unique_tags
from forecasts.tables import links_t as links
from forecasts.tables import questions_t as questions
from forecasts.tables import suggestions_t as suggestions

STATUSES = ("open", "resolved", "annulled")
# The SQLite triggers (migration 0003: SQLite's stand-ins for CHECK constraints) whose rule
# these checks enforce on every row they pass, by table: a bulk load of checked rows may set
# them aside for its duration (service.bulk.loading). check_forecast: probability in [0, 1].
CHECKED_BY_RESTORE: dict[str, tuple[str, ...]] = {"forecasts": ("ck_forecasts_probability_insert",)}
# Ids looked up per statement: under SQLite's and psycopg's bound-parameter limits.
LOOKUP_CHUNK = 900


def check_question(values: dict[str, Any], where: str) -> dict[str, Any]:
    """The rules a stored question always obeys, checked on an imported one; returns its
    values as they are stored (tags de-duplicated and indexed, the derived-query flag)."""
    for required in ("title", "resolution_criteria", "opened_on", "resolve_by"):
        if not values.get(required):
            raise InvalidInput(f"{where}: {required} is missing", field=required)
    for day in ("opened_on", "resolve_by"):
        if not isinstance(values[day], date):
            raise InvalidInput(f"{where}: {day} {values[day]!r} is not a date", field=day)
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
    stored = dict(values)
    raw_tags = values.get("tags") or []
    if not isinstance(raw_tags, list) or not all(isinstance(t, str) for t in raw_tags):
        raise InvalidInput(f"{where}: tags must be a list of text", field="tags")
    tags = unique_tags(raw_tags)
    stored["tags"] = tags
    stored["tag_index"] = tag_index(tags)
    urls = values.get("evidence_urls") or []
    if not isinstance(urls, list):
        raise InvalidInput(f"{where}: evidence_urls must be a list", field="evidence_urls")
    stored["evidence_urls"] = urls
    if "news_query_derived" not in values:
        stored["news_query_derived"] = derives_query(values)
    return stored


def derives_query(values: dict[str, Any]) -> bool:
    """Whether a question that came without the flag (an export from before it, or a CSV)
    has the query its title derives: its news_query_derived."""
    query = " ".join(str(values.get("news_query") or "").split())
    return query == derive_query(str(values["title"]))


def check_forecast(where: str, n: int, forecaster: Any, probability: Any, made_on: Any) -> None:
    """The rules a stored forecast always obeys (forecast `n` of the question `where`
    names). Called once per forecast, so it takes the values, not a record."""
    if not isinstance(probability, int | float) or not 0.0 <= probability <= 1.0:
        raise InvalidInput(
            f"{where}, forecast {n}: probability {probability!r} is not in [0, 1]",
            field="probability",
        )
    if not forecaster or not isinstance(forecaster, str) or not isinstance(made_on, date):
        raise InvalidInput(
            f"{where}, forecast {n}: forecaster and made_on are required", field="forecaster"
        )


_NUMBERS = frozenset({int, float, bool})


def check_forecasts(
    where: str,
    first: int,
    forecasters: Sequence[Any],
    probabilities: Sequence[Any],
    made_ons: Sequence[Any],
) -> None:
    """check_forecast on a question's forecasts at once (numbered from `first`), given as
    columns: the same rules, checked a column at a time in C, and the first forecast that
    breaks one named by check_forecast itself (as is any the quick look cannot vouch for).
    For a million forecasts a call apiece costs more than the rest of the checking."""
    if (
        set(map(type, probabilities)) <= _NUMBERS
        and set(map(type, forecasters)) <= {str}
        and set(map(type, made_ons)) <= {date}
        and all(forecasters)
    ):
        if not probabilities:
            return
        total = sum(probabilities)
        # (a NaN is in no range, and makes the sum NaN, which min and max would not show)
        if total == total and min(probabilities) >= 0.0 and max(probabilities) <= 1.0:
            return
    for n, values in enumerate(zip(forecasters, probabilities, made_ons, strict=True), first):
        check_forecast(where, n, *values)


def check_audit_entries(
    ids: Sequence[Any], actions: Sequence[Any], actors: Sequence[Any], ats: Sequence[Any]
) -> None:
    """check_audit_entry on many rows at once, given as columns (as check_forecasts)."""
    if (
        set(map(type, ids)) <= {int}
        and set(map(type, ats)) <= {datetime}
        and all(actions)
        and all(actors)
    ):
        return
    for values in zip(ids, actions, actors, ats, strict=True):
        check_audit_entry(*values)


def check_audit_entry(entry_id: Any, action: Any, actor: Any, at: Any) -> None:
    """An exported audit row carries its id, what was done, by whom and when."""
    if not isinstance(entry_id, int) or isinstance(entry_id, bool):
        raise InvalidInput(f"audit row {entry_id!r}: id must be a whole number", field="id")
    if not action or not actor or not isinstance(at, datetime):
        raise InvalidInput(f"audit row {entry_id}: action, actor and at needed", field="action")


def stored_questions(conn: Connection, exported: Iterable[tuple[int, str, Any]]) -> set[int]:
    """Of these (id, title, created_at), the ids whose very question is stored already
    (imported before: importing the same file again adds nothing). A stored question under
    one of the ids that differs is a conflict, naming it."""
    wanted = {qid: (title, created) for qid, title, created in exported}
    ids = sorted(wanted)
    present: set[int] = set()
    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = ids[start : start + LOOKUP_CHUNK]
        rows = conn.execute(
            select(questions.c.id, questions.c.title, questions.c.created_at).where(
                questions.c.id.in_(chunk)
            )
        )
        for row in rows:
            title, created = wanted[row.id]
            # A file without the instant (a CSV of questions) is recognised by its title.
            if row.title == title and (created is None or _same_instant(row.created_at, created)):
                present.add(int(row.id))
                continue
            raise Conflict(
                f"question {row.id} already exists and differs; import into an empty database "
                "or pass --new-ids"
            )
    return present


def stored_ids(conn: Connection, table: Any, ids: Sequence[int]) -> set[int]:
    """Which of these ids `table` already holds."""
    if not ids:
        return set()
    low, high = min(ids), max(ids)
    # One range scan on the primary key: an import's ids are dense, so this reads little
    # more than the rows asked about, in one statement.
    found = conn.execute(select(table.c.id).where(table.c.id.between(low, high)))
    return {int(row[0]) for row in found} & set(ids)


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
