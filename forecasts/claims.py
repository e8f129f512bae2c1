"""Finding the forward-looking claims in a text: which sentences say what will or may happen,
and with which hedge. Pure: text in, claims out, no database.

A claim is a sentence in which the writer, in their own voice, says something about events
after the day of writing: future tense or a modal of prediction or possibility (will, won't,
shall, is going to, may, might, could, an imperative "Expect ..."), or an estimative phrase
of the estimate table (forecasts/estimates.py) or a variant of one ("are bound to", "is not
far-fetched", "will inevitably", "is likely to", "may very well"). The table deliberately
maps "will attempt to", "is pursuing" and "has pledged to" as estimates, so sentences built
on them are claims too.

Not claims: statements about the past; descriptions; quotations and reports of what others
said, promised, plan or fear ("the minister said Russia will ..."); plans, timetables and
terms reported as fact ("will campaign for", "the pact will eliminate tariffs", "will be
allowed to"); conditional asides ("if ...", "were X to ..."); questions. A scheduled fact
("the summit will be held in Vienna on 30 October") is not a claim either: it restates an
announced timetable rather than the writer's judgement, and would make a trivial question.
These rules are the labelling guidelines of tests/data/claims_*.json.

Sentences are split by pysbd, within paragraphs (line breaks), and located in the text by
character offsets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache

import pysbd

from forecasts.claim_markers import Marker, Word, estimate_markers, modal_markers, table, tokens
from forecasts.claim_questions import ProposedQuestion, lower_case_words, propose

# Longer sentences are not analysed: no writer's claim runs this long, and the rules below
# scan each sentence a few times.
MAX_SENTENCE_CHARS = 2000


@dataclass(frozen=True)
class Claim:
    """One forward-looking sentence, at [start, end) of the text, with its hedge as written,
    the estimate table's phrase and probability (None for a bare modal), and the question
    proposed from it."""

    index: int
    sentence: str
    start: int
    end: int
    hedge: str | None
    estimate: str | None
    probability: float | None
    proposed: ProposedQuestion


# Sentences


@cache
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False)


def sentences(text: str) -> Iterator[tuple[int, int]]:
    """[start, end) of each sentence of `text`, without surrounding white space. Paragraphs
    (line breaks) are split first, so a headline never runs into the text below it."""
    for para in re.finditer(r"[^\n]+", text):
        chunk = para[0]
        if not chunk.strip():
            continue
        cursor = 0
        for piece in _segmenter().segment(chunk):
            piece = piece.strip()
            if not piece:
                continue
            found = chunk.find(piece, cursor)
            if found < 0:  # pysbd changed the text after all: fall back to the whole chunk
                break
            cursor = found + len(piece)
            yield para.start() + found, para.start() + cursor


# Why a marker does not make a claim

_CONDITIONAL = re.compile(
    r"\b(?:if|unless|provided that|as long as|in case|in the event that|whether)\b", re.I
)
_CONDITIONAL_START = re.compile(r"^\s*(?:Should|Were|Had)\s+\w+")
# Verbs and frames that report what someone else said, promised, plans or fears.
_REPORTING = {
    "said", "says", "say", "told", "tells", "tell", "announced", "announces", "announce",
    "insisted", "insists", "insist", "argued", "argues", "claimed", "claims", "warned", "warns",
    "promised", "promises", "vowed", "vows", "stated", "declared", "declares", "predicted",
    "predicts", "expects", "expected", "believes", "believed", "thinks", "thought", "fears",
    "feared", "hopes", "hoped", "worries", "worried", "concerned", "confident", "reported",
    "reports", "added", "noted", "wrote", "writes", "suggested", "forecast", "forecasts",
    "estimates", "estimated", "assured", "assures", "threatened", "threatens", "signalled",
    "signaled", "indicated", "indicates", "confirmed", "confirms", "explained", "explains",
}  # fmt: skip
# The writer speaking: "we expect", "I think".
_OWN_VOICE = {"we", "i"}
# Between a reporting verb and a marker these start a clause of the writer's own.
_CLAUSE_BREAK = re.compile(r",\s*(?:and|but|yet|so|while|whereas)\b|;|:|\s[-–—]\s|\.\s")
_TRAILING_ATTRIBUTION = re.compile(
    r",\s*(?:[\w'’.\- ]{1,60}\s)?(?:said|says|added|warned|argued|insisted|wrote)\b[^,]*[.!]?$",
    re.I,
)
_QUOTE_PAIRS = (("“", "”"), ('"', '"'), ("«", "»"))

# After a bare "will": timetables, intentions and terms reported as fact.
_SCHEDULED = (
    "be held",
    "take place",
    "be sworn in",
    "take effect",
    "come into force",
    "enter into force",
    "come into effect",
    "be open for",
    "be inaugurated",
    "convene",
    "reconvene",
)
_PLANNED = {
    "campaign", "travel", "visit", "attend", "host", "chair", "lead", "present", "unveil",
    "publish", "meet", "tour", "address", "stand", "step", "head",
}  # fmt: skip
_TERMS = ("be allowed", "be able", "be permitted", "be required", "be obliged", "be entitled",
          "be banned", "be barred", "be exempt", "be eligible")  # fmt: skip
_DOCUMENTS = {
    "pact", "deal", "agreement", "law", "bill", "decree", "rule", "rules", "regulation",
    "regulations", "amendment", "amendments", "change", "changes", "reform", "reforms",
    "constitution", "treaty", "accord", "policy", "text", "measure", "measures", "budget",
    "legislation", "act", "scheme", "programme", "program", "plan", "ruling", "order",
}  # fmt: skip
_DATE_WORD = re.compile(
    r"^(?:\d{1,4}(?:st|nd|rd|th)?|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"january|february|march|april|may|june|july|august|september|october|november|december)$"
)
_WILL_FILLER = {"also", "then", "now", "soon", "first", "again", "finally", "formally"}


def _inside_quotes(sentence: str, position: int) -> bool:
    for opening, closing in _QUOTE_PAIRS:
        before = sentence[:position]
        if opening == closing:
            if before.count(opening) % 2 == 1:
                return True
        elif before.count(opening) > before.count(closing):
            return True
    return False


def _reported(sentence: str, words: list[Word], marker: Marker) -> bool:
    """A reporting verb (not the writer's own "we expect") governs the marker."""
    for i, word in enumerate(words):
        if word.start >= marker.start:
            break
        reporting = word.text in _REPORTING or (
            word.text == "according" and i + 1 < len(words) and words[i + 1].text == "to"
        )
        if not reporting:
            continue
        if i and words[i - 1].text in _OWN_VOICE:
            continue
        if not _CLAUSE_BREAK.search(sentence[word.end : marker.start]):
            return True
    return bool(_TRAILING_ATTRIBUTION.search(sentence[marker.end :]))


def _after_will(words: list[Word], marker: Marker) -> list[Word]:
    rest = [w for w in words if w.start >= marker.end]
    while rest and rest[0].text in _WILL_FILLER:
        rest = rest[1:]
    return rest


def _reported_as_fact(sentence: str, words: list[Word], marker: Marker) -> bool:
    """A bare "will" that states a timetable, an intention or the terms of a document."""
    if sentence[marker.start : marker.end].lower() not in ("will", "'ll", "shall"):
        return False
    rest = _after_will(words, marker)
    following = " ".join(w.text for w in rest[:4])
    if any(following.startswith(p) for p in _SCHEDULED + _TERMS):
        return True
    if rest and rest[0].text in _PLANNED:
        return True
    # "Polling day will be 8 June".
    if len(rest) >= 2 and rest[0].text == "be" and _DATE_WORD.match(rest[1].text):
        return True
    if re.match(r"\s*be\s+\w+\s+only\s+(?:after|when|once)\b", sentence[marker.end :], re.I):
        return True
    subject = [w for w in words if w.end <= marker.start]
    return bool(subject) and subject[-1].text in _DOCUMENTS


def _markers(sentence: str) -> list[Marker]:
    """The sentence's markers that make it a claim, best first: table phrases, then modals."""
    if len(sentence) > MAX_SENTENCE_CHARS or sentence.rstrip().endswith("?"):
        return []
    if _CONDITIONAL.search(sentence) or _CONDITIONAL_START.match(sentence):
        return []
    words = tokens(sentence)
    estimates = estimate_markers(sentence, words)
    modals = [
        m
        for m in modal_markers(sentence, words)
        if not any(e.start <= m.start < e.end for e in estimates)
    ]
    kept = []
    for marker in estimates + modals:
        if _inside_quotes(sentence, marker.start) or _reported(sentence, words, marker):
            continue
        if marker.estimate is None and _reported_as_fact(sentence, words, marker):
            continue
        kept.append(marker)
    return kept


def find_claims(text: str, *, published_on: date) -> list[Claim]:
    """The claims of `text`, in order, each with its hedge and a proposed question whose
    horizon counts from `published_on` (the source's date, else today)."""
    found: list[Claim] = []
    lower_words: frozenset[str] | None = None
    for start, end in sentences(text):
        sentence = text[start:end]
        markers = _markers(sentence)
        if not markers:
            continue
        if lower_words is None:
            lower_words = lower_case_words(text)
        hedge = markers[0]
        probability = table().get(hedge.estimate) if hedge.estimate else None
        # The question is best built on a marker with a verb phrase after it; its subject is
        # the one of an earlier marker it is coordinated with ("is not far-fetched and may").
        base = next((m for m in markers if m.verb_follows), hedge)
        subject_end = None
        for other in sorted(markers, key=lambda m: m.start):
            if other.end <= base.start and re.fullmatch(
                r"\s*(?:,\s*)?and\s+", sentence[other.end : base.start]
            ):
                subject_end = other.start
        found.append(
            Claim(
                index=len(found),
                sentence=sentence,
                start=start,
                end=end,
                hedge=sentence[hedge.start : hedge.end],
                estimate=hedge.estimate,
                probability=probability,
                proposed=propose(
                    sentence,
                    (base.start, base.end),
                    verb_follows=base.verb_follows,
                    published_on=published_on,
                    lower_words=lower_words,
                    hedge=sentence[hedge.start : hedge.end],
                    subject_end=subject_end,
                ),
            )
        )
    return found
