"""Benchmark: do suggestions read the event? Accuracy and calibration on the project's own
evaluation set of real, documented events 2010-2025 with near misses (bench/resolution/).

For each mode, a fresh SQLite database in a temporary folder gets every question of the part
through the domain (forecasts.questions.create_question), the part's news items as one
archive file in the folder archive sources may read (FORECASTS_ARCHIVE_DIR), and one archive
source. One poll cycle runs with `now` after every deadline, so each question ends with news
suggestions and the deadline check's suggestion for its default outcome; its answer is its
most confident pending suggestion, as GET /api/suggestions?status=pending&question_id= lists
them.

Modes: `given` creates each question with the news_query a careful user wrote; `derived`
leaves news_query out so that the service derives one from the title.

Figures, per field and overall: accuracy; false YES (count, share of the NO questions);
missed YES (count, share of the YES questions); evidence-right (share of the correct YES
answers whose evidence holds a labelled deciding item, matched on its link); calibration of
the answer's confidence as a forecast of being right (reliability bins, Brier score). Also,
in aggregate, how often near-miss items got into YES evidence and how often paraphrased
deciding items did.

The held-out part is never tuned on: this bench prints only aggregates for it, and lists
questions one by one (--details) for the dev part alone.

    .venv/bin/python bench/resolution.py [--part dev|heldout|all] [--mode given|derived|both]
                                         [--details] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # Run as a script from a checkout: the project's packages sit next to bench/.
    sys.path.insert(0, str(ROOT))

from forecasts.questions import create_question  # noqa: E402
from forecasts.schemas import QuestionCreate  # noqa: E402
from forecasts.suggestions import list_suggestions  # noqa: E402
from resolvers.cycle import run_cycle  # noqa: E402
from service.db import Database  # noqa: E402
from service.polling import poll_config  # noqa: E402
from service.schemas import SourceCreate  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.sourceconfig import check_source, create_source  # noqa: E402

DATA = Path(__file__).resolve().parent / "resolution"
PARTS = ("dev", "heldout")
MODES = ("given", "derived")
# After every resolve_by plus the grace period, so every deadline has passed.
TODAY = date(2026, 6, 1)
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
ARCHIVE_FILE = "resolution-eval.json"
SOURCE_NAME = "resolution-eval"
NEAR_MISS_KINDS = ("direction", "called_off", "another_actor", "stage", "paraphrase")
CALIBRATION_BINS = 5


# ---------------------------------------------------------------------------------------------
# The data


def load_part(part: str) -> list[dict[str, Any]]:
    """The questions of a part ("dev", "heldout" or "all"), each with its items."""
    if part == "all":
        return [q for name in PARTS for q in load_part(name)]
    if part not in PARTS:
        raise ValueError(f"part must be one of dev, heldout, all; not {part!r}")
    doc = json.loads((DATA / f"{part}.json").read_text(encoding="utf-8"))
    return list(doc["questions"])


def archive_document(questions: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The questions' items as the archive adapter reads them: one list, oldest first."""
    items = [
        {
            "key": item["key"],
            "published_at": item["published_at"],
            "title": item["title"],
            "summary": item["summary"],
            "link": item["link"],
        }
        for q in questions
        for item in q["items"]
    ]
    items.sort(key=lambda i: (i["published_at"], i["key"]))
    return {"description": "bench/resolution evaluation items", "items": items}


# ---------------------------------------------------------------------------------------------
# One run of the service


