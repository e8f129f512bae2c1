"""Synonyms and antonyms from WordNet, and the adjectives that say "of" a noun ("lunar"
for "moon"), as the table scripts/derive_lexicon.py derived from it offline
(forecasts/data/lexicon.json, with WordNet's licence notice): nothing reads WordNet at run
time.

Entries are keyed "word/pos" ("raise/v", "warplane/n"); words are lemmas, multi-word ones
with spaces ("shoot down"). Generic words that WordNet lists among a sense's lemmas but that
news uses for anything ("go", "get", "have") are left out of what this module gives.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

# Lemmas too general to stand for a seed word's sense in news text.
_GENERIC = frozenset(
    {
        "go", "get", "have", "take", "exit", "pass", "land", "find", "free", "choke", "conk",
        "croak", "o.k.", "okay", "knock", "embarrass", "nail", "cop", "collar", "table",
        "remit", "set back", "negative", "blackball", "deliver", "appropriate", "assume",
        "name", "constitute", "hold", "keep", "maintain", "decree", "loose", "piece",
        "tack", "vacate", "subscribe", "understanding", "projectile", "duty", "uniting",
        "fall in", "get together", "go out", "get out", "scratch", "stop", "halt", "end",
        "retire", "recede", "extend", "declare", "enforce", "move back", "draw back",
        "pull away", "give-up the ghost", "buy the farm", "cash in one's chips", "pop off",
        "kick the bucket", "snuff it", "drop dead", "decease", "move in", "get in",
    }
)  # fmt: skip


@cache
def _table() -> dict[str, Any]:
    text = resources.files("forecasts").joinpath("data", "lexicon.json").read_text("utf-8")
    table: dict[str, Any] = json.loads(text)
    return table


def _lookup(kind: str, word: str, pos: str | None) -> frozenset[str]:
    entries: dict[str, list[str]] = _table()[kind]
    keys = [f"{word}/{pos}"] if pos else [f"{word}/v", f"{word}/n"]
    found: set[str] = set()
    for key in keys:
        found.update(w for w in entries.get(key, ()) if w not in _GENERIC)
    return frozenset(found)


def synonyms(word: str, pos: str | None = None) -> frozenset[str]:
    """WordNet synonyms of a seed word in the senses the table keeps (empty if unknown)."""
    return _lookup("synonyms", word.lower(), pos)


def antonyms(word: str, pos: str | None = None) -> frozenset[str]:
    """WordNet antonyms of a seed word, with their synsets' other lemmas."""
    return _lookup("antonyms", word.lower(), pos)


def pertaining_adjectives(noun: str) -> tuple[str, ...]:
    """The adjectives WordNet relates to a noun ("moon" -> "lunar", "crime" -> "criminal"),
    most used first; empty if none."""
    entries: dict[str, list[str]] = _table().get("pertainyms", {})
    return tuple(entries.get(noun.lower(), ()))


def source_note() -> str:
    """Where the table comes from and WordNet's licence notice."""
    table = _table()
    return f"{table['source']} {table['licence']}"
