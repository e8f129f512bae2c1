"""One adapter per source kind; each turns fetched bytes into normalised items.

Polling one source is two steps, so that a cycle can bound the first and not the second:
`fetch_source` is the I/O (bounded by the source's deadline) and gives either a final outcome
or a `ParseJob`; `resolvers.sources.parsing.parse` reads that job's body in a process pool.
`poll_source` does both, for one source. Neither raises for a fault of the source (network,
HTTP status, garbage, XML bomb, oversized body): the outcome says "error" and why, and the
cycle records it and backs the source off.

A feed or archive body byte-identical to the last one read for the source (SHA-256, kept on
the source row) is not parsed again: the outcome is "unchanged". Feeds without validators
send the same bytes every poll, and parsing them was most of what a quiet poll cost.

Per-question kinds (gdelt, guardian) query once per open question's window. They have no
HTTP validators, so the source's `etag` column carries their round-robin place instead
("after-question:<id>"): each poll starts with the question after the last one queried,
so when there are more open questions than one poll may query (max_queries, and the
pause GDELT asks for between requests within the source's deadline) every question still
gets its turn. The cycle stores `outcome.etag` for every kind, as it does for feeds.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import product
from typing import Any

import httpx

from forecasts.errors import InvalidInput
from forecasts.news_query import And, Node, Not, Term, parse_query
from resolvers.fetch import Fetcher, FetchError
from resolvers.ingest import ContentError, RawItem, normalise_items
from resolvers.items import FetchOutcome, PollConfig, QuestionWindow
from resolvers.sources import archive, gdelt, guardian, parsing

log = logging.getLogger(__name__)

KINDS = ("rss", "gdelt", "guardian", "archive")
CURSOR_PREFIX = "after-question:"
DEFAULT_MAX_QUERIES = 20
MAX_CLAUSES = 12  # of a news_query in conjunctive form; more only narrow the search
MAX_TERMS_PER_CLAUSE = 12


@dataclass
class SourceSpec:
    """What polling needs to know about one configured source."""

    id: int
    name: str
    kind: str
    url: str
    options: dict[str, Any]
    etag: str | None = None
    last_modified: str | None = None
    body_sha256: str | None = None  # of the last body read (feeds and archives)


# ---------------------------------------------------------------------------- options


def _int_option(low: int, high: int) -> Callable[[str, Any], None]:
    def check(name: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(
                f"option {name} must be a whole number from {low} to {high}", field="options"
            )

    return check


def _seconds_option(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 60:
        raise InvalidInput(
            f"option {name} must be a number of seconds from 0 to 60", field="options"
        )


def _date_option(name: str, value: Any) -> None:
    try:
        date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"option {name} must be a date (YYYY-MM-DD)", field="options") from None


def _key_option(name: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"option {name} must be a non-empty string", field="options")


_OPTIONS: dict[str, dict[str, Callable[[str, Any], None]]] = {
    "rss": {},
    "gdelt": {
        "max_queries": _int_option(1, 250),
        "earliest": _date_option,
        "min_interval_seconds": _seconds_option,
        "max_records": _int_option(1, gdelt.DEFAULT_MAX_RECORDS),
    },
    "guardian": {
        "api_key": _key_option,
        "max_queries": _int_option(1, 250),
        "min_interval_seconds": _seconds_option,
        "page_size": _int_option(1, guardian.MAX_PAGE_SIZE),
    },
    "archive": {"until": _date_option},
}


def validate_options(kind: str, url: str, options: dict[str, Any]) -> None:
    """Check a source's kind, URL and options; InvalidInput (with field) names what is wrong.

    The URL's host is not resolved here: fetch.guard_url does that. A guardian source
    without options.api_key is accepted (the service may have a key); polling it without
    any key then fails with "no API key".
    """
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}, not {kind!r}", field="kind")
    if not isinstance(options, dict):
        raise InvalidInput("options must be an object", field="options")
    known = _OPTIONS[kind]
    for name, value in options.items():
        if name not in known:
            names = ", ".join(sorted(known)) or "none"
            raise InvalidInput(
                f"unknown option {name!r} for a {kind} source (known: {names})", field="options"
            )
        known[name](name, value)
    if kind == "archive":
        try:
            archive.check_url(url)
        except ValueError as exc:
            raise InvalidInput(str(exc), field="url") from None
        return
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise InvalidInput(f"not a valid URL: {url!r}", field="url") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidInput(f"{kind} sources need an http(s) URL with a host", field="url")


# ------------------------------------------------------------------------- queries


def _cnf(node: Node, negated: bool = False) -> list[list[str]]:
    if isinstance(node, Term):
        return [[("-" if negated else "") + str(node)]]
    if isinstance(node, Not):
        return _cnf(node.child, not negated)
    # De Morgan: under a negation AND and OR swap.
    if isinstance(node, And) != negated:
        return [clause for child in node.children for clause in _cnf(child, negated)]
    clauses: list[list[str]] = []
    for combination in product(*(_cnf(child, negated) for child in node.children)):
        merged = list(dict.fromkeys(term for clause in combination for term in clause))
        if len(merged) <= MAX_TERMS_PER_CLAUSE:
            clauses.append(merged)
        if len(clauses) >= MAX_CLAUSES:
            break
    return clauses


def query_clauses(news_query: str) -> list[list[str]]:
    """A news_query in conjunctive form: an AND of OR-groups of terms, in news_query syntax.

    Terms are `word`, `"a phrase"`, `-word` or `-"a phrase"`. GDELT and the Guardian both
    take this shape; each adapter writes it in its API's syntax. Groups beyond
    MAX_CLAUSES, or wider than MAX_TERMS_PER_CLAUSE, are left out: that only widens the
    search, and the matcher applies the whole query to what comes back. A query that
    does not parse gives no groups (its window is skipped). Terms are sent as written:
    the APIs do their own matching, without the matcher's stemming.
    """
    try:
        root = parse_query(news_query).root
    except InvalidInput:
        return []
    return _cnf(root)[:MAX_CLAUSES]


# --------------------------------------------------------------------------- polling


async def poll_source(
    fetcher: Fetcher,
    source: SourceSpec,
    windows: list[QuestionWindow],
    config: PollConfig,
    *,
    now: datetime | None = None,
) -> FetchOutcome:
    """Poll one source once: fetch, then parse what came (in the parse pool). Never raises
    for the source's faults: they come back as status "error" with a short message (and
    retry_after_seconds from a 429/503)."""
    fetched = await fetch_source(fetcher, source, windows, config, now=now)
    if isinstance(fetched, parsing.ParseJob):
        return await parsing.parse(fetched)
    return fetched


async def fetch_source(
    fetcher: Fetcher,
    source: SourceSpec,
    windows: list[QuestionWindow],
    config: PollConfig,
    *,
    now: datetime | None = None,
) -> FetchOutcome | parsing.ParseJob:
    """The I/O of polling one source: a final outcome (an error, not-modified, unchanged, or
    a per-question kind's items), or the body still to parse. Never raises for the source's
    faults."""
    now = now or datetime.now(UTC)
    try:
        # A source stored before a rule changed, or edited in the database, is reported
        # like any other fault rather than failing inside an adapter.
        validate_options(source.kind, source.url, source.options)
    except InvalidInput as exc:
        return FetchOutcome(status="error", error=f"invalid source: {exc.detail}")
    try:
        if source.kind == "rss":
            return await _fetch_rss(fetcher, source, config, now)
        if source.kind == "gdelt":
            return await _poll_gdelt(fetcher, source, windows, config, now)
        if source.kind == "guardian":
            return await _poll_guardian(fetcher, source, windows, config, now)
        if source.kind == "archive":
            return await _read_archive(source, config, now)
        return FetchOutcome(status="error", error=f"unknown source kind {source.kind!r}")
    except FetchError as exc:
        return FetchOutcome(
            status="error", error=exc.message, retry_after_seconds=exc.retry_after_seconds
        )
    except ContentError as exc:
        return FetchOutcome(
            status="error", error=exc.message, retry_after_seconds=exc.retry_after_seconds
        )
    except Exception as exc:  # noqa: BLE001 - a source must not stop the cycle, whatever it sent
        log.exception("polling source %s (%s) failed unexpectedly", source.name, source.kind)
        return FetchOutcome(status="error", error=f"unexpected error: {type(exc).__name__}: {exc}")


def _unchanged(
    source: SourceSpec, digest: str, etag: str | None, last_modified: str | None
) -> FetchOutcome | None:
    if source.body_sha256 != digest:
        return None
    return FetchOutcome(
        status="unchanged", etag=etag, last_modified=last_modified, body_sha256=digest
    )


async def _fetch_rss(
    fetcher: Fetcher, source: SourceSpec, config: PollConfig, now: datetime
) -> FetchOutcome | parsing.ParseJob:
    response = await fetcher.get(source.url, etag=source.etag, last_modified=source.last_modified)
    if response.status_code == 304:
        return FetchOutcome(
            status="not-modified",
            etag=response.headers.get("etag") or source.etag,
            last_modified=response.headers.get("last-modified") or source.last_modified,
        )
    etag = response.headers.get("etag")
    last_modified = response.headers.get("last-modified")
    digest = hashlib.sha256(response.content).hexdigest()
    return _unchanged(source, digest, etag, last_modified) or parsing.ParseJob(
        kind="rss",
        body=response.content,
        body_sha256=digest,
        source_name=source.name,
        now=now,
        max_items=config.max_items_per_fetch,
        content_type=response.headers.get("content-type"),
        location=response.url,
        etag=etag,
        last_modified=last_modified,
    )


async def _read_archive(
    source: SourceSpec, config: PollConfig, now: datetime
) -> FetchOutcome | parsing.ParseJob:
    until = source.options.get("until")
    body = await asyncio.to_thread(
        archive.read_archive,
        source.url,
        max_bytes=config.fetch_max_bytes,
        archive_dir=config.archive_dir,
    )
    digest = hashlib.sha256(body).hexdigest()
    return _unchanged(source, digest, None, None) or parsing.ParseJob(
        kind="archive",
        body=body,
        body_sha256=digest,
        source_name=source.name,
        now=now,
        until=date.fromisoformat(until) if until else None,
    )


async def _poll_gdelt(
    fetcher: Fetcher,
    source: SourceSpec,
    windows: list[QuestionWindow],
    config: PollConfig,
    now: datetime,
) -> FetchOutcome:
    options = source.options
    earliest = date.fromisoformat(options.get("earliest", gdelt.DEFAULT_EARLIEST.isoformat()))
    max_records = int(options.get("max_records", gdelt.DEFAULT_MAX_RECORDS))

    def params_for(window: QuestionWindow) -> dict[str, str] | None:
        query = gdelt.build_query(query_clauses(window.news_query))
        if query is None:
            return None
        return gdelt.window_params(
            query,
            window,
            now=now,
            earliest=earliest,
            grace_days=config.grace_days,
            max_records=max_records,
        )

    def fetch_error(exc: FetchError) -> FetchError:
        if exc.status_code == 429:
            message = gdelt.notice(exc.body)
            if message:
                exc.message = f"GDELT rate limit (HTTP 429): {message}"
            # GDELT asks for one request in 5 seconds and rarely sends Retry-After.
            exc.retry_after_seconds = max(
                exc.retry_after_seconds or 0.0, gdelt.RATE_LIMIT_RETRY_SECONDS
            )
        return exc

    return await _poll_per_question(
        fetcher,
        source,
        windows,
        config,
        now,
        params_for=params_for,
        parse=gdelt.parse_artlist,
        fetch_error=fetch_error,
        interval=float(options.get("min_interval_seconds", gdelt.DEFAULT_MIN_INTERVAL_SECONDS)),
    )


async def _poll_guardian(
    fetcher: Fetcher,
    source: SourceSpec,
    windows: list[QuestionWindow],
    config: PollConfig,
    now: datetime,
) -> FetchOutcome:
    options = source.options
    api_key = options.get("api_key") or config.guardian_api_key
    if not api_key:
        return FetchOutcome(
            status="error",
            error="no API key: set options.api_key on the source or the guardian_api_key setting",
        )
    page_size = int(options.get("page_size", guardian.DEFAULT_PAGE_SIZE))

    def params_for(window: QuestionWindow) -> dict[str, str] | None:
        query = guardian.build_query(query_clauses(window.news_query))
        if query is None:
            return None
        return guardian.window_params(
            query,
            window,
            api_key=api_key,
            today=now.astimezone(UTC).date(),
            grace_days=config.grace_days,
            page_size=page_size,
        )

    def fetch_error(exc: FetchError) -> FetchError:
        message = guardian.describe_error_body(exc.body)
        if message:
            exc.message = f"the Guardian answered HTTP {exc.status_code}: {message}"
        return exc

    return await _poll_per_question(
        fetcher,
        source,
        windows,
        config,
        now,
        params_for=params_for,
        parse=guardian.parse_search,
        fetch_error=fetch_error,
        interval=float(options.get("min_interval_seconds", guardian.DEFAULT_MIN_INTERVAL_SECONDS)),
    )


@dataclass
class _Progress:
    raw: list[RawItem] = field(default_factory=list)
    queried: int = 0
    skipped: int = 0
    deferred: int = 0
    query_errors: dict[int, str] = field(default_factory=dict)
    cursor: int | None = None


async def _poll_per_question(
    fetcher: Fetcher,
    source: SourceSpec,
    windows: list[QuestionWindow],
    config: PollConfig,
    now: datetime,
    *,
    params_for: Callable[[QuestionWindow], dict[str, str] | None],
    parse: Callable[[bytes], list[RawItem]],
    fetch_error: Callable[[FetchError], FetchError],
    interval: float,
) -> FetchOutcome:
    """Query the windows in turn, pausing `interval` seconds between requests, for at most
    max_queries windows and only while the next request still fits the source deadline.

    A query the API refuses (HTTP 400, or its error message for that query) is noted and
    the next window is queried; any other fault stops the poll with status "error", and
    the items read before it are still in the outcome.
    """
    max_queries = int(source.options.get("max_queries", DEFAULT_MAX_QUERIES))
    started = time.monotonic()
    progress = _Progress(cursor=_cursor(source.etag))
    failure: FetchError | ContentError | None = None
    for position, window in enumerate(_round_robin(windows, progress.cursor)):
        params = params_for(window)
        if params is None:
            progress.skipped += 1
            continue
        if progress.queried >= max_queries or (
            progress.queried
            and time.monotonic() - started + interval + config.fetch_timeout_seconds
            > config.source_deadline_seconds
        ):
            progress.deferred = len(windows) - position
            break
        if progress.queried and interval > 0:
            # Slept on a worker thread: the event loop's clock is time.monotonic, which a
            # frozen test clock (pytest-freezer) stops, and asyncio.sleep would never end.
            await asyncio.to_thread(time.sleep, interval)
        progress.queried += 1
        try:
            response = await fetcher.get(source.url, params=params)
            progress.raw.extend(parse(response.content))
        except FetchError as exc:
            if exc.status_code == 400:
                progress.query_errors[window.question_id] = exc.message
            else:
                failure = fetch_error(exc)
                break
        except ContentError as exc:
            if exc.query_only:
                progress.query_errors[window.question_id] = exc.message
            else:
                failure = exc
                break
        progress.cursor = window.question_id
    return _per_question_outcome(source, progress, failure, now, config.max_items_per_fetch)


def _per_question_outcome(
    source: SourceSpec,
    progress: _Progress,
    failure: FetchError | ContentError | None,
    now: datetime,
    max_items: int | None = None,
) -> FetchOutcome:
    items, counts = normalise_items(
        progress.raw, source_name=source.name, now=now, max_items=max_items
    )
    counts["kept"] = len(items)
    extra: dict[str, Any] = {
        **counts,
        "queries": progress.queried,
        "windows_skipped": progress.skipped,
        "windows_deferred": progress.deferred,
    }
    if progress.query_errors:
        extra["query_errors"] = progress.query_errors
    etag = f"{CURSOR_PREFIX}{progress.cursor}" if progress.cursor is not None else source.etag
    if failure is not None:
        return FetchOutcome(
            items=items,
            status="error",
            error=failure.message,
            retry_after_seconds=failure.retry_after_seconds,
            etag=etag,
            extra=extra,
        )
    if progress.query_errors and len(progress.query_errors) == progress.queried:
        first = next(iter(progress.query_errors.values()))
        return FetchOutcome(status="error", error=first, etag=etag, extra=extra)
    return FetchOutcome(
        items=items, etag=etag, extra=extra, status_note=parsing.status_note(counts)
    )


def _cursor(etag: str | None) -> int | None:
    if etag and etag.startswith(CURSOR_PREFIX) and etag[len(CURSOR_PREFIX) :].isdigit():
        return int(etag[len(CURSOR_PREFIX) :])
    return None


def _round_robin(windows: list[QuestionWindow], cursor: int | None) -> list[QuestionWindow]:
    """The windows by question id, starting after the one last queried."""
    ordered = sorted(windows, key=lambda window: window.question_id)
    if cursor is None:
        return ordered
    start = next((i for i, w in enumerate(ordered) if w.question_id > cursor), 0)
    return ordered[start:] + ordered[:start]
