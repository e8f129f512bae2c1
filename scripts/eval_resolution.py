"""Replay the resolution benchmark's development part through the matcher, in memory, and
print accuracy (with the questions' own queries, and with queries derived from titles),
false YES among NO questions, accuracy per field, and what went wrong per question.

    .venv/bin/python scripts/eval_resolution.py [--mode given|derived|both] [--show-wrong]
    .venv/bin/python scripts/eval_resolution.py --pairs out.json   # (raw confidence, right?)

Only the development part is read (bench/resolution/dev.json): the held-out part is for the
lead's measurement and is never opened here. The benchmark's own harness is
bench/resolution.py; this script is the matcher's working tool.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from forecasts.derived_query import derive_query
from resolvers.analysis import MatchItem, question_spec
from resolvers.backtest import BacktestResult, replay
from resolvers.evidence import combine

DEV = Path(__file__).parents[1] / "bench" / "resolution" / "dev.json"
GRACE_DAYS = 7


def load_dev() -> list[dict[str, Any]]:
    data = json.loads(DEV.read_text("utf-8"))
    if data.get("part") != "dev":
        raise SystemExit(f"{DEV} is not the development part")
    questions: list[dict[str, Any]] = data["questions"]
    return questions


def _item(entry: dict[str, Any]) -> MatchItem:
    published = datetime.fromisoformat(entry["published_at"].replace("Z", "+00:00"))
    host = urlsplit(entry.get("link") or "").hostname or "unknown"
    return MatchItem(
        key=entry["key"],
        title=entry.get("title") or "",
        summary=entry.get("summary") or "",
        link=entry.get("link") or "",
        published_at=published.astimezone(UTC),
        source=entry.get("source") or host,
    )


def run(questions: list[dict[str, Any]], mode: str) -> list[dict[str, Any]]:
    """One row per question: expected and suggested answer, confidences, the flag's item."""
    rows = []
    for n, q in enumerate(questions, start=1):
        query = q["news_query"] if mode == "given" else derive_query(q["title"])
        fields = (
            n,
            query,
            date.fromisoformat(q["opened_on"]),
            date.fromisoformat(q["resolve_by"]),
            q.get("default_outcome", "no"),
            q["title"],
        )
        try:
            spec = question_spec(*fields, q.get("resolution_criteria", ""))
        except TypeError:  # before question_spec took the criteria
            spec = question_spec(*fields)
        assert spec is not None, q["key"]
        until = spec.resolve_by + timedelta(days=GRACE_DAYS + 1)
        [result] = replay([spec], [_item(i) for i in q["items"]], until=until)
        rows.append(_row(q, result, query))
    return rows


def _row(q: dict[str, Any], result: BacktestResult, query: str) -> dict[str, Any]:
    answer = result.answer
    suggested = answer.outcome if answer else None
    news = result.news
    row: dict[str, Any] = {
        "key": q["key"],
        "field": q["field"],
        "expected": q["answer"],
        "suggested": suggested,
        "right": suggested == q["answer"],
        "query": query,
        "news": None,
        "contrary": None,
        "deadline": answer.confidence if answer and answer.resolver == "deadline" else None,
    }
    if news is not None and news.item is not None:
        row["news"] = {
            "day": news.day.isoformat(),
            "confidence": news.confidence,
            "raw": combine(result.evidence),
            "item": news.item.key,
            "title": news.item.title,
            "deciding": news.item.key in q.get("deciding_items", []),
            "right": news.outcome == q["answer"],
        }
    contrary = getattr(result, "contrary", None)
    if contrary is not None and contrary.item is not None:
        row["contrary"] = {
            "confidence": contrary.confidence,
            "raw": combine(result.contrary_evidence),
            "title": contrary.item.title,
            "right": contrary.outcome == q["answer"],
        }
    return row


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    no_questions = [r for r in rows if r["expected"] == "no"]
    false_yes = [r for r in no_questions if r["suggested"] == "yes"]
    by_field: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        by_field[r["field"]].append(r["right"])
    return {
        "questions": n,
        "accuracy": round(sum(r["right"] for r in rows) / n, 3),
        "false_yes": len(false_yes),
        "false_yes_rate": round(len(false_yes) / max(1, len(no_questions)), 3),
        "by_field": {f: round(sum(v) / len(v), 3) for f, v in sorted(by_field.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("given", "derived", "both"), default="both")
    parser.add_argument("--show-wrong", action="store_true")
    parser.add_argument("--pairs", type=Path, help="write (raw confidence, right) pairs here")
    args = parser.parse_args()
    questions = load_dev()
    pairs: list[tuple[float, bool]] = []
    for mode in ("given", "derived") if args.mode == "both" else (args.mode,):
        rows = run(questions, mode)
        print(mode, json.dumps(summary(rows), indent=1))
        for r in rows:
            for kind in ("news", "contrary"):
                if r[kind] is not None:
                    pairs.append((r[kind]["raw"], r[kind]["right"]))
        if args.show_wrong:
            for r in rows:
                if not r["right"]:
                    print(f"  WRONG {r['key']}: expected {r['expected']}, got {r['suggested']}")
                    print(f"     query: {r['query']}")
                    for kind in ("news", "contrary"):
                        if r[kind]:
                            print(f"     {kind}: {r[kind]['title']} ({r[kind]['confidence']})")
    if args.pairs:
        args.pairs.write_text(json.dumps(pairs), "utf-8")
        print(f"wrote {len(pairs)} pairs to {args.pairs}")


if __name__ == "__main__":
    main()
