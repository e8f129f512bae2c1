"""Benchmark: the claim finder (forecasts/claims.py) on one text, with recall and precision
against hand labels.

    .venv/bin/python bench/claims.py --text FILE [--labels FILE] [--published-on YYYY-MM-DD]

Prints every claim found (start offset, hedge, the table's phrase and probability, the
proposed title and resolve_by) and, given labels, the figures.

The labels file is JSON and holds no text, only where the labelled sentences start:

    {"published_on": "2015-11-01",
     "claims": {"1": [5154], "2": [3190, 3272], "3": [75, 430, 6719]}}

Each key is a claim (numbered as the labeller likes); its list holds the character offsets
(in the text file as read, UTF-8) at which the sentences stating that claim start. A found
sentence is that claim's when a labelled offset lies inside it. Figures:

- claims found: labelled claims with at least one of their sentences found (recall by claim);
- sentence recall: labelled sentences found / labelled sentences;
- precision: found sentences that are some claim's / sentences found; the others are listed.

`published_on` (or --published-on, which wins; default today) is the day horizons count from.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # Run as a script from a checkout: the project's packages sit next to bench/.
    sys.path.insert(0, str(ROOT))

from forecasts.claims import Claim, find_claims  # noqa: E402


def _owner(claim: Claim, labels: dict[str, list[int]]) -> str | None:
    for number, starts in labels.items():
        if any(claim.start <= start < claim.end for start in starts):
            return number
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--text", required=True, type=Path, help="the text to read (UTF-8)")
    parser.add_argument("--labels", type=Path, help="JSON labels (see the module docstring)")
    parser.add_argument("--published-on", type=date.fromisoformat, help="YYYY-MM-DD")
    args = parser.parse_args(argv)

    text = args.text.read_text(encoding="utf-8")
    label_doc = json.loads(args.labels.read_text(encoding="utf-8")) if args.labels else {}
    labels: dict[str, list[int]] = {
        str(k): [int(v) for v in starts] for k, starts in label_doc.get("claims", {}).items()
    }
    published_on = args.published_on or (
        date.fromisoformat(label_doc["published_on"])
        if label_doc.get("published_on")
        else date.today()
    )

    started = time.perf_counter()
    claims = find_claims(text, published_on=published_on)
    elapsed = time.perf_counter() - started

    others: list[Claim] = []
    found_by_claim: dict[str, int] = {}
    for claim in claims:
        owner = _owner(claim, labels)
        tag = f"claim {owner}" if owner else "other"
        if owner:
            found_by_claim[owner] = found_by_claim.get(owner, 0) + 1
        else:
            others.append(claim)
        estimate = (
            f"{claim.estimate} = {claim.probability:g}" if claim.estimate else "no table phrase"
        )
        print(f"[{claim.index}] @{claim.start}  hedge {claim.hedge!r} ({estimate})  [{tag}]")
        print(f"    {claim.proposed.title}")
        print(
            f"    resolve_by {claim.proposed.resolve_by}, default {claim.proposed.default_outcome}"
        )
    print(f"\n{len(claims)} claims in {len(text)} characters, {elapsed * 1000:.0f} ms")

    if labels:
        labelled = sum(len(starts) for starts in labels.values())
        found_sentences = sum(
            1
            for starts in labels.values()
            for s in starts
            if any(c.start <= s < c.end for c in claims)
        )
        hit = sorted(found_by_claim, key=lambda k: (len(k), k))
        missed = sorted(set(labels) - set(found_by_claim), key=lambda k: (len(k), k))
        precision = (len(claims) - len(others)) / len(claims) if claims else 0.0
        print(f"claims found: {len(hit)} of {len(labels)} ({', '.join(hit) or 'none'})")
        if missed:
            print(f"claims missed: {', '.join(missed)}")
        print(f"sentence recall: {found_sentences}/{labelled} = {found_sentences / labelled:.3f}")
        print(f"precision: {len(claims) - len(others)}/{len(claims)} = {precision:.3f}")
        print(f"other sentences proposed: {len(others)}")
    command = ["bench/claims.py", "--text", str(args.text)]
    if args.labels:
        command += ["--labels", str(args.labels)]
    if args.published_on:
        command += ["--published-on", args.published_on.isoformat()]
    print("rerun: .venv/bin/python " + shlex.join(command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
