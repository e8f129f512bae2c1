"""Export and import of questions with their forecasts and resolutions (JSON, lossless; CSV)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, func, insert, select, text

from forecasts.questions import bump_revision
from forecasts.tables import forecasts_t as forecasts
from forecasts.tables import questions_t as questions
from service.db import Database

FORMAT = "forecasts-export/1"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def export_json(db: Database) -> dict[str, Any]:
    """Every question with every column and its whole forecast history."""
    with db.read() as conn:
        question_rows = conn.execute(select(questions).order_by(questions.c.id)).mappings().all()
        forecast_rows = (
            conn.execute(select(forecasts).order_by(forecasts.c.question_id, forecasts.c.id))
            .mappings()
            .all()
        )
    by_question: dict[int, list[dict[str, Any]]] = {}
    for f in forecast_rows:
        by_question.setdefault(f["question_id"], []).append(
            {k: _plain(v) for k, v in f.items() if k != "question_id"}
        )
    items = []
    for q in question_rows:
        item = {k: _plain(v) for k, v in q.items() if k != "tag_index"}
        item["forecasts"] = by_question.get(q["id"], [])
        items.append(item)
    return {"format": FORMAT, "questions": items}


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
    """Store an export in one transaction; returns how many questions it held.

    Ids are kept, so export -> import -> export is the same document; an id that already
    exists aborts the whole import unless `new_ids` asks for fresh ones.
    """
    if document.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} document (format={document.get('format')!r})")
    records = document.get("questions")
    if not isinstance(records, list):
        raise ValueError("'questions' must be a list")
    with db.write() as conn:
        for record in records:
            record = dict(record)
            history = record.pop("forecasts", [])
            values = {
                c.name: _parse_column(c, record.get(c.name))
                for c in questions.columns
                if c.name in record
            }
            values["tag_index"] = (
                "|" + "|".join(values.get("tags") or []) + "|" if values.get("tags") else ""
            )
            if new_ids:
                values.pop("id", None)
                values["seed_key"] = None
            elif conn.execute(select(questions.c.id).where(questions.c.id == values["id"])).first():
                raise ValueError(
                    f"question {values['id']} already exists; import into an empty database "
                    "or pass --new-ids"
                )
            question_id = conn.execute(
                insert(questions).values(**values).returning(questions.c.id)
            ).scalar_one()
            for forecast in history:
                row = {
                    c.name: _parse_column(c, forecast.get(c.name))
                    for c in forecasts.columns
                    if c.name in forecast
                }
                row["question_id"] = question_id
                if new_ids:
                    row.pop("id", None)
                conn.execute(insert(forecasts).values(**row))
        bump_revision(conn)
        if not new_ids and conn.dialect.name == "postgresql":
            # Explicit ids leave the sequences behind; move them past the highest id.
            for table in ("questions", "forecasts"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"GREATEST((SELECT MAX(id) FROM {table}), 1))"
                    )
                )
    return len(records)


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
            [
                r[0],
                r[1],
                r[2],
                r[3] or "",
                r[4],
                r[5],
                r[6] or "",
                ";".join(r[7] or []),
                r[8] or "",
                "" if r[9] is None else r[9],
                r[10] or "",
                r[11] or "",
            ]
        )
    return out.getvalue()


def count_questions(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(questions)).scalar_one())
