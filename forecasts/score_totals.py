"""The scored pairs and their running totals, kept in the database by the resolving
transaction itself, so that GET /api/scores reads a few hundred rows instead of every
forecast.

A pair is fixed once its question resolves (a resolved question takes no forecast), so it
is computed once, then: `refresh` is the one way pairs and totals change. Resolving,
accepting a suggestion (which resolves), annulling and reopening call it for their question
inside their own transaction (forecasts.questions), an import calls it for the questions it
stored, and migration 0009 calls it for all. It takes away the question's stored pairs (if
any) from the totals, scores it again if it is resolved yes or no, and adds the new pairs.

Three tables (migration 0009):

- score_pairs: one row per pair, with its p, o, phrase, resolved_on and per-pair scores
  (what filtered scores and the per-question listing read);
- score_value_totals: pairs counted per distinct (p, o, phrase), '' for a p given as a number;
- score_forecaster_totals: per forecaster identity, the count and sums of the per-pair scores.

Totals change by adding signed deltas (`n = n + :d`, INSERT ... ON CONFLICT DO UPDATE), so
resolutions committed at once by several processes on PostgreSQL add up; each transaction
touches the total rows in key order, so two of them cannot deadlock on each other. The
caller holds the question's row (resolve and reopen update it first), so no two
transactions refresh the same question at once; a refresh of everything locks the pairs
table against writers for its duration.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from operator import itemgetter
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import (
    Column,
    Connection,
    Date,
    Float,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    cast,
    delete,
    func,
    literal_column,
    select,
)
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from forecasts import scoreboard
from forecasts.scoreboard import ForecasterTotals, Pairs, ValueTotals
from forecasts.tables import forecasts_t as forecasts
from forecasts.tables import questions_t as questions

# Questions scored per round trip: bounds the memory of a refresh of everything (a round
# holds only its own questions' forecasts) while keeping the statements few.
CHUNK_QUESTIONS = 5000
# julianday('1970-01-01') on SQLite: dates become whole days since the epoch inside the
# query, so no date is parsed in Python.
_JULIAN_EPOCH = 2440587.5
# The phrase column of a p given as a number: '' rather than NULL, because NULLs are never
# equal in a unique key and so could not be totalled by ON CONFLICT.
NO_PHRASE = ""

metadata = MetaData()

pairs_t = Table(
    "score_pairs",
    metadata,
    Column("question_id", Integer, primary_key=True),
    Column("forecaster_key", String(200), primary_key=True),
    Column("forecaster", String(200), nullable=False),
    Column("probability", Float, nullable=False),
    Column("outcome", SmallInteger, nullable=False),
    Column("estimate", String(100), nullable=True),
    Column("resolved_on", Date, nullable=False),
    Column("brier", Float, nullable=False),
    Column("log_score", Float, nullable=False),
    Column("time_averaged_brier", Float, nullable=False),
    # NULL when nobody else has a pair on the question.
    Column("relative_brier", Float, nullable=True),
    Index("ix_score_pairs_resolved_on", "resolved_on", "question_id"),
    Index("ix_score_pairs_forecaster_key", "forecaster_key", "resolved_on"),
    # Read and written by key: on SQLite the rows live in the key's b-tree itself.
    sqlite_with_rowid=False,
)

value_totals_t = Table(
    "score_value_totals",
    metadata,
    Column("probability", Float, primary_key=True),
    Column("outcome", SmallInteger, primary_key=True),
    Column("estimate", String(100), primary_key=True),
    Column("pairs", Integer, nullable=False),
    sqlite_with_rowid=False,
)

forecaster_totals_t = Table(
    "score_forecaster_totals",
    metadata,
    Column("forecaster_key", String(200), primary_key=True),
    Column("forecaster", String(200), nullable=False),
    Column("pairs", Integer, nullable=False),
    Column("sum_brier", Float, nullable=False),
    Column("sum_log_score", Float, nullable=False),
    Column("sum_time_averaged_brier", Float, nullable=False),
    Column("shared_pairs", Integer, nullable=False),
    Column("sum_relative_brier", Float, nullable=False),
    sqlite_with_rowid=False,
)


def day_number(conn: Connection, column: Any) -> ColumnElement[int]:
    """`column` (a date) as whole days since 1970-01-01, computed by the database."""
    if conn.dialect.name == "sqlite":
        return cast(func.julianday(column) - _JULIAN_EPOCH, Integer)
    # PostgreSQL: date − date is an integer number of days.
    return cast(column - literal_column("DATE '1970-01-01'"), Integer)


def resolved_yes_or_no() -> list[ColumnElement[bool]]:
    """The questions that are scored."""
    return [
        questions.c.status == "resolved",
        questions.c.outcome.in_(("yes", "no")),
        questions.c.resolved_on.is_not(None),
    ]


def raw_rows(conn: Connection, statement: Select[Any]) -> list[tuple[Any, ...]]:
    """All rows of a statement whose only values are numbers written here, as the driver's
    plain tuples: SQLAlchemy's Row objects cost about as much again as the driver's fetch
    at a million rows."""
    sql = str(statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _column(rows: list[tuple[Any, ...]], index: int, dtype: Any) -> NDArray[Any]:
    if dtype is object:
        out = np.empty(len(rows), dtype=object)
        out[:] = list(map(itemgetter(index), rows))
        return out
    return np.fromiter(map(itemgetter(index), rows), dtype=dtype, count=len(rows))


def score_questions(conn: Connection, scope: ColumnElement[bool]) -> Pairs:
    """The pairs of the resolved questions `scope` selects, from their forecasts."""
    f, q = forecasts, questions
    rows = raw_rows(
        conn,
        select(
            f.c.question_id,
            f.c.forecaster_key,
            f.c.forecaster,
            f.c.probability,
            day_number(conn, f.c.made_on),
            f.c.estimate,
        )
        .select_from(f.join(q, q.c.id == f.c.question_id))
        .where(*resolved_yes_or_no(), scope, f.c.made_on <= q.c.resolved_on)
        .order_by(q.c.id, f.c.forecaster_key, f.c.made_on, f.c.created_at, f.c.id),
    )
    if not rows:
        return scoreboard.empty_pairs()
    question_rows = raw_rows(
        conn,
        select(q.c.id, day_number(conn, q.c.resolved_on), q.c.outcome == "yes")
        .where(*resolved_yes_or_no(), scope)
        .order_by(q.c.id),
    )
    return scoreboard.pairs_from_forecasts(
        _column(rows, 0, np.int64),
        _column(rows, 1, object),
        _column(rows, 2, object),
        _column(rows, 3, np.float64),
        _column(rows, 4, np.int64),
        _column(rows, 5, object),
        resolved_ids=_column(question_rows, 0, np.int64),
        resolved_on=_column(question_rows, 1, np.int64),
        outcome=_column(question_rows, 2, np.float64),
    )


def _stored_pairs(conn: Connection, ids: Sequence[int]) -> Pairs:
    """The pairs stored for these questions (what their totals now include)."""
    p = pairs_t.c
    rows = raw_rows(
        conn,
        select(
            p.question_id,
            p.forecaster_key,
            p.forecaster,
            p.probability,
            p.outcome,
            p.estimate,
            p.brier,
            p.log_score,
            p.time_averaged_brier,
            p.relative_brier,
        )
        .where(p.question_id.in_(ids))
        .order_by(p.question_id, p.forecaster_key),
    )
    if not rows:
        return scoreboard.empty_pairs()
    relative = _column(rows, 9, object)
    shared = np.array([value is not None for value in relative], dtype=bool)
    return Pairs(
        question_id=_column(rows, 0, np.int64),
        forecaster_key=_column(rows, 1, object),
        forecaster=_column(rows, 2, object),
        probability=_column(rows, 3, np.float64),
        outcome=_column(rows, 4, np.float64),
        estimate=_column(rows, 5, object),
        resolved_on=np.zeros(len(rows), dtype=np.int64),  # not needed to take them away
        brier=_column(rows, 6, np.float64),
        log_score=_column(rows, 7, np.float64),
        time_averaged_brier=_column(rows, 8, np.float64),
        relative=np.where(shared, relative, 0.0).astype(np.float64),
        shared=shared,
    )


# PostgreSQL's type for each kind of column here, as psycopg packs it in binary (COPY of the
# pairs, the arrays of deltas): the columns' own types (migration 0009), so nothing is
# converted or misread on the way.
_PG_TYPES = (
    (SmallInteger, "int2"),
    (Integer, "int4"),
    (Float, "float8"),
    (String, "text"),
    (Date, "date"),
)


def _pg_type(column: Column[Any]) -> str:
    return next(name for kind, name in _PG_TYPES if isinstance(column.type, kind))


def _insert_pairs(conn: Connection, pairs: Pairs) -> None:
    """Store the pairs: tuples straight to the driver (COPY on PostgreSQL), since building
    SQLAlchemy's parameters costs more than the insert itself at a million pairs."""
    if pairs.size == 0:
        return
    days = np.datetime64(scoreboard.EPOCH, "D") + pairs.resolved_on
    postgres = conn.dialect.name == "postgresql"
    # SQLite keeps dates as ISO text (SQLAlchemy's Date storage format there).
    resolved_on = days.tolist() if postgres else np.datetime_as_string(days, unit="D").tolist()
    # NULL where nobody else has a pair on the question.
    relative = [
        value if shared else None
        for value, shared in zip(pairs.relative.tolist(), pairs.shared.tolist(), strict=True)
    ]
    rows = zip(
        pairs.question_id.tolist(),
        pairs.forecaster_key.tolist(),
        pairs.forecaster.tolist(),
        pairs.probability.tolist(),
        pairs.outcome.astype(np.int64).tolist(),
        pairs.estimate.tolist(),
        resolved_on,
        pairs.brier.tolist(),
        pairs.log_score.tolist(),
        pairs.time_averaged_brier.tolist(),
        relative,
        strict=True,
    )
    names = ", ".join(c.name for c in pairs_t.columns)
    cursor: Any = conn.connection.cursor()
    try:
        if postgres:
            sql = f"COPY {pairs_t.name} ({names}) FROM STDIN (FORMAT BINARY)"
            with cursor.copy(sql) as copy:
                copy.set_types([_pg_type(c) for c in pairs_t.columns])
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in pairs_t.columns)
            cursor.executemany(f"INSERT INTO {pairs_t.name} ({names}) VALUES ({marks})", rows)
    finally:
        cursor.close()


