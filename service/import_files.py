"""The files an import reads, JSON (`forecasts export`) or CSV, read and checked whole
before anything is written: each record goes through the domain's restore rules
(forecasts.restore) and becomes a row ready to write, or the file is refused, naming the
record and the field. The JSON is decoded by msgspec, record by record from views into the
file (never decoded whole, never copied); the CSV by the csv module."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import groupby, repeat
from operator import attrgetter, itemgetter
from typing import Any, TextIO

import msgspec
from msgspec.structs import astuple
from sqlalchemy import Date, DateTime

from forecasts import restore
from forecasts.errors import InvalidInput
from forecasts.identity import forecaster_key
from forecasts.models import utcnow
from forecasts.tables import links_t as links
from forecasts.tables import questions_t as questions
from forecasts.tables import sources_t as sources
from forecasts.tables import suggestions_t as suggestions
from service.csv_cells import FORMULA_START
from service.csv_format import (
    FORECAST_CSV_COLUMNS,
    MORE_FORECAST_CSV_COLUMNS,
    MORE_QUESTION_CSV_COLUMNS,
    QUESTION_CSV_COLUMNS,
)

FORMAT = "forecasts-export/2"
# Version 1 held questions and forecasts only; it still imports.
READABLE_FORMATS = ("forecasts-export/1", FORMAT)
# progress(phase, done, total): "checking" counts what was read, "writing" rows written.
Progress = Callable[[str, int, int], None]


# -- import: what a checked file holds, ready to write ----------------------------------------

FORECAST_COLUMNS = (
    "id",
    "question_id",
    "forecaster",
    "forecaster_key",
    "probability",
    "estimate",
    "made_on",
    "rationale",
    "created_by",
    "created_at",
)
AUDIT_COLUMNS = (
    "id",
    "at",
    "actor",
    "action",
    "object",
    "object_id",
    "question_id",
    "before",
    "after",
)
# Audit columns that arrive as JSON text already (written as they are, not encoded again).
JSON_TEXT_COLUMNS = frozenset({"before", "after"})


@dataclass
class Checked:
    """A whole file, read and checked. Forecast rows follow FORECAST_COLUMNS, with
    question_id the exported question id (with new ids: the question's place in
    `questions`); audit rows follow AUDIT_COLUMNS."""

    questions: list[dict[str, Any]] = field(default_factory=list)
    forecasts: list[tuple[Any, ...]] = field(default_factory=list)
    audit: list[tuple[Any, ...]] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    suggestions: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Imported:
    added: int  # questions stored
    present: int  # questions found stored already (the same file imported before)


class _Forecasts:
    """Turns one question's forecasts into checked rows, remembering the ids seen."""

    def __init__(self, out: list[tuple[Any, ...]], new_ids: bool) -> None:
        self.out = out
        self.new_ids = new_ids
        self.ids: set[int] = set()
        # Forecasters repeat across a million rows: their identity is worked out once each.
        self.keys: dict[str, str] = {}

    def add(self, where: str, n: int, question: int, row: Sequence[Any]) -> None:
        """row: id, forecaster, probability, estimate, made_on, rationale, created_by,
        created_at (None: now)."""
        fid, forecaster, probability, estimate, made_on, rationale, created_by, created = row
        restore.check_forecast(where, n, forecaster, probability, made_on)
        if self.new_ids:
            fid = None
        elif fid is not None:
            if fid in self.ids:
                raise InvalidInput(f"{where}, forecast {n}: id {fid} is used twice", field="id")
            self.ids.add(fid)
        key = self.keys.get(forecaster)
        if key is None:
            key = self.keys[forecaster] = forecaster_key(forecaster)
        self.out.append(
            (fid, question, forecaster, key, float(probability), estimate, made_on, rationale)
            + (created_by, _aware(created) if created is not None else utcnow())
        )

    def _refuse(self, where: str, first: int, columns: Sequence[Any]) -> None:
        """Name the first of these forecasts `add` would refuse (an id used twice among
        them), keeping nothing."""
        taken: set[int] = set()
        for n, row in enumerate(zip(*columns, strict=True), first):
            fid, forecaster, probability, _estimate, made_on = row[:5]
            restore.check_forecast(where, n, forecaster, probability, made_on)
            if fid is not None:
                if fid in self.ids or fid in taken:
                    raise InvalidInput(f"{where}, forecast {n}: id {fid} is used twice", field="id")
                taken.add(fid)
        raise AssertionError("an id used twice was not found")  # (never: the caller saw one)

    def add_all(self, where: str, first: int, question: int, columns: Sequence[Any]) -> None:
        """Forecasts `first`, `first` + 1, ... of a question at once, as the columns of the
        rows `add` takes: checked a column at a time (restore.check_forecasts), and nothing
        kept unless all of them pass. Ids used twice are named in the order `add` would."""
        fids, forecasters, probabilities, estimates, made_ons, rationales, bys, created = columns
        count = len(forecasters)
        if not count:
            return
        if not self.new_ids:
            given = [fid for fid in fids if fid is not None]
            if len(set(given)) != len(given) or not self.ids.isdisjoint(given):
                self._refuse(where, first, columns)
        restore.check_forecasts(where, first, forecasters, probabilities, made_ons)
        if self.new_ids:
            fids = (None,) * count
        else:
            self.ids.update(given)
        keys = self.keys
        for name in set(forecasters).difference(keys):
            keys[name] = forecaster_key(name)
        if None in created or any(c.tzinfo is None for c in created):
            created = [_aware(c) if c is not None else utcnow() for c in created]
        self.out.extend(
            zip(
                fids,
                repeat(question, count),
                forecasters,
                map(keys.__getitem__, forecasters),
                map(float, probabilities),
                estimates,
                made_ons,
                rationales,
                bys,
                created,
                strict=True,
            )
        )


