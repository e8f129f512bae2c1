"""Benchmark: one whole poll cycle over many RSS feeds against many open questions.

Serves FEEDS generated RSS 2.0 feeds of ITEMS items each from a ThreadingHTTPServer in a process
of its own on loopback, creates N open questions in a temporary SQLite database, and times
`resolvers.cycle.run_cycle(force=True)`: concurrent fetch, feed parsing, storing, matching
every item through the inverted index, recording suggestions and the deadline check. The
same run times feedparser alone on the same feed bodies, as the yardstick: a cycle cannot
be faster than reading the feeds.

Two polls are timed per size: the first of a fresh process, which analyses every open
question (cold), and a second one in the same process with a new generation of items in
every feed (the server swaps its bodies), which meets the questions already analysed by the
first: a running service's steady state (question analysis is cached across cycles). Each is
set beside feedparser alone on the bodies it read. The matching is then timed alone, in
memory, per item: the index lookup, whose cost must stay flat as questions grow, and the
judging of the pairs that share the terms, which grows with how many pairs truly match;
and the index build, as a cycle does it (taking over the last cycle's filing of the same
questions: resolvers.match) and filed afresh.

Text is drawn from a synthetic vocabulary with Zipf-like word frequencies; each question's
query is an AND of two or three groups of alternatives, and about one question in fifty is
planted to match a few items, so that suggestions are raised and joined as in real use.

    .venv/bin/python bench/poll.py [--feeds 100] [--items 200] [--questions 1000,10000]
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import random
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # Run as a script from a checkout: the project's packages sit next to bench/.
    sys.path.insert(0, str(ROOT))

import feedparser  # type: ignore[import-untyped]  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from forecasts.models import utcnow  # noqa: E402
from forecasts.tables import news_t, questions_t, sources_t, suggestions_t  # noqa: E402
from resolvers.analysis import AnalysedItem  # noqa: E402
from resolvers.cycle import run_cycle  # noqa: E402
from resolvers.items import PollConfig  # noqa: E402
from resolvers.match import MatchIndex, forget_filings  # noqa: E402
from resolvers.news_store import item_from_row, load_open_questions  # noqa: E402
from service.db import Database  # noqa: E402
from service.settings import Settings  # noqa: E402

VOCABULARY = 20_000
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
CONSONANTS = "bcdfghjklmnprstvz"
VOWELS = "aeiou"


def make_vocabulary(rng: random.Random, size: int) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        syllables = rng.randint(2, 4)
        words.add("".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(syllables)))
    return sorted(words)


class Text:
    """Zipf-distributed words: a few very common, most rare, as in news text."""

    def __init__(self, rng: random.Random, vocabulary: list[str]) -> None:
        self.rng = rng
        self.words = vocabulary
        weights = [1.0 / (rank + 1) for rank in range(len(vocabulary))]
        total = sum(weights)
        cumulative, running = [], 0.0
        for w in weights:
            running += w / total
            cumulative.append(running)
        self.cumulative = cumulative

    def sentence(self, n: int) -> str:
        return " ".join(self.rng.choices(self.words, cum_weights=self.cumulative, k=n))


@dataclass
class Feeds:
    bodies: list[bytes]
    items: int
    planted: list[tuple[str, ...]]  # words of planted stories, for planted questions


def make_feeds(
    rng: random.Random,
    text: Text,
    feeds: int,
    per_feed: int,
    stories: list[tuple[str, ...]] | None = None,
) -> Feeds:
    planted_stories = stories or [tuple(rng.sample(text.words[2000:], 3)) for _ in range(200)]
    bodies = []
    for f in range(feeds):
        entries = []
        for i in range(per_feed):
            title = text.sentence(rng.randint(7, 12))
            summary = text.sentence(rng.randint(25, 45))
            if rng.random() < 0.02:
                story = rng.choice(planted_stories)
                title = f"{story[0].title()} {story[1]} {title} {story[2]}"
            published = NOW - timedelta(minutes=rng.randint(0, 30 * 24 * 60))
            link = f"https://feed{f}.example/{i}/{rng.getrandbits(40):x}"
            entries.append(
                "<item>"
                f"<title>{escape(title)}</title><link>{link}</link>"
                f"<description>{escape(summary)}</description>"
                f"<pubDate>{format_datetime(published)}</pubDate><guid>{link}</guid>"
                "</item>"
            )
        body = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Feed {f}</title><link>https://feed{f}.example/</link>"
            f"<description>generated</description>{''.join(entries)}</channel></rss>"
        )
        bodies.append(body.encode("utf-8"))
    return Feeds(bodies, feeds * per_feed, planted_stories)


class FeedServer:
    """The feeds, served by a process of their own: real feeds come from other machines, so
    the server's CPU and interpreter lock are no part of the cycle's cost (on this machine it
    still takes its share of the cores). `generation` picks the bodies: 0 the first poll's,
    1 the second's."""

    def __init__(self, generations: list[list[bytes]]) -> None:
        context = multiprocessing.get_context("fork")
        self._generation = context.Value("i", 0)
        ready = context.Queue()
        self._process = context.Process(
            target=_serve_feeds, args=(generations, self._generation, ready), daemon=True
        )
        self._process.start()
        self.port: int = ready.get(timeout=60)

    def show(self, generation: int) -> None:
        self._generation.value = generation

    def close(self) -> None:
        self._process.terminate()
        self._process.join(timeout=10)


