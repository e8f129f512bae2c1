"""Writing many rows at once, inside the caller's transaction and through the table's own
constraints: SQLite takes them by executemany of prepared tuples, PostgreSQL by binary COPY.
What the import of a large export writes with.

`loading` is what makes a million rows cheap to write into an empty table: for its duration
the table's secondary indexes (and on PostgreSQL its foreign keys; on SQLite the triggers the
caller names, whose rule its rows have been checked against) are set aside and then built
again, in one pass each, before the same transaction commits. Nothing is left switched off:
the rebuild checks what the rows would have been checked against one by one (a unique index,
a foreign key) and refuses the transaction as the insert would have."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, cast

import msgspec
from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Date,
    DateTime,
    Float,
    Integer,
    SmallInteger,
    String,
    Table,
    text,
)
from sqlmodel.sql.sqltypes import UTCDateTime

# Rows per executemany or COPY stretch: large enough that the statement overhead vanishes,
# small enough for a progress bar to move and a converted stretch to stay small.
CHUNK = 50_000
# PostgreSQL's sort memory for rebuilding an index after the load (SET LOCAL: this
# transaction only): a million rows of the forecasts' widest index sort in memory.
REBUILD_SORT_MEMORY = "256MB"
_PLUS_TWO = timezone(timedelta(hours=2))


def insert_rows(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    as_is: Collection[str] = (),
    on_chunk: Callable[[int], None] | None = None,
) -> None:
    """Insert `rows` (tuples in the order of `columns`) into `table`. Values are what the
    columns hold in Python (dates, instants, numbers, text), except the `as_is` columns,
    which hold what the database stores already (JSON as text). `on_chunk(n)` is told of
    each stretch of n rows written."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _copy(conn, table, columns, rows, as_is, on_chunk)
    else:
        _executemany(conn, table, columns, rows, as_is, on_chunk)


def _executemany(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    as_is: Collection[str],
    on_chunk: Callable[[int], None] | None,
) -> None:
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    # The column types' own conversions (a date to SQLite's text for it, and so on), taken
    # from SQLAlchemy so that these rows are stored exactly as a Core insert stores them.
    processors: list[tuple[int, Callable[[tuple[Any, ...]], tuple[Any, ...]]]] = []
    for i, name in enumerate(columns):
        kind = table.c[name].type
        # Text and numbers go to sqlite3 as they are; a no-op processor per cell (SQLModel
        # wraps text columns in one) cost as much as the insert itself.
        if name in as_is or isinstance(getattr(kind, "impl", kind), String | Integer | Float):
            continue
        own = kind.dialect_impl(dialect).bind_processor(dialect)
        if own is not None:
            processors.append((i, _faster(kind, own)))
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    cursor = conn.connection.cursor()
    try:
        for start in range(0, len(rows), CHUNK):
            chunk: Sequence[tuple[Any, ...]] = rows[start : start + CHUNK]
            if processors:
                # Column by column (map over a column is C; a loop over each cell is not).
                cells = list(zip(*chunk, strict=True))
                for i, convert in processors:
                    cells[i] = convert(cells[i])
                chunk = list(zip(*cells, strict=True))
            cursor.executemany(sql, chunk)
            if on_chunk is not None:
                on_chunk(len(chunk))
    finally:
        cursor.close()


def _sqlite_utc_instant(value: Any) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return str(value.isoformat(" ", "microseconds"))


# An instant as msgspec writes it, less its "Z", is SQLite's text for it but for the "T" (no
# other letter occurs in these texts) and, at a whole second, the six zeros of its fraction.
_WHOLE_SECOND = re.compile(rb'(:[0-9][0-9])Z"')


def _utc_instants(cells: tuple[Any, ...]) -> tuple[Any, ...]:
    """A column of aware instants as SQLite's text for them (UTC, no offset)."""
    try:
        # The whole column written as JSON in one call (C), then edited as bytes: a tenth
        # of the cost of an isoformat per instant.
        encoded = msgspec.json.encode(cells)
    except TypeError:
        encoded = b""
    # Every instant UTC ("Z"; an instant elsewhere or without an offset goes the slow way),
    # and nothing but instants and nulls.
    instants = encoded.count(b'Z"')
    if encoded and instants + encoded.count(b"null") == len(cells) and b"T" in encoded:
        if instants == encoded.count(b'"') // 2:
            text = _WHOLE_SECOND.sub(rb'\1.000000"', encoded).replace(b'Z"', b'"')
            out = tuple(msgspec.json.decode(text.replace(b"T", b" ")))
            if len(out) == len(cells):
                return out
    return tuple(map(_sqlite_utc_instant, cells))