def _add(conn: Connection, table: Table, rows: list[tuple[Any, ...]]) -> None:
    """Add these (signed) rows, in `table`'s column order with unique keys, to the stored
    totals: a new key inserted, a stored one's numbers added to (the name shown is kept),
    and then the rows of keys that went down to no pair dropped. Set-based: on PostgreSQL
    one INSERT ... SELECT FROM unnest(arrays) ... ON CONFLICT and one DELETE ... USING for
    all of them (a statement a row took 5 s and more for an import's 280k values); on
    SQLite one prepared executemany of plain tuples (no server round trips to save)."""
    if not rows:
        return
    quote = conn.dialect.identifier_preparer.quote
    name = quote(table.name)
    columns = list(table.columns)
    keys = [quote(c.name) for c in table.primary_key.columns]
    names = ", ".join(quote(c.name) for c in columns)
    added = ", ".join(
        f"{quote(c.name)} = {name}.{quote(c.name)} + excluded.{quote(c.name)}"
        for c in columns
        if not c.primary_key and c.name != "forecaster"
    )
    at_pairs = [c.name for c in columns].index("pairs")
    gone = [row[: len(keys)] for row in rows if row[at_pairs] < 0]
    matches = " AND ".join(f"{name}.{k} = d.{k}" for k in keys)
    cursor: Any = conn.connection.cursor()
    try:
        if conn.dialect.name == "postgresql":
            # (in binary: a tenth of the text's packing, none of the parsing)
            arrays = ", ".join(f"%b::{_pg_type(c)}[]" for c in columns)
            # Sorted by key in the statement: each transaction takes the rows' locks in key
            # order, so two of them cannot deadlock on each other.
            cursor.execute(
                f"INSERT INTO {name} ({names}) SELECT * FROM unnest({arrays}) AS d ({names}) "
                f"ORDER BY {', '.join(keys)} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {added}",
                [list(column) for column in zip(*rows, strict=True)],
            )
            if gone:
                key_arrays = ", ".join(f"%b::{_pg_type(c)}[]" for c in table.primary_key.columns)
                cursor.execute(
                    f"DELETE FROM {name} USING unnest({key_arrays}) AS d ({', '.join(keys)}) "
                    f"WHERE {matches} AND {name}.pairs <= 0",
                    [list(column) for column in zip(*gone, strict=True)],
                )
        else:
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(
                f"INSERT INTO {name} ({names}) VALUES ({marks}) "
                f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {added}",
                sorted(rows),
            )
            if gone:
                cursor.executemany(
                    f"DELETE FROM {name} WHERE {' AND '.join(f'{k} = ?' for k in keys)} "
                    "AND pairs <= 0",
                    gone,
                )
    finally:
        cursor.close()


