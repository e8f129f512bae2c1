"""The files an import reads, JSON (`forecasts export`) or CSV, read and checked whole
before anything is written: each record goes through the domain's restore rules
(forecasts.restore) and becomes a row ready to write, or the file is refused, naming the
record and the field. The JSON is decoded by msgspec, record by record from views into the
file (never decoded whole, never copied); the CSV is read by service.csv_import, with the
ledger and forecast rows defined here."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import repeat
from operator import attrgetter
from typing import Any

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
    # Places in `questions` whose news_query_derived is still to be worked out (False until
    # then; see QuestionLedger).
    underived: list[int] = field(default_factory=list)
    forecasts: list[tuple[Any, ...]] = field(default_factory=list)
    audit: list[tuple[Any, ...]] = field(default_factory=list)
    # How many audit rows the file holds, known (for a progress total) before they are read.
    audit_count: int = 0
    sources: list[dict[str, Any]] = field(default_factory=list)
    suggestions: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Imported:
    added: int  # questions stored
    present: int  # questions found stored already (the same file imported before)


class ForecastRows:
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
            + (created_by, aware_instant(created) if created is not None else utcnow())
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
            created = [aware_instant(c) if c is not None else utcnow() for c in created]
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


def aware_instant(instant: datetime) -> datetime:
    # An instant written without an offset is UTC, as the service stores every instant.
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def _parse_column(column: Any, value: Any) -> Any:
    """Turn an exported text value back into what the column holds."""
    if value is None or not isinstance(value, str):
        return value
    kind = getattr(column.type, "impl", column.type)
    if isinstance(kind, DateTime):
        return aware_instant(datetime.fromisoformat(value))
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


class QuestionLedger:
    """The ledger of the questions a file holds, in its order. With `derive_later`, a
    question without news_query_derived is kept with it False and its place noted in
    `underived`, for `derive` to work it out once the file is read (the derivation is a
    third of reading a CSV, and can wait until the forecasts are written)."""

    def __init__(self, checked: Checked, new_ids: bool, *, derive_later: bool = False) -> None:
        self.checked = checked
        self.new_ids = new_ids
        self.derive_later = derive_later
        self.ids: set[int] = set()

    def add(self, values: dict[str, Any], where: str) -> int:
        """Check and keep a question's values; returns the question_id its forecast rows
        carry."""
        later = self.derive_later and "news_query_derived" not in values
        stored = restore.check_question(
            {**values, "news_query_derived": False} if later else values, where
        )
        if later:
            self.checked.underived.append(len(self.checked.questions))
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


def derive(checked: Checked) -> None:
    """Work out the news_query_derived the ledger left for later (`underived` stays: the
    writer sets those stored before that came out True)."""
    for n in checked.underived:
        question = checked.questions[n]
        question["news_query_derived"] = restore.derives_query(question)


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


def read_json(
    buffer: Any,
    *,
    new_ids: bool,
    progress: Progress | None = None,
    into: Checked | None = None,
    on_forecasts: Callable[[], None] | None = None,
) -> Checked:
    """A JSON export (bytes or a buffer such as an mmap of the file), checked whole (into
    `into`, if given). `on_forecasts()` is told once every question and forecast is in it,
    before the rest is read: a writer may store them meanwhile (service.transfer)."""
    try:
        document = msgspec.json.decode(buffer, type=_JsonDocument)
    except msgspec.DecodeError as exc:
        raise ValueError(f"not a {FORMAT} document: {exc}") from exc
    if document.format not in READABLE_FORMATS:
        raise ValueError(f"not a {FORMAT} document (format={document.format!r})")
    if document.questions is None:
        raise ValueError("'questions' must be a list")
    checked = Checked() if into is None else into
    ledger = QuestionLedger(checked, new_ids)
    rows = ForecastRows(checked.forecasts, new_ids)
    decode_question = msgspec.json.Decoder(_JsonQuestion).decode
    # The audit log's length is part of the progress total: counted here (in C, a tenth of
    # its decoding), decoded once the questions and forecasts are read, so that a writer
    # (service.transfer) can store those while the log is decoded and checked.
    if not (new_ids or progress is None):
        checked.audit_count = _count_audit(document.audit)
    total = len(document.questions) + checked.audit_count
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
    if on_forecasts is not None:
        on_forecasts()
    if not new_ids:
        checked.sources = [_typed(sources, r) for r in _dicts(document.sources, "sources")]
        checked.suggestions = [
            _typed(suggestions, r, keep=True) for r in _dicts(document.suggestions, "suggestions")
        ]
        checked.links = [
            _typed(links, r, keep=True) for r in _dicts(document.evidence_links, "evidence_links")
        ]
        _check_audit(_decode_audit(document.audit), checked)
    if progress is not None:
        progress("checking", total, total)
    return checked


def _dicts(raws: Sequence[msgspec.Raw], key: str) -> list[dict[str, Any]]:
    try:
        return [msgspec.json.decode(raw, type=dict[str, Any]) for raw in raws]
    except msgspec.DecodeError as exc:
        raise ValueError(f"'{key}' must be a list of objects") from exc


def _count_audit(raw: msgspec.Raw) -> int:
    try:
        return len(msgspec.json.decode(raw, type=list[msgspec.Raw]))
    except msgspec.DecodeError as exc:
        raise ValueError(f"not a {FORMAT} document: 'audit' {exc}") from exc


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
        ats = list(map(aware_instant, ats))
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