def _aware(instant: datetime) -> datetime:
    # An instant written without an offset is UTC, as the service stores every instant.
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def _parse_column(column: Any, value: Any) -> Any:
    """Turn an exported text value back into what the column holds."""
    if value is None or not isinstance(value, str):
        return value
    kind = getattr(column.type, "impl", column.type)
    if isinstance(kind, DateTime):
        return _aware(datetime.fromisoformat(value))
    if isinstance(kind, Date):
        return date.fromisoformat(value)
    return value


def _typed(table: Any, record: Mapping[str, Any], *, keep: bool = False) -> dict[str, Any]:
    """The record's values for the table's columns, turned back from text where needed
    (a forecast's question_id comes from its question unless `keep`)."""
    return {
        c.name: _parse_column(c, record.get(c.name))
        for c in table.columns
        if c.name in record and (keep or c.name != "question_id")
    }


class _Question:
    """The ledger of the questions a file holds, in its order."""

    def __init__(self, checked: Checked, new_ids: bool) -> None:
        self.checked = checked
        self.new_ids = new_ids
        self.ids: set[int] = set()

    def add(self, values: dict[str, Any], where: str) -> int:
        """Check and keep a question's values; returns the question_id its forecast rows
        carry."""
        stored = restore.check_question(values, where)
        if self.new_ids:
            stored.pop("id", None)
            stored["seed_key"] = None
            self.checked.questions.append(stored)
            return len(self.checked.questions) - 1
        qid = stored.get("id")
        if not isinstance(qid, int) or isinstance(qid, bool):
            raise InvalidInput(f"{where}: id {qid!r} is not a whole number", field="id")
        if qid in self.ids:
            raise InvalidInput(f"{where}: id {qid} is used twice in the file", field="id")
        self.ids.add(qid)
        self.checked.questions.append(stored)
        return qid


# -- import: reading JSON ---------------------------------------------------------------------


class _JsonForecast(msgspec.Struct):
    # Typed where the C decoder checks it for free; the rest is the restore rules' to judge.
    id: int | None = None
    forecaster: Any = None
    probability: Any = None
    estimate: str | None = None
    made_on: date | None = None
    rationale: str | None = None
    created_by: str | None = None
    created_at: datetime | None = None


