"""What matching reads from storage, and the one thing it writes back about items: the open
questions as specs, stored news items in batches by id (unmatched ones, or matched ones in a
date window for questions that are new or changed), and marking items matched.

Rows are read with SQLAlchemy Core, only the columns the matcher uses. Batches are pages by
id (after the last id seen), so a caller can match each in short transactions of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from forecasts.tables import news_t, questions_t
from resolvers.analysis import MatchItem, QuestionSpec, question_spec
from resolvers.items import Store, chunks
from resolvers.match import no_collection_pauses


def load_open_questions(conn: Connection, *, match_pending: bool = False) -> list[QuestionSpec]:
    """Every open question with a usable query (only those whose stored news is still to be
    matched, with `match_pending`)."""
    where = [questions_t.c.status == "open"]
    if match_pending:
        where.append(questions_t.c.match_pending.is_(True))
    rows = conn.execute(
        select(
            questions_t.c.id,
            questions_t.c.news_query,
            questions_t.c.opened_on,
            questions_t.c.resolve_by,
            questions_t.c.default_outcome,
            questions_t.c.title,
            questions_t.c.resolution_criteria,
            questions_t.c.news_query_derived,
        ).where(*where)
    )
    # Analysing 100,000 questions makes millions of small objects and no cycles: the same
    # reason as the index build's.
    with no_collection_pauses():
        specs = _specs(rows)
    return specs


def analyse_open_questions(store: Store) -> list[QuestionSpec]:
    """Load and analyse every open question as matching will (QuestionSpec.index_terms),
    so that the cycle's own load finds them analysed (resolvers.analysis caches specs):
    something to run on a thread while the sources are fetched, when the cycle's thread
    only waits. Returns the specs."""
    with store.read() as conn:
        specs = load_open_questions(conn)
    with no_collection_pauses():
        for spec in specs:
            spec.index_terms  # noqa: B018 - a cached_property: working it out is the point
    return specs


def _specs(rows: Any) -> list[QuestionSpec]:
    specs: list[QuestionSpec] = []
    append = specs.append
    # Rows unpacked as tuples, in load_open_questions' column order: the loop runs once per
    # open question every cycle.
    for qid, query, opened_on, resolve_by, default_outcome, title, criteria, derived in rows:
        spec = question_spec(
            qid,
            query,
            opened_on,
            resolve_by,
            default_outcome,
            title,
            criteria or "",
            # Stored when the query was set: deriving it again for every question on every
            # cycle cost more than the matching itself at 10k questions.
            derived=bool(derived),
        )
        if spec is not None:
            append(spec)
    return specs


def _aware(instant: datetime) -> datetime:
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def item_from_row(row: Any) -> MatchItem:
    """The matcher's view of a stored item. An undated one counts as reported on the day it
    was first seen (fetched_at), unless it came with its source's first poll: then nothing
    says when it was published, and it is never evidence (date_basis "unknown")."""
    if row.published_at is not None:
        published, basis = _aware(row.published_at), "source"
    else:
        published = _aware(row.fetched_at)
        basis = "unknown" if row.first_poll else "first-seen"
    return MatchItem(
        key=row.dedup_key,
        title=row.title or "",
        summary=row.summary or "",
        link=row.link or "",
        published_at=published,
        source=row.source_name or "",
        date_basis=basis,
    )


_ITEM_COLUMNS = (
    news_t.c.id,
    news_t.c.dedup_key,
    news_t.c.title,
    news_t.c.summary,
    news_t.c.link,
    news_t.c.published_at,
    news_t.c.fetched_at,
    news_t.c.first_poll,
    news_t.c.source_name,
)


def unmatched_batch(conn: Connection, after_id: int, limit: int) -> list[Any]:
    """The next unmatched items by id."""
    return list(
        conn.execute(
            select(*_ITEM_COLUMNS)
            .where(news_t.c.matched.is_(False), news_t.c.id > after_id)
            .order_by(news_t.c.id)
            .limit(limit)
        ).all()
    )


def matched_batch(
    conn: Connection,
    after_id: int,
    limit: int,
    start: datetime,
    end: datetime,
    *,
    before_id: int | None = None,
) -> list[Any]:
    """The next already matched items by id, published (or, undated, first seen) in
    [start, end) (and below `before_id`, if given)."""
    below = [] if before_id is None else [news_t.c.id < before_id]
    return list(
        conn.execute(
            select(*_ITEM_COLUMNS)
            .where(
                news_t.c.matched.is_(True),
                news_t.c.id > after_id,
                or_(
                    and_(news_t.c.published_at >= start, news_t.c.published_at < end),
                    # Undated items count from the day they were first seen.
                    and_(
                        news_t.c.published_at.is_(None),
                        news_t.c.first_poll.is_(False),
                        news_t.c.fetched_at >= start,
                        news_t.c.fetched_at < end,
                    ),
                ),
                *below,
            )
            .order_by(news_t.c.id)
            .limit(limit)
        )
    )


def mark_matched(conn: Connection, item_ids: Sequence[int]) -> None:
    for part in chunks(list(item_ids), 500):
        conn.execute(update(news_t).where(news_t.c.id.in_(part)).values(matched=True))
