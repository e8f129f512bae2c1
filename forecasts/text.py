"""Text analysis shared by news queries and news items: words, lemmas, clauses.

Both a query's terms and an item's words go through the same functions here, so a term
matches a word exactly when their lemmas (called stems here, as the query language has it)
agree. Lemmas come from lemminflect's dictionary, which ships with the package: nothing is
downloaded at run time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import NamedTuple

from lemminflect import getAllInflections, getAllLemmas

# Words and lemmas

# A word is a run of letters/digits, possibly with inner apostrophes (Iran's, didn't).
# Dotted acronyms (U.S., U.N.) become one word so they match "US" and do not end sentences.
ACRONYM = re.compile(r"\b((?:[A-Za-z]\.){2,})")

# Which of a word's dictionary lemmas stands for it when the part of speech is not known:
# the verb's first (news is about acts: "withdrew" -> withdraw, "shot" -> shoot, "leaves" ->
# leave), else the noun's, and so on.
_POS_ORDER = ("VERB", "NOUN", "ADJ", "ADV", "AUX", "PROPN", "PRON", "DET", "ADP", "NUM")
# Words whose dictionary lemma would join them to an unrelated word that news also uses:
# "Fed" is the Federal Reserve, not a form of "feed".
_KEEP = frozenset({"fed", "us", "media", "data", "news", "bases", "arms", "forces", "aids"})
# Unknown words (names mostly) lose a plural s only where it is plainly one.
_OOV_PLURAL_KEEP = ("ss", "us", "as", "os")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The word's lemma from lemminflect's English dictionary (withdraws, withdrew,
    withdrawing -> withdraw; withdrawal stays apart), lowercase. Queries and items both go
    through it, so a term matches every inflection of its word."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    elif w.endswith("'"):
        w = w[:-1]
    if len(w) <= 2 or w in _KEEP or not w.replace("'", "").isalpha():
        return w
    lemmas = lemma_forms(w)
    for pos in _POS_ORDER:
        found = lemmas.get(pos)
        if found:
            return str(found[0]).lower()
    if len(w) > 4 and w.endswith("s") and not w.endswith(_OOV_PLURAL_KEEP):
        if w.endswith("ies") and len(w) > 5:
            return w[:-3] + "y"
        return w[:-1]
    return w


@lru_cache(maxsize=200_000)
def lemma_forms(word: str) -> Mapping[str, tuple[str, ...]]:
    """lemminflect's getAllLemmas(word) (its lemmas by part of speech), read-only and
    remembered: lemminflect deep-copies its table entry on every call, and judging asks
    about the same few thousand words for every item (bench/poll.py)."""
    return MappingProxyType({pos: tuple(found) for pos, found in getAllLemmas(word).items()})


def inflections(lemma: str) -> frozenset[str]:
    """Every inflected form lemminflect knows of a word (verb and noun forms), the word
    itself included: cue lists are written as lemmas and matched in every form."""
    forms = {lemma.lower()}
    for values in getAllInflections(lemma.lower()).values():
        forms.update(v.lower() for v in values)
    return frozenset(forms)


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
_SENTENCE_END = re.compile(r"[.!?]")


@dataclass
class Scanned:
    """An item's words as parallel lists (cheaper than a Token each on the hot path)."""

    words: list[str]
    stems: list[str]
    clauses: list[int]
    raws: list[str]
    title_len: int
    # Sentence number per word (the title is one; a summary's end at . ! ?).
    sentences: list[int] = field(default_factory=list)


def scan(title: str, summary: str = "") -> Scanned:
    """Words of a title then a summary, with stems and clause numbers; the title is a clause
    of its own. Every item goes through here once, so the work is left to C where it can."""
    out = Scanned([], [], [], [], 0)
    words, stems, clauses, raws = out.words, out.stems, out.clauses, out.raws
    sentences = out.sentences
    clause = sentence = 0
    for n, part in enumerate((title, summary)):
        if n == 1:
            out.title_len = len(words)
        sentence += 1
        part = part.replace("’", "'")
        if "." in part and _ACRONYM_HINT.search(part):
            part = ACRONYM.sub(lambda m: m.group(1).replace(".", "") + " ", part)
        pieces = _CLAUSE_STOP.split(part)
        stops = _CLAUSE_STOP.findall(part)
        for k, piece in enumerate(pieces):
            clause += 1
            if k and _SENTENCE_END.search(stops[k - 1]):
                sentence += 1
            found = _WORDS.findall(piece)
            if not found:
                continue
            sentences.extend([sentence] * len(found))
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


def title_words(text: str) -> tuple[list[str], list[str]]:
    """A text's words as written and their stems, exactly as scan gives them (clause stops
    never split a word, so one pass finds them all), without clauses and sentences."""
    text = text.replace("’", "'")
    if "." in text and _ACRONYM_HINT.search(text):
        text = ACRONYM.sub(lambda m: m.group(1).replace(".", "") + " ", text)
    raws = _WORDS.findall(text)
    return raws, [stem(w.lower()) for w in raws]


def analyse(title: str, summary: str = "") -> list[Token]:
    """Tokens of an item's title then summary; the title is a clause of its own."""
    found = scan(title, summary)
    return [
        Token(w, s, c, i < found.title_len, r)
        for i, (w, s, c, r) in enumerate(
            zip(found.words, found.stems, found.clauses, found.raws, strict=True)
        )
    ]