# A question: each column of the table (absent ones stay UNSET, as an absent key did),
# its forecasts decoded straight into rows.
_JsonQuestion = msgspec.defstruct(
    "_JsonQuestion",
    [(c.name, Any, msgspec.UNSET) for c in questions.columns if c.name != "tag_index"]
    + [("forecasts", list[_JsonForecast] | None, None)],
)


class _JsonAudit(msgspec.Struct):
    id: Any = None
    at: datetime | None = None
    actor: Any = None
    action: Any = None
    object: str | None = None
    object_id: int | None = None
    question_id: int | None = None
    before: msgspec.Raw = msgspec.Raw(b"null")
    after: msgspec.Raw = msgspec.Raw(b"null")


class _JsonDocument(msgspec.Struct):
    # Each record stays raw (a view into the file, not a copy) until its turn comes, so the
    # file is never held decoded whole.
    format: Any = None
    questions: list[msgspec.Raw] | None = None
    suggestions: list[msgspec.Raw] = []
    evidence_links: list[msgspec.Raw] = []
    sources: list[msgspec.Raw] = []
    audit: msgspec.Raw = msgspec.Raw(b"[]")


def read_json(buffer: Any, *, new_ids: bool, progress: Progress | None = None) -> Checked:
    """A JSON export (bytes or a buffer such as an mmap of the file), checked whole."""
    try:
        document = msgspec.json.decode(buffer, type=_JsonDocument)
    except msgspec.DecodeError as exc:
        raise ValueError(f"not a {FORMAT} document: {exc}") from exc
    if document.format not in READABLE_FORMATS:
        raise ValueError(f"not a {FORMAT} document (format={document.format!r})")
    if document.questions is None:
        raise ValueError("'questions' must be a list")
    checked = Checked()
    ledger = _Question(checked, new_ids)
    rows = _Forecasts(checked.forecasts, new_ids)
    decode_question = msgspec.json.Decoder(_JsonQuestion).decode
    # The audit log first (decoded whole, in C): its length is part of the progress total.
    entries = [] if new_ids else _decode_audit(document.audit)
    total = len(document.questions) + len(entries)
    for n, raw in enumerate(document.questions, start=1):
        try:
            record = decode_question(raw)
        except msgspec.DecodeError as exc:
            raise ValueError(f"question record {n}: {exc}") from exc
        present = {
            name: getattr(record, name)
            for name in record.__struct_fields__
            if name != "forecasts" and getattr(record, name) is not msgspec.UNSET
        }
        try:
            values = _typed(questions, present)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"question record {n}: {exc}") from exc
        where = f"question {values.get('id', '?')}"
        question = ledger.add(values, where)
        # (defstruct's fields are unknown to a type checker)
        history: list[_JsonForecast] = getattr(record, "forecasts") or []  # noqa: B009
        if history:
            # Columns straight from the structs (astuple is C), in _JsonForecast's order.
            rows.add_all(where, 1, question, list(zip(*map(astuple, history), strict=True)))
        if progress is not None and n % 200 == 0:
            progress("checking", n, total)
    if not new_ids:
        checked.sources = [_typed(sources, r) for r in _dicts(document.sources, "sources")]
        checked.suggestions = [
            _typed(suggestions, r, keep=True) for r in _dicts(document.suggestions, "suggestions")
        ]
        checked.links = [
            _typed(links, r, keep=True) for r in _dicts(document.evidence_links, "evidence_links")
        ]
        _check_audit(entries, checked)
    if progress is not None:
        progress("checking", total, total)
    return checked


def _dicts(raws: Sequence[msgspec.Raw], key: str) -> list[dict[str, Any]]:
    try:
        return [msgspec.json.decode(raw, type=dict[str, Any]) for raw in raws]
    except msgspec.DecodeError as exc:
        raise ValueError(f"'{key}' must be a list of objects") from exc


