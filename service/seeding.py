"""Loading the bundled seed article's questions (idempotent: keyed by seed_key)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from forecasts import question_views as views
from forecasts import questions as domain
from forecasts.schemas import QuestionCreate
from service.db import Database

SEED_ACTOR = "seed"


def seed_records() -> list[dict[str, Any]]:
    text = resources.files("seeds").joinpath("questions.json").read_text("utf-8")
    records: list[dict[str, Any]] = json.loads(text)
    return records


def load_seeds(db: Database) -> tuple[int, int]:
    """Create the seed questions that are missing; returns (created, already there)."""
    created = existing = 0
    today = domain.utc_today()
    for record in seed_records():
        record = dict(record)
        seed_key = record.pop("seed_key")
        spec = QuestionCreate.model_validate(record)
        with db.write() as conn:
            if views.find_by_seed_key(conn, seed_key) is not None:
                existing += 1
                continue
            domain.create_question(
                conn,
                spec,
                today=today,
                actor=SEED_ACTOR,
                seed_key=seed_key,
            )
            created += 1
    return created, existing