def _days(cells: tuple[Any, ...]) -> tuple[Any, ...]:
    """A column of dates as SQLite's text for them."""
    try:
        return tuple(map(date.isoformat, cells))
    except TypeError:  # a None (or a datetime, which no Date column holds): one by one
        return tuple(None if d is None else d.isoformat() for d in cells)


def _faster(
    kind: Any, process: Callable[[Any], Any]
) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """The conversion of a whole column: for dates and aware instants, one in C that gives
    SQLAlchemy's very text (its own chain costs ~4 us a cell, as much as the insert);
    anything else, its own, cell by cell."""
    fast: Callable[[tuple[Any, ...]], tuple[Any, ...]]
    probe: tuple[date, ...]
    if isinstance(kind, UTCDateTime):
        fast = _utc_instants
        # Each way through it: UTC with a fraction and at a whole second, another offset.
        probe = (
            datetime(987, 6, 5, 4, 3, 2, 1, tzinfo=UTC),
            datetime(2026, 6, 5, 4, 3, 2, tzinfo=UTC),
            datetime(987, 6, 5, 4, 3, 2, 1, tzinfo=_PLUS_TWO),
        )
    elif isinstance(kind, Date) and not isinstance(kind, DateTime):
        fast, probe = _days, (date(987, 6, 5),)
    else:
        return lambda cells: tuple(map(process, cells))
    # Checked against SQLAlchemy's own, so that a change of its storage format falls back to
    # it instead of storing another.
    if all(fast((p, None)) == (process(p), None) for p in probe):
        return fast
    return lambda cells: tuple(map(process, cells))


# PostgreSQL types COPY writes in binary, by what the column is in SQLAlchemy (a JSON column
# only when its values come as JSON text already: json's binary form is its text).
def _binary_type(kind: Any, as_is: bool) -> str | None:
    impl = getattr(kind, "impl", kind)
    if isinstance(impl, JSON):
        return "text" if as_is else None
    if isinstance(impl, Boolean):
        return "bool"
    if isinstance(impl, SmallInteger):
        return "int2"
    if isinstance(impl, Integer):
        return None if type(impl) is not Integer else "int4"
    if isinstance(impl, Float):
        return "float8"
    if isinstance(impl, String):
        return "text"  # varchar and text share their binary form
    if isinstance(impl, DateTime):
        return "timestamptz" if impl.timezone else "timestamp"
    if isinstance(impl, Date):
        return "date"
    return None


def _copy(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    as_is: Collection[str],
    on_chunk: Callable[[int], None] | None,
) -> None:
    quote = conn.dialect.identifier_preparer.quote
    # psycopg's connection, inside the transaction SQLAlchemy began on it.
    driver = cast(Any, conn.connection.driver_connection)
    types = [_binary_type(table.c[name].type, name in as_is) for name in columns]
    binary = all(types) and _matches_catalog(conn, table, columns, types)
    sql = f"COPY {quote(table.name)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    if binary:
        # Each value packed by psycopg's C dumpers, and nothing for the server to parse:
        # about twice as fast as text on both sides.
        sql += " (FORMAT BINARY)"
    instants = [i for i, name in enumerate(columns) if types[i] == "timestamptz"]
    with driver.cursor() as cursor, cursor.copy(sql) as copy:
        if binary:
            copy.set_types(types)
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            if binary and instants:
                _check_aware(chunk, instants)
            for row in chunk:
                copy.write_row(row)
            if on_chunk is not None:
                on_chunk(len(chunk))


def _check_aware(chunk: Sequence[tuple[Any, ...]], at: Sequence[int]) -> None:
    # In binary an instant without an offset would be taken as UTC silently; in text (and
    # through SQLAlchemy) as the session's time zone or refused. An aware one is asked for.
    for i in at:
        if any(row[i] is not None and row[i].tzinfo is None for row in chunk):
            raise ValueError("an instant without its offset cannot be stored")