def _value_rows(values: ValueTotals) -> list[tuple[Any, ...]]:
    """The value totals' non-zero rows as score_value_totals holds them (one per key)."""
    phrases = values.estimate.tolist()
    rows = [
        (p, int(o), NO_PHRASE if phrase is None else phrase, n)
        for p, o, phrase, n in zip(
            values.probability.tolist(),
            values.outcome.tolist(),
            phrases,
            values.count.tolist(),
            strict=True,
        )
        if n != 0
    ]
    if NO_PHRASE in phrases and None in phrases:
        # A phrase given as '' shares its key with a p given as a number: one row of both
        # (one statement may touch a row once).
        merged: dict[tuple[Any, ...], int] = {}
        for p, o, phrase, n in rows:
            merged[(p, o, phrase)] = merged.get((p, o, phrase), 0) + n
        rows = [(*key, n) for key, n in merged.items() if n != 0]
    return rows


def _apply(conn: Connection, values: ValueTotals, people: ForecasterTotals) -> None:
    """Add these (signed) totals to the stored ones (see _add)."""
    _add(conn, value_totals_t, _value_rows(values))
    _add(
        conn,
        forecaster_totals_t,
        [
            row
            for row in zip(
                people.forecaster_key.tolist(),
                people.forecaster.tolist(),
                people.count.tolist(),
                people.sum_brier.tolist(),
                people.sum_log_score.tolist(),
                people.sum_time_averaged_brier.tolist(),
                people.shared_count.tolist(),
                people.sum_relative.tolist(),
                strict=True,
            )
            # A question scored again may move a forecaster's sums but not their count.
            if row[2:] != (0, 0.0, 0.0, 0.0, 0, 0.0)
        ],
    )


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), CHUNK_QUESTIONS):
        yield ids[start : start + CHUNK_QUESTIONS]


