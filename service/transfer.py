"""Export and import of the whole record (JSON, lossless) and of the forecasts (CSV).

An import checks the whole file with the domain's restore rules (forecasts.restore): a bad
record refuses the file, naming the record and the field, and nothing of it is written. It
writes in one transaction, in bulk (SQLite: executemany of prepared rows; PostgreSQL: binary
COPY), and brings the score totals up to date in that same transaction. The questions and
forecasts go in once they are checked, while the rest of the file is checked (the
transaction rolls back if that is refused: see _Stream).
Into empty tables the rows go without their secondary indexes (PostgreSQL: and
foreign keys; SQLite: and the CHECK-emulating trigger whose rule every forecast was checked
against), which are built again before that transaction commits (service.bulk.loading).
An import keeps the connection's SQLite synchronous setting (the service's own, NORMAL by
default in WAL mode): a committed import is as durable as any other commit of the service.
"""

from __future__ import annotations

import csv
import gc
import io
import mmap
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from itertools import groupby
from pathlib import Path
from typing import Any, TextIO

import msgspec
import psycopg
from sqlalchemy import Connection, func, insert, select, text
from sqlalchemy.exc import DBAPIError

from forecasts import restore, score_totals
from forecasts.errors import Conflict
from forecasts.questions import bump_revision
from forecasts.tables import audit_t
from forecasts.tables import forecasts_t as forecasts
from forecasts.tables import links_t as links
from forecasts.tables import questions_t as questions
from forecasts.tables import sources_t as sources
from forecasts.tables import suggestions_t as suggestions
from service import bulk
from service.csv_cells import csv_cell
from service.csv_format import CSV_COLUMNS
from service.csv_import import read_csv
from service.db import Database
from service.import_files import (
    AUDIT_COLUMNS,
    FORECAST_COLUMNS,
    FORMAT,
    JSON_TEXT_COLUMNS,
    Checked,
    Imported,
    Progress,
    read_json,
)
from service.sourceconfig import public_options

__all__ = ["CSV_COLUMNS", "FORMAT", "export_csv", "export_json", "import_file", "import_json"]

# SQLite page cache for the import's connection (KiB): a million rows across the forecasts'
# four indexes would otherwise spill the default 2 MiB cache to the WAL over and over.
IMPORT_CACHE_KIB = 256 * 1024


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _rows(conn: Any, table: Any, *order: Any) -> list[dict[str, Any]]:
    return [
        {k: _plain(v) for k, v in row.items()}
        for row in conn.execute(select(table).order_by(*order)).mappings()
    ]


def export_json(db: Database) -> dict[str, Any]:
    """The whole record: every question with its forecast history and resolution, the
    suggestions with their evidence and reviews (and which items already counted), the
    sources, and the audit log. Source secrets (an API key) are masked, not exported."""
    with db.read() as conn:
        question_rows = _rows(conn, questions, questions.c.id)
        forecast_rows = _rows(conn, forecasts, forecasts.c.question_id, forecasts.c.id)
        suggestion_rows = _rows(conn, suggestions, suggestions.c.id)
        link_rows = _rows(conn, links, links.c.id)
        source_rows = _rows(conn, sources, sources.c.id)
        audit_rows = _rows(conn, audit_t, audit_t.c.id)
    by_question: dict[int, list[dict[str, Any]]] = {}
    for f in forecast_rows:
        by_question.setdefault(f["question_id"], []).append(
            {k: v for k, v in f.items() if k not in ("question_id", "forecaster_key")}
        )
    items = []
    for q in question_rows:
        item = {k: v for k, v in q.items() if k != "tag_index"}
        item["forecasts"] = by_question.get(q["id"], [])
        items.append(item)
    for source in source_rows:
        source["options"] = public_options(dict(source.get("options") or {}))
    return {
        "format": FORMAT,
        "questions": items,
        "suggestions": suggestion_rows,
        "evidence_links": link_rows,
        "sources": source_rows,
        "audit": audit_rows,
    }


def csv_row(question: Mapping[str, Any], forecast: Mapping[str, Any] | None) -> list[Any]:
    """The CSV cells of one forecast of `question` (mappings keyed as the export's JSON)."""
    f = forecast or {}
    cells = [
        question["id"],
        question["title"],
        question["status"],
        question.get("outcome"),
        question["opened_on"],
        question["resolve_by"],
        question.get("resolved_on"),
        ";".join(question.get("tags") or []),
        f.get("forecaster"),
        f.get("probability"),
        f.get("estimate"),
        f.get("made_on"),
        question.get("resolution_criteria"),
        question.get("default_outcome"),
        question.get("news_query"),
        question.get("created_at"),
        f.get("id"),
        f.get("created_at"),
        f.get("created_by"),
    ]
    return [csv_cell(value) for value in cells]


