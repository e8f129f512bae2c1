"""The question's life: create, update, forecast, resolve, annul and reopen.

Every way in (the API, the CLI, seeding, the JSON import) calls these functions, so each rule
has one owner: a news_query is validated (or derived from the title) here; deciding a
question supersedes its other pending suggestions in the same transaction, so nothing can
leave orphaned pending suggestions behind, and reopening it puts them back; a forecast is
filed under its forecaster's identity; only a question's creator or an admin changes or
annuls it; and every change appends its audit row in the same transaction. Every function
takes an open SQLAlchemy connection inside the caller's transaction and either does all of
its writes or raises a domain error before the first one. `actor` is the Principal acting,
or a bare name for a trusted local caller (see forecasts.identity.acting).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from forecasts import audit, deferred_writes, score_totals
from forecasts.derived_query import derive_query
from forecasts.errors import Conflict, Forbidden, InvalidInput, NotFound, QuestionClosed
from forecasts.estimates import normalise_phrase, probability_of
from forecasts.identity import Principal, acting, display_name, forecaster_key, same_identity
from forecasts.models import utcnow
from forecasts.news_query import parse_query
from forecasts.schemas import (
    ForecastIn,
    QuestionCreate,
    QuestionPatch,
    ResolveIn,
    SourceDocument,
)
from forecasts.tables import forecasts_t as forecasts
from forecasts.tables import questions_t as questions
from forecasts.tables import suggestions_t as suggestions

# Built once: constructing a statement costs more than SQLite takes to run it, and the
# create path is the service's hottest write.
INSERT_QUESTION = insert(questions).returning(questions.c.id)
INSERT_FORECAST = insert(forecasts).returning(forecasts.c.id)
FORECAST_TARGET = select(questions.c.status, questions.c.resolve_by).where(
    questions.c.id == bindparam("target_id")
)


def utc_today() -> date:
    """'Today' as the API defines it: the UTC date."""
    return datetime.now(UTC).date()


def tag_index(tags: Sequence[str]) -> str:
    # Tags are also kept as '|a|b|' so a tag filter is one portable LIKE on both databases.
    return "|" + "|".join(tags) + "|" if tags else ""


def unique_tags(tags: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(tags))


def _check_window(opened_on: date, resolve_by: date, today: date) -> None:
    if opened_on > today:
        raise InvalidInput(
            f"opened_on {opened_on} is in the future (today is {today} UTC)", field="opened_on"
        )
    if resolve_by < opened_on:
        raise InvalidInput(
            f"resolve_by {resolve_by} is before opened_on {opened_on}", field="resolve_by"
        )


def _source_columns(source: SourceDocument | None) -> dict[str, Any]:
    doc = source or SourceDocument()
    return {
        "source_title": doc.title,
        "source_url": doc.url,
        "source_publisher": doc.publisher,
        "source_author": doc.author,
        "source_published_on": doc.published_on,
        "source_note": doc.note,
    }


# The fields a question's audit rows show (the derived tag index and matching flag are the
# service's bookkeeping, not the record).
AUDITED_FIELDS = tuple(
    c.name
    for c in questions.columns
    if c.name not in ("tag_index", "match_pending", "news_query_derived")
)
RESOLUTION_FIELDS = (
    "status",
    "outcome",
    "resolved_on",
    "resolution_note",
    "evidence_urls",
    "resolved_by",
)


def _fields(row: Any, names: Sequence[str] = AUDITED_FIELDS) -> dict[str, Any]:
    mapping = row._mapping if hasattr(row, "_mapping") else row
    return {name: mapping[name] for name in names if name in mapping}


def _forecaster(conn: Connection, given: str | None, who: Principal) -> tuple[str, str]:
    """The forecaster's display name and identity key. A forecast without a name is the
    actor's own; one under another name needs the `record` scope."""
    name = given if given is not None and given.strip() else who.name
    if not same_identity(name, who.name) and not who.allows("record"):
        raise Forbidden(
            f"token '{who.name}' lacks the 'record' scope, which a forecast under another "
            f"name ('{name}') needs; leave 'forecaster' out to forecast as '{who.name}'",
            field="forecaster",
        )
    return display_name(conn, name), forecaster_key(name)


