"""One poll cycle end to end, as a pipeline: fetch the due sources concurrently (async I/O,
each within its own deadline), parse each body as it arrives (in resolvers.sources.parsing's process
pool, outside every deadline), store each source's new items in short batched transactions,
then match every unmatched item against the open questions once, then the deadline check.

No write transaction spans parsing or matching: a source's items are stored once parsed,
matching reads in read transactions and writes each batch's suggestions in a short write
transaction of its own, so the API's writers wait at most one batch for the write lock.

Every step commits in short transactions of its own and is safe to repeat: items are stored
once by their dedup key, an item is marked matched in the transaction that records its
evidence, and evidence links keep an item from counting twice. A cycle killed at any point
and run again therefore raises no duplicate suggestion, and items it stored but never matched
are matched by the next one.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, time, timedelta
from time import perf_counter
from typing import Any

from sqlalchemy import func, or_, select, update

from forecasts.models import utcnow
from forecasts.tables import news_t, questions_t, sources_t
from resolvers.analysis import AnalysedItem, stem_set
from resolvers.deadline import check_deadlines
from resolvers.fetch import Fetcher, redact
from resolvers.ingest import store_items
from resolvers.items import (
    FetchOutcome,
    NewsItemIn,
    Pace,
    PollConfig,
    ProgressCallback,
    QuestionWindow,
    Store,
    chunks,
)
from resolvers.match import Hit, MatchIndex, hits_for
from resolvers.news_store import (
    analyse_open_questions,
    item_from_row,
    load_open_questions,
    mark_matched,
    matched_batch,
    unmatched_batch,
)
from resolvers.sources import SourceSpec, fetch_source, parsing
from resolvers.suggestion_store import record_hits

log = logging.getLogger(__name__)


PER_QUESTION_KINDS = frozenset({"gdelt", "guardian"})
MAX_BACKOFF = timedelta(hours=24)
MATCH_BATCH = 500
# Each matched batch is written in slices of at most this many hits (and items): the write
# lock is then held for a few milliseconds at a time (_write_slices).
WRITE_SLICE_HITS = 40
WRITE_SLICE_ITEMS = 500
# Items per write transaction when storing a source's items: the API's writers queue behind
# the write lock for at most one such batch.
STORE_BATCH = 100
ERROR_CHARS = 1000
STATUS_CHARS = 100  # sources.last_status
_POLLED_OK = ("ok", "not-modified", "unchanged")


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
        specs = sources_to_poll(conn, now, force=force, source_ids=source_ids)
        windows = _windows(conn) if any(s.kind in PER_QUESTION_KINDS for s in specs) else []
    if specs:
        # While the sources are fetched this thread only waits: the open questions are
        # loaded and analysed meanwhile, off the matching pass's critical path (bench/poll.py).
        warm = threading.Thread(target=_warm_questions, args=(store,), daemon=True)
        if match:
            warm.start()
        if any(s.kind in parsing.PARSED_KINDS for s in specs):
            # Starting the fork server and its workers takes a fresh process most of a
            # second: on a thread of its own, so the first fetches go out meanwhile.
            threading.Thread(target=parsing.prestart, daemon=True).start()
        try:
            results = asyncio.run(_poll_all(store, specs, windows, config, now, progress))
        finally:
            if match:
                warm.join()
        for spec, (outcome, new_items) in zip(specs, results, strict=True):
            report.new_items += new_items
            report.sources_polled += 1
            if outcome.status == "error":
                report.errors.append({"source": spec.name, "error": outcome.error or "error"})
    if match:
        report.suggestions_created += match_and_check(store, config, now=now, progress=progress)
    return report


def _warm_questions(store: Store) -> None:
    """While the sources are fetched: analyse the open questions and file them in a match
    index, so that the matching pass finds them analysed (resolvers.analysis caches specs)
    and takes the filing over (resolvers.match), filing only what changed meanwhile. The
    anchors are chosen by the unmatched items stored so far (this cycle's first ones, as the
    pass itself would choose them); with none stored yet, the pass files them itself."""
    try:
        questions = analyse_open_questions(store)
        if not questions:
            return
        with store.read() as conn:
            sample = [stem_set(r.title, r.summary) for r in unmatched_batch(conn, 0, MATCH_BATCH)]
        if sample:
            # Built and dropped: once no index uses a filing, the next index of (nearly) the
            # same questions takes it over (resolvers.match keeps only large ones' filings).
            MatchIndex(questions, sample=sample)
    except Exception:  # noqa: BLE001 - only a head start: the pass loads them itself anyway
        log.debug("analysing the open questions ahead of matching failed", exc_info=True)


def poll_one_source(
    store: Store, config: PollConfig, source_id: int, *, now: datetime | None = None
) -> CycleReport:
    """Fetch, parse and store one source (unless it is disabled, deleted or backing off),
    without matching: what a per-source job or a queue worker runs; match_and_check then
    does one matching pass for everything stored meanwhile. Safe to run twice (the items'
    dedup keys store each once)."""
    return run_cycle(store, config, source_ids=[source_id], now=now, match=False)


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
    created += match_unmatched(store, now=now, progress=progress, pace=config.pace)
    created += match_new_questions(store, now=now, before_id=first_unmatched, pace=config.pace)
    with store.write() as conn:
        created += check_deadlines(conn, today=now.date(), grace_days=config.grace_days, now=now)
    return created


# ---------------------------------------------------------------------------------------------
# Choosing and fetching sources


def sources_to_poll(
    conn: Any, now: datetime, *, force: bool, source_ids: list[int] | None
) -> list[SourceSpec]:
    """The enabled sources a cycle fetches: the due ones not backing off, every enabled one
    if force, or only `source_ids` (still skipping backed-off ones unless force). The one
    owner of "due", for the in-process cycle and the queue's dispatcher alike."""
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
                body_sha256=row.body_sha256,
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


