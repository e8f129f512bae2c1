"""Storing suggestions: the pending suggestion of a question for an outcome (one at most, by
a partial unique index), evidence links that keep an item from counting twice, and the one
INSERT … ON CONFLICT DO NOTHING that ingest, matching and the deadline check all write with.

Every write here is safe to race or repeat: the database's unique indexes decide which of two
cycles inserts a row, and the loser picks up the winner's row instead of raising a second.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    Table,
    TextClause,
    bindparam,
    delete,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ColumnElement

from forecasts.tables import links_t, questions_t, suggestions_t
from resolvers.calibrate import suggestion_confidence
from resolvers.evidence import keep_strongest, rationale
from resolvers.items import chunks
from resolvers.match import Hit

NEWS_RESOLVER = "news-match"
PENDING_PREDICATE = text("status = 'pending'")


def insert_ignoring_conflict_statement(
    dialect: str,
    table: Table,
    *,
    index_elements: Sequence[str],
    index_where: ColumnElement[bool] | TextClause | None = None,
    returning: Sequence[ColumnElement[Any]] | None = None,
) -> Insert:
    """INSERT … ON CONFLICT (index_elements) DO NOTHING for the dialect named ("sqlite" or
    "postgresql"), RETURNING `returning` if given; the rows come as execute parameters."""
    if dialect == "postgresql":
        stmt: Insert = postgresql.insert(table).on_conflict_do_nothing(
            index_elements=index_elements, index_where=index_where
        )
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing(
            index_elements=index_elements, index_where=index_where
        )
    else:
        raise ValueError(
            f"INSERT … ON CONFLICT DO NOTHING supports SQLite and PostgreSQL, not {dialect}"
        )
    if returning is not None:
        stmt = stmt.returning(*returning)
    return stmt


def insert_ignoring_conflict(
    conn: Connection,
    table: Table,
    rows: list[dict[str, Any]],
    *,
    index_elements: Sequence[str],
    index_where: ColumnElement[bool] | TextClause | None = None,
    returning: Sequence[ColumnElement[Any]] | None = None,
) -> list[Row[Any]]:
    """INSERT … ON CONFLICT DO NOTHING on SQLite and PostgreSQL; the returned rows (if asked)."""
    if not rows:
        return []
    stmt = insert_ignoring_conflict_statement(
        conn.dialect.name,
        table,
        index_elements=index_elements,
        index_where=index_where,
        returning=returning,
    )
    # Rows as parameters, not baked into VALUES: the statement compiles once and is cached,
    # and SQLAlchemy still sends many rows per round trip ("insertmanyvalues").
    result = conn.execute(stmt, rows[0] if len(rows) == 1 else rows)
    return list(result.all()) if returning is not None else []


def _pending_row(question_id: int, outcome: str, *, resolver: str, now: datetime) -> dict[str, Any]:
    """An empty pending suggestion's row."""
    return {
        "question_id": question_id,
        "outcome": outcome,
        "confidence": 0.0,
        "resolver": resolver,
        "rationale": "",
        "evidence": [],
        "status": "pending",
        "created_at": now,
        "updated_at": now,
    }


def _new_pending(
    conn: Connection, question_id: int, outcome: str, *, resolver: str, now: datetime
) -> int | None:
    """Insert an empty pending suggestion; None if one exists already (a racing cycle's)."""
    inserted = insert_ignoring_conflict(
        conn,
        suggestions_t,
        [_pending_row(question_id, outcome, resolver=resolver, now=now)],
        index_elements=["question_id", "outcome"],
        # A literal predicate, not a bound parameter: once psycopg prepares the statement
        # (after five runs), PostgreSQL cannot match "status = $1" to the partial index's
        # "status = 'pending'" and refuses the ON CONFLICT.
        index_where=PENDING_PREDICATE,
        returning=[suggestions_t.c.id],
    )
    return int(inserted[0].id) if inserted else None


def _pending_query(question_id: int, outcome: str) -> Any:
    return (
        select(suggestions_t)
        .where(
            suggestions_t.c.question_id == question_id,
            suggestions_t.c.outcome == outcome,
            suggestions_t.c.status == "pending",
        )
        .with_for_update()
    )


def pending_suggestion(
    conn: Connection, question_id: int, outcome: str, *, resolver: str, now: datetime
) -> tuple[Any, bool]:
    """The question's pending suggestion for `outcome`, created empty if there is none.

    The partial unique index lets only one exist; a racing cycle's row is picked up instead
    of raising a second. Returns (row, created).
    """
    row = conn.execute(_pending_query(question_id, outcome)).first()
    if row is not None:
        return row, False
    created = _new_pending(conn, question_id, outcome, resolver=resolver, now=now)
    row = conn.execute(_pending_query(question_id, outcome)).first()
    assert row is not None
    return row, created is not None


@dataclass
class _Pending:
    id: int
    evidence: list[dict[str, Any]]