def forecast_values(
    conn: Connection,
    spec: ForecastIn,
    *,
    question_id: int,
    made_on_default: date,
    resolve_by: date,
    today: date,
    actor: str | Principal | None,
) -> dict[str, Any]:
    """The row for a new forecast, after checking who files it, its number and its day."""
    who = acting(actor)
    forecaster, key = _forecaster(conn, spec.forecaster, who)
    estimate = None
    if spec.estimate is not None:
        estimate = normalise_phrase(spec.estimate)
    if spec.probability is not None:
        probability = spec.probability
    else:
        assert estimate is not None
        probability = probability_of(estimate)
    made_on = spec.made_on or made_on_default
    if made_on > today:
        raise InvalidInput(
            f"made_on {made_on} is in the future (today is {today} UTC)", field="made_on"
        )
    if made_on > resolve_by:
        hint = "" if spec.made_on else " (made_on defaults to today: give the day it was made)"
        raise InvalidInput(
            f"made_on {made_on} is after resolve_by {resolve_by}{hint}", field="made_on"
        )
    return {
        "question_id": question_id,
        "forecaster": forecaster,
        "forecaster_key": key,
        "probability": float(probability),
        "estimate": estimate,
        "made_on": made_on,
        "rationale": spec.rationale,
        "created_by": who.name,
        "created_at": utcnow(),
    }


def news_query_for(given: str | None, title: str) -> str:
    """The query a question is matched with: the one given (validated), else one derived
    from its title."""
    if given:
        parse_query(given)
        return given
    return derive_query(title)


def is_derived(given: str | None) -> bool:
    """Whether the question's query is the service's (derived from its title)."""
    return not given


@dataclass(frozen=True)
class StoredQuestion:
    """What create_question wrote, as the rows now hold it (ids included), so a caller can
    answer with the question without reading it back."""

    values: dict[str, Any]
    forecasts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> int:
        return int(self.values["id"])


def create_question(
    conn: Connection,
    spec: QuestionCreate,
    *,
    today: date,
    actor: str | Principal | None,
    seed_key: str | None = None,
) -> int:
    """Store a question (and its first forecast, if any); returns its id. Its news_query is
    the one given, validated, or one derived from the title."""
    return store_question(conn, spec, today=today, actor=actor, seed_key=seed_key).id


def store_question(
    conn: Connection,
    spec: QuestionCreate,
    *,
    today: date,
    actor: str | Principal | None,
    seed_key: str | None = None,
) -> StoredQuestion:
    """create_question, answering with the rows it wrote."""
    who = acting(actor)
    news_query = news_query_for(spec.news_query, spec.title)
    opened_on = spec.opened_on or today
    _check_window(opened_on, spec.resolve_by, today)
    tags = unique_tags(spec.tags)
    now = utcnow()
    first_forecast = None
    if spec.forecast is not None:
        # Validate the forecast before the question is written, so nothing half-lands.
        first_forecast = forecast_values(
            conn,
            spec.forecast,
            question_id=0,
            made_on_default=opened_on,
            resolve_by=spec.resolve_by,
            today=today,
            actor=who,
        )
    values = dict(
        seed_key=seed_key,
        title=spec.title,
        resolution_criteria=spec.resolution_criteria,
        opened_on=opened_on,
        resolve_by=spec.resolve_by,
        tags=tags,
        tag_index=tag_index(tags),
        news_query=news_query,
        news_query_derived=is_derived(spec.news_query),
        match_pending=True,
        default_outcome=spec.default_outcome,
        status="open",
        evidence_urls=[],
        created_by=who.name,
        created_at=now,
        updated_at=now,
        **_source_columns(spec.source),
    )
    question_id = int(conn.execute(INSERT_QUESTION, values).scalar_one())
    values["id"] = question_id
    audit.record(
        conn,
        actor=who.name,
        action="question.create",
        object_id=question_id,
        question_id=question_id,
        after=_fields(values),
    )
    stored = StoredQuestion(values)
    if first_forecast is not None:
        first_forecast["question_id"] = question_id
        first_forecast["id"] = _insert_forecast(conn, first_forecast, who)
        stored.forecasts.append(first_forecast)
    bump_revision(conn)
    return stored


def _insert_forecast(conn: Connection, values: dict[str, Any], who: Principal) -> int:
    forecast_id = int(conn.execute(INSERT_FORECAST, values).scalar_one())
    audit.record(
        conn,
        actor=who.name,
        action="forecast.create",
        object_id=forecast_id,
        question_id=values["question_id"],
        after={**values, "id": forecast_id},
    )
    return forecast_id


def _question_row(conn: Connection, question_id: int) -> Any:
    row = conn.execute(select(questions).where(questions.c.id == question_id)).first()
    if row is None:
        raise NotFound(f"question {question_id} not found")
    return row