def write_csv(db: Database, out: TextIO) -> None:
    """The CSV of every question's forecasts, oldest question first."""
    q, f = questions.c, forecasts.c
    wanted = [q.id, q.title, q.status, q.outcome, q.opened_on, q.resolve_by, q.resolved_on]
    wanted += [q.tags, q.resolution_criteria, q.default_outcome, q.news_query, q.created_at]
    forecast_columns = [f.id, f.forecaster, f.probability, f.estimate, f.made_on]
    forecast_columns += [f.created_at, f.created_by]
    statement = (
        select(*wanted, *(c.label(f"forecast_{c.name}") for c in forecast_columns))
        .select_from(questions.outerjoin(forecasts, f.question_id == q.id))
        .order_by(q.id, f.id)
    )
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    with db.read() as conn:
        for row in conn.execute(statement).mappings():
            forecast = {c.name: row[f"forecast_{c.name}"] for c in forecast_columns}
            writer.writerow(csv_row(dict(row), forecast if forecast["id"] is not None else None))


def export_csv(db: Database) -> str:
    """The CSV (see write_csv) as text."""
    out = io.StringIO()
    write_csv(db, out)
    return out.getvalue()


def count_questions(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(questions)).scalar_one())


# -- import: writing a checked file -----------------------------------------------------------


def import_file(
    db: Database,
    path: Path,
    *,
    fmt: str | None = None,
    new_ids: bool = False,
    progress: Progress | None = None,
) -> Imported:
    """Import a file `forecasts export` wrote: JSON (the whole record), or CSV (questions
    and forecasts, see csv_format.CSV_HELP); `fmt` None goes by the file's suffix. All or
    nothing, and what is already stored is skipped (see import_json)."""
    # A million rows are a million tuples the collector would walk again and again while
    # they are built (none of them is ever garbage): it waits until the import is done.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _import_file(db, path, fmt=fmt, new_ids=new_ids, progress=progress)
    finally:
        if collecting:
            gc.enable()


def _read(
    path: Path,
    fmt: str,
    *,
    new_ids: bool,
    progress: Progress | None,
    into: Checked,
    on_forecasts: Callable[[], None],
) -> None:
    """Read and check the whole file into `into` (see read_json, read_csv)."""
    if fmt == "csv":
        with path.open("rb") as raw:
            lines = sum(block.count(b"\n") for block in iter(lambda: raw.read(1 << 20), b""))
        with path.open(encoding="utf-8", newline="") as stream:
            read_csv(
                stream,
                new_ids=new_ids,
                progress=progress,
                lines=lines,
                into=into,
                on_forecasts=on_forecasts,
            )
        return
    with path.open("rb") as raw:
        if path.stat().st_size == 0:
            raise ValueError(f"not a {FORMAT} document (the file is empty)")
        # Decoded from a view of the file: the file's bytes are never copied.
        view = mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            read_json(
                view, new_ids=new_ids, progress=progress, into=into, on_forecasts=on_forecasts
            )
        finally:
            try:
                view.close()
            except BufferError:  # a refused file's error still holds a view into it
                pass


def _import_file(
    db: Database, path: Path, *, fmt: str | None, new_ids: bool, progress: Progress | None
) -> Imported:
    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "json")
    if fmt not in ("csv", "json"):
        raise ValueError(f"format {fmt!r} is not json or csv")
    # The file is read here and written on a thread of its own, in one transaction: the
    # questions and forecasts once they are checked, the rest once it is. Meanwhile the
    # database builds the forecasts' indexes (without the interpreter) while the reading
    # goes on. Still all or nothing: a bad record found after the forecasts are written
    # refuses the file as before, and the writer's transaction rolls back.
    checked = Checked()
    stream = _Stream(checked, progress)
    outcome: list[Imported] = []
    failure: list[BaseException] = []

    def write() -> None:
        try:
            outcome.append(_write_streamed(db, stream, new_ids))
        except BaseException as exc:  # (handed to the caller's thread below)
            failure.append(exc)
        finally:
            stream.forecasts_written.set()

    writer = threading.Thread(target=write, name="import-writer", daemon=True)
    writer.start()
    try:
        _read(
            path,
            fmt,
            new_ids=new_ids,
            progress=progress,
            into=checked,
            on_forecasts=stream.forecasts_read,
        )
    except BaseException:
        stream.abandon()
        writer.join()
        raise  # what is wrong with the file comes first, as when it was read first
    stream.all_read()
    writer.join()
    if failure:
        raise failure[0]
    return outcome[0]


class _Abandoned(Exception):
    """The file was refused while it was being written: the writer rolls back."""


