"""Reading one news item against a question's event (forecasts.event): whether the item
asserts the event's act, its opposite, a step short of it, or the act by another actor.

Each place where the item uses one of the frame's phrases is an occurrence; its state comes
from the cues (resolvers.cues: negation, hedging, cancellation) and its agent from the
nearest actor named before it in its clause (or after "by", for the passive). The title's
first occurrence speaks for the item (headlines lead with what happened); without one in the
title, the summary's first does. The reading names the words that decided it, so that the
rationale can say them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from forecasts.actors import Mention, is_name_word
from forecasts.event import Event, Occurrence
from forecasts.event_frames import LIGHT_VERBS, frame_named
from forecasts.text import lemma_forms
from resolvers.cues import FIRM, HEDGED, NEGATED

# Verbs of completing an act: "completes its withdrawal" is the withdrawal.
_COMPLETING = frozenset(w for p in frame_named("complete").ordered for w in p[:1])

# What an occurrence says about the event, strongest claim first.
ASSERTED = "asserted"  # the act happened (firm, the question's actor)
FINAL = "final"  # its opposite happened, and that ends its chance (a deal terminated)
OPPOSED = "opposed"  # its opposite happened, or it was said not to have
ANTICIPATED = "anticipated"  # planned, expected, a step short of it, or only reported
OTHER_ACTOR = "other-actor"  # done by someone else (another central bank)
ABSENT = "absent"  # the item names no act of the frame
NO_ACTOR = "no-actor"  # the act, but the question's actor is nowhere in the item


@dataclass(frozen=True)
class Reading:
    """How an item bears on a question's event, and which words decided it."""

    kind: str
    predicate: str = ""  # the words of the deciding occurrence, as written
    polarity: str = ""  # "positive" | "negative"
    actor: str = ""  # the actor found for it, as written
    in_title: bool = False
    note: str = ""
    start: int = -1  # where the deciding occurrence starts (token index)
    role: str = ""  # the occurrence's role in the frame ("asserts", "defeat", …)

    def describe(self) -> str:
        """The decisive words in a line: "predicate 'raises' (positive, firm); actor 'Fed'"."""
        if self.kind == ABSENT:
            return "no word for the event's act"
        parts = [f"predicate '{self.predicate}' ({self.polarity}, {self.note or self.kind})"]
        if self.actor:
            parts.append(f"actor '{self.actor}'")
        return "; ".join(parts)


def read_item(
    event: Event,
    *,
    stems: Sequence[str],
    raws: Sequence[str],
    clauses: Sequence[int],
    title_len: int,
    states: Sequence[int],
    own_states: dict[tuple[int, int], int],
    mentions: Sequence[Mention],
    found: Sequence[Occurrence],
) -> Reading:
    """The item's reading for the event. `states` are the cue states per word; `own_states`
    the state of an opposing occurrence with its own cue switched off ("scrubbed" is the
    opposite act, not a negation of it); `found` the frame's occurrences in the item."""
    if not found:
        return Reading(ABSENT)
    present = _actor_present(event, stems, mentions)
    stages = [o for o in found if o.role == "stage"]
    readings = []
    for occ in found:
        if occ.role == "stage":
            continue
        reading = _reading(
            event, occ, stems, raws, clauses, title_len, states, own_states, mentions
        )
        reading = replace(reading, role=occ.role)
        # A step governs the act when it stands just before it in its clause ("formally
        # notifies its withdrawal"), not after ("closes its takeover after China clears it").
        # After it, a step is what the act was for ("beats Senegal to reach the
        # quarter-finals"): the act is then a step on the way too.
        step = next(
            (
                o
                for o in stages
                if clauses[o.start] == clauses[occ.start]
                and (
                    0 <= occ.start - o.end <= 4
                    or (
                        0 < o.start - occ.end <= 6
                        and not _STEP_AFTER.isdisjoint(stems[occ.end : o.start])
                    )
                )
            ),
            None,
        )
        governor = (
            _governed(event, occ, stems, raws, clauses)
            or _purpose_of(occ, stems, raws)
            or _modifies(occ, stems, raws, clauses)
        )
        if reading.kind == ASSERTED and governor:
            # "brings the shutdown forward", "freezes ratification": the act named as a
            # thing another verb acts on is not asserted; completing it is ("completes
            # its withdrawal").
            reading = Reading(
                ANTICIPATED, reading.predicate, "positive", reading.actor, reading.in_title,
                f"named, not asserted ('{governor} … {occ.text}')", reading.start, reading.role,
            )  # fmt: skip
        if reading.kind == ASSERTED and step is not None:
            # "formally notifies its withdrawal", "votes to approve the deal's terms": a
            # step on the way, not the act.
            reading = Reading(
                ANTICIPATED, reading.predicate, "positive", reading.actor, reading.in_title,
                f"a step short of it ('{step.text}')", reading.start, reading.role,
            )  # fmt: skip
        readings.append(reading)
    if not readings:
        return Reading(ANTICIPATED, stages[0].text, "positive", "", False, "a step short of it")
    in_title = [r for r in readings if r.in_title]
    pool = in_title or readings
    # Headlines lead with what happened: the first reading that says something decides, a
    # stage or hedge only when nothing firmer stands beside it.
    firm = [r for r in pool if r.kind in (ASSERTED, FINAL, OPPOSED, OTHER_ACTOR)]
    chosen = firm[0] if firm else pool[0]
    if chosen.kind == ASSERTED and not present:
        return Reading(
            NO_ACTOR, chosen.predicate, chosen.polarity, "", chosen.in_title, "actor missing",
            chosen.start, chosen.role,
        )  # fmt: skip
    return chosen


