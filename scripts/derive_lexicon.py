"""Derive forecasts/data/lexicon.json, the synonyms and antonyms the matcher uses, from
Princeton WordNet 3.0 as Debian ships it (`apt-get install wordnet-base`: /usr/share/wordnet).

Run offline, once, when the seed list below changes:

    .venv/bin/python scripts/derive_lexicon.py [--wordnet /usr/share/wordnet]

Nothing reads WordNet at run time: the service ships the small table this writes. For each
seed word the table takes the WordNet senses named below (sense numbers as WordNet's index
orders them, most frequent first; `wn WORD -over` lists them), the other lemmas of those
synsets (its synonyms, less the few LEAVE_OUT names for a seed), and the lemmas at the
other end of their antonym pointers ("!"), with the synonyms of those antonyms; and, for
every noun, the relational adjectives WordNet links to it ("lunar" for "moon", "criminal"
for "crime": pertaining_adjectives). The data files are read directly (their format is
WordNet's wndb(5WN)); multi-word lemmas come out with spaces ("shoot down").

WordNet's licence (https://wordnet.princeton.edu/license-and-commercial-use) asks that its
copyright notice go with every copy of the data or anything derived from it; it is written
into the table.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

WORDNET_NOTICE = (
    "WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved. "
    'THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY MAKES NO '
    "REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED. BY WAY OF EXAMPLE, BUT NOT "
    "LIMITATION, PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES OF "
    "MERCHANTABILITY OR FITNESS FOR ANY PARTICULAR PURPOSE OR THAT THE USE OF THE LICENSED "
    "SOFTWARE, DATABASE OR DOCUMENTATION WILL NOT INFRINGE ANY THIRD PARTY PATENTS, "
    "COPYRIGHTS, TRADEMARKS OR OTHER RIGHTS. Permission to use, copy, modify and distribute "
    "this software and database and its documentation for any purpose and without fee or "
    "royalty is hereby granted, provided that this copyright notice and these statements, "
    "including the disclaimer, appear on all copies. The name of Princeton University or "
    "Princeton may not be used in advertising or publicity pertaining to distribution of "
    "the software and/or database. Title to copyright in this software, database and any "
    "associated documentation shall at all times remain with Princeton University."
)

# (word, part of speech, the WordNet sense numbers whose synsets it takes). The senses are
# the ones news of forecast questions uses the word in: "raise" 1 is "raise the level or
# amount of something", not "raise children".
SEEDS: list[tuple[str, str, tuple[int, ...]]] = [
    # levels: rates, prices, taxes
    ("raise", "v", (1,)),
    ("hike", "v", (1,)),
    ("increase", "v", (1, 2)),
    ("cut", "v", (2,)),
    ("lower", "v", (2,)),
    ("reduce", "v", (1,)),
    ("hold", "v", (1,)),
    # deals, projects
    ("complete", "v", (1,)),
    ("finalize", "v", (1,)),
    ("close", "v", (6,)),
    ("abandon", "v", (2, 4)),
    ("terminate", "v", (1,)),
    ("block", "v", (2, 3)),
    # launches, flights, starts
    ("launch", "v", (2,)),
    ("postpone", "v", (1,)),
    ("delay", "v", (1, 2)),
    ("scrub", "v", (3,)),
    ("abort", "v", (1,)),
    # decisions
    ("approve", "v", (1,)),
    ("reject", "v", (1, 2)),
    ("veto", "v", (1,)),
    ("ratify", "v", (1,)),
    ("sign", "v", (1, 2)),
    ("rule", "v", (2, 4)),
    ("overturn", "v", (3, 5)),
    ("uphold", "v", (3,)),
    ("ban", "v", (2,)),
    ("impose", "v", (1, 3)),
    ("lift", "v", (6, 20)),
    # contests
    ("win", "v", (1,)),
    ("lose", "v", (2,)),
    ("elect", "v", (1,)),
    ("defeat", "v", (1,)),
    # territory and force
    ("recapture", "v", (3,)),
    ("retake", "v", (1,)),
    ("capture", "v", (5,)),
    ("seize", "v", (3, 5)),
    ("invade", "v", (1,)),
    ("attack", "v", (1,)),
    ("shoot down", "v", (2,)),
    ("down", "v", (4,)),
    ("withdraw", "v", (1, 2)),
    ("pull out", "v", (1, 4)),
    ("quit", "v", (2,)),
    ("leave", "v", (5, 8)),
    ("retreat", "v", (1,)),
    ("surrender", "v", (1, 2)),
    # office
    ("resign", "v", (1, 2)),
    ("step down", "v", (1,)),
    ("oust", "v", (1,)),
    ("depose", "v", (1,)),
    ("overthrow", "v", (1,)),
    ("impeach", "v", (2,)),
    ("appoint", "v", (1,)),
    # giving up and keeping; other acts
    ("relinquish", "v", (1,)),
    ("cede", "v", (2,)),
    ("expand", "v", (3, 7)),
    ("dismantle", "v", (2,)),
    ("join", "v", (1,)),
    ("default", "v", (1,)),
    ("agree", "v", (2,)),
    ("announce", "v", (2,)),
    ("criticize", "v", (1,)),
    ("condemn", "v", (1,)),
    ("release", "v", (2,)),
    ("arrest", "v", (1,)),
    ("kill", "v", (1,)),
    ("die", "v", (1,)),
    # Acts that no frame lists, so a question worded with one makes a frame of its own
    # from its title verb (forecasts.event) and its derived query ORs these synonyms.
    # Only the senses news of such questions uses: "hit" as colliding with or striking
    # a target, not "hit a ball" or "hit the bottle"; "beat" a rival, not an egg.
    ("hit", "v", (2, 10)),
    ("beat", "v", (1,)),
    ("choose", "v", (1,)),
    ("select", "v", (1,)),
    ("carry", "v", (1,)),
    ("shut down", "v", (1,)),
    ("cancel", "v", (1,)),
    ("abolish", "v", (1,)),
    ("resume", "v", (1,)),
    ("restore", "v", (5,)),
    ("expel", "v", (1, 2)),
    ("visit", "v", (2,)),
    ("nominate", "v", (1,)),
    ("dissolve", "v", (4,)),
    ("unveil", "v", (2,)),
    ("exceed", "v", (1, 2, 3)),
    ("surpass", "v", (2, 4)),
    # nouns
    ("warplane", "n", (1,)),
    ("jet", "n", (1,)),
    ("aircraft", "n", (1,)),
    ("agreement", "n", (1,)),
    ("treaty", "n", (1,)),
    ("resignation", "n", (2,)),
    ("withdrawal", "n", (3, 8)),
    ("acquisition", "n", (1,)),
    ("merger", "n", (1,)),
    ("election", "n", (1,)),
    ("launch", "n", (2,)),
    ("interest rate", "n", (1,)),
    ("tariff", "n", (1,)),
    ("sanction", "n", (2,)),
    ("rocket", "n", (1,)),
    ("spacecraft", "n", (1,)),
    # nouns a question's act is done to, so that an item naming it otherwise still names it
    ("truce", "n", (1,)),
    ("bill", "n", (1,)),
    ("legislation", "n", (1,)),
    ("tax", "n", (1,)),
    ("permit", "n", (1,)),
    ("ban", "n", (1,)),
    ("vote", "n", (1,)),
    ("inflation", "n", (1,)),
    ("pact", "n", (1,)),
    ("title", "n", (4,)),
    ("championship", "n", (1,)),
    ("crime", "n", (1,)),
    ("prison", "n", (1,)),
    ("jail", "n", (1,)),
]

# Lemmas of a chosen sense that news uses for something else: leaving them out keeps the
# sense without its false matches ("shells" a city is no win over a rival; a team that
# "runs into" trouble has hit nothing).
LEAVE_OUT: dict[str, frozenset[str]] = {
    "beat/v": frozenset({"shell"}),
    "hit/v": frozenset({"run into"}),
}

_POS_FILES = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}


@dataclass
class Synset:
    offset: str
    pos: str
    lemmas: list[str]
    gloss: str = ""
    # (lemma index in this synset, target synset offset, target pos, target lemma index)
    antonyms: list[tuple[int, str, str, int]] = field(default_factory=list)
    # The same for pertainym ("\\") and derivationally related form ("+") pointers.
    related: list[tuple[str, int, str, str, int]] = field(default_factory=list)


class WordNet:
    """Just enough of WordNet's data files: senses of a word, synsets, antonym pointers."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._index: dict[str, dict[str, list[str]]] = {}
        self._tagged: dict[str, dict[str, int]] = {}
        self._data: dict[str, dict[str, Synset]] = {}

    def tagged(self, word: str, pos: str) -> int:
        """How many of the word's senses were tagged in WordNet's sense-tagged corpora (0:
        the word is rare there)."""
        self.senses(word, pos)
        return self._tagged[pos].get(word.replace(" ", "_").lower(), 0)

    def synsets(self, pos: str) -> list[Synset]:
        """Every synset of a part of speech."""
        self._load(pos)
        return list(self._data["a" if pos == "s" else pos].values())

    def senses(self, word: str, pos: str) -> list[str]:
        if pos not in self._index:
            table: dict[str, list[str]] = {}
            tagged: dict[str, int] = {}
            for line in (self.root / f"index.{_POS_FILES[pos]}").open(encoding="utf-8"):
                if line.startswith(" "):
                    continue  # the licence header
                parts = line.split()
                synset_cnt, p_cnt = int(parts[2]), int(parts[3])
                offsets = parts[4 + p_cnt + 2 :]
                assert len(offsets) == synset_cnt, line
                table[parts[0]] = offsets
                tagged[parts[0]] = int(parts[4 + p_cnt + 1])
            self._index[pos] = table
            self._tagged[pos] = tagged
        return self._index[pos].get(word.replace(" ", "_").lower(), [])

    def synset(self, offset: str, pos: str) -> Synset:
        pos = "a" if pos == "s" else pos
        self._load(pos)
        return self._data[pos][offset]

    def _load(self, pos: str) -> None:
        pos = "a" if pos == "s" else pos
        if pos not in self._data:
            table: dict[str, Synset] = {}
            for line in (self.root / f"data.{_POS_FILES[pos]}").open(encoding="utf-8"):
                if line.startswith(" "):
                    continue
                head_text, _, gloss = line.partition(" | ")
                head = head_text.split()
                w_cnt = int(head[3], 16)
                lemmas = [head[4 + 2 * i] for i in range(w_cnt)]
                rest = head[4 + 2 * w_cnt :]
                p_cnt = int(rest[0])
                synset = Synset(head[0], head[2], [_clean(w) for w in lemmas], gloss.strip())
                for i in range(p_cnt):
                    symbol, target, target_pos, source_target = rest[1 + 4 * i : 5 + 4 * i]
                    if symbol in ("\\", "+") and source_target != "0000":
                        synset.related.append(
                            (
                                symbol,
                                int(source_target[:2], 16) - 1,
                                target,
                                target_pos,
                                int(source_target[2:], 16) - 1,
                            )
                        )
                    if symbol == "!":
                        synset.antonyms.append(
                            (
                                int(source_target[:2], 16) - 1,
                                target,
                                target_pos,
                                int(source_target[2:], 16) - 1,
                            )
                        )
                table[head[0]] = synset
            self._data[pos] = table