def _decode_audit(raw: msgspec.Raw) -> list[_JsonAudit]:
    """The audit log, compacted and decoded whole: two calls in C rather than two a row."""
    try:
        compact = msgspec.json.format(raw, indent=-1)
        entries = msgspec.json.decode(compact, type=list[_JsonAudit])
    except msgspec.DecodeError:
        # Which record is wrong, named as one by one: decode each to find it.
        try:
            each = msgspec.json.decode(raw, type=list[msgspec.Raw])
        except msgspec.DecodeError as exc:
            raise ValueError(f"not a {FORMAT} document: 'audit' {exc}") from exc
        for n, one in enumerate(each, start=1):
            try:
                msgspec.json.decode(one, type=_JsonAudit)
            except msgspec.DecodeError as exc:
                raise ValueError(f"audit record {n}: {exc}") from exc
        raise
    return entries


def _check_audit(entries: list[_JsonAudit], checked: Checked) -> None:
    """The audit rows, checked a column at a time (restore.check_audit_entries), built by
    zip."""
    ids = list(map(_ID, entries))
    ats = list(map(_AT, entries))
    actors = list(map(_ACTOR, entries))
    actions = list(map(_ACTION, entries))
    restore.check_audit_entries(ids, actions, actors, ats)
    if len(set(ids)) != len(ids):
        seen: set[int] = set()
        for entry_id in ids:
            if entry_id in seen:
                raise InvalidInput(f"audit row {entry_id}: id used twice in the file", field="id")
            seen.add(entry_id)
    kinds = list(map(_OBJECT, entries))
    if None in kinds or "" in kinds:
        kinds = [k or str(a).split(".", 1)[0] for k, a in zip(kinds, actions, strict=True)]
    if any(at.tzinfo is None for at in ats):
        ats = list(map(_aware, ats))
    checked.audit = list(
        zip(
            ids,
            ats,
            actors,
            actions,
            kinds,
            map(_OBJECT_ID, entries),
            map(_QUESTION_ID, entries),
            _json_texts(map(_BEFORE, entries)),
            _json_texts(map(_AFTER, entries)),
            strict=True,
        )
    )


_ID, _AT, _ACTOR, _ACTION = (attrgetter(name) for name in ("id", "at", "actor", "action"))
_OBJECT, _OBJECT_ID = attrgetter("object"), attrgetter("object_id")
_QUESTION_ID, _BEFORE, _AFTER = (attrgetter(n) for n in ("question_id", "before", "after"))


def _json_texts(raws: Iterable[msgspec.Raw]) -> list[str | None]:
    """The text of each (views into the compacted log), null as None: joined and split
    again in C, as no compact JSON holds a raw line break."""
    views = list(raws)
    if not views:
        return []
    texts: list[str | None] = list(b"\n".join(views).decode().split("\n"))
    if "null" in texts:
        texts = [None if text == "null" else text for text in texts]
    return texts


# -- import: reading CSV ----------------------------------------------------------------------

CSV_NEEDED: tuple[str, ...] = ("question_id", "title", "resolution_criteria", "opened_on")
CSV_NEEDED += ("resolve_by", "forecaster", "probability", "made_on")
_QUESTION_CELLS = QUESTION_CSV_COLUMNS + MORE_QUESTION_CSV_COLUMNS


def _unreadable(probability: str, made_on: str, forecast_id: str, created: str) -> str:
    """Which of a CSV forecast's cells does not read as what it holds."""
    checks: list[tuple[str, Callable[[str], Any], str]] = [
        ("probability", float, probability),
        ("made_on", date.fromisoformat, made_on),
        ("forecast_id", int, forecast_id),
        ("forecast_created_at", datetime.fromisoformat, created),
    ]
    for name, read, text in checks:
        try:
            if text or name == "probability":
                read(text)
        except ValueError:
            return name
    return "a cell"


def _cell(text: str) -> str:
    """A cell as written before the export defused it (csv_cells): "'=x" was "=x"."""
    if text[:1] == "'" and text[1:2] and text[1:2] in FORMULA_START:
        return text[1:]
    return text


