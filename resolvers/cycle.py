"""One poll cycle end to end: fetch the due sources concurrently, store their new items,
match every unmatched item against the open questions, then run the deadline check.

Every step commits in short transactions of its own and is safe to repeat: items are stored
once by their dedup key, an item is marked matched in the transaction that records its
evidence, and evidence links keep an item from counting twice. A cycle killed at any point
and run again therefore raises no duplicate suggestion, and items it stored but never matched
are matched by the next one.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update

from forecasts.models import utcnow
from forecasts.tables import news_t, questions_t, sources_t
from resolvers.analysis import AnalysedItem
from resolvers.deadline import check_deadlines
from resolvers.fetch import Fetcher, redact
from resolvers.ingest import store_items
from resolvers.items import FetchOutcome, PollConfig, ProgressCallback, QuestionWindow, Store
from resolvers.match import MatchIndex, hits_for
from resolvers.news_store import (
    item_from_row,
    load_open_questions,
    mark_matched,
    matched_batch,
    unmatched_batch,
)
from resolvers.sources import SourceSpec, poll_source
from resolvers.suggestion_store import record_hits

log = logging.getLogger(__name__)


PER_QUESTION_KINDS = frozenset({"gdelt", "guardian"})
MAX_BACKOFF = timedelta(hours=24)
MATCH_BATCH = 500
ERROR_CHARS = 1000
STATUS_CHARS = 100  # sources.last_status
_POLLED_OK = ("ok", "not-modified")


@dataclass
class CycleReport:
    """What one cycle did, as POST /api/poll answers it."""

    sources_polled: int = 0
    new_items: int = 0
    suggestions_created: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_cycle(
    store: Store,
    config: PollConfig,
    *,
    force: bool = False,
    source_ids: list[int] | None = None,
    progress: ProgressCallback | None = None,
    now: datetime | None = None,
    match: bool = True,
) -> CycleReport:
    """Run one cycle. Sources: the enabled ones that are due and not backing off (every
    enabled one if `force`); `source_ids` restricts them to those ids (an empty list polls
    none and only matches and checks deadlines), and a source asked for by id is polled
    whenever it is not backing off, because whoever names it decides when it is due.

    `match=False` only fetches and stores: the scheduler's per-source jobs do that and leave
    matching and the deadline check to one pass for all of them (match_and_check)."""
    now = (now or utcnow()).astimezone(UTC)
    report = CycleReport()
    with store.read() as conn:
        specs = _sources_to_poll(conn, now, force=force, source_ids=source_ids)
        windows = _windows(conn) if any(s.kind in PER_QUESTION_KINDS for s in specs) else []
    if specs:
        outcomes = asyncio.run(_fetch_all(specs, windows, config, now, progress))
        for spec, outcome in zip(specs, outcomes, strict=True):
            report.new_items += _record_source(store, spec, outcome, now)
            report.sources_polled += 1
            if outcome.status == "error":
                report.errors.append({"source": spec.name, "error": outcome.error or "error"})
    if match:
        report.suggestions_created += match_and_check(store, config, now=now, progress=progress)
    return report


def match_and_check(
    store: Store,
    config: PollConfig,
    *,
    now: datetime,
    progress: ProgressCallback | None = None,
) -> int:
    """Match every stored, unmatched item (and new or changed questions against the items
    already stored), then run the deadline check; returns how many suggestions were raised."""
    created = 0
    with store.read() as conn:
        # Items at or past the first unmatched one are about to be matched against every
        # open question, the new ones included; only those before it need the extra pass.
        first_unmatched: int | None = conn.execute(
            select(func.min(news_t.c.id)).where(news_t.c.matched.is_(False))
        ).scalar_one()
    created += match_unmatched(store, now=now, progress=progress)
    created += match_new_questions(store, now=now, before_id=first_unmatched)
    with store.write() as conn:
        created += check_deadlines(conn, today=now.date(), grace_days=config.grace_days, now=now)
    return created


# ---------------------------------------------------------------------------------------------
# Choosing and fetching sources


def _sources_to_poll(
    conn: Any, now: datetime, *, force: bool, source_ids: list[int] | None
) -> list[SourceSpec]:
    query = select(sources_t).where(sources_t.c.enabled.is_(True)).order_by(sources_t.c.id)
    if source_ids is not None:
        if not source_ids:
            return []
        query = query.where(sources_t.c.id.in_(source_ids))
    if not force:
        query = query.where(
            or_(sources_t.c.backoff_until.is_(None), sources_t.c.backoff_until <= now)
        )
    specs = []
    for row in conn.execute(query):
        if not force and source_ids is None and not _due(row, now):
            continue
        specs.append(
            SourceSpec(
                id=row.id,
                name=row.name,
                kind=row.kind,
                url=row.url,
                options=dict(row.options or {}),
                etag=row.etag,
                last_modified=row.last_modified,
            )
        )
    return specs


def _aware(instant: datetime | None) -> datetime | None:
    if instant is None:
        return None
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def _due(row: Any, now: datetime) -> bool:
    last = _aware(row.last_polled_at)
    return last is None or last + timedelta(minutes=row.poll_every_minutes) <= now


def _windows(conn: Any) -> list[QuestionWindow]:
    rows = conn.execute(
        select(
            questions_t.c.id,
            questions_t.c.news_query,
            questions_t.c.opened_on,
            questions_t.c.resolve_by,
        )
        .where(questions_t.c.status == "open")
        .order_by(questions_t.c.id)
    )
    return [QuestionWindow(r.id, r.news_query, r.opened_on, r.resolve_by) for r in rows]


async def _fetch_all(
    specs: list[SourceSpec],
    windows: list[QuestionWindow],
    config: PollConfig,
    now: datetime,
    progress: ProgressCallback | None,
) -> list[FetchOutcome]:
    """Poll every source at once, each within its own deadline; outcomes in `specs` order."""
    total = len(specs)
    done = 0
    if progress:
        progress("fetch", 0, total)
    async with Fetcher(config) as fetcher:

        async def one(spec: SourceSpec) -> FetchOutcome:
            nonlocal done
            try:
                outcome = await asyncio.wait_for(
                    poll_source(fetcher, spec, windows, config, now=now),
                    timeout=config.source_deadline_seconds,
                )
            except TimeoutError:
                outcome = FetchOutcome(
                    status="error",
                    error=f"no answer within the source deadline "
                    f"({config.source_deadline_seconds:g} s)",
                )
            except Exception as exc:  # noqa: BLE001 - one source must not stop the others
                log.exception("polling %s failed", spec.name)
                outcome = FetchOutcome(status="error", error=f"{type(exc).__name__}: {exc}")
            done += 1
            if progress:
                progress("fetch", done, total)
            return outcome

        return list(await asyncio.gather(*(one(spec) for spec in specs)))


def _record_source(store: Store, spec: SourceSpec, outcome: FetchOutcome, now: datetime) -> int:
    """Store the source's new items and its health in one short transaction; returns how
    many items were new."""
    with store.write() as conn:
        row = conn.execute(
            select(
                sources_t.c.id,
                sources_t.c.poll_every_minutes,
                sources_t.c.consecutive_failures,
                sources_t.c.items_seen,
                sources_t.c.last_status,
            ).where(sources_t.c.id == spec.id)
        ).first()
        # A source deleted while it was being fetched keeps its items, unattributed.
        owner = spec.id if row else None
        # Its first poll is the first that brings anything: what a feed holds then may be
        # years old, and an undated item of it can never count (resolvers.news_store).
        first_poll = row is None or (
            row.items_seen == 0 and not str(row.last_status or "").startswith(_POLLED_OK)
        )
        new_ids = (
            store_items(conn, owner, outcome.items, first_poll=first_poll) if outcome.items else []
        )
        if row is None:
            return len(new_ids)
        values: dict[str, Any] = {
            "last_polled_at": now,
            "items_seen": sources_t.c.items_seen + len(new_ids),
            "updated_at": now,
        }
        if outcome.status == "error":
            failures = row.consecutive_failures + 1
            backoff = min(
                timedelta(minutes=row.poll_every_minutes * 2 ** min(failures, 20)), MAX_BACKOFF
            )
            retry_after = timedelta(seconds=outcome.retry_after_seconds or 0.0)
            values.update(
                last_status="error",
                last_error=redact(outcome.error or "error")[:ERROR_CHARS],
                consecutive_failures=failures,
                backoff_until=now + max(retry_after, backoff),
            )
            # Per-question kinds keep their round-robin place in etag even after a fault.
            if outcome.etag is not None:
                values["etag"] = outcome.etag
        else:
            status = outcome.status
            if outcome.status_note:
                status = f"{status} ({outcome.status_note})"[:STATUS_CHARS]
            values.update(
                last_status=status,
                last_error=None,
                consecutive_failures=0,
                backoff_until=None,
                etag=outcome.etag,
                last_modified=outcome.last_modified,
            )
        conn.execute(update(sources_t).where(sources_t.c.id == spec.id).values(**values))
        return len(new_ids)


# ---------------------------------------------------------------------------------------------
# Matching


def match_new_questions(
    store: Store, *, now: datetime, before_id: int | None = None, batch_size: int = MATCH_BATCH
) -> int:
    """Match the news stored before a question was created (or its query or window changed)
    against it: one pass over the stored items in those questions' windows, with an index of
    just those questions, however many were added. Returns suggestions created.

    Items not yet matched at all are left to match_unmatched, which sees every open question;
    `before_id` (the first item that pass took) skips what it has just done. Evidence links
    make a repeated pass count nothing twice, so a cycle that dies here simply does the
    pass again next time.
    """
    with store.read() as conn:
        pending = load_open_questions(conn, match_pending=True)
    if not pending:
        return 0
    start = datetime.combine(min(q.opened_on for q in pending), time.min, tzinfo=UTC)
    end = datetime.combine(
        max(q.resolve_by for q in pending) + timedelta(days=1), time.min, tzinfo=UTC
    )
    index: MatchIndex | None = None
    created = 0
    after_id = 0
    while True:
        with store.read() as conn:
            rows = matched_batch(conn, after_id, batch_size, start, end, before_id=before_id)
        if not rows:
            break
        after_id = rows[-1].id
        items = [AnalysedItem(item_from_row(r)) for r in rows]
        if index is None:
            index = MatchIndex(pending, sample=[i.stem_set for i in items])
        hits = hits_for(index, items)
        if hits:
            with store.write() as conn:
                created += record_hits(conn, hits, now=now)
    with store.write() as conn:
        conn.execute(
            update(questions_t)
            .where(questions_t.c.id.in_([q.id for q in pending]))
            .values(match_pending=False)
        )
    return created


def match_unmatched(
    store: Store,
    *,
    now: datetime,
    progress: ProgressCallback | None = None,
    batch_size: int = MATCH_BATCH,
) -> int:
    """Match every unmatched item against the open questions, in batches, each batch's
    evidence and matched flags in one transaction. Returns suggestions created."""
    with store.read() as conn:
        total = int(
            conn.execute(
                select(func.count()).select_from(news_t).where(news_t.c.matched.is_(False))
            ).scalar_one()
        )
        questions = load_open_questions(conn) if total else []
    if progress:
        progress("match", 0, total)
    if not total:
        return 0
    index: MatchIndex | None = None
    created = done = 0
    after_id = 0
    while True:
        with store.read() as conn:
            rows = unmatched_batch(conn, after_id, batch_size)
        if not rows:
            break
        after_id = rows[-1].id
        items = [AnalysedItem(item_from_row(r)) for r in rows]
        if index is None:
            # The first batch tells which words are common in the news, so that each
            # question is indexed under its rarest required terms.
            index = MatchIndex(questions, sample=[i.stem_set for i in items])
        hits = hits_for(index, items)
        with store.write() as conn:
            created += record_hits(conn, hits, now=now)
            mark_matched(conn, [r.id for r in rows])
        done += len(rows)
        if progress:
            progress("match", min(done, total), total)
    return created