def _actor_present(event: Event, stems: Sequence[str], mentions: Sequence[Mention]) -> bool:
    """Whether every actor and named party of the question appears in the item, or the
    item names the thing the question calls theirs ("its Stadia service")."""
    if event.owned_object and event.object_names & set(stems):
        return True
    named = {m.actor for m in mentions}
    if event.any_actor:
        if event.actors and not any(actor in named for actor in event.actors):
            return False
    elif any(actor not in named for actor in event.actors):
        return False
    have = set(stems)
    return all(set(party.stems) & have for party in event.parties if not party.modifier)


def _agent(
    event: Event,
    occ: Occurrence,
    stems: Sequence[str],
    clauses: Sequence[int],
    mentions: Sequence[Mention],
) -> Mention | None:
    """Who does the act: "by X" just after it (the passive), else one of the question's
    actors named before it in its clause ("US and Russia back Amman memorandum": Amman only
    names the memorandum), else the nearest actor named before it there."""
    clause = clauses[occ.start]
    if occ.slot and occ.role == "asserts":
        # "gives Germany the title": who stands in the phrase's slot is whom the act is
        # about, whoever gave it (a scorer, an own goal).
        inside = [m for m in mentions if occ.start < m.start and m.end < occ.end]
        if inside:
            return inside[0]
    after = [
        m for m in mentions if occ.end <= m.start <= occ.end + 4 and clauses[m.start] == clause
    ]
    for m in after:
        if "by" in stems[occ.end : m.start]:
            return m
    # A place named after "in" or "at" says where the act was done, not who did it ("at the
    # summit in Buenos Aires the three leaders inked").
    before = [
        m
        for m in mentions
        if m.end <= occ.start
        and clauses[m.start] == clause
        and not (m.start > 0 and stems[m.start - 1] in _WHERE)
    ]
    own = [m for m in before if m.actor in event.actors]
    if own:
        return own[0]
    if before:
        passive = any(s in ("be",) for s in stems[before[-1].end : occ.start])
        if passive:
            return None  # "Russian jet was shot down": the one named is the patient
        return before[-1]
    return None


_WHERE = frozenset({"in", "at"})
# A verb and preposition that assert the act alone ("the takeover goes through") and say
# something else with an object of their own ("goes through a review").
_ALONE_ONLY = frozenset({"through"})
_OWN_OBJECT = frozenset({"a", "an", "the", "its", "their", "his", "her", "this", "another"})