def _csv_question(cells: dict[str, str], where: str) -> dict[str, Any]:
    def day(name: str) -> date | None:
        value = cells.get(name, "")
        try:
            return date.fromisoformat(value) if value else None
        except ValueError as exc:
            raise InvalidInput(f"{where}: {name} {value!r} is not a date", field=name) from exc

    created = cells.get("question_created_at", "")
    try:
        created_at = datetime.fromisoformat(created) if created else None
    except ValueError as exc:
        raise InvalidInput(
            f"{where}: question_created_at {created!r} is not an instant", field="created_at"
        ) from exc
    values: dict[str, Any] = {
        "id": int(cells["question_id"]),
        "title": cells["title"],
        "resolution_criteria": cells["resolution_criteria"],
        "opened_on": day("opened_on"),
        "resolve_by": day("resolve_by"),
        "resolved_on": day("resolved_on"),
        "status": cells.get("status") or "open",
        "outcome": cells.get("outcome") or None,
        "tags": [t for t in cells.get("tags", "").split(";") if t],
        "default_outcome": cells.get("default_outcome") or "no",
        "news_query": cells.get("news_query", ""),
        # As for a question just made: the next cycle matches the news stored against it.
        "match_pending": (cells.get("status") or "open") == "open",
    }
    if created_at is not None:
        values["created_at"] = values["updated_at"] = _aware(created_at)
    return values


def read_csv(
    stream: TextIO, *, new_ids: bool, progress: Progress | None = None, lines: int = 0
) -> Checked:
    """A CSV of questions and forecasts (CSV_HELP), checked whole; `lines` (about how many
    the file has) is the progress total."""
    reader = csv.reader(stream)
    header = [name.strip() for name in next(reader, [])]
    missing = [name for name in CSV_NEEDED if name not in header]
    if missing:
        raise ValueError(f"the CSV has no {', '.join(missing)} column (see --help)")
    checked = Checked()
    lines_of = _CsvLines(header, checked, new_ids)
    width, key_at = lines_of.width, lines_of.key_at

    def question_of(item: tuple[int, list[str]]) -> str | None:
        row = item[1]
        return row[key_at] if len(row) == width else None

    reported = 0
    # The lines of one question come together: each stretch of them is read at once.
    for _key, stretch in groupby(enumerate(reader, start=2), key=question_of):
        numbered = list(stretch)
        lines_of.read(numbered)
        last = numbered[-1][0]
        if progress is not None and last - reported >= 20_000:
            reported = last
            progress("checking", last, max(lines, last))
    if progress is not None:
        progress("checking", lines, lines)
    return checked