def _open_question_row(conn: Connection, question_id: int) -> Any:
    row = _question_row(conn, question_id)
    _refuse_closed(question_id, row.status)
    return row


def _refuse_closed(question_id: int, status: str) -> None:
    if status != "open":
        raise QuestionClosed(f"question {question_id} is {status}; it takes no more changes")


def _check_owner(row: Any, who: Principal, doing: str) -> None:
    if who.allows("admin") or same_identity(row.created_by, who.name):
        return
    raise Forbidden(
        f"question {row.id} was created by '{row.created_by}': only its creator or an admin "
        f"token may {doing} it (this token is '{who.name}')"
    )


def add_forecast(
    conn: Connection,
    question_id: int,
    spec: ForecastIn,
    *,
    today: date,
    actor: str | Principal | None,
) -> int:
    """Add a forecast to an open question (also after resolve_by, backdated)."""
    return int(store_forecast(conn, question_id, spec, today=today, actor=actor)["id"])


def store_forecast(
    conn: Connection,
    question_id: int,
    spec: ForecastIn,
    *,
    today: date,
    actor: str | Principal | None,
) -> dict[str, Any]:
    """add_forecast, answering with the row it wrote (its id included)."""
    who = acting(actor)
    # Only what a forecast needs of its question: the hottest write after creation.
    row = conn.execute(FORECAST_TARGET, {"target_id": question_id}).first()
    if row is None:
        raise NotFound(f"question {question_id} not found")
    _refuse_closed(question_id, row.status)
    values = forecast_values(
        conn,
        spec,
        question_id=question_id,
        made_on_default=today,
        resolve_by=row.resolve_by,
        today=today,
        actor=who,
    )
    values["id"] = _insert_forecast(conn, values, who)
    deferred_writes.touch_question(conn, question_id, utcnow())
    bump_revision(conn)
    return values


def update_question(
    conn: Connection,
    question_id: int,
    patch: QuestionPatch,
    *,
    today: date,
    actor: str | Principal | None = None,
) -> None:
    """Change an open question's fields; the window is checked as a whole. A news_query
    given is validated; an emptied one is derived again from the (possibly new) title."""
    given = patch.model_fields_set
    news_query = None
    if "news_query" in given and patch.news_query:
        # Checked before the row is read, so a bad query is a 422 even on a closed question,
        # as the API always answered.
        news_query = news_query_for(patch.news_query, "")
    who = acting(actor)
    row = _open_question_row(conn, question_id)
    _check_owner(row, who, "change")
    if "news_query" in given and not patch.news_query:
        news_query = derive_query(patch.title or row.title)
    for required in ("title", "resolution_criteria", "resolve_by", "opened_on", "default_outcome"):
        if required in given and getattr(patch, required) is None:
            raise InvalidInput(f"{required} cannot be null", field=required)
    opened_on = patch.opened_on or row.opened_on
    resolve_by = patch.resolve_by or row.resolve_by
    if "opened_on" in given or "resolve_by" in given:
        _check_window(opened_on, resolve_by, max(today, row.opened_on))
    values: dict[str, Any] = {"updated_at": utcnow()}
    for name in ("title", "resolution_criteria", "resolve_by", "opened_on", "default_outcome"):
        if name in given:
            values[name] = getattr(patch, name)
    if "tags" in given:
        tags = unique_tags(patch.tags or [])
        values["tags"] = tags
        values["tag_index"] = tag_index(tags)
    if news_query is not None:
        values["news_query"] = news_query
        values["news_query_derived"] = is_derived(patch.news_query)
    if news_query is not None or {"opened_on", "resolve_by"} & given:
        # Stored news may now match: the next cycle matches it against this question.
        values["match_pending"] = True
    if "source" in given:
        values.update(_source_columns(patch.source))
    conn.execute(update(questions).where(questions.c.id == question_id).values(**values))
    changed = [n for n in values if n in AUDITED_FIELDS and n != "updated_at"]
    audit.record(
        conn,
        actor=who.name,
        action="question.patch",
        object_id=question_id,
        question_id=question_id,
        before=_fields(row, changed),
        after={n: values[n] for n in changed},
    )
    bump_revision(conn)