def run_service(questions: Sequence[dict[str, Any]], mode: str) -> list[dict[str, Any]]:
    """Create the questions and the archive in a fresh database, run one cycle, and return
    one row per question: its answer (top pending suggestion) and what that rests on."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; not {mode!r}")
    with tempfile.TemporaryDirectory(prefix="resolution-eval-") as tmp:
        folder = Path(tmp)
        archive_dir = folder / "archive"
        archive_dir.mkdir()
        (archive_dir / ARCHIVE_FILE).write_text(
            json.dumps(archive_document(questions), ensure_ascii=False), encoding="utf-8"
        )
        url = f"sqlite:///{folder / 'eval.db'}"
        settings = Settings(
            database_url=url,
            scheduler="off",
            allow_private_sources=True,
            archive_dir=archive_dir,
        )
        db = Database(url, settings)
        try:
            db.migrate()
            ids: dict[str, int] = {}
            with db.write() as conn:
                for q in questions:
                    spec = QuestionCreate(
                        title=q["title"],
                        resolution_criteria=q["resolution_criteria"],
                        opened_on=date.fromisoformat(q["opened_on"]),
                        resolve_by=date.fromisoformat(q["resolve_by"]),
                        tags=["resolution-eval", q["field"]],
                        news_query=q["news_query"] if mode == "given" else None,
                        default_outcome=q["default_outcome"],
                    )
                    ids[q["key"]] = create_question(conn, spec, today=TODAY, actor="bench")
                check_source("archive", ARCHIVE_FILE, {}, allow_private=True)
                create_source(
                    conn, SourceCreate(name=SOURCE_NAME, kind="archive", url=ARCHIVE_FILE)
                )
            report = run_cycle(db, poll_config(settings), force=True, now=NOW)
            if report.errors:
                raise RuntimeError(f"the archive source failed: {report.errors}")
            rows = []
            with db.read() as conn:
                for q in questions:
                    pending, _ = list_suggestions(
                        conn, status="pending", question_id=ids[q["key"]], limit=1000
                    )
                    rows.append(_row(q, pending))
            return rows
        finally:
            db.dispose()


def _row(question: dict[str, Any], pending: Sequence[Any]) -> dict[str, Any]:
    top = pending[0] if pending else None
    deciding = {i["link"] for i in question["items"] if i["role"] == "decides"}
    truth = question["answer"]
    answer = top.outcome if top is not None else None
    correct = answer == truth
    urls = [e.url for e in top.evidence] if top is not None else []
    evidence_right = bool(deciding & set(urls)) if (correct and truth == "yes") else None
    # Every pending suggestion for the event outcome, whatever the answer: which items the
    # matcher took as evidence of the event.
    event_urls = {e.url for s in pending if s.outcome == "yes" for e in s.evidence}
    return {
        "key": question["key"],
        "field": question["field"],
        "truth": truth,
        "answer": answer,
        "confidence": float(top.confidence) if top is not None else 0.0,
        "resolver": top.resolver if top is not None else None,
        "correct": correct,
        "evidence_right": evidence_right,
        "evidence_urls": urls,
        "items_in_yes_evidence": [
            {
                "near_miss": item["near_miss"],
                "role": item["role"],
                "in_window": item["in_window"],
                "taken": item["link"] in event_urls,
            }
            for item in question["items"]
        ],
    }


# ---------------------------------------------------------------------------------------------
# Figures


def _share(k: int, n: int) -> float | None:
    return k / n if n else None


def calibration(rows: Sequence[dict[str, Any]], bins: int = CALIBRATION_BINS) -> dict[str, Any]:
    """Reliability of the answer's confidence as a forecast that the answer is right: equal-
    width bins over [0, 1] (k = min(floor(c * bins), bins - 1); empty bins left out), and the
    Brier score mean((c - right)^2)."""
    groups: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[min(int(r["confidence"] * bins), bins - 1)].append(r)
    table = [
        {
            "bin_low": k / bins,
            "bin_high": (k + 1) / bins,
            "n": len(g),
            "mean_confidence": sum(r["confidence"] for r in g) / len(g),
            "share_right": sum(1 for r in g if r["correct"]) / len(g),
        }
        for k, g in sorted(groups.items())
    ]
    brier = (
        sum((r["confidence"] - (1.0 if r["correct"] else 0.0)) ** 2 for r in rows) / len(rows)
        if rows
        else None
    )
    return {"bins": table, "brier": brier}


def figures(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy, false YES, missed YES, evidence-right and calibration of a set of rows."""
    n = len(rows)
    yes = [r for r in rows if r["truth"] == "yes"]
    no = [r for r in rows if r["truth"] == "no"]
    false_yes = sum(1 for r in no if r["answer"] == "yes")
    missed_yes = sum(1 for r in yes if r["answer"] != "yes")
    right_yes = [r for r in yes if r["correct"]]
    evidence_right = sum(1 for r in right_yes if r["evidence_right"])
    return {
        "n": n,
        "n_yes": len(yes),
        "n_no": len(no),
        "accuracy": _share(sum(1 for r in rows if r["correct"]), n),
        "false_yes": false_yes,
        "false_yes_share": _share(false_yes, len(no)),
        "missed_yes": missed_yes,
        "missed_yes_share": _share(missed_yes, len(yes)),
        "correct_yes": len(right_yes),
        "evidence_right": _share(evidence_right, len(right_yes)),
        "calibration": calibration(rows),
    }


