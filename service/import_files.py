"""The files an import reads, JSON (`forecasts export`) or CSV, read and checked whole
before anything is written: each record goes through the domain's restore rules
(forecasts.restore) and becomes a row ready to write, or the file is refused, naming the
record and the field. The JSON is decoded by msgspec, record by record from views into the
file (never decoded whole, never copied); the CSV by the csv module."""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from operator import itemgetter
from typing import Any, TextIO

import msgspec
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
    audit: list[msgspec.Raw] = []


def _json_text(raw: msgspec.Raw) -> str | None:
    if bytes(raw) == b"null":
        return None
    return msgspec.json.format(raw, indent=-1).decode()


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
    total = len(document.questions) + len(document.audit)
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
        for k, f in enumerate(history, start=1):
            rows.add(
                where,
                k,
                question,
                (f.id, f.forecaster, f.probability, f.estimate, f.made_on, f.rationale)
                + (f.created_by, f.created_at),
            )
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
        _check_audit(document.audit, checked, len(document.questions), total, progress)
    if progress is not None:
        progress("checking", total, total)
    return checked


def _dicts(raws: Sequence[msgspec.Raw], key: str) -> list[dict[str, Any]]:
    try:
        return [msgspec.json.decode(raw, type=dict[str, Any]) for raw in raws]
    except msgspec.DecodeError as exc:
        raise ValueError(f"'{key}' must be a list of objects") from exc


def _check_audit(
    raws: Sequence[msgspec.Raw], checked: Checked, done: int, total: int, progress: Progress | None
) -> None:
    decode = msgspec.json.Decoder(_JsonAudit).decode
    seen: set[int] = set()
    for n, raw in enumerate(raws, start=1):
        try:
            e = decode(raw)
        except msgspec.DecodeError as exc:
            raise ValueError(f"audit record {n}: {exc}") from exc
        restore.check_audit_entry(e.id, e.action, e.actor, e.at)
        if e.id in seen:
            raise InvalidInput(f"audit row {e.id}: id used twice in the file", field="id")
        seen.add(e.id)
        kind = e.object or str(e.action).split(".", 1)[0]
        at = _aware(e.at) if e.at is not None else e.at  # (check_audit_entry: never None)
        checked.audit.append(
            (e.id, at, e.actor, e.action, kind, e.object_id, e.question_id)
            + (_json_text(e.before), _json_text(e.after))
        )
        if progress is not None and n % 5000 == 0:
            progress("checking", done + n, total)


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
    at = {name: i for i, name in enumerate(header)}
    width = len(header)
    # Cells taken by itemgetter (C); an optional column the file lacks reads the empty cell
    # appended to each row.
    question_cells = itemgetter(*(at[name] for name in _QUESTION_CELLS if name in at))
    forecast_cells = itemgetter(
        *(at.get(name, width) for name in (*FORECAST_CSV_COLUMNS, *MORE_FORECAST_CSV_COLUMNS))
    )
    key_at = at["question_id"]
    checked = Checked()
    ledger = _Question(checked, new_ids)
    rows = _Forecasts(checked.forecasts, new_ids)
    # Exported id -> (its first line, its question cells, the id its rows carry, forecasts).
    seen: dict[str, tuple[int, tuple[str, ...], int, list[int]]] = {}
    for line, row in enumerate(reader, start=2):
        if len(row) != width:
            raise InvalidInput(f"line {line}: {len(row)} cells for {width} columns")
        row.append("")
        key = row[key_at]
        mine = question_cells(row)
        known = seen.get(key)
        if known is None:
            where = f"line {line}: question {key}"
            if not key.isdigit():
                raise InvalidInput(f"{where}: question_id is not a whole number", field="id")
            named = {h: _cell(row[at[h]]) for h in _QUESTION_CELLS if h in at}
            known = seen[key] = (line, mine, ledger.add(_csv_question(named, where), where), [0])
        first, cells, question, count = known
        if mine != cells:
            raise InvalidInput(
                f"line {line}: question {key}: its question columns differ from line {first}"
            )
        name, text_p, estimate, made, fid, created, by = forecast_cells(row)
        if not name and not text_p:
            continue  # a question without forecasts
        count[0] += 1
        try:
            probability: Any = float(text_p)
            made_on: Any = date.fromisoformat(made) if made else None
            forecast_id = int(fid) if fid else None
            created_at = datetime.fromisoformat(created) if created else None
            rows.add(
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
        if progress is not None and line % 20_000 == 0:
            progress("checking", line, max(lines, line))
    if progress is not None:
        progress("checking", lines, lines)
    return checked