def refresh(conn: Connection, question_ids: Sequence[int] | None) -> None:
    """Bring the stored pairs and totals of these questions (None: all) in line with the
    questions and forecasts as they stand in this transaction."""
    values: list[ValueTotals] = []
    people: list[ForecasterTotals] = []
    if question_ids is None:
        if conn.dialect.name == "postgresql":
            # Writers (resolutions elsewhere) wait until the rebuild commits.
            conn.exec_driver_sql("LOCK TABLE score_pairs IN SHARE ROW EXCLUSIVE MODE")
        for table in (pairs_t, value_totals_t, forecaster_totals_t):
            conn.execute(delete(table))
        # Every pair is written again: building the indexes once afterwards is cheaper.
        for index in pairs_t.indexes:
            index.drop(conn)
        resolved = select(questions.c.id).where(*resolved_yes_or_no()).order_by(questions.c.id)
        ids: Sequence[int] = [int(row[0]) for row in raw_rows(conn, resolved)]
        scopes = [questions.c.id.between(c[0], c[-1]) for c in _chunks(ids)]
    else:
        ids = sorted({int(i) for i in question_ids})
        scopes = []
        for chunk in _chunks(ids):
            stored = _stored_pairs(conn, chunk)
            if stored.size:
                values.append(scoreboard.value_totals(stored).negated())
                people.append(scoreboard.forecaster_totals(stored).negated())
                conn.execute(delete(pairs_t).where(pairs_t.c.question_id.in_(chunk)))
            scopes.append(questions.c.id.in_(chunk))
    for scope in scopes:
        pairs = score_questions(conn, scope)
        if pairs.size:
            _insert_pairs(conn, pairs)
            values.append(scoreboard.value_totals(pairs))
            people.append(scoreboard.forecaster_totals(pairs))
    if values:
        _apply(
            conn,
            scoreboard.merge_value_totals(values),
            scoreboard.merge_forecaster_totals(people),
        )
    if question_ids is None:
        for index in pairs_t.indexes:
            index.create(conn)