def resolve_question(
    conn: Connection,
    question_id: int,
    spec: ResolveIn,
    *,
    today: date,
    actor: str | Principal | None,
    supersede_note: str = "superseded: the question was resolved",
) -> None:
    """Resolve (yes/no) or annul an open question, recording who did it; its pending
    suggestions are superseded in the same transaction (they are moot once it is decided).
    Annulling is for the question's creator or an admin."""
    who = acting(actor)
    row = _question_row(conn, question_id)
    if row.status != "open":
        raise QuestionClosed(f"question {question_id} is already {row.status}")
    resolved_on = spec.resolved_on or today
    if resolved_on > today:
        raise InvalidInput(
            f"resolved_on {resolved_on} is in the future (today is {today} UTC)",
            field="resolved_on",
        )
    if resolved_on < row.opened_on:
        raise InvalidInput(
            f"resolved_on {resolved_on} is before opened_on {row.opened_on}", field="resolved_on"
        )
    annulled = spec.outcome == "annulled"
    if annulled:
        _check_owner(row, who, "annul")
    decided = {
        "status": "annulled" if annulled else "resolved",
        "outcome": None if annulled else spec.outcome,
        "resolved_on": resolved_on,
        "resolution_note": spec.note,
        "evidence_urls": list(spec.evidence_urls),
        "resolved_by": who.name,
    }
    # Guarded on status so two reviewers racing cannot both resolve it.
    result = conn.execute(
        update(questions)
        .where(questions.c.id == question_id, questions.c.status == "open")
        .values(**decided, updated_at=utcnow())
    )
    if result.rowcount != 1:
        raise QuestionClosed(f"question {question_id} was resolved meanwhile")
    _supersede_pending(conn, question_id, actor=who.name, note=supersede_note)
    # Its pairs are fixed from now on: score them and fold them into the totals here, in
    # the resolving transaction, so scores never lag a resolution (nothing for an annulment).
    score_totals.refresh(conn, [question_id])
    audit.record(
        conn,
        actor=who.name,
        action="question.annul" if annulled else "question.resolve",
        object_id=question_id,
        question_id=question_id,
        before=_fields(row, RESOLUTION_FIELDS),
        after=decided,
    )
    bump_revision(conn)


def reopen_question(
    conn: Connection,
    question_id: int,
    *,
    note: str | None,
    actor: str | Principal | None,
) -> None:
    """Undo a resolution or an annulment: the question is open again with its outcome
    cleared, and the suggestions that resolving it decided (the accepted one and those it
    superseded) are pending again, so the review queue is as it was. 409 if it is open."""
    who = acting(actor)
    row = _question_row(conn, question_id)
    if row.status == "open":
        raise Conflict(f"question {question_id} is open; only a resolved or annulled one reopens")
    cleared: dict[str, Any] = {
        "status": "open",
        "outcome": None,
        "resolved_on": None,
        "resolution_note": None,
        "evidence_urls": [],
        "resolved_by": None,
    }
    result = conn.execute(
        update(questions)
        .where(questions.c.id == question_id, questions.c.status == row.status)
        .values(**cleared, updated_at=utcnow())
    )
    if result.rowcount != 1:
        raise Conflict(f"question {question_id} changed meanwhile; try again")
    # Its pairs leave the totals in the same transaction: the scores are as they were.
    score_totals.refresh(conn, [question_id])
    # A closed question raises no suggestions, so those decided by its resolution are exactly
    # its accepted and superseded ones (at most one per outcome).
    now = utcnow()
    conn.execute(
        update(suggestions)
        .where(
            suggestions.c.question_id == question_id,
            suggestions.c.status.in_(("accepted", "superseded")),
        )
        .values(
            status="pending", reviewed_at=None, reviewed_by=None, review_note=None, updated_at=now
        )
    )
    audit.record(
        conn,
        actor=who.name,
        action="question.reopen",
        object_id=question_id,
        question_id=question_id,
        before=_fields(row, RESOLUTION_FIELDS),
        after={**cleared, "note": note},
    )
    bump_revision(conn)


def _supersede_pending(conn: Connection, question_id: int, *, actor: str | None, note: str) -> int:
    """Mark the question's pending suggestions superseded; returns how many."""
    now = utcnow()
    result = conn.execute(
        update(suggestions)
        .where(suggestions.c.question_id == question_id, suggestions.c.status == "pending")
        .values(
            status="superseded",
            reviewed_at=now,
            reviewed_by=actor,
            review_note=note,
            updated_at=now,
        )
    )
    return int(result.rowcount or 0)


def bump_revision(conn: Connection) -> None:
    """Record, inside the writer's transaction, that questions or forecasts changed."""
    deferred_writes.bump_revision(conn)