def _reading(
    event: Event,
    occ: Occurrence,
    stems: Sequence[str],
    raws: Sequence[str],
    clauses: Sequence[int],
    title_len: int,
    states: Sequence[int],
    own_states: dict[tuple[int, int], int],
    mentions: Sequence[Mention],
) -> Reading:
    in_title = occ.start < title_len
    at = occ.start
    agent = _agent(event, occ, stems, clauses, mentions)
    actor_text = agent.text if agent else ""
    doer = _named_doer(event, occ, stems, raws, clauses) if in_title else ""
    if doer:
        # The title names who did it, and the question names someone else: "Richard
        # Branson flies to space" for a question about Jeff Bezos.
        return Reading(
            OTHER_ACTOR, occ.text, "positive" if occ.role == "asserts" else "negative", doer,
            in_title, f"done by {doer}, not the question's {_party_names(event)}", at,
        )  # fmt: skip
    if agent is not None and event.actors and agent.actor not in event.actors:
        kinds = event.actor_kinds
        if agent.actor.kind in kinds:
            return Reading(
                OTHER_ACTOR,
                occ.text,
                "positive" if occ.role == "asserts" else "negative",
                actor_text,
                in_title,
                f"done by {agent.actor.name}, not {', '.join(a.name for a in event.actors)}",
                at,
            )
    # The occurrence's state with its own words' cues switched off: "scrubbed" is the
    # opposite act, "pledges" the act of a pledge question, not a hedge of it.
    state = own_states.get((occ.start, occ.end), max(states[occ.start : occ.end]))
    ahead = _ahead(occ, stems, clauses)
    if occ.role == "defeat":
        if _names_party(event, stems[occ.start + 1 : occ.end + 3]):
            # "Macron beats Le Pen": the question's side is the one beaten.
            return Reading(OPPOSED, occ.text, "negative", actor_text, in_title, "beaten", at)
        if state != FIRM or ahead:
            return Reading(ANTICIPATED, occ.text, "positive", actor_text, in_title, "hedged", at)
        before = stems[max(0, occ.start - 4) : occ.start]
        if _names_party(event, before):
            return Reading(ASSERTED, occ.text, "positive", actor_text, in_title, "firm", at)
        return Reading(ANTICIPATED, occ.text, "positive", actor_text, in_title, "someone's", at)
    if occ.role == "opposes":
        if state == FIRM and not ahead:
            kind = FINAL if occ.final else OPPOSED
            note = "ends its chance" if occ.final else "the opposite act"
            return Reading(kind, occ.text, "negative", actor_text, in_title, note, at)
        # A negated or hedged opposite ("did not cut") says nothing for the act.
        return Reading(ANTICIPATED, occ.text, "negative", actor_text, in_title, "hedged", at)
    if (
        stems[occ.end - 1] in _ALONE_ONLY
        and occ.end < len(stems)
        and clauses[occ.end] == clauses[occ.start]
        and stems[occ.end] in _OWN_OBJECT
    ):
        return Reading(
            ANTICIPATED, occ.text, "positive", actor_text, in_title,
            f"with an object of its own ('{occ.text} {raws[occ.end]}')", at,
        )  # fmt: skip
    if state == NEGATED:
        return Reading(OPPOSED, occ.text, "negative", actor_text, in_title, "negated", at)
    if state == HEDGED:
        return Reading(ANTICIPATED, occ.text, "positive", actor_text, in_title, "hedged", at)
    if ahead:
        return Reading(
            ANTICIPATED, occ.text, "positive", actor_text, in_title, f"still ahead ('{ahead}')", at
        )
    return Reading(ASSERTED, occ.text, "positive", actor_text, in_title, "firm", at)


# Words that make a step after the act what the act was for or part of ("beats Senegal to
# reach the quarter-finals", "beats Djokovic in a quarter-final", "won into the final").
_STEP_AFTER = frozenset({"to", "in", "into"})


@lru_cache(maxsize=50_000)
def _adjective(word: str) -> bool:
    lemmas = lemma_forms(word)
    return "ADJ" in lemmas and "VERB" not in lemmas and "NOUN" not in lemmas


def _modifies(
    occ: Occurrence, stems: Sequence[str], raws: Sequence[str], clauses: Sequence[int]
) -> str:
    """The noun a gerund of the act qualifies ("a signing ceremony", "the landing site"): it
    names a thing, not the act; else ""."""
    end = occ.end
    if occ.role != "asserts" or not raws[end - 1].lower().endswith("ing") or end >= len(raws):
        return ""
    if clauses[end] != clauses[occ.start] or is_name_word(raws[end]):
        return ""
    lemmas = lemma_forms(raws[end].lower())
    return raws[end] if "NOUN" in lemmas and "VERB" not in lemmas else ""


