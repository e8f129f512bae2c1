"""Text analysis shared by news queries and news items: words, light stems, clauses.

Both a query's terms and an item's words go through the same functions here, so a term
matches a word exactly when their stems agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

# Words and stems

# A word is a run of letters/digits, possibly with inner apostrophes (Iran's, didn't).
# Dotted acronyms (U.S., U.N.) become one word so they match "US" and do not end sentences.
ACRONYM = re.compile(r"\b((?:[A-Za-z]\.){2,})")
_VOWELS = set("aeiouy")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A light suffix-stripping stem: `withdraws`, `withdrawing` -> `withdraw`; `withdrawal`
    stays apart. Both queries and items go through it, so only consistency matters."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    elif w.endswith("'"):
        w = w[:-1]
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if w.endswith("ing") and len(w) >= 6 and _VOWELS & set(w[:-3]):
        return _undouble(w[:-3])
    if w.endswith("ied") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("ed") and len(w) >= 5 and _VOWELS & set(w[:-2]):
        return _undouble(w[:-2])
    # take/taking -> tak, agree/agreed -> agre: a final e goes only where no suffix went.
    if w.endswith("e") and len(w) >= 4:
        w = w[:-1]
    return w


def _undouble(w: str) -> str:
    # stepped -> stepp -> step, so it meets "step"; keep ll/ss/zz (called -> call).
    if len(w) >= 3 and w[-1] == w[-2] and w[-1] not in "lsz" and w[-1] not in _VOWELS:
        return w[:-1]
    return w


def words(text: str) -> list[str]:
    """The words of a text in order (dotted acronyms joined: U.S. -> US)."""
    return scan(text).raws


# Conjunctions that start a new clause inside a sentence.
CLAUSE_WORDS = frozenset({"but", "while", "whereas", "although", "though", "however"})


class Token(NamedTuple):
    """One word of an analysed text: its lowercase form, stem, clause number, whether it is in
    the title, and the word as written."""

    word: str
    stem: str
    clause: int
    in_title: bool
    raw: str = ""


_WORDS = re.compile(r"\w+(?:'\w+)*")
# Clauses end at punctuation (and spaced dashes); a negation's scope stops there.
_CLAUSE_STOP = re.compile(r"[.,;:!?()\[\]{}\"“”|]+|\s[-–—]+\s|—")
_ACRONYM_HINT = re.compile(r"\b[A-Za-z]\.[A-Za-z]\.")


@dataclass
class Scanned:
    """An item's words as parallel lists (cheaper than a Token each on the hot path)."""

    words: list[str]
    stems: list[str]
    clauses: list[int]
    raws: list[str]
    title_len: int


def scan(title: str, summary: str = "") -> Scanned:
    """Words of a title then a summary, with stems and clause numbers; the title is a clause
    of its own. Every item goes through here once, so the work is left to C where it can."""
    out = Scanned([], [], [], [], 0)
    words, stems, clauses, raws = out.words, out.stems, out.clauses, out.raws
    clause = 0
    for n, part in enumerate((title, summary)):
        if n == 1:
            out.title_len = len(words)
        part = part.replace("’", "'")
        if "." in part and _ACRONYM_HINT.search(part):
            part = ACRONYM.sub(lambda m: m.group(1).replace(".", "") + " ", part)
        for piece in _CLAUSE_STOP.split(part):
            clause += 1
            found = _WORDS.findall(piece)
            if not found:
                continue
            lowered = [w.lower() for w in found]
            if CLAUSE_WORDS.isdisjoint(lowered):
                clauses.extend([clause] * len(lowered))
            else:
                for word in lowered:
                    if word in CLAUSE_WORDS:
                        clause += 1
                    clauses.append(clause)
            words.extend(lowered)
            raws.extend(found)
            stems.extend(map(stem, lowered))
    return out


def analyse(title: str, summary: str = "") -> list[Token]:
    """Tokens of an item's title then summary; the title is a clause of its own."""
    found = scan(title, summary)
    return [
        Token(w, s, c, i < found.title_len, r)
        for i, (w, s, c, r) in enumerate(
            zip(found.words, found.stems, found.clauses, found.raws, strict=True)
        )
    ]