async def _poll_all(
    store: Store,
    specs: list[SourceSpec],
    windows: list[QuestionWindow],
    config: PollConfig,
    now: datetime,
    progress: ProgressCallback | None,
) -> list[tuple[FetchOutcome, int]]:
    """Poll every source at once; each goes fetch → parse → store as soon as it can, so a
    large feed being parsed holds back no other source. Returns each source's outcome and
    how many of its items were new, in `specs` order."""
    total = len(specs)
    done = 0
    if progress:
        progress("fetch", 0, total)
    async with Fetcher(config) as fetcher:

        async def one(spec: SourceSpec) -> tuple[FetchOutcome, int]:
            nonlocal done
            outcome = await _fetch_and_parse(fetcher, spec, windows, config, now)
            # Storing waits for the write lock on a thread, not on the event loop.
            new_items = await asyncio.to_thread(
                _record_source, store, spec, outcome, now, config.pace
            )
            done += 1
            if progress:
                progress("fetch", done, total)
            return outcome, new_items

        return list(await asyncio.gather(*(one(spec) for spec in specs)))


async def _fetch_and_parse(
    fetcher: Fetcher,
    spec: SourceSpec,
    windows: list[QuestionWindow],
    config: PollConfig,
    now: datetime,
) -> FetchOutcome:
    """The source's outcome: its fetch bounded by the source deadline, its parse not (the
    deadline is about the source answering; parsing is this machine's work, and counting
    it made one source's large feed push others past their deadlines)."""
    try:
        fetched = await asyncio.wait_for(
            fetch_source(fetcher, spec, windows, config, now=now),
            timeout=config.source_deadline_seconds,
        )
        if isinstance(fetched, parsing.ParseJob):
            return await parsing.parse(fetched)
        return fetched
    except TimeoutError:
        return FetchOutcome(
            status="error",
            error=f"no answer within the source deadline ({config.source_deadline_seconds:g} s)",
        )
    except Exception as exc:  # noqa: BLE001 - one source must not stop the others
        log.exception("polling %s failed", spec.name)
        return FetchOutcome(status="error", error=f"{type(exc).__name__}: {exc}")


def _record_source(
    store: Store, spec: SourceSpec, outcome: FetchOutcome, now: datetime, pace: Pace | None
) -> int:
    """Store the source's new items, STORE_BATCH to a transaction, and its health with the
    last batch; returns how many items were new. A cycle killed between batches leaves the
    source's health (and its body hash) as before, so the body is read and stored again
    next time, and the dedup keys store nothing twice."""
    with store.read() as conn:
        row = conn.execute(
            select(sources_t.c.items_seen, sources_t.c.last_status).where(sources_t.c.id == spec.id)
        ).first()
    # Its first poll is the first that brings anything: what a feed holds then may be
    # years old, and an undated item of it can never count (resolvers.news_store).
    first_poll = row is None or (
        row.items_seen == 0 and not str(row.last_status or "").startswith(_POLLED_OK)
    )
    batches: list[list[NewsItemIn]] = list(chunks(outcome.items, STORE_BATCH)) or [[]]
    new_items = 0
    for batch in batches[:-1]:
        started = perf_counter()
        with store.write() as conn:
            new_items += len(_store(conn, spec, batch, first_poll=first_poll))
        _step_done(pace, started)
    with store.write() as conn:
        new_items += len(_store(conn, spec, batches[-1], first_poll=first_poll))
        _record_health(conn, spec, outcome, now, new_items)
    return new_items