def near_miss_figures(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """For in-window items: how many of each near-miss kind got into the evidence of a YES
    suggestion for their question (for paraphrase items, which are deciding ones, being taken
    is right; for the other kinds it is a mistake)."""
    out: dict[str, Any] = {}
    for kind in NEAR_MISS_KINDS:
        items = [
            i
            for r in rows
            for i in r["items_in_yes_evidence"]
            if i["near_miss"] == kind and i["in_window"]
        ]
        taken = sum(1 for i in items if i["taken"])
        out[kind] = {"n": len(items), "taken": taken, "taken_share": _share(taken, len(items))}
    deciding = [i for r in rows for i in r["items_in_yes_evidence"] if i["role"] == "decides"]
    taken = sum(1 for i in deciding if i["taken"])
    out["all_deciding"] = {
        "n": len(deciding),
        "taken": taken,
        "taken_share": _share(taken, len(deciding)),
    }
    return out


def evaluate(part: str = "heldout", mode: str = "given") -> dict[str, Any]:
    """Run the service on a part in one mode; figures overall and per field, and the rows."""
    questions = load_part(part)
    started = time.perf_counter()
    rows = run_service(questions, mode)
    elapsed = time.perf_counter() - started
    by_field: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_field[r["field"]].append(r)
    return {
        "part": part,
        "mode": mode,
        "seconds": elapsed,
        "overall": figures(rows),
        "by_field": {f: figures(rs) for f, rs in sorted(by_field.items())},
        "near_misses": near_miss_figures(rows),
        "rows": rows,
    }


# ---------------------------------------------------------------------------------------------
# Printing


def _pct(value: float | None) -> str:
    return "   -  " if value is None else f"{100 * value:5.1f}%"


def _line(name: str, f: dict[str, Any]) -> str:
    brier = f["calibration"]["brier"]
    return (
        f"  {name:<15}{f['n']:>4}{f['n_yes']:>5}{f['n_no']:>4}  {_pct(f['accuracy'])}"
        f"  {f['false_yes']:>3} {_pct(f['false_yes_share'])}"
        f"  {f['missed_yes']:>3} {_pct(f['missed_yes_share'])}"
        f"  {_pct(f['evidence_right'])}  {'-' if brier is None else f'{brier:.3f}':>6}"
    )


def print_result(result: dict[str, Any], *, details: bool = False) -> None:
    overall = result["overall"]
    print(
        f"\n{result['part']} part, {result['mode']} queries: {overall['n']} questions "
        f"({overall['n_yes']} YES, {overall['n_no']} NO), one cycle in {result['seconds']:.1f} s"
    )
    print(
        f"  {'field':<15}{'n':>4}{'yes':>5}{'no':>4}  {'accur.':>6}  {'false YES':>10}"
        f"  {'missed YES':>10}  {'evid.ok':>6}  {'brier':>6}"
    )
    for name, f in result["by_field"].items():
        print(_line(name, f))
    print(_line("OVERALL", overall))
    print("  calibration of the answer's confidence (bin: n, mean confidence -> share right):")
    for b in overall["calibration"]["bins"]:
        print(
            f"    [{b['bin_low']:.1f}, {b['bin_high']:.1f}): {b['n']:>3}, "
            f"{b['mean_confidence']:.2f} -> {b['share_right']:.2f}"
        )
    print("  in-window items taken as YES evidence, by kind (paraphrase and deciding: should be):")
    for kind, f in result["near_misses"].items():
        print(f"    {kind:<14}{f['taken']:>4} of {f['n']:>4}  {_pct(f['taken_share'])}")
    if details:
        print("  questions answered wrongly or with other evidence than the deciding items:")
        for r in result["rows"]:
            if not r["correct"] or r["evidence_right"] is False:
                print(
                    f"    {r['key']:<48} truth {r['truth']:<3} answer {r['answer'] or '-':<3} "
                    f"{r['confidence']:.2f} {r['resolver']}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("dev", "heldout", "all"), default="dev")
    parser.add_argument("--mode", choices=("given", "derived", "both"), default="both")
    parser.add_argument(
        "--details", action="store_true", help="list the questions got wrong (dev part only)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures and rows to FILE")
    args = parser.parse_args()
    if args.details and args.part != "dev":
        parser.error("--details lists questions one by one, so only for the dev part")
    modes = MODES if args.mode == "both" else (args.mode,)
    results = []
    for mode in modes:
        result = evaluate(args.part, mode)
        results.append(result)
        print_result(result, details=args.details)
    if args.json:
        keep_rows = args.part == "dev"
        args.json.write_text(
            json.dumps(
                [r if keep_rows else {k: v for k, v in r.items() if k != "rows"} for r in results],
                indent=1,
            )
        )
    command = ["bench/resolution.py", *sys.argv[1:]]
    print(
        "\nreproduce: cd " + shlex.quote(str(ROOT)) + " && .venv/bin/python " + shlex.join(command)
    )


if __name__ == "__main__":
    main()
