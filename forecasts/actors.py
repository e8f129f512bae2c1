"""The actor dictionary: who acts in news (central banks, countries, agencies, bodies) and
the phrases news calls each by, so that "the Fed", "the Federal Reserve" and "the FOMC" are
one actor and the Bank of Japan another; and finding them in analysed text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import cache

from forecasts.event_frames import Phrase, phrase, phrase_set
from forecasts.text import lemma_forms

# ---------------------------------------------------------------------------------------------
# Actors


@dataclass(frozen=True)
class Actor:
    """Someone who acts in news: its name, kind, and the phrases news calls it by."""

    name: str
    kind: str  # "central bank", "country", "agency", "company", "person", "body"
    aliases: frozenset[Phrase]
    written: tuple[str, ...] = ()  # the aliases as written, in the table's order


# name, kind, aliases ("|"-separated, as written in news; lemmatised like everything else).
_ACTOR_SPECS: list[tuple[str, str, str]] = [
    (
        "Federal Reserve",
        "central bank",
        "Fed|Federal Reserve|FOMC|Federal Open Market Committee|US central bank|Powell",
    ),
    (
        "European Central Bank",
        "central bank",
        "ECB|European Central Bank|euro zone central bank|eurozone central bank|Lagarde",
    ),
    ("Bank of England", "central bank", "Bank of England|BoE|Monetary Policy Committee"),
    ("Bank of Japan", "central bank", "Bank of Japan|BoJ|BOJ|Japanese central bank|Ueda|Kuroda"),
    ("Bank of Canada", "central bank", "Bank of Canada|BoC|Canadian central bank"),
    (
        "Reserve Bank of Australia",
        "central bank",
        "Reserve Bank of Australia|RBA|Australian central bank",
    ),
    ("Reserve Bank of New Zealand", "central bank", "Reserve Bank of New Zealand|RBNZ"),
    ("Reserve Bank of India", "central bank", "Reserve Bank of India|RBI|Indian central bank"),
    ("Swiss National Bank", "central bank", "Swiss National Bank|SNB"),
    (
        "People's Bank of China",
        "central bank",
        "People's Bank of China|PBOC|PBoC|Chinese central bank",
    ),
    (
        "Central Bank of Turkey",
        "central bank",
        "Central Bank of the Republic of Turkey|CBRT|Turkish central bank|Turkey's central bank",
    ),
    ("Riksbank", "central bank", "Riksbank|Swedish central bank"),
    ("Norges Bank", "central bank", "Norges Bank|Norwegian central bank"),
    (
        "Central Bank of Brazil",
        "central bank",
        "Central Bank of Brazil|Brazilian central bank|Banco Central do Brasil|Copom",
    ),
    (
        "Bank of Russia",
        "central bank",
        "Bank of Russia|Russian central bank|"
        "Russia's central bank|Central Bank of Russia|Nabiullina",
    ),
    ("Bank of Korea", "central bank", "Bank of Korea|BoK|South Korean central bank"),
    ("NASA", "agency", "NASA"),
    ("SpaceX", "company", "SpaceX|Space X"),
    ("ESA", "agency", "ESA|European Space Agency"),
    (
        "ISRO",
        "agency",
        "ISRO|Indian Space Research Organisation|Indian Space Research Organization",
    ),
    ("Roscosmos", "agency", "Roscosmos"),
    ("JAXA", "agency", "JAXA|Japan Aerospace Exploration Agency"),
    ("Blue Origin", "company", "Blue Origin"),
    ("Boeing", "company", "Boeing"),
    ("Rocket Lab", "company", "Rocket Lab"),
    ("CNSA", "agency", "CNSA|China National Space Administration"),
    ("FDA", "agency", "FDA|Food and Drug Administration"),
    ("EMA", "agency", "EMA|European Medicines Agency"),
    ("FTC", "agency", "FTC|Federal Trade Commission"),
    ("CMA", "agency", "CMA|Competition and Markets Authority"),
    ("European Commission", "body", "European Commission|Brussels|EU Commission"),
]

# Countries: name, then the forms news calls them by (adjective, capital as metonym).
_COUNTRIES: list[tuple[str, str]] = [
    ("United States", "US|USA|United States|America|American|Washington|White House|U.S."),
    ("United Kingdom", "UK|United Kingdom|Britain|British|London|Downing Street"),
    ("Russia", "Russia|Russian|Moscow|Kremlin"),
    ("China", "China|Chinese|Beijing"),
    ("Ukraine", "Ukraine|Ukrainian|Kyiv|Kiev"),
    ("Iran", "Iran|Iranian|Tehran"),
    ("Israel", "Israel|Israeli|Jerusalem"),
    ("Turkey", "Turkey|Turkish|Ankara|Türkiye|Turkiye"),
    ("Syria", "Syria|Syrian|Damascus"),
    ("Iraq", "Iraq|Iraqi|Baghdad"),
    ("France", "France|French|Paris|Elysee|Élysée"),
    ("Germany", "Germany|German|Berlin"),
    ("Japan", "Japan|Japanese|Tokyo"),
    ("India", "India|Indian|New Delhi|Delhi"),
    ("Pakistan", "Pakistan|Pakistani|Islamabad"),
    ("North Korea", "North Korea|North Korean|Pyongyang|DPRK"),
    ("South Korea", "South Korea|South Korean|Seoul"),
    ("Saudi Arabia", "Saudi Arabia|Saudi|Riyadh"),
    ("Egypt", "Egypt|Egyptian|Cairo"),
    ("Italy", "Italy|Italian|Rome"),
    ("Spain", "Spain|Spanish|Madrid"),
    ("Brazil", "Brazil|Brazilian|Brasilia"),
    ("Mexico", "Mexico|Mexican"),
    ("Canada", "Canada|Canadian|Ottawa"),
    ("Australia", "Australia|Australian|Canberra"),
    ("Poland", "Poland|Polish|Warsaw"),
    ("Belarus", "Belarus|Belarusian|Minsk"),
    ("Venezuela", "Venezuela|Venezuelan|Caracas"),
    ("Argentina", "Argentina|Argentine|Argentinian|Buenos Aires"),
    ("Taiwan", "Taiwan|Taiwanese|Taipei"),
    ("Afghanistan", "Afghanistan|Afghan|Kabul"),
    ("Lebanon", "Lebanon|Lebanese|Beirut"),
    ("Jordan", "Jordan|Jordanian|Amman"),
    ("Qatar", "Qatar|Qatari|Doha"),
    ("Yemen", "Yemen|Yemeni|Sanaa"),
    ("Libya", "Libya|Libyan|Tripoli"),
    ("Sweden", "Sweden|Swedish|Stockholm"),
    ("Finland", "Finland|Finnish|Helsinki"),
    ("Hungary", "Hungary|Hungarian|Budapest"),
    ("Greece", "Greece|Greek|Athens"),
    ("Armenia", "Armenia|Armenian|Yerevan"),
    ("Azerbaijan", "Azerbaijan|Azerbaijani|Baku"),
    ("Ethiopia", "Ethiopia|Ethiopian|Addis Ababa"),
    ("Nigeria", "Nigeria|Nigerian|Abuja"),
    ("South Africa", "South Africa|South African|Pretoria"),
    ("Sudan", "Sudan|Sudanese|Khartoum"),
    ("Cuba", "Cuba|Cuban|Havana"),
    ("Colombia", "Colombia|Colombian|Bogota"),
    ("Chile", "Chile|Chilean|Santiago"),
    ("Peru", "Peru|Peruvian|Lima"),
    ("Switzerland", "Switzerland|Swiss|Bern"),
    ("Netherlands", "Netherlands|Dutch|The Hague|Holland"),
    ("Norway", "Norway|Norwegian|Oslo"),
    ("Denmark", "Denmark|Danish|Copenhagen"),
    ("Indonesia", "Indonesia|Indonesian|Jakarta"),
    ("Philippines", "Philippines|Philippine|Filipino|Manila"),
    ("Vietnam", "Vietnam|Vietnamese|Hanoi"),
    ("Thailand", "Thailand|Thai|Bangkok"),
    ("New Zealand", "New Zealand|Wellington"),
    ("European Union", "EU|European Union"),
    ("NATO", "NATO|North Atlantic Treaty Organization|Atlantic alliance"),
    ("United Nations", "UN|United Nations"),
]


@cache
def actors() -> tuple[Actor, ...]:
    table = [Actor(n, k, phrase_set(a), tuple(a.split("|"))) for n, k, a in _ACTOR_SPECS]
    table += [Actor(n, "country", phrase_set(a), tuple(a.split("|"))) for n, a in _COUNTRIES]
    return tuple(table)


def actor_called(name: str) -> Actor | None:
    """The actor one of whose aliases the name is ("the Fed" -> Federal Reserve)."""
    wanted = phrase(name)
    for p, actor in actor_index().get(wanted[0] if wanted else "", ()):
        if p == wanted:
            return actor
    return None


@cache
def actor_index() -> dict[str, list[tuple[Phrase, Actor]]]:
    index: dict[str, list[tuple[Phrase, Actor]]] = {}
    for actor in actors():
        for p in actor.aliases:
            index.setdefault(p[0], []).append((p, actor))
    for entries in index.values():
        entries.sort(key=lambda e: -len(e[0]))
    return index


@dataclass(frozen=True)
class Mention:
    """An actor named in a text: where (token positions) and whom."""

    start: int
    end: int
    actor: Actor
    text: str


def find_actors(stems: Sequence[str], raws: Sequence[str] = ()) -> list[Mention]:
    """Known actors mentioned in analysed text, longest alias first, in text order."""
    index = actor_index()
    found: list[Mention] = []
    i = 0
    while i < len(stems):
        hit = None
        for p, actor in index.get(stems[i], ()):
            if tuple(stems[i : i + len(p)]) == p:
                # "us" the pronoun is not the United States: only "US" written in capitals.
                if p == ("us",) and raws and raws[i] != "US":
                    continue
                hit = Mention(i, i + len(p), actor, " ".join(raws[i : i + len(p)]))
                break
        if hit:
            found.append(hit)
            i = hit.end
        else:
            i += 1
    return found


# ---------------------------------------------------------------------------------------------
# Names in a series: "Artemis I" and "Artemis II", "iPhone 8" and "iPhone X", "GPT-4o" and
# "GPT-5" share a name and differ in the mark that tells the members apart. An item whose
# title is about another member than the question's is not news of the question's.

_ROMAN = re.compile(r"^(?:I{1,3}|IV|VI{0,3}|IX|XI{0,3})$")
# A year or a large number after a name is a date or a count, not a member's mark.
_YEAR = re.compile(r"^\d{4,}$")


def is_name_word(raw: str) -> bool:
    """A word written with a capital somewhere: "Kherson", "iPhone", "SpaceX"."""
    return any(c.isupper() for c in raw)


def _is_mark(raw: str) -> bool:
    if _YEAR.match(raw):
        return False
    return any(c.isdigit() for c in raw) or bool(_ROMAN.match(raw)) or raw in ("X",)


@dataclass(frozen=True)
class NameRun:
    """A run of name words in a text: its words (lemmas, marks left out) and its marks."""

    text: str
    words: frozenset[str]
    marks: frozenset[str]


def name_runs(raws: Sequence[str], stems: Sequence[str], span: range) -> list[NameRun]:
    """The runs of name words in `span`; a mark ("II", "3", "4o", "X") after a name word is
    part of its run ("Chandrayaan-3", "Falcon 9")."""
    runs: list[NameRun] = []
    run: list[int] = []

    def flush() -> None:
        if run:
            marks = frozenset(raws[j].upper() for j in run[1:] if _is_mark(raws[j]))
            words = frozenset(stems[j] for j in run if not (j != run[0] and _is_mark(raws[j])))
            runs.append(NameRun(" ".join(raws[j] for j in run), words, marks))
            run.clear()

    for j in span:
        raw = raws[j]
        if (run and _is_mark(raw)) or (is_name_word(raw) and not raw[0].isdigit()):
            run.append(j)
        else:
            flush()
    flush()
    return runs


# Words a run of capitalised words may hold that name nothing ("The", "Of" in title case).
_RUN_FILLER = frozenset({"the", "a", "an", "of", "and", "will", "for", "to", "in", "on"})


def other_entity(question: Sequence[NameRun], item: Sequence[NameRun]) -> str:
    """An item run that shares a word with a name of the question's subject but differs
    from it on both sides ("High Court" for "Supreme Court", "Venus Williams" for "Serena
    Williams"), when no item run agrees with that name; else "". A name given in full or
    in part ("Bezos", "Jeff Bezos") agrees."""
    for q in question:
        qw = q.words - _RUN_FILLER
        if not qw:
            continue
        found = ""
        for r in item:
            rw = r.words - _RUN_FILLER
            if not rw & qw:
                continue
            if rw <= qw or qw <= rw:
                found = ""
                break
            found = found or r.text
        if found:
            return found
    return ""


def other_member(question: Sequence[NameRun], item: Sequence[NameRun]) -> str:
    """An item run naming another member of a series the question names (shared name
    words, different marks), when no item run names the question's own member; else ""."""
    marked = [q for q in question if q.marks]
    if not marked:
        return ""
    for q in marked:
        own = [r for r in item if r.words & q.words and r.marks & q.marks]
        if own:
            continue
        for r in item:
            if r.words & q.words and r.marks and not r.marks & q.marks:
                return r.text
    return ""


# ---------------------------------------------------------------------------------------------
# Names the table does not know


@dataclass(frozen=True)
class NamedParty:
    """An actor of the question that the actor table does not know: a name, as lemmas."""

    name: str
    stems: tuple[str, ...]
    # Only says where what acts is from ("a European spacecraft", "a Japanese probe"): an
    # item may name the doer without it.
    modifier: bool = False


_DEMONYM_ENDINGS = ("an", "ese", "ish", "ian", "i", "ch", "ss")


def _describes(raws: Sequence[str], run: Sequence[int]) -> bool:
    """Whether a one-word run is a proper adjective before a common noun: "European" in
    "a European spacecraft" (a word the dictionary does not know, with a demonym's ending,
    before a word that can only be a noun)."""
    if len(run) != 1 or run[0] + 1 >= len(raws):
        return False
    word, following = raws[run[0]], raws[run[0] + 1]
    if not word.lower().endswith(_DEMONYM_ENDINGS) or lemma_forms(word.lower()):
        return False
    lemmas = lemma_forms(following)
    return following.islower() and "NOUN" in lemmas and "VERB" not in lemmas


def unknown_names(
    raws: Sequence[str],
    stems: Sequence[str],
    span: range,
    skip: AbstractSet[str],
    covered: AbstractSet[int] = frozenset(),
    owners: dict[int, tuple[str, ...]] | None = None,
) -> list[NamedParty]:
    """The parties of the question the actor table does not know: runs of name words in
    `span` that no actor covers (a covered word ends a run; `skip`: function words). A run
    that follows an actor who only says whose it is ("SpaceX's Falcon Heavy", `owners`: the
    run's first position -> the owner's words) may be named by the owner too."""
    parties: list[NamedParty] = []
    run: list[int] = []

    def flush() -> None:
        significant = tuple(
            stems[j]
            for j in run
            if stems[j] not in skip
            and len(stems[j]) >= 3
            and raws[j].lower() not in _NAME_PARTICLES
        )
        if significant:
            # Any of its words will do: a person is mostly named by the surname alone, a
            # company by its first word ("Exxon" for Exxon Mobil).
            extra = (owners or {}).get(run[0], ())
            initials = [raws[j][0].lower() for j in run if raws[j][:1].isupper()]
            if len(initials) >= 3:
                # News calls a long name by its initials: "UAE", "ICC".
                extra += ("".join(initials),)
            name = " ".join(raws[j] for j in run)
            parties.append(NamedParty(name, significant + extra, _describes(raws, run)))
        run.clear()

    for j in span:
        raw = raws[j]
        if j in covered:
            flush()
        elif is_name_word(raw) and stems[j] not in skip:
            run.append(j)
        elif raw.lower().startswith(("al-", "el-")) or (
            # "Lula da Silva", "Ursula von der Leyen", "Mohammed bin Salman": a lowercase
            # particle between two name words is part of the name.
            run
            and raw.lower() in _NAME_PARTICLES
            and j + 1 < len(raws)
            and (is_name_word(raws[j + 1]) or raws[j + 1].lower() in _NAME_PARTICLES)
        ):
            run.append(j)
        else:
            flush()
    flush()
    return parties


_NAME_PARTICLES = frozenset(
    {"al", "bin", "ibn", "da", "de", "do", "dos", "das", "di", "du", "del", "della", "van",
     "von", "der", "den", "la", "le"}
)  # fmt: skip
