"""Reading a CSV of questions and forecasts (the columns of `forecasts export --csv`, listed
by `forecasts import --help`) for an import: checked whole, with the same ledger and
forecast rows as the JSON reader (service.import_files), before anything is written."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from datetime import date, datetime
from itertools import groupby
from operator import itemgetter
from typing import Any, TextIO

from forecasts.errors import InvalidInput
from service.csv_cells import FORMULA_START
from service.csv_format import (
    FORECAST_CSV_COLUMNS,
    MORE_FORECAST_CSV_COLUMNS,
    MORE_QUESTION_CSV_COLUMNS,
    QUESTION_CSV_COLUMNS,
)
from service.import_files import (
    Checked,
    ForecastRows,
    Progress,
    QuestionLedger,
    aware_instant,
    derive,
)

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
        values["created_at"] = values["updated_at"] = aware_instant(created_at)
    return values


def read_csv(
    stream: TextIO,
    *,
    new_ids: bool,
    progress: Progress | None = None,
    lines: int = 0,
    into: Checked | None = None,
    on_forecasts: Callable[[], None] | None = None,
) -> Checked:
    """A CSV of questions and forecasts (CSV_HELP), checked whole (into `into`, if given);
    `lines` (about how many the file has) is the progress total. With `on_forecasts` (told
    once every question and forecast is in it, as read_json), the questions'
    news_query_derived is worked out after that (see QuestionLedger): a writer that stored
    them meanwhile is to set the `underived` ones that came out True."""
    reader = csv.reader(stream)
    header = [name.strip() for name in next(reader, [])]
    missing = [name for name in CSV_NEEDED if name not in header]
    if missing:
        raise ValueError(f"the CSV has no {', '.join(missing)} column (see --help)")
    checked = Checked() if into is None else into
    lines_of = _CsvLines(header, checked, new_ids, derive_later=on_forecasts is not None)
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
    if on_forecasts is not None:
        on_forecasts()
        derive(checked)
    if progress is not None:
        progress("checking", lines, lines)
    return checked


class _CsvLines:
    """What the lines of a CSV read so far hold, and the reading of the next ones."""

    def __init__(
        self, header: list[str], checked: Checked, new_ids: bool, *, derive_later: bool
    ) -> None:
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
        self.ledger = QuestionLedger(checked, new_ids, derive_later=derive_later)
        self.rows = ForecastRows(checked.forecasts, new_ids)
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