class _CsvLines:
    """What the lines of a CSV read so far hold, and the reading of the next ones."""

    def __init__(self, header: list[str], checked: Checked, new_ids: bool) -> None:
        at = {name: i for i, name in enumerate(header)}
        self.at = at
        self.width = len(header)
        self.key_at = at["question_id"]
        # Cells taken by itemgetter (C); an optional column the file lacks reads the empty
        # cell appended to each row.
        self.question_cells = itemgetter(*(at[name] for name in _QUESTION_CELLS if name in at))
        wanted = (*FORECAST_CSV_COLUMNS, *MORE_FORECAST_CSV_COLUMNS)
        self.forecast_cells = itemgetter(*(at.get(name, self.width) for name in wanted))
        # The same, for a stretch of rows read at once (without the appended cell): the
        # columns the file has, by their place among `wanted`.
        self.had = [n for n, name in enumerate(wanted) if name in at]
        self.forecast_columns = itemgetter(*(at[wanted[n]] for n in self.had))
        self.ledger = _Question(checked, new_ids)
        self.rows = _Forecasts(checked.forecasts, new_ids)
        # Exported id -> (its first line, its question cells, the id its rows carry,
        # forecasts).
        self.seen: dict[str, tuple[int, tuple[str, ...], int, list[int]]] = {}

    def read(self, numbered: list[tuple[int, list[str]]]) -> None:
        """Lines in a row (their numbers, their cells) of one question, or of lines of the
        wrong width: all at once when they are as an export writes them, else one by one
        (which names a wrong one as the line it is)."""
        line, row = numbered[0]
        if len(row) != self.width or row[self.key_at] not in self.seen:
            self.line(line, row)  # (its question checked and kept, or refused)
            numbered = numbered[1:]
        if numbered and not self._together(numbered):
            for line, row in numbered:
                self.line(line, row)

    def _together(self, numbered: list[tuple[int, list[str]]]) -> bool:
        """Read lines of a question already known at once; False (nothing kept) when one
        of them is not a plain forecast of it or does not read."""
        rows = list(map(_ROW, numbered))
        key = rows[0][self.key_at]
        first, cells, question, count = self.seen[key]
        # (compared, not hashed: equal text compares as fast as memcmp)
        if not all(map(cells.__eq__, map(self.question_cells, rows))):
            return False
        got = list(zip(*map(self.forecast_columns, rows), strict=True))
        empty = ("",) * len(rows)
        columns = [empty] * 7
        for n, column in zip(self.had, got, strict=True):
            columns[n] = column
        names, text_p, estimates, made, fids, created, by = columns
        if not (all(names) and all(text_p) and all(made)):
            return False  # a question without forecasts, or a cell missing
        try:
            probabilities = list(map(float, text_p))
            made_on = list(map(date.fromisoformat, made))
            ids: Sequence[Any] = list(map(int, fids)) if all(fids) else fids
            instants: Sequence[Any] = (
                list(map(datetime.fromisoformat, created)) if all(created) else created
            )
        except ValueError:
            return False
        if any(ids) and not all(ids) or any(instants) and not all(instants):
            return False  # some cells empty (0 is no id the export writes either)
        nones = (None,) * len(rows)
        try:
            self.rows.add_all(
                f"question {key}",
                count[0] + 1,
                question,
                (
                    ids if all(ids) else nones,
                    _cells(names),
                    probabilities,
                    [e or None for e in _cells(estimates)] if any(estimates) else nones,
                    made_on,
                    nones,
                    [b or None for b in _cells(by)] if any(by) else nones,
                    instants if all(instants) else nones,
                ),
            )
        except InvalidInput:
            return False  # (nothing kept: named line by line)
        count[0] += len(rows)
        return True

    def line(self, line: int, row: list[str]) -> None:
        """One line: checked and kept, or refused naming it."""
        at, width, seen = self.at, self.width, self.seen
        if len(row) != width:
            raise InvalidInput(f"line {line}: {len(row)} cells for {width} columns")
        row.append("")
        key = row[self.key_at]
        mine = self.question_cells(row)
        known = seen.get(key)
        if known is None:
            where = f"line {line}: question {key}"
            if not key.isdigit():
                raise InvalidInput(f"{where}: question_id is not a whole number", field="id")
            named = {h: _cell(row[at[h]]) for h in _QUESTION_CELLS if h in at}
            question = self.ledger.add(_csv_question(named, where), where)
            known = seen[key] = (line, mine, question, [0])
        first, cells, question, count = known
        if mine != cells:
            raise InvalidInput(
                f"line {line}: question {key}: its question columns differ from line {first}"
            )
        name, text_p, estimate, made, fid, created, by = self.forecast_cells(row)
        if not name and not text_p:
            return  # a question without forecasts
        count[0] += 1
        try:
            probability: Any = float(text_p)
            made_on: Any = date.fromisoformat(made) if made else None
            forecast_id = int(fid) if fid else None
            created_at = datetime.fromisoformat(created) if created else None
            self.rows.add(
                f"question {key}",
                count[0],
                question,
                (forecast_id, _cell(name), probability, _cell(estimate) or None, made_on, None)
                + (_cell(by) or None, created_at),
            )
        except (ValueError, InvalidInput) as exc:
            # The line named only when something is wrong: no text is built per good row.
            if isinstance(exc, InvalidInput):
                raise InvalidInput(f"line {line}: {exc.detail}", field=exc.field) from exc
            bad = _unreadable(text_p, made, fid, created)
            raise InvalidInput(
                f"line {line}: question {key}, forecast {count[0]}: {bad} {exc}", field=bad
            ) from exc


_ROW = itemgetter(1)


def _cells(texts: Sequence[str]) -> Sequence[str]:
    """_cell of each: a column without a quote anywhere is left as it is."""
    return list(map(_cell, texts)) if "'" in "".join(texts) else texts