def _clean(lemma: str) -> str:
    # Adjective markers "(a)", "(p)" and the underscores of multi-word lemmas.
    return lemma.split("(", 1)[0].replace("_", " ").lower()


# Endings of relational adjectives ("criminal", "economic", "lunar", "planetary"): those
# say "of the noun"; others derived from it ("cloudy", "healthy") describe something else.
_RELATIONAL_ENDINGS = ("al", "ic", "ar", "ary")


def pertaining_adjectives(wordnet: WordNet) -> dict[str, list[str]]:
    """Noun -> the adjectives news writes for it ("moon" -> "lunar", "sex" -> "sexual",
    "crime" -> "criminal"): WordNet's pertainym pointers ("\\") from adjectives to nouns, and
    its derivational ones ("+") between a relational adjective and a noun of the same stem
    (their first four letters). One-word lemmas only, and only adjectives WordNet's
    sense-tagged corpora use (the rare "cislunar" is left out), most used first."""
    found: dict[tuple[str, str], int] = {}
    for synset in wordnet.synsets("a"):
        for symbol, source, target, target_pos, target_index in synset.related:
            if target_pos != "n":
                continue
            adjective = synset.lemmas[source]
            noun = wordnet.synset(target, "n").lemmas[target_index]
            if " " in adjective or " " in noun or "-" in adjective or adjective == noun:
                continue
            if symbol == "+" and (
                adjective[:4] != noun[:4] or not adjective.endswith(_RELATIONAL_ENDINGS)
            ):
                continue  # "criminal" for "crime", not "cloudy" for "cloud"
            used = wordnet.tagged(adjective, "a")
            if used:
                found[(noun, adjective)] = used
    table: dict[str, list[str]] = {}
    for (noun, adjective), _ in sorted(found.items(), key=lambda e: (-e[1], e[0])):
        table.setdefault(noun, []).append(adjective)
    return dict(sorted(table.items()))