def _serve_feeds(generations: list[list[bytes]], generation: Any, ready: Any) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server interface
            n = int(self.path.strip("/").split(".")[0].removeprefix("feed"))
            body = generations[generation.value][n]
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    class Server(ThreadingHTTPServer):
        # The default listen backlog of 5 drops connections when 100 feeds are asked at once.
        request_queue_size = 256

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    ready.put(server.server_address[1])
    server.serve_forever()


def make_questions(rng: random.Random, text: Text, n: int, planted: list[tuple[str, ...]]):
    """Question rows: queries of 2-3 groups of 1-3 alternatives; one in fifty planted."""
    rows = []
    mid = text.words[200:]  # not the stopword-like head of the distribution
    now = utcnow()
    for q in range(n):
        if q % 50 == 0:
            story = planted[(q // 50) % len(planted)]
            query = f'{story[0]} ({story[1]} OR {rng.choice(mid)}) "{story[2]}"'
        else:
            groups = []
            for _ in range(rng.randint(2, 3)):
                alternatives = rng.sample(mid, rng.randint(1, 3))
                groups.append(
                    alternatives[0]
                    if len(alternatives) == 1
                    else "(" + " OR ".join(alternatives) + ")"
                )
            query = " ".join(groups)
        rows.append(
            {
                "title": f"Benchmark question {q}: will it happen?",
                "resolution_criteria": "Generated.",
                "opened_on": date(2026, 1, 1),
                "resolve_by": date(2026, 12, 31),
                "tags": [],
                "tag_index": "",
                "news_query": query,
                "default_outcome": "no",
                "status": "open",
                "evidence_urls": [],
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


def parse_alone(bodies: list[bytes]) -> tuple[float, int]:
    started = time.perf_counter()
    entries = 0
    for body in bodies:
        entries += len(feedparser.parse(io.BytesIO(body)).entries)
    return time.perf_counter() - started, entries


def one_run(
    feeds: Feeds, later: Feeds, server: FeedServer, questions: int, seed: int
) -> dict[str, float]:
    """Both polls and the matching alone; the server shows `feeds` first, then `later`."""
    server.show(0)
    port = server.port
    rng = random.Random(seed + questions)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = Database(url, Settings(database_url=url, scheduler="off"))
        db.migrate()
        text = Text(rng, make_vocabulary(random.Random(seed), VOCABULARY))
        rows = make_questions(rng, text, questions, feeds.planted)
        now = utcnow()
        with db.write() as conn:
            for start in range(0, len(rows), 2000):
                conn.execute(insert(questions_t), rows[start : start + 2000])
            conn.execute(
                insert(sources_t),
                [
                    {
                        "name": f"feed {n}",
                        "kind": "rss",
                        "url": f"http://127.0.0.1:{port}/feed{n}.xml",
                        "poll_every_minutes": 60,
                        "enabled": True,
                        "options": {},
                        "items_seen": 0,
                        "consecutive_failures": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n in range(len(feeds.bodies))
                ],
            )
        marks: dict[str, float] = {}

        def progress(step: str, done: int, total: int) -> None:
            marks.setdefault(f"{step}-start", time.perf_counter())
            if done >= total:
                marks[f"{step}-end"] = time.perf_counter()

        config = PollConfig(
            allow_private_sources=True, source_deadline_seconds=300, fetch_timeout_seconds=60
        )
        started = time.perf_counter()
        report = run_cycle(db, config, force=True, progress=progress)
        elapsed = time.perf_counter() - started
        if report.errors:
            raise SystemExit(f"sources failed: {report.errors[:3]}")
        ended = started + elapsed
        # The steady state: new items in every feed, the questions already analysed.
        server.show(1)
        second_parse_s, _ = parse_alone(later.bodies)
        started2 = time.perf_counter()
        report2 = run_cycle(db, config, force=True)
        second = time.perf_counter() - started2
        if report2.errors:
            raise SystemExit(f"sources failed: {report2.errors[:3]}")
        with db.read() as conn:
            stored = conn.execute(select(func.count()).select_from(news_t)).scalar()
            raised = conn.execute(select(func.count()).select_from(suggestions_t)).scalar()
            # The matching alone, in memory, to see how it grows with questions.
            items = [AnalysedItem(item_from_row(r)) for r in unmatched_or_all(conn)]
            t0 = time.perf_counter()
            # As a cycle does: word frequencies from a first batch of items pick the anchors.
            index = MatchIndex(load_open_questions(conn), sample=[i.stem_set for i in items[:500]])
            t1 = time.perf_counter()
            # The same, filed afresh: what a cycle pays when the open questions changed a lot.
            forget_filings()
            MatchIndex(index.questions, sample=[i.stem_set for i in items[:500]])
            t1_fresh = time.perf_counter() - t1
        t2 = time.perf_counter()
        for item in items:
            index.match(item)
        t3 = time.perf_counter()
        for item in items:
            index.candidates(item)
        t4 = time.perf_counter()
        db.dispose()
    fetch_end = marks.get("fetch-end", started)
    match_start = marks.get("match-start", fetch_end)
    match_end = marks.get("match-end", match_start)
    return {
        "questions": questions,
        "cycle": elapsed,
        "fetch": fetch_end - started,
        "store": match_start - fetch_end,
        "match": match_end - match_start,
        "deadline": ended - match_end,
        "index_build": t1 - t0,
        "index_reused": float(index.reused),
        "index_fresh": t1_fresh,
        "match_only": t3 - t2,
        "lookup_only": t4 - t3,
        "second_cycle": second,
        "second_parse": second_parse_s,
        "second_new_items": report2.new_items,
        "evaluations_per_item": index.evaluations / max(1, len(items)),
        "items": float(stored or 0),
        "new_items": report.new_items,
        "suggestions": float(raised or 0),
    }


def unmatched_or_all(conn: Any) -> list[Any]:
    table = news_t
    return list(
        conn.execute(
            select(
                table.c.id,
                table.c.dedup_key,
                table.c.title,
                table.c.summary,
                table.c.link,
                table.c.published_at,
                table.c.source_name,
            )
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--items", type=int, default=200, help="items per feed")
    parser.add_argument("--questions", default="1000,10000", help="comma-separated counts")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sizes = [int(s) for s in args.questions.split(",") if s]

    rng = random.Random(args.seed)
    text = Text(rng, make_vocabulary(random.Random(args.seed), VOCABULARY))
    feeds = make_feeds(rng, text, args.feeds, args.items)
    # The second poll's items: new links, the same planted stories.
    later = make_feeds(rng, text, args.feeds, args.items, stories=feeds.planted)
    server = FeedServer([feeds.bodies, later.bodies])
    port = server.port
    size_mb = sum(len(b) for b in feeds.bodies) / 1e6
    print(f"{args.feeds} feeds x {args.items} items ({size_mb:.1f} MB) from 127.0.0.1:{port}")
    try:
        for questions in sizes:
            parse_s, entries = parse_alone(feeds.bodies)
            run = one_run(feeds, later, server, questions, args.seed)
            ratio = run["cycle"] / parse_s
            print(
                f"{questions:>7} questions: first poll {run['cycle']:6.2f} s = "
                f"{run['items'] / 2 / run['cycle']:5.0f} items/s; {run['suggestions']:.0f} "
                f"suggestions | feedparser alone {parse_s:.2f} s ({entries / parse_s:.0f} "
                f"items/s) | first poll / parse-alone = {ratio:.2f}x (questions analysed cold)"
            )
            print(
                f"{'':>18}fetch+parse {run['fetch']:.2f} s, store (+ load and parse questions) "
                f"{run['store']:.2f} s, match+record {run['match']:.2f} s, deadline "
                f"{run['deadline']:.2f} s"
            )
            print(
                f"{'':>18}second poll ({run['second_new_items']:.0f} new items, questions "
                f"analysed by the first) {run['second_cycle']:6.2f} s | feedparser alone "
                f"{run['second_parse']:.2f} s | second poll / parse-alone = "
                f"{run['second_cycle'] / run['second_parse']:.2f}x"
            )
            per_item = 1e6 / max(1.0, run["items"])
            print(
                f"{'':>18}in memory: load+index (analysed"
                f"{', filing reused' if run['index_reused'] else ''}) {run['index_build']:.2f} s, "
                f"filing afresh {run['index_fresh']:.2f} s; "
                f"per item: index "
                f"lookup {run['lookup_only'] * per_item:.1f} us, lookup+judging "
                f"{run['match_only'] * per_item:.1f} us "
                f"({run['evaluations_per_item']:.2f} query evaluations per item)"
            )
    finally:
        server.close()
    command = ["bench/poll.py", *sys.argv[1:]]
    print("reproduce: cd " + shlex.quote(str(ROOT)) + " && .venv/bin/python " + shlex.join(command))


if __name__ == "__main__":
    main()
