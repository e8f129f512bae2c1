"""The CSV of questions and forecasts that `forecasts export --format csv` writes and
`forecasts import` reads: its columns and what they hold. Kept apart (and free of imports)
so that the command line can show it in --help without loading the import."""

from __future__ import annotations

# The CSV: one row per forecast, the question's columns repeated on each of its rows (a
# question without forecasts has one row, its forecast columns empty). The first twelve are
# the columns of the first CSV export; the rest make it importable on its own.
QUESTION_CSV_COLUMNS = (
    "question_id",
    "title",
    "status",
    "outcome",
    "opened_on",
    "resolve_by",
    "resolved_on",
    "tags",
)
FORECAST_CSV_COLUMNS = ("forecaster", "probability", "estimate", "made_on")
MORE_QUESTION_CSV_COLUMNS = (
    "resolution_criteria",
    "default_outcome",
    "news_query",
    "question_created_at",
)
MORE_FORECAST_CSV_COLUMNS = ("forecast_id", "forecast_created_at", "recorded_by")
CSV_COLUMNS = [
    *QUESTION_CSV_COLUMNS,
    *FORECAST_CSV_COLUMNS,
    *MORE_QUESTION_CSV_COLUMNS,
    *MORE_FORECAST_CSV_COLUMNS,
]
CSV_HELP = (
    "CSV: a header row, then one row per forecast, as `forecasts export --format csv` writes "
    "it. Needed columns: question_id (groups the rows of one question), title, "
    "resolution_criteria, opened_on and resolve_by (YYYY-MM-DD), forecaster, probability "
    "(0 to 1) and made_on. Optional: status (open, resolved, annulled), outcome (yes/no when "
    "resolved), resolved_on, tags (separated by ;), default_outcome, news_query, "
    "question_created_at, forecast_id, forecast_created_at (ISO 8601), estimate, recorded_by. "
    "A question's columns must be the same on each of its rows; a row with forecaster and "
    "probability empty is a question without forecasts. Probabilities in the exported CSV "
    "have four decimals (JSON keeps them exactly)."
)