_RANKS = frozenset({"first", "second", "third", "last", "only", "latest", "fourth", "fifth"})


def _purpose_of(occ: Occurrence, stems: Sequence[str], raws: Sequence[str]) -> str:
    """The noun or gerund whose purpose or content the act is, named as an infinitive after
    it ("defies pressure to quit", "fighting to take control", "another week to reach a
    deal", "an order to rejoin"), else "". After a finite verb the infinitive may be the act
    ("Fed votes to raise rates"), and stays for the frame's stages to judge."""
    j = occ.start - 1
    # "to reach a final agreement": light verbs, articles and adjectives may stand between.
    while (
        j > occ.start - 4
        and j > 0
        and (stems[j] in _NOUN_PHRASE or stems[j] in LIGHT_VERBS or _adjective(raws[j].lower()))
    ):
        j -= 1
    if occ.role != "asserts" or j < 1 or stems[j] != "to":
        return ""
    raw = raws[j - 1]
    if not _RANKS.isdisjoint(stems[max(0, j - 4) : j - 1]):
        return ""  # "the first country to land on the Moon" did land there
    lemmas = lemma_forms(raw.lower())
    if (
        raw.lower().endswith("ing")
        or ("NOUN" in lemmas and "VERB" not in lemmas)
        or _adjective(raw.lower())
    ):
        # "fighting to take control", "another week to reach a deal", "too early to declare"
        return raw
    before = stems[j - 2] if j >= 2 else ""
    if "NOUN" in lemmas and (
        before in _NOUN_PHRASE or before in ("another", "more", "new") or _may_be_verb(before)
    ):
        # "defies pressure to quit", "signs an order to": a noun, the object of what precedes.
        return raw
    return ""


# Verbs that assert the act they take as object ("declares victory", "grants approval",
# "accepts his resignation"), beside the light verbs and the complete frame's own words.
_ASSERTING_GOVERNORS = frozenset(
    {
        "grant", "declare", "win", "receive", "secure", "give", "claim", "accept", "confirm",
        "formally", "officially",
    }
)  # fmt: skip
# Words a noun phrase holds before its head: determiners, possessives, numbers.
_NOUN_PHRASE = frozenset({"the", "a", "an", "its", "their", "his", "her", "first", "final"})


# How English makes a noun of an act (ratification, approval, closure, shutdown, pullout):
# such a noun names the act, where "memorandum" or "deal" names a thing.
_ACT_NOUN_ENDINGS = (
    "tion", "sion", "al", "ure", "ment", "ance", "ence", "ship", "down", "out", "over",
)  # fmt: skip


_NOUN_SUFFIXES = ("tion", "sion", "ment", "ship", "ance", "ence")


@lru_cache(maxsize=50_000)
def _noun_only(word: str) -> bool:
    """Whether the word is only a noun, and one made of an act."""
    lemmas = lemma_forms(word)
    if "NOUN" in lemmas and word.endswith(_NOUN_SUFFIXES):
        return True  # "accession" is a noun, whatever rare verb the dictionary also lists
    if not lemmas or "VERB" in lemmas or "NOUN" not in lemmas:
        return False
    return str(lemmas["NOUN"][0]).endswith(_ACT_NOUN_ENDINGS)


@lru_cache(maxsize=50_000)
def _may_be_verb(word: str) -> bool:
    return "VERB" in lemma_forms(word)


def _governed(
    event: Event,
    occ: Occurrence,
    stems: Sequence[str],
    raws: Sequence[str],
    clauses: Sequence[int],
) -> str:
    """The verb that takes the act, named as a noun ("shutdown", "ratification"), as its
    object, when that verb does not itself assert it; else ""."""
    if occ.role != "asserts" or occ.end - occ.start != 1 or not _noun_only(raws[occ.start].lower()):
        return ""
    clause = clauses[occ.start]

    def before_noun_phrase(j: int) -> int:
        while (
            j >= 0
            and clauses[j] == clause
            and (
                stems[j] in _NOUN_PHRASE
                or raws[j].endswith(("'s", "’s"))
                or (j > 0 and is_name_word(raws[j]))
                or ("ADJ" in lemma_forms(raws[j].lower()) and not _may_be_verb(raws[j].lower()))
            )
        ):
            j -= 1
        return j

    j = before_noun_phrase(occ.start - 1)
    if j > 0 and stems[j] == "of" and is_name_word(raws[j - 1]):
        # "notifies the UN of its withdrawal": the verb's first object is a name, the act
        # its second.
        j = before_noun_phrase(j - 1)
    if j < 0 or clauses[j] != clause:
        return ""
    word = raws[j].lower()
    if not _may_be_verb(word) or word.endswith("ing"):
        return ""
    lemma = stems[j]
    passing = LIGHT_VERBS | _ASSERTING_GOVERNORS | _COMPLETING
    return "" if lemma in passing or (lemma,) in event.frame.asserts else raws[j]


