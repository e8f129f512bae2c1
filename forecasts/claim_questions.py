"""A yes/no question proposed from a claim's sentence: its title, criteria to edit, the day
it resolves by and the outcome when no news comes. Pure; a person edits it before accepting.

The title is "Will <subject> <verb phrase> by <day>?", built around the marker that makes the
sentence a claim (will X, is likely to X, has pledged to X). The news_query is derived from
the title as for any question. A claim that something will continue or remain (the status
quo) gets default_outcome "yes": no news of a change means it held.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from forecasts.derived_query import derive_query
from forecasts.horizons import DEFAULT_HORIZON_YEARS, horizon

TITLE_MAX = 300
Outcome = Literal["yes", "no"]

# Verbs that say the present state goes on.
_STATUS_QUO = {
    "continue", "remain", "stay", "keep", "preserve", "maintain", "persist", "survive",
    "still", "retain", "endure", "last", "hold", "sustain",
}  # fmt: skip
_LEADING_FILLER = {"even", "also", "then", "thus", "therefore", "now", "indeed", "really"}
_CONNECTIVES = {
    "and", "but", "yet", "so", "thus", "therefore", "however", "moreover", "indeed", "still",
    "then", "hence", "also", "furthermore", "meanwhile",
}  # fmt: skip
_SUBJECT_CUT = re.compile(
    r",\s*(?:and|but|yet|so|while|whereas)\s+|;\s*|:\s*|\s[-–—]\s|\bbut\s+", re.I
)
# The verb phrase ends at the first comma: what follows is an aside, a reason or a list
# whose first item is the event the sentence leads with.
_PREDICATE_STOP = re.compile(
    r",|;|:|\s[-–—]\s|\s(?:because|since)\s",
    re.I,
)
_THAT_FRAME = re.compile(
    r"^.*\b(?:chance|chances|likely|clear|obvious|certain|possible|probable|sure|believe|doubt|"
    r"expect|think|fact|seems|appears|evident)\s+that\s+",
    re.I,
)
_OWN_FRAME = re.compile(r"^\s*(?:we|i)\s+(?:believe|doubt|expect|think)\s+(?:that\s+)?", re.I)
_POSSIBILITY = re.compile(
    r"^(?:the\s+)?(?:possibility|prospect|prospects|chance|chances|likelihood|risk|odds)\s+of\s+",
    re.I,
)
_FUNCTION_WORDS = {
    "a", "an", "the", "this", "that", "these", "those", "its", "their", "his", "her", "our",
    "my", "your", "both", "some", "many", "most", "all", "each", "every", "any", "such",
    "other", "another", "no", "few", "several", "much", "more", "further", "one", "two",
    "three", "there", "it", "they", "he", "she", "we", "you", "what", "whoever", "neither",
}  # fmt: skip
# Adverbs left dangling once the time expression is cut ("well before 2020").
_DANGLING = {"well", "even", "just", "long", "shortly", "sometime", "some", "time", "at"}
_INDEFINITE = ("a ", "an ", "another ", "some ", "any ", "more ", "further ", "new ", "no ")


@dataclass(frozen=True)
class ProposedQuestion:
    title: str
    resolution_criteria: str
    resolve_by: date
    news_query: str
    default_outcome: Outcome


def say_day(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    return text.strip(" ,;:.!—–-")


def _drop_leading(text: str, words: set[str]) -> str:
    parts = text.split()
    while parts and parts[0].lower().strip(",") in words:
        parts = parts[1:]
    return " ".join(parts)


def lower_case_words(text: str) -> frozenset[str]:
    """The words a text writes in lower case: a capitalised word among them is no name."""
    return frozenset(re.findall(r"(?<![\w'’-])[a-z][a-z'’-]*", text))


def _keeps_capital(word: str, rest: str, lower_words: frozenset[str]) -> bool:
    """Whether a subject's capitalised first word stays capitalised in "Will ...?": an
    acronym, "I", or a name (followed by another capitalised word, or never written in lower
    case in the text); a function word or a word the text also writes in lower case does not."""
    if not word[:1].isupper() or word == "I" or (word.isupper() and len(word) > 1):
        return True
    if word.lower() in _FUNCTION_WORDS:
        return False
    if rest[:1].isupper():
        return True
    return word.lower() not in lower_words


def _subject(before: str, lower_words: frozenset[str]) -> str:
    part = _SUBJECT_CUT.split(before)[-1]
    part = _OWN_FRAME.sub("", part)
    part = _THAT_FRAME.sub("", part)
    if "," in part:
        tail = part.rsplit(",", 1)[1].strip()
        part = tail if tail else part.split(",", 1)[0]
    part = _POSSIBILITY.sub("", _drop_leading(_tidy(part), _CONNECTIVES))
    if part:
        first, _, rest = part.partition(" ")
        if not _keeps_capital(first, rest, lower_words):
            part = (first.lower() + " " + rest).strip()
    return part


def _predicate(after: str) -> str:
    part = _drop_leading(_tidy(_PREDICATE_STOP.split(after, maxsplit=1)[0]), _LEADING_FILLER)
    words = part.split()
    while words and words[-1].lower() in _DANGLING:
        words.pop()
    return " ".join(words)


def _event(subject: str, predicate: str, marker: str, *, verb_follows: bool) -> str:
    """What the question asks about, as "<subject> <verb phrase>" for "Will ... ?"."""
    lowered = marker.lower()
    if lowered.endswith("pursuing"):
        return f"{subject} pursue {predicate}"
    if "consideration of" in lowered and " as " in predicate:
        who, _, role = predicate.partition(" as ")
        return f"{who} become {role}"
    if lowered == "expect":
        who, to, what = predicate.partition(" to ")
        return f"{who} {what}" if to else f"there be {predicate}"
    if verb_follows and predicate:
        return f"{subject} {predicate}"
    thing = subject or predicate
    if thing.lower().startswith(_INDEFINITE):
        return f"there be {thing}"
    return f"{thing} happen"


def _title(event: str, when: str) -> str:
    room = TITLE_MAX - len("Will  ?") - len(when)
    event = _tidy(event)
    if len(event) > room:
        event = event[: room - 1].rsplit(" ", 1)[0] + "…"
    return f"Will {event} {when}?"


def _is_status_quo(predicate: str, marker: str) -> bool:
    first = predicate.split()[:2]
    marker_words = marker.lower().split()
    return bool(
        {w.lower().strip(",") for w in first} & _STATUS_QUO
        or (marker_words and marker_words[-1] in _STATUS_QUO)
    )


def propose(
    sentence: str,
    marker: tuple[int, int],
    *,
    verb_follows: bool,
    published_on: date,
    lower_words: frozenset[str],
    hedge: str | None,
    subject_end: int | None = None,
) -> ProposedQuestion:
    """The question for a claim whose marker is sentence[marker[0]:marker[1]]; its subject
    ends at `subject_end` (default: the marker). Horizons count from `published_on`;
    `lower_words` are lower_case_words(the whole text)."""
    start, end = marker
    when = horizon(sentence, published_on, after=start)
    stop = subject_end if subject_end is not None else start
    before, after = sentence[:stop], sentence[end:]
    if when.expression is not None:
        # The time goes into "by <day>", so it is cut from the words around it.
        if when.start >= end:
            after = sentence[end : when.start] + " " + sentence[when.end :]
        elif when.end <= stop:
            before = sentence[: when.start] + " " + sentence[when.end : stop]
    subject = _subject(before, lower_words)
    predicate = _predicate(after)
    marker_text = sentence[start:end]
    status_quo = _is_status_quo(predicate, marker_text)
    event = _event(subject, predicate, marker_text, verb_follows=verb_follows)
    day = say_day(when.resolve_by)
    title = _title(event, f"until {day}" if status_quo else f"by {day}")
    criteria = [
        (
            f"Resolves YES if what “{title}” asks still holds on {day}: the claim says it will "
            f"continue, so the question resolves YES unless reliable news reports show it "
            f"ending on or before {day}."
        )
        if status_quo
        else (
            f"Resolves YES if reliable news reports show that the answer to “{title}” is yes "
            f"on or before {day}; NO if {day} passes without such reports."
        ),
        f"Proposed from the sentence “{_tidy(sentence)}”"
        + (f", hedged “{hedge}”." if hedge else "."),
        (
            f"resolve_by comes from “{when.expression}” in the sentence."
            if when.expression
            else (
                f"The sentence names no date: resolve_by is the default horizon of "
                f"{DEFAULT_HORIZON_YEARS} years after the source's date ({published_on})."
            )
        ),
        "Before accepting, say exactly what counts, what does not, and which reports are enough.",
    ]
    return ProposedQuestion(
        title=title,
        resolution_criteria=" ".join(criteria),
        resolve_by=when.resolve_by,
        news_query=derive_query(title),
        default_outcome="yes" if status_quo else "no",
    )