def _matches_catalog(
    conn: Connection, table: Table, columns: Sequence[str], types: Sequence[str | None]
) -> bool:
    """Whether the database's columns are of the types the binary rows are packed as (a
    binary COPY carries no types: a mismatch would be misread, not refused)."""
    stored: dict[str, str] = dict(
        conn.execute(
            text(
                "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute "
                "WHERE attrelid = CAST(:t AS regclass) AND attnum > 0 AND NOT attisdropped"
            ),
            {"t": table.name},
        ).all()
    )
    same = {
        "text": ("text", "character varying"),
        "int2": ("smallint",),
        "int4": ("integer",),
        "float8": ("double precision",),
        "bool": ("boolean",),
        "date": ("date",),
        "timestamptz": ("timestamp with time zone",),
        "timestamp": ("timestamp without time zone",),
    }
    return all(
        stored.get(name) in same.get(kind or "", ())
        or (kind == "text" and stored.get(name) == "json")
        for name, kind in zip(columns, types, strict=True)
    )


@contextmanager
def sqlite_cache(conn: Connection, kib: int) -> Iterator[None]:
    """A larger SQLite page cache on this connection for the duration (no-op elsewhere): a
    million rows across a table's indexes would otherwise spill the default 2 MiB cache."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{int(kib)}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(before or -2000)}")


@contextmanager
def loading(
    conn: Connection,
    tables: Sequence[Table],
    *,
    checked_triggers: Mapping[str, Collection[str]] | None = None,
) -> Iterator[None]:
    """Rows written inside, into those of `tables` that are empty now, go in without their
    secondary indexes, which are built again on the way out (in one sorted pass each rather
    than a million b-tree inserts). On PostgreSQL their foreign keys are added back on the
    way out too (checked by one join, not a lookup per row); on SQLite the triggers named
    for a table in `checked_triggers` (SQLite's stand-ins for CHECK constraints, whose rule
    the caller has checked every row against) are set aside as well. All of it inside the
    caller's transaction (DDL is transactional on both databases): nobody else sees the
    tables without them, and an error on the way rolls back with the rows. A table holding
    rows already is left as it is."""
    sqlite = conn.dialect.name == "sqlite"
    quote = conn.dialect.identifier_preparer.quote
    again: list[str] = []
    for table in tables:
        name = table.name
        if conn.exec_driver_sql(f"SELECT 1 FROM {quote(name)} LIMIT 1").first() is not None:
            continue
        if sqlite:
            wanted = sorted((checked_triggers or {}).get(name, ()))
            found = conn.execute(
                text(
                    "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = :t AND "
                    "sql IS NOT NULL AND (type = 'index' OR (type = 'trigger' AND name IN "
                    f"({', '.join(f':n{i}' for i in range(len(wanted))) or 'NULL'})))"
                ),
                {"t": name, **{f"n{i}": n for i, n in enumerate(wanted)}},
            ).all()
            for kind, item, sql in _texts(found):
                _ddl(conn, f"DROP {kind.upper()} {quote(item)}")
                again.append(sql)
            continue
        found = conn.execute(
            text(
                "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
                "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = "
                "CAST(:t AS regclass) AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)"
            ),
            {"t": name},
        ).all()
        keys = conn.execute(
            text(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = CAST(:t AS regclass) AND contype = 'f'"
            ),
            {"t": name},
        ).all()
        for index, sql in _texts(found):
            _ddl(conn, f"DROP INDEX {quote(index)}")
            again.append(sql)
        for key, definition in _texts(keys):
            _ddl(conn, f"ALTER TABLE {quote(name)} DROP CONSTRAINT {quote(key)}")
            again.append(f"ALTER TABLE {quote(name)} ADD CONSTRAINT {quote(key)} {definition}")
    yield
    if again and not sqlite:
        _ddl(conn, f"SET LOCAL maintenance_work_mem = '{REBUILD_SORT_MEMORY}'")
    for sql in again:
        _ddl(conn, sql)


def _texts(rows: Sequence[Any]) -> list[tuple[str, ...]]:
    return [tuple(str(value) for value in row) for row in rows]


def _ddl(conn: Connection, sql: str) -> None:
    # Straight to the driver, without parameters: a definition may hold a literal "%".
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()