_CALENDAR = frozenset(
    {
        "january", "february", "march", "april", "may", "june", "july", "august", "september",
        "october", "november", "december", "monday", "tuesday", "wednesday", "thursday",
        "friday", "saturday", "sunday", "spring", "summer", "autumn", "winter",
    }
)  # fmt: skip
# Words that may stand between a headline's subject and its verb ("Starliner finally
# launches", "India has landed").
_BETWEEN = frozenset(
    {"finally", "officially", "formally", "successfully", "also", "now", "have", "be"}
)


def _named_doer(
    event: Event,
    occ: Occurrence,
    stems: Sequence[str],
    raws: Sequence[str],
    clauses: Sequence[int],
) -> str:
    """The name right before the title's act (its subject), when the question is about a
    named party and that name is nowhere in the question's title; else ""."""
    if (
        not any(not p.modifier for p in event.parties)
        or event.passive
        or occ.role not in ("asserts", "defeat")
    ):
        return ""
    k = occ.end
    while k < len(stems) and stems[k] in _NOUN_PHRASE:
        k += 1
    if _names_party(event, stems[k : k + 2]) or _names_party(event, stems[occ.start + 1 : occ.end]):
        return ""  # "Electoral College elects Trump": the act is done to the question's party
    j = occ.start - 1
    while j >= 0 and stems[j] in _BETWEEN and clauses[j] == clauses[occ.start]:
        j -= 1
    end = j + 1
    while j >= 0 and clauses[j] == clauses[occ.start] and is_name_word(raws[j]):
        j -= 1
    start = j + 1
    if start == end or (start == 0 and end == 1 and "NOUN" in lemma_forms(raws[0].lower())):
        return ""  # no name there, or only a headline's capitalised first word
    while j >= 1 and stems[j] in ("and", "or", "&") and is_name_word(raws[j - 1]):
        # "Israel, UAE and Bahrain sign": every name of a coordinated subject does it.
        j -= 1
        while j >= 0 and is_name_word(raws[j]):
            j -= 1
    words = {stems[k] for k in range(j + 1, end) if is_name_word(raws[k])}
    if words <= _CALENDAR:
        return ""  # "sets a November launch": a date, not a doer
    # A name's plural is the lemmatizer's blind spot ("Macs" for the Mac).
    words |= {w[:-1] for w in words if w.endswith("s") and len(w) > 3}
    known = event.title_words | {w for p in event.parties for w in p.stems}
    if words & known:
        return ""
    return " ".join(raws[start:end])


def _party_names(event: Event) -> str:
    return ", ".join(p.name for p in event.parties if not p.modifier)


def _names_party(event: Event, stems: Sequence[str]) -> bool:
    have = set(stems)
    if any(set(p.stems) & have for p in event.parties):
        return True
    return any(w in have for a in event.actors for alias in a.aliases for w in alias)


# Words that put an act named after them in the future: "for a 2020 launch", "ahead of
# the vote", "before its signing", "pending approval".
_AHEAD = frozenset({"for", "ahead", "before", "until", "pending", "toward", "towards"})


def _ahead(occ: Occurrence, stems: Sequence[str], clauses: Sequence[int]) -> str:
    for j in range(max(0, occ.start - 3), occ.start):
        if stems[j] in _AHEAD and clauses[j] == clauses[occ.start]:
            # "for" a person or a reason ("wins for her first title") is no future: only
            # when a determiner or a date follows it.
            if stems[j] == "for" and not any(
                s in ("a", "an", "the", "its", "their") or s[:1].isdigit()
                for s in stems[j + 1 : occ.start]
            ):
                continue
            return " ".join(stems[j : occ.end])
    return ""
