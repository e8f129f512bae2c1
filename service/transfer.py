"""Export and import of the whole record (JSON, lossless) and a CSV of the forecasts."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, func, insert, select, text

from forecasts import restore
from forecasts.tables import audit_t
from forecasts.tables import forecasts_t as forecasts
from forecasts.tables import links_t as links
from forecasts.tables import questions_t as questions
from forecasts.tables import sources_t as sources
from forecasts.tables import suggestions_t as suggestions
from service.csv_cells import csv_cell
from service.db import Database
from service.sourceconfig import public_options

FORMAT = "forecasts-export/2"
# Version 1 held questions and forecasts only; it still imports.
READABLE_FORMATS = ("forecasts-export/1", FORMAT)


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


def _parse_column(column: Any, value: Any) -> Any:
    """Turn an exported text value back into what the column holds."""
    if value is None:
        return None
    kind = getattr(column.type, "impl", column.type)
    if isinstance(kind, DateTime):
        return datetime.fromisoformat(value)
    if isinstance(kind, Date):
        return date.fromisoformat(value)
    return value


def import_json(db: Database, document: dict[str, Any], *, new_ids: bool = False) -> int:
    """Store an export in one transaction; returns how many questions it added.

    Each record goes through the domain's restore rules (forecasts.restore), so a bad record
    refuses the whole file, naming it, and writes nothing. Ids are kept, so an import into
    an empty database reproduces the exported record, and importing the same file twice
    adds nothing. `new_ids` copies the questions and their forecasts under fresh ids (for
    merging into a database that has its own), leaving suggestions, sources and audit out.
    """
    if document.get("format") not in READABLE_FORMATS:
        raise ValueError(f"not a {FORMAT} document (format={document.get('format')!r})")
    records = document.get("questions")
    if not isinstance(records, list):
        raise ValueError("'questions' must be a list")
    added = 0
    with db.write() as conn:
        for n, record in enumerate(records, start=1):
            if not isinstance(record, dict):
                raise ValueError(f"question record {n} is not an object")
            history = record.get("forecasts") or []
            try:
                values = _typed(questions, record)
                rows = [_typed(forecasts, f) for f in history if isinstance(f, dict)]
            except (TypeError, ValueError) as exc:
                raise ValueError(f"question record {n}: {exc}") from exc
            values.pop("tag_index", None)
            if restore.restore_question(conn, values, rows, keep_id=not new_ids) is not None:
                added += 1
        if not new_ids:
            for source in _records(document, "sources"):
                _restore_source(conn, _typed(sources, source))
            for suggestion in _records(document, "suggestions"):
                restore.restore_suggestion(conn, _typed(suggestions, suggestion, keep=True))
            for link in _records(document, "evidence_links"):
                restore.restore_evidence_link(conn, _typed(links, link, keep=True))
            for entry in _records(document, "audit"):
                restore.restore_audit_entry(conn, _typed(audit_t, entry, keep=True))
        if not new_ids and conn.dialect.name == "postgresql":
            # Explicit ids leave the sequences behind; move them past the highest id.
            for table in ("questions", "forecasts", "suggestions", "evidence_links", "sources"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"GREATEST((SELECT MAX(id) FROM {table}), 1))"
                    )
                )
            conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('audit_log', 'id'), "
                    "GREATEST((SELECT MAX(id) FROM audit_log), 1))"
                )
            )
    return added


def _records(document: dict[str, Any], key: str) -> list[dict[str, Any]]:
    found = document.get(key) or []
    if not isinstance(found, list) or not all(isinstance(r, dict) for r in found):
        raise ValueError(f"'{key}' must be a list of objects")
    return found


def _restore_source(conn: Any, values: dict[str, Any]) -> None:
    """A source is restored by name: one already configured stays as it is."""
    taken = conn.execute(
        select(sources.c.id).where(
            (sources.c.name == values.get("name")) | (sources.c.id == values.get("id"))
        )
    ).first()
    if taken is None:
        conn.execute(insert(sources), values)


def _typed(table: Any, record: dict[str, Any], *, keep: bool = False) -> dict[str, Any]:
    """The record's values for the table's columns, turned back from text where needed
    (a forecast's question_id comes from its question unless `keep`)."""
    return {
        c.name: _parse_column(c, record.get(c.name))
        for c in table.columns
        if c.name in record and (keep or c.name != "question_id")
    }


CSV_COLUMNS = [
    "question_id",
    "title",
    "status",
    "outcome",
    "opened_on",
    "resolve_by",
    "resolved_on",
    "tags",
    "forecaster",
    "probability",
    "estimate",
    "made_on",
]


def export_csv(db: Database) -> str:
    """One row per forecast (questions without forecasts get one row with empty forecast)."""
    with db.read() as conn:
        rows = conn.execute(
            select(
                questions.c.id,
                questions.c.title,
                questions.c.status,
                questions.c.outcome,
                questions.c.opened_on,
                questions.c.resolve_by,
                questions.c.resolved_on,
                questions.c.tags,
                forecasts.c.forecaster,
                forecasts.c.probability,
                forecasts.c.estimate,
                forecasts.c.made_on,
            )
            .select_from(questions.outerjoin(forecasts, forecasts.c.question_id == questions.c.id))
            .order_by(questions.c.id, forecasts.c.id)
        ).all()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow(
            csv_cell(value)
            for value in (
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                ";".join(r[7] or []),
                r[8],
                r[9],
                r[10],
                r[11],
            )
        )
    return out.getvalue()


def count_questions(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(questions)).scalar_one())
