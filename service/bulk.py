"""Writing many rows at once, inside the caller's transaction and through the table's own
constraints and triggers (nothing is switched off): SQLite takes them by executemany of
prepared tuples, PostgreSQL by COPY. What the import of a large export writes with."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, cast

from sqlalchemy import Connection, Date, DateTime, Float, Integer, String, Table
from sqlmodel.sql.sqltypes import UTCDateTime

# Rows per executemany or COPY stretch: large enough that the statement overhead vanishes,
# small enough for a progress bar to move and a converted stretch to stay small.
CHUNK = 50_000
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
        _copy(conn, table, columns, rows, on_chunk)
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
    processors: list[tuple[int, Callable[[Any], Any]]] = []
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
                    cells[i] = tuple(map(convert, cells[i]))
                chunk = list(zip(*cells, strict=True))
            cursor.executemany(sql, chunk)
            if on_chunk is not None:
                on_chunk(len(chunk))
    finally:
        cursor.close()


def _sqlite_day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _sqlite_utc_instant(value: Any) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return str(value.isoformat(" ", "microseconds"))


def _faster(kind: Any, process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """For a date or an aware instant, a conversion in C that gives SQLAlchemy's very text
    (its own chain costs ~4 us a cell, as much as the insert); anything else, its own."""
    fast: Callable[[Any], Any]
    probe: date
    if isinstance(kind, UTCDateTime):
        fast, probe = _sqlite_utc_instant, datetime(987, 6, 5, 4, 3, 2, 1, tzinfo=_PLUS_TWO)
    elif isinstance(kind, Date) and not isinstance(kind, DateTime):
        fast, probe = _sqlite_day, date(987, 6, 5)
    else:
        return process
    # Checked against SQLAlchemy's own, so that a change of its storage format falls back to
    # it instead of storing another.
    return fast if fast(probe) == process(probe) else process


def _copy(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    on_chunk: Callable[[int], None] | None,
) -> None:
    quote = conn.dialect.identifier_preparer.quote
    # psycopg's connection, inside the transaction SQLAlchemy began on it.
    driver = cast(Any, conn.connection.driver_connection)
    sql = f"COPY {quote(table.name)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(sql) as copy:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            for row in chunk:
                copy.write_row(row)
            if on_chunk is not None:
                on_chunk(len(chunk))


@contextmanager
def sqlite_cache(conn: Connection, kib: int) -> Any:
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