def derive(wordnet: WordNet) -> dict[str, object]:
    synonyms: dict[str, set[str]] = {}
    antonyms: dict[str, set[str]] = {}
    senses_used: dict[str, list[str]] = {}
    for word, pos, numbers in SEEDS:
        key = f"{word}/{pos}"
        offsets = wordnet.senses(word, pos)
        chosen = [offsets[n - 1] for n in numbers if n <= len(offsets)]
        if not chosen:
            raise SystemExit(f"{key}: WordNet has no sense {numbers} (it has {len(offsets)})")
        senses_used[key] = [f"{pos}{offset}" for offset in chosen]
        same = synonyms.setdefault(key, set())
        opposite = antonyms.setdefault(key, set())
        for offset in chosen:
            synset = wordnet.synset(offset, pos)
            same.update(synset.lemmas)
            for _, target, target_pos, target_index in synset.antonyms:
                other = wordnet.synset(target, target_pos)
                # The antonym itself and its synset's other lemmas ("lower" -> "lower",
                # "take down", "let down", "get down", "bring down").
                opposite.add(other.lemmas[target_index])
                opposite.update(other.lemmas)
        same.discard(word)
        opposite.discard(word)
        same -= LEAVE_OUT.get(key, frozenset())
    return {
        "source": (
            "Derived from Princeton WordNet 3.0 (Debian package wordnet-base) by "
            "scripts/derive_lexicon.py; senses chosen there per seed word."
        ),
        "licence": WORDNET_NOTICE,
        "senses": senses_used,
        "synonyms": {k: sorted(v) for k, v in sorted(synonyms.items())},
        "antonyms": {k: sorted(v) for k, v in sorted(antonyms.items()) if v},
        "pertainyms": pertaining_adjectives(wordnet),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"))
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).parents[1] / "forecasts" / "data" / "lexicon.json",
    )
    parser.add_argument("--show", action="store_true", help="print each seed's senses' glosses")
    args = parser.parse_args()
    wordnet = WordNet(args.wordnet)
    if args.show:
        for word, pos, numbers in SEEDS:
            for n, offset in enumerate(wordnet.senses(word, pos), start=1):
                mark = "*" if n in numbers else " "
                synset = wordnet.synset(offset, pos)
                print(f"{mark} {word}/{pos} {n}: {', '.join(synset.lemmas)} | {synset.gloss[:90]}")
        return
    table = derive(wordnet)
    args.out.write_text(json.dumps(table, indent=1, ensure_ascii=False) + "\n", "utf-8")
    print(f"wrote {args.out} ({len(table['synonyms'])} seed words)")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