class _Stream:
    """A file being read and checked, shared by the reader (the caller's thread) and the
    writer. The reader waits while the questions and forecasts are written (both need the
    interpreter: sqlite3 gives it up and takes it back around every row, so that beside a
    busy reader it would wait a switch interval a row), then goes on to the rest of the
    file (JSON: the audit log; CSV: the questions' news_query_derived) while the database
    builds the forecasts' indexes, which it does without the interpreter: about two
    seconds of a million forecasts' import."""

    # How long the writer sleeps between looks when not woken.
    NAP = 0.05

    def __init__(self, checked: Checked, progress: Progress | None) -> None:
        self.checked = checked
        self.progress = progress
        self.woken = threading.Event()
        self.forecasts_done = False  # every question and forecast is in `checked`
        self.forecasts_written = threading.Event()  # (or the writer will write no more)
        self.done = False  # the whole file is read and checked
        self.abandoned = False

    def forecasts_read(self) -> None:
        self.forecasts_done = True
        self.woken.set()
        self.forecasts_written.wait()

    def all_read(self) -> None:
        self.forecasts_done = self.done = True
        self.woken.set()

    def abandon(self) -> None:
        self.abandoned = True
        self.woken.set()

    def _wait(self, ready: Callable[[], bool]) -> Checked:
        """Wait until `ready()`; raises _Abandoned once the reader has refused the file."""
        while not ready():
            self.woken.wait(self.NAP)
            self.woken.clear()
            if self.abandoned:
                raise _Abandoned
        return self.checked

    def wait_for_forecasts(self) -> Checked:
        return self._wait(lambda: self.forecasts_done)

    def wait_until_read(self) -> Checked:
        return self._wait(lambda: self.done)


def import_json(db: Database, document: dict[str, Any], *, new_ids: bool = False) -> int:
    """Store an export in one transaction; returns how many questions it added.

    Each record goes through the domain's restore rules (forecasts.restore), so a bad record
    refuses the whole file, naming it, and writes nothing. Ids are kept, so an import into
    an empty database reproduces the exported record, and importing the same file twice
    adds nothing. `new_ids` copies the questions and their forecasts under fresh ids (for
    merging into a database that has its own), leaving suggestions, sources and audit out.
    """
    checked = read_json(msgspec.json.encode(document), new_ids=new_ids)
    return _write(db, checked, new_ids=new_ids, progress=None).added


def _stepper(checked: Checked, progress: Progress | None) -> Callable[[int], None]:
    """step(n): n more rows written, told to `progress` against the rows known so far."""
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            audit = max(len(checked.audit), checked.audit_count)
            total = len(checked.questions) + len(checked.forecasts) + audit
            progress("writing", done, max(total, done))

    return step


@contextmanager
def _transaction(db: Database) -> Iterator[Connection]:
    """The import's one write transaction; what the database refuses, as a Conflict."""
    with db.write() as conn, bulk.sqlite_cache(conn, IMPORT_CACHE_KIB):
        try:
            yield conn
        except (DBAPIError, sqlite3.DatabaseError, psycopg.Error) as exc:
            # Ids the file shares with other rows already stored (or a rule only the
            # database checks): the transaction is rolled back whole.
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise Conflict(
                f"the database refused the file ({reason}); nothing was imported. Import into "
                "an empty database or pass --new-ids"
            ) from exc


def _write(db: Database, checked: Checked, *, new_ids: bool, progress: Progress | None) -> Imported:
    with _transaction(db) as conn:
        return _store(conn, checked, new_ids, _stepper(checked, progress))


def _write_streamed(db: Database, stream: _Stream, new_ids: bool) -> Imported:
    """Write the file of `stream`: its questions and forecasts once they are checked, the
    rest once it is (see _Stream)."""
    # (the write lock is taken only once there is something to write)
    checked = stream.wait_for_forecasts()
    with _transaction(db) as conn:
        return _store(conn, checked, new_ids, _stepper(checked, stream.progress), stream)


def _store(
    conn: Connection,
    checked: Checked,
    new_ids: bool,
    step: Callable[[int], None],
    stream: _Stream | None = None,
) -> Imported:
    """Write a checked file; with `stream`, one whose questions and forecasts only are
    checked yet (the rest is waited for once they are written)."""
    present: set[int] = set()
    if not new_ids:
        present = restore.stored_questions(
            conn, ((q["id"], q["title"], q.get("created_at")) for q in checked.questions)
        )
    ids = _insert_questions(conn, checked.questions, present, new_ids)
    step(len(checked.questions))
    rows: Sequence[tuple[Any, ...]] = checked.forecasts
    if new_ids:
        rows = [(None, ids[r[1]], *r[2:]) for r in rows]
    elif present:
        rows = [r for r in rows if r[1] not in present]
    # Into an empty table the rows go without its secondary indexes (built again once they
    # are in) and without the CHECK stand-ins every row was checked against already.
    with bulk.loading(conn, [forecasts], checked_triggers=restore.CHECKED_BY_RESTORE):
        _insert_forecasts(conn, rows, step)
        if stream is not None:
            stream.forecasts_written.set()  # (their indexes are built as the rest is read)
    if stream is not None:
        checked = stream.wait_until_read()
        _derived_late(conn, checked, ids, new_ids)
    if new_ids:
        added = list(ids.values())
        if added:
            bump_revision(conn)
            _after_import(conn, added)
        return Imported(added=len(added), present=0)
    return _store_rest(conn, checked, present, step)