def _store(conn: Any, spec: SourceSpec, items: list[NewsItemIn], *, first_poll: bool) -> list[int]:
    if not items:
        return []
    # A source deleted while it was being fetched keeps its items, unattributed.
    exists = conn.execute(select(sources_t.c.id).where(sources_t.c.id == spec.id)).first()
    return store_items(conn, spec.id if exists else None, items, first_poll=first_poll)


def _record_health(
    conn: Any, spec: SourceSpec, outcome: FetchOutcome, now: datetime, new_items: int
) -> None:
    row = conn.execute(
        select(sources_t.c.poll_every_minutes, sources_t.c.consecutive_failures).where(
            sources_t.c.id == spec.id
        )
    ).first()
    if row is None:
        return
    values: dict[str, Any] = {
        "last_polled_at": now,
        "items_seen": sources_t.c.items_seen + new_items,
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
        if outcome.body_sha256 is not None:
            values["body_sha256"] = outcome.body_sha256
    conn.execute(update(sources_t).where(sources_t.c.id == spec.id).values(**values))


# ---------------------------------------------------------------------------------------------
# Matching


def match_new_questions(
    store: Store,
    *,
    now: datetime,
    before_id: int | None = None,
    batch_size: int = MATCH_BATCH,
    pace: Pace | None = None,
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
        hits = _paced_hits(index, items, pace)
        for _ids, slice_hits in _write_slices(rows, items, hits):
            if slice_hits:
                started = perf_counter()
                with store.write() as conn:
                    created += record_hits(conn, slice_hits, now=now)
                _step_done(pace, started)
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
    pace: Pace | None = None,
) -> int:
    """Match every unmatched item against the open questions, in batches, each batch's
    evidence and matched flags written in short transactions (_write_slices). Returns
    suggestions created. `pace` is called after each step (PollConfig.pace)."""
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
        hits = _paced_hits(index, items, pace)
        for slice_ids, slice_hits in _write_slices(rows, items, hits):
            started = perf_counter()
            with store.write() as conn:
                created += record_hits(conn, slice_hits, now=now)
                mark_matched(conn, slice_ids)
            _step_done(pace, started)
        done += len(rows)
        if progress:
            progress("match", min(done, total), total)
    return created


def _write_slices(
    rows: Sequence[Any], items: Sequence[AnalysedItem], hits: Sequence[Hit]
) -> Iterator[tuple[list[int], list[Hit]]]:
    """A matched batch's rows and hits in slices, each to be written in a transaction of its
    own: every item's hits stay with the item (so an item is marked matched together with its
    evidence), and a slice holds at most WRITE_SLICE_HITS hits unless one item alone has more.
    Why: recording evidence is Python work done under SQLite's write lock; one transaction
    for a whole batch of 500 items held the API's writers back for up to 0.3 s
    (bench/api.py, during a poll)."""
    by_key: dict[str, list[Hit]] = defaultdict(list)
    for hit in hits:
        by_key[hit.item_key].append(hit)
    slice_ids: list[int] = []
    slice_hits: list[Hit] = []
    for row, analysed in zip(rows, items, strict=True):
        own = by_key.pop(analysed.item.key, [])
        if slice_ids and (
            len(slice_hits) + len(own) > WRITE_SLICE_HITS or len(slice_ids) >= WRITE_SLICE_ITEMS
        ):
            yield slice_ids, slice_hits
            slice_ids, slice_hits = [], []
        slice_ids.append(row.id)
        slice_hits.extend(own)
    if slice_ids:
        yield slice_ids, slice_hits


# Items matched between two calls of the pace: a few milliseconds of work.
PACED_ITEMS = 25


def _paced_hits(index: MatchIndex, items: list[AnalysedItem], pace: Pace | None) -> list[Hit]:
    """hits_for, PACED_ITEMS at a time, calling `pace` after each part."""
    if pace is None:
        return hits_for(index, items)
    hits: list[Hit] = []
    for part in chunks(items, PACED_ITEMS):
        started = perf_counter()
        hits.extend(hits_for(index, part))
        _step_done(pace, started)
    return hits


def _step_done(pace: Pace | None, started: float) -> None:
    if pace is not None:
        pace(perf_counter() - started)