def record_hits(conn: Connection, hits: Sequence[Hit], *, now: datetime) -> int:
    """Record firm evidence: join each question's pending suggestion for the outcome or raise
    one, linking every item so it never counts twice. Returns suggestions created.

    Statements are batched: one read of the links and pending suggestions per 500
    questions, one insert of links per 500 items, then one write per suggestion touched.
    """
    by_pair: dict[tuple[int, str], list[Hit]] = defaultdict(list)
    for hit in hits:
        by_pair[(hit.question_id, hit.outcome)].append(hit)
    if not by_pair:
        return 0
    keys = {h.item_key for h in hits}
    still_open: set[int] = set()
    known: set[tuple[int, str, str]] = set()
    for part in chunks(sorted({q for q, _ in by_pair}), 500):
        still_open.update(
            r.id
            for r in conn.execute(
                select(questions_t.c.id).where(
                    questions_t.c.id.in_(part), questions_t.c.status == "open"
                )
            )
        )
        for key_part in chunks(sorted(keys), 500):
            known.update(
                (r.question_id, r.outcome, r.item_key)
                for r in conn.execute(
                    select(links_t.c.question_id, links_t.c.outcome, links_t.c.item_key).where(
                        links_t.c.question_id.in_(part), links_t.c.item_key.in_(key_part)
                    )
                )
            )
    work: dict[tuple[int, str], dict[str, Hit]] = {}
    for (question_id, outcome), group in sorted(by_pair.items()):
        if question_id not in still_open:
            continue
        fresh: dict[str, Hit] = {}
        for hit in group:
            if (question_id, outcome, hit.item_key) not in known:
                fresh.setdefault(hit.item_key, hit)
        if fresh:
            work[(question_id, outcome)] = fresh
    if not work:
        return 0
    rows: dict[tuple[int, str], Any] = {}
    for part in chunks(sorted({q for q, _ in work}), 500):
        for r in conn.execute(
            select(
                suggestions_t.c.id,
                suggestions_t.c.question_id,
                suggestions_t.c.outcome,
                suggestions_t.c.evidence,
            )
            .where(suggestions_t.c.question_id.in_(part), suggestions_t.c.status == "pending")
            .with_for_update()
        ):
            if (r.question_id, r.outcome) in work:
                rows[(r.question_id, r.outcome)] = r
    created_ids: set[int] = set()
    missing = [pair for pair in work if pair not in rows]
    for part in chunks(missing, 500):
        # One statement for every suggestion this batch raises (a statement each held the
        # write lock several times as long: bench/api.py during a poll).
        for r in insert_ignoring_conflict(
            conn,
            suggestions_t,
            [_pending_row(*pair, resolver=NEWS_RESOLVER, now=now) for pair in part],
            index_elements=["question_id", "outcome"],
            index_where=PENDING_PREDICATE,
            returning=[suggestions_t.c.id, suggestions_t.c.question_id, suggestions_t.c.outcome],
        ):
            rows[(r.question_id, r.outcome)] = _Pending(r.id, [])
            created_ids.add(r.id)
    for pair in missing:
        if pair not in rows:
            # A racing cycle raised it since the read above: join that one.
            rows[pair] = conn.execute(_pending_query(*pair)).one()
    link_rows = [
        {
            "suggestion_id": rows[pair].id,
            "question_id": pair[0],
            "outcome": pair[1],
            "item_key": key,
            "score": hit.score,
            "created_at": now,
        }
        for pair, fresh in work.items()
        for key, hit in fresh.items()
    ]
    linked: set[tuple[int, str, str]] = set()
    for part in chunks(link_rows, 500):
        linked.update(
            (r.question_id, r.outcome, r.item_key)
            for r in insert_ignoring_conflict(
                conn,
                links_t,
                part,
                index_elements=["question_id", "outcome", "item_key"],
                returning=[links_t.c.question_id, links_t.c.outcome, links_t.c.item_key],
            )
        )
    created = 0
    changes: list[dict[str, Any]] = []
    unused: list[int] = []
    for pair, fresh in work.items():
        row = rows[pair]
        # Only items whose link this transaction wrote count: a racing cycle's are its own.
        new_entries = [hit.entry for key, hit in fresh.items() if (*pair, key) in linked]
        if not new_entries:
            if row.id in created_ids:
                unused.append(row.id)
            continue
        # The strongest MAX_EVIDENCE entries (and the earliest) are kept, oldest first: one
        # feed cannot grow a suggestion without bound; the links above still keep every
        # item from counting twice.
        evidence = keep_strongest(list(row.evidence or []) + new_entries)
        changes.append(
            {
                "suggestion_id": row.id,
                "evidence": evidence,
                "confidence": suggestion_confidence(evidence),
                "rationale": rationale(evidence),
                "updated_at": now,
            }
        )
        created += row.id in created_ids
    if unused:
        conn.execute(delete(suggestions_t).where(suggestions_t.c.id.in_(unused)))
    if changes:
        # One executemany for every suggestion touched.
        conn.execute(_EVIDENCE_UPDATE, changes)
    return created


_EVIDENCE_UPDATE = (
    update(suggestions_t)
    .where(suggestions_t.c.id == bindparam("suggestion_id"))
    .values(
        evidence=bindparam("evidence", type_=suggestions_t.c.evidence.type),
        confidence=bindparam("confidence"),
        rationale=bindparam("rationale"),
        updated_at=bindparam("updated_at", type_=suggestions_t.c.updated_at.type),
    )
)