def _derived_late(conn: Connection, checked: Checked, ids: dict[int, int], new_ids: bool) -> None:
    """Set news_query_derived on the questions stored before it was worked out (see
    import_files.QuestionLedger) that have their title's query. (Plain SQL: nothing else
    of the row changes, its updated_at included.)"""
    late = [
        ids[key]
        for n in checked.underived
        if checked.questions[n]["news_query_derived"]
        and (key := n if new_ids else checked.questions[n]["id"]) in ids
    ]
    if late:
        conn.execute(
            text("UPDATE questions SET news_query_derived = :yes WHERE id = :id"),
            [{"yes": True, "id": qid} for qid in late],
        )


def _insert_forecasts(
    conn: Connection, rows: Sequence[tuple[Any, ...]], step: Callable[[int], None]
) -> None:
    with_ids = [r for r in rows if r[0] is not None]
    bulk.insert_rows(conn, forecasts, FORECAST_COLUMNS, with_ids, on_chunk=step)
    if len(with_ids) < len(rows):
        fresh = [r[1:] for r in rows if r[0] is None]
        bulk.insert_rows(conn, forecasts, FORECAST_COLUMNS[1:], fresh, on_chunk=step)


def _store_rest(
    conn: Connection, checked: Checked, present: set[int], step: Callable[[int], None]
) -> Imported:
    """What follows the questions and forecasts of a file imported under its own ids."""
    for source in checked.sources:
        _restore_source(conn, source)
    for suggestion in checked.suggestions:
        restore.restore_suggestion(conn, suggestion)
    for link in checked.links:
        restore.restore_evidence_link(conn, link)
    stored = restore.stored_ids(conn, audit_t, [r[0] for r in checked.audit])
    audit = [r for r in checked.audit if r[0] not in stored] if stored else checked.audit
    with bulk.loading(conn, [audit_t]):
        bulk.insert_rows(
            conn, audit_t, AUDIT_COLUMNS, audit, as_is=JSON_TEXT_COLUMNS, on_chunk=step
        )
    if conn.dialect.name == "postgresql":
        _move_sequences(conn)
    added = [q["id"] for q in checked.questions if q["id"] not in present]
    if added:
        bump_revision(conn)
        _after_import(conn, added)
    return Imported(added=len(added), present=len(present))


def _insert_questions(
    conn: Connection, records: list[dict[str, Any]], present: set[int], new_ids: bool
) -> dict[int, int]:
    """Insert the questions not stored yet; returns, with new ids, each one's place in
    `records` -> its new id (else the exported id -> itself)."""
    fresh = [(n, q) for n, q in enumerate(records) if new_ids or q["id"] not in present]
    ids: dict[int, int] = {}
    # One executemany per set of columns (files written by older versions may lack some).
    fresh.sort(key=lambda item: sorted(item[1]))
    for _columns, group in groupby(fresh, key=lambda item: sorted(item[1])):
        batch = list(group)
        values = [q for _n, q in batch]
        if new_ids:
            statement = insert(questions).returning(questions.c.id, sort_by_parameter_order=True)
            result = conn.execute(statement, values)
            ids.update((n, int(row[0])) for (n, _q), row in zip(batch, result, strict=True))
        else:
            conn.execute(insert(questions), values)
            ids.update((q["id"], q["id"]) for q in values)
    return ids


def _move_sequences(conn: Connection) -> None:
    # Explicit ids leave the sequences behind; move them past the highest id.
    for table in (
        "questions",
        "forecasts",
        "suggestions",
        "evidence_links",
        "sources",
        "audit_log",
    ):
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"GREATEST((SELECT MAX(id) FROM {table}), 1))"
            )
        )


def _restore_source(conn: Connection, values: dict[str, Any]) -> None:
    """A source is restored by name: one already configured stays as it is."""
    taken = conn.execute(
        select(sources.c.id).where(
            (sources.c.name == values.get("name")) | (sources.c.id == values.get("id"))
        )
    ).first()
    if taken is None:
        conn.execute(insert(sources), values)


def _after_import(conn: Connection, question_ids: Sequence[int]) -> None:
    """Bring what is derived from the questions and forecasts up to date for the imported
    questions, inside the import's transaction: the score totals (forecasts.score_totals)."""
    # Into empty totals (a first import) the pairs go without their indexes, too.
    with bulk.loading(conn, [score_totals.pairs_t]):
        score_totals.refresh(conn, question_ids)
