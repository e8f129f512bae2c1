"""The judging tests' way of writing a case: a question as matching holds it, and a dated
news item (link hosts end in .invalid)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from forecasts.derived_query import derive_query
from resolvers.analysis import AnalysedItem, MatchItem, QuestionSpec, question_spec


def question(
    title: str, query: str | None, opened: str, resolve_by: str, criteria: str = ""
) -> QuestionSpec:
    """The question with its `query`, or (None) the one the service derives from the title."""
    spec = question_spec(
        1,
        query if query is not None else derive_query(title),
        date.fromisoformat(opened),
        date.fromisoformat(resolve_by),
        "no",
        title,
        criteria,
    )
    assert spec is not None
    return spec


def news(title: str, summary: str, when: str, source: str = "wire") -> AnalysedItem:
    return AnalysedItem(
        MatchItem(
            key=f"{when}-{title[:20]}",
            title=title,
            summary=summary,
            link=f"https://{source}.invalid/{when}",
            published_at=datetime.fromisoformat(when).replace(tzinfo=UTC),
            source=source,
        )
    )
