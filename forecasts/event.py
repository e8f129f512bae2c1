"""What a question's event is, read from its title and criteria: the act that must happen
(its predicate: raise, complete, launch, take effect, recapture, leave office, approve …),
who does it (its actors) and to what, and what the criteria say does not count.

The ideas are the political event coders' (TABARI, PETRARCH, the CAMEO ontology; see
RESOLVING.md): a verb dictionary of synonym sets, each with the acts that are its opposite
(CAMEO keeps "reject" apart from "approve"), the steps short of it (notifying a withdrawal is
not the withdrawal) and the opposites that end its chance (a deal terminated); and an actor
dictionary, so that "the Fed", "the Federal Reserve" and "the FOMC" are one actor and the Bank
of Japan another. The frames and actors below are this project's own; their synonyms are
widened with WordNet's (forecasts.lexicon). Everything here is pure: words in, a reading out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

from lemminflect import getAllLemmas

from forecasts.lexicon import antonyms, synonyms
from forecasts.text import scan, stem

Phrase = tuple[str, ...]  # lemmas, in order


def phrase(text: str) -> Phrase:
    """A phrase as the lemmas its words analyse to ("shot down" -> ("shoot", "down"))."""
    return tuple(scan(text).stems)


def _phrases(spec: str) -> frozenset[Phrase]:
    return frozenset(p for p in (phrase(part) for part in spec.split("|")) if p)


# ---------------------------------------------------------------------------------------------
# Frames


@dataclass(frozen=True)
class Frame:
    """One kind of act: the phrases that assert it, those that assert its opposite (evidence
    against), the opposites that leave it no chance (`final`), and steps short of it."""

    name: str
    asserts: frozenset[Phrase]
    opposes: frozenset[Phrase]
    final: frozenset[Phrase] = frozenset()
    stages: frozenset[Phrase] = frozenset()
    # Seed words (lemma, part of speech) whose WordNet synonyms and antonyms were added.
    seeds: tuple[str, ...] = ()
    # The frame's own asserting phrases in the order the table lists them.
    ordered: tuple[Phrase, ...] = ()
    # Made for one question from its title's verb (and its query's words for that act),
    # rather than taken from the table.
    generic: bool = False


# name, seed words for WordNet ("word/pos"), asserts, opposes, final, stages. Phrases are
# "|"-separated and written as lemmas; every inflection matches (forecasts.text).
_FRAME_SPECS: list[tuple[str, str, str, str, str, str]] = [
    (
        "raise",
        "raise/v hike/v increase/v",
        "raise|hike|increase|boost|lift|push up|tighten|rate hike|rate rise|rate increase",
        "cut|lower|reduce|ease|slash|hold|keep|leave unchanged|keep unchanged|pause|"
        "hold steady|stand pat|on hold|skip|rate cut",
        "",
        "",
    ),
    (
        "cut",
        "cut/v lower/v reduce/v",
        "cut|lower|reduce|ease|slash|trim|rate cut|rate reduction",
        "raise|hike|increase|hold|keep|leave unchanged|keep unchanged|pause|hold steady|"
        "stand pat|on hold|rate hike",
        "",
        "",
    ),
    (
        "complete",
        "complete/v finalize/v close/v",
        "complete|close|finalize|finalise|conclude|seal|wrap up|consummate|completion",
        "abandon|call off|terminate|scrap|drop|walk away|collapse|block|prohibit|reject|"
        "sue to block|fall through|pull out|withdraw|termination|veto",
        "abandon|call off|terminate|scrap|walk away|fall through|termination",
        "agree|approve|clear|vote|sign|announce",
    ),
    (
        "acquire",
        "acquisition/n merger/n",
        "acquire|buy|purchase|take over|takeover|acquisition|merge|merger",
        "abandon|call off|terminate|scrap|drop|walk away|collapse|block|prohibit|reject|"
        "sue to block|fall through|pull out|withdraw|termination|veto",
        "abandon|call off|terminate|scrap|walk away|fall through|termination",
        "agree|bid|offer|approach|talk|explore|consider",
    ),
    (
        "launch",
        "launch/v",
        "launch|lift off|liftoff|blast off|launching",
        "scrub|postpone|delay|abort|stand down|push back|call off|cancel|ground|slip|"
        "hold back|withhold",
        "cancel",
        "roll out|static fire|rehearsal|stack|fuel|target|schedule|slate",
    ),
    (
        "approve",
        "approve/v ratify/v",
        "approve|clear|greenlight|green light|approval|grant approval|endorse|sign off|pass|"
        "license|ratify|adopt|authorize|authorise",
        "reject|deny|block|veto|disapprove|vote down|turn down|refuse|decline|delay|postpone|"
        "rejection",
        "",
        "recommend|review|consider|debate|hearing|vote on|advisory|apply|application|submit|"
        "file|seek|request",
    ),
    (
        "reject",
        "reject/v veto/v",
        "reject|veto|vote down|block|turn down|refuse|rejection",
        "approve|pass|clear|authorize|authorise|ratify|adopt",
        "",
        "",
    ),
    (
        "take effect",
        "",
        "take effect|enter into force|come into force|go into effect|come into effect|"
        "enter force|become effective|kick in|in force|in effect|effective",
        "delay|postpone|suspend|block|halt|pause|scrap|strike down",
        "",
        "sign|pass|approve|announce|adopt|publish|notify|ratify|vote",
    ),
    (
        "withdraw",
        "withdraw/v pull_out/v leave/v withdrawal/n",
        "withdraw|pull out|quit|leave|exit|secede|withdrawal|exit",
        "rejoin|remain|stay|reverse|reconsider|rescind|delay|postpone|extension|extend",
        "",
        "notify|notification|notice|give notice|formal notice|start process|begin process|"
        "trigger|submit|letter|deposit",
    ),
    (
        "leave office",
        "resign/v step_down/v oust/v depose/v overthrow/v resignation/n",
        "resign|step down|quit|leave office|oust|depose|topple|overthrow|remove|flee|"
        "step aside|force out|hand over power|resignation|ouster|die|exile|leave power|"
        "left office|give up|stand down",
        "sworn in|re-elect|remain|survive|refuse to resign|cling|reelect|inaugurate|new term",
        "",
        "impeach|impeachment|no-confidence|call to resign|protest|demand",
    ),
    (
        "recapture",
        "recapture/v retake/v capture/v seize/v",
        "recapture|retake|regain|take back|liberate|win back|capture|seize|take control|"
        "reclaim|liberation|enter|recapture",
        "lose|withdraw from|retreat|pull back|repel|repulse|fail to take|fall to",
        "",
        "advance|push|offensive|approach|encircle|close in|battle for|fight for",
    ),
    (
        "capture",
        "capture/v seize/v invade/v",
        "capture|seize|take|conquer|take control|occupy|fall to|overrun|take over",
        "repel|repulse|withdraw|retreat|fail to take",
        "",
        "advance|push|offensive|approach|encircle|close in|battle for|fight for",
    ),
    (
        "win",
        "win/v elect/v",
        "win|victory|elect|clinch|sweep|triumph|winner|win election|crown|champion|"
        "lift trophy|lift the trophy|claim title|take title|retain title",
        "lose|concede|defeat|loss",
        "",
        "lead|poll|ahead|favourite|favorite|projected",
    ),
    (
        "sign",
        "sign/v",
        "sign|ink|signing|seal",
        "refuse to sign|reject|pull out|walk away|postpone|delay",
        "",
        "initial|draft|negotiate|finalise|finalize|approve draft",
    ),
    (
        "agree",
        "agreement/n treaty/n",
        "agree|agreement|deal|accord|pact|treaty|memorandum|joint statement|strike deal|"
        "reach deal|seal deal",
        "collapse|break down|reject|walk out|walk away|stall|fail",
        "",
        "talk|negotiate|propose|proposal|draft|discuss|meet",
    ),
    (
        "shoot down",
        "shoot_down/v down/v",
        "shoot down|down|bring down|downing|shootdown",
        "",
        "",
        "",
    ),
    (
        "ban",
        "ban/v",
        "ban|prohibit|outlaw|bar",
        "lift ban|allow|permit|legalise|legalize|overturn|strike down",
        "",
        "propose|consider|debate|bill",
    ),
    (
        "lift",
        "lift/v",
        "lift|repeal|revoke|rescind|remove|scrap|ease",
        "extend|renew|impose|tighten|expand|keep|maintain",
        "",
        "propose|consider|debate|signal",
    ),
    (
        "impose",
        "impose/v",
        "impose|levy|introduce|slap",
        "lift|remove|delay|suspend|exempt|pause|postpone|scrap|drop|exemption",
        "",
        "threaten|propose|consider|announce plan|warn",
    ),
    (
        "join",
        "join/v",
        "join|accede|become member|admit|accession|membership",
        "reject|veto|block|leave|withdraw",
        "",
        "apply|application|invite|invitation|candidate|talk",
    ),
    (
        "default",
        "default/v",
        "default|miss payment|fail to pay",
        "pay|make payment|avert default|repay",
        "",
        "",
    ),
    (
        "give up",
        "relinquish/v cede/v surrender/v dismantle/v",
        "give up|relinquish|cede|surrender|dismantle|hand over|renounce|destroy|handover",
        "expand|build|keep|retain|enlarge|extend|increase|boost|develop|acquire|upgrade",
        "",
        "agree|offer|propose|pledge|talk",
    ),
    (
        "criticise",
        "criticize/v condemn/v",
        "criticise|criticize|clash|rebuke|condemn|accuse|reject|denounce|slam|blame|criticism",
        "praise|welcome|back|support|endorse",
        "",
        "",
    ),
    (
        "convict",
        "",
        "convict|conviction|find guilty|found guilty|guilty verdict|plead guilty",
        "acquit|acquittal|not guilty|mistrial|overturn|throw out",
        "",
        "charge|trial|indict|indictment|arrest|plead not guilty|jury selection",
    ),
    (
        "release",
        "release/v",
        "release|free|set free|pardon|walk out|walk free|leave prison|leave jail",
        "sentence|convict|detain|extend detention",
        "",
        "",
    ),
    (
        "commit",
        "",
        "pledge|vow|commit|commitment|promise|set target|target|goal|aim|announce target|"
        "unveil target|set goal",
        "abandon|drop|scrap|withdraw|reverse|water down|weaken",
        "",
        "consider|discuss|propose|debate|draft|urge|call for",
    ),
    (
        "invade",
        "invade/v attack/v",
        "invade|attack|strike|bomb|shell|launch offensive|cross into|incursion|invasion",
        "withdraw|ceasefire",
        "",
        "",
    ),
]

# Words that stand for no act of their own: "announce an agreement", "make a deal",
# "become president". The event is then the next frame word after them, if any.
_LIGHT = frozenset(
    stem(w)
    for w in (
        "announce", "make", "reach", "become", "have", "get", "be", "see", "hold", "set",
        "put", "give", "take", "formally", "officially", "publicly", "still", "ever", "again",
        "finally", "successfully", "actually",
    )
)  # fmt: skip
# Phrases a frame word takes in titles that are not that act ("take effect" aside, "take"
# alone is too common to be a predicate; "hold" the light verb).
_NOT_PREDICATES = frozenset(
    {("take",), ("hold",), ("keep",), ("enter",), ("free",), ("down",), ("end",), ("lead",)}
)


# WordNet lemmas of a seed's sense that news uses for another act of its own frame list
# ("raise a siege" is lift's sense 20, but "raise" is the raise frame's word).
_WORDNET_SKIP: dict[str, frozenset[Phrase]] = {
    "lift": frozenset({("raise",), ("reverse",), ("annul",)}),
    "withdraw": frozenset({("retreat",), ("pull", "back")}),
    "leave office": frozenset({("renounce",), ("give", "up")}),
    "capture": frozenset({("occupy",)}),
}


def _expand(seeds: str) -> tuple[frozenset[Phrase], frozenset[Phrase]]:
    same: set[Phrase] = set()
    other: set[Phrase] = set()
    for seed in seeds.split():
        word, _, pos = seed.partition("/")
        word = word.replace("_", " ")
        same.update(phrase(w) for w in synonyms(word, pos or None))
        other.update(phrase(w) for w in antonyms(word, pos or None))
    return frozenset(p for p in same if p), frozenset(p for p in other if p)


@cache
def frames() -> tuple[Frame, ...]:
    """The frame table, with WordNet's synonyms and antonyms of each frame's seed words."""
    out = []
    own = {name: _phrases(asserts) for name, _, asserts, *_ in _FRAME_SPECS}
    for name, seeds, asserts, opposes, final, stages in _FRAME_SPECS:
        wn_same, wn_other = _expand(seeds)
        # A WordNet synonym that is another frame's own word stays that frame's ("quit"
        # and "leave office" share a synset; "leave office" is the leave-office frame's).
        others = frozenset().union(*(v for k, v in own.items() if k != name))
        wn_same -= _WORDNET_SKIP.get(name, frozenset()) | others
        own_asserts = _phrases(asserts)
        own_opposes = _phrases(opposes) if opposes else frozenset()
        out.append(
            Frame(
                name=name,
                asserts=own_asserts | (wn_same - own_opposes),
                opposes=own_opposes | (wn_other - own_asserts),
                final=_phrases(final) if final else frozenset(),
                stages=_phrases(stages) if stages else frozenset(),
                seeds=tuple(seeds.split()),
                ordered=tuple(dict.fromkeys(phrase(p) for p in asserts.split("|"))),
            )
        )
    return tuple(out)


def frame_named(name: str) -> Frame:
    for frame in frames():
        if frame.name == name:
            return frame
    raise KeyError(name)


@cache
def _assert_index() -> dict[str, list[tuple[Phrase, Frame]]]:
    """First lemma of each asserting phrase -> (phrase, frame), longest phrases first."""
    index: dict[str, list[tuple[Phrase, Frame]]] = {}
    for frame in frames():
        for p in frame.asserts:
            index.setdefault(p[0], []).append((p, frame))
    for entries in index.values():
        entries.sort(key=lambda e: -len(e[0]))
    return index


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
    table = [Actor(n, k, _phrases(a), tuple(a.split("|"))) for n, k, a in _ACTOR_SPECS]
    table += [Actor(n, "country", _phrases(a), tuple(a.split("|"))) for n, a in _COUNTRIES]
    return tuple(table)


def actor_called(name: str) -> Actor | None:
    """The actor one of whose aliases the name is ("the Fed" -> Federal Reserve)."""
    wanted = phrase(name)
    for p, actor in _actor_index().get(wanted[0] if wanted else "", ()):
        if p == wanted:
            return actor
    return None


@cache
def _actor_index() -> dict[str, list[tuple[Phrase, Actor]]]:
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
    index = _actor_index()
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
# Reading a question's event


@dataclass(frozen=True)
class NamedParty:
    """An actor of the question that the actor table does not know: a name, as lemmas."""

    name: str
    stems: Phrase


@dataclass(frozen=True)
class Exclusion:
    """One thing the criteria say does not count, as the content lemmas that mark it."""

    text: str
    marks: frozenset[str]


@dataclass(frozen=True)
class Event:
    """A question's event: the frame of its act, the word that named it, its actors, the
    words for what it is done to, and the criteria's exclusions."""

    frame: Frame
    predicate: str
    actors: tuple[Actor, ...] = ()
    parties: tuple[NamedParty, ...] = ()
    objects: frozenset[str] = frozenset()
    exclusions: tuple[Exclusion, ...] = ()
    source: str = "title"  # where the predicate was read: title, query or criteria
    # The first word of what the act is done to, as the title has it ("ceasefire" in "sign
    # a ceasefire or peace agreement"), and whether it is a name ("Kherson").
    head_object: str = ""
    head_is_name: bool = False
    object_names: frozenset[str] = frozenset()  # capitalised words of the object (Kherson)
    # "Will Finland or Sweden join": any one of the actors will do, not all of them.
    any_actor: bool = False
    # The question asks whether someone announces, pledges or sets a target: then "will",
    # "plans to", "pledges" are the event itself, not hedges of it.
    intention: bool = False

    @property
    def actor_kinds(self) -> frozenset[str]:
        return frozenset(a.kind for a in self.actors)

    def describe(self) -> str:
        who = ", ".join([a.name for a in self.actors] + [p.name for p in self.parties])
        return f"{self.frame.name}" + (f" by {who}" if who else "")


_QUESTION_WORDS = frozenset(
    stem(w)
    for w in (
        "will", "would", "is", "are", "was", "does", "do", "did", "can", "could", "should",
        "has", "have", "shall", "may", "might", "be",
    )
)  # fmt: skip
_FUNCTION = frozenset(
    stem(w)
    for w in (
        "a", "an", "the", "of", "on", "in", "into", "by", "to", "and", "or", "before", "after",
        "its", "it", "their", "his", "her", "at", "for", "with", "from", "any", "as", "than",
        "that", "this", "these", "those", "other", "new", "first", "least", "more", "most",
        "no", "not", "yes", "end", "year", "month", "day", "during", "within", "until", "by",
        "over", "under", "between", "about", "against", "least", "some", "all", "both", "there",
        "which", "who", "whose", "what", "when", "where", "how", "whether", "still", "ever",
        "again", "also", "one", "two", "three", "next", "meeting", "january", "february",
        "march", "april", "may", "june", "july", "august", "september", "october",
        "november", "december", "s", "own", "such", "so", "per", "via", "if", "but", "up",
        "out", "off", "down",
    )
)  # fmt: skip
_DIGITS = re.compile(r"^\d")
# What is lifted when "lift" means ending it rather than raising it.
_LIFTED = frozenset(
    stem(w)
    for w in (
        "ban", "sanction", "embargo", "restriction", "curb", "moratorium", "blockade",
        "lockdown", "siege", "suspension", "mandate", "tariff", "veto", "freeze",
    )
)  # fmt: skip


def _find_frame(stems: Sequence[str], start: int = 0) -> tuple[int, int, Frame] | None:
    """The first frame word at or after `start`: (position, length, frame). A light verb
    ("announce", "become") is skipped; a frame word inside a run that names an actor is not
    a predicate ("Trade" in "World Trade Organization" aside, names are found first)."""
    index = _assert_index()
    i = start
    while i < len(stems):
        for p, frame in index.get(stems[i], ()):
            if tuple(stems[i : i + len(p)]) == p and p not in _NOT_PREDICATES:
                return i, len(p), frame
        i += 1
    return None


def _title_verb(
    stems: Sequence[str], raws: Sequence[str], start: int, covered: set[int]
) -> tuple[int, str] | None:
    """The title's first word (after its question words) that can be a verb and is not a
    name, a light verb or a function word: "open" in "Will the Tokyo Olympics open"."""
    for j in range(start, len(stems)):
        raw = raws[j]
        if j in covered or raw[:1].isupper() or stems[j] in _FUNCTION or stems[j] in _LIGHT:
            continue
        if stems[j] in _QUESTION_WORDS or _DIGITS.match(stems[j]) or len(stems[j]) < 3:
            continue
        if "VERB" in getAllLemmas(raw.lower()):
            return j, stems[j]
    return None


def _names(raws: Sequence[str], stems: Sequence[str], span: range) -> list[NamedParty]:
    """Runs of capitalised words in `span` that the actor table does not cover."""
    parties: list[NamedParty] = []
    run: list[int] = []

    def flush() -> None:
        significant = tuple(
            stems[j] for j in run if stems[j] not in _FUNCTION and len(stems[j]) >= 3
        )
        if significant:
            # Any of its words will do: a person is mostly named by the surname alone, a
            # company by its first word ("Exxon" for Exxon Mobil).
            parties.append(NamedParty(" ".join(raws[j] for j in run), significant))
        run.clear()

    for j in span:
        raw = raws[j]
        if raw[:1].isupper() and stems[j] not in _QUESTION_WORDS and stems[j] not in _FUNCTION:
            run.append(j)
        elif raw.lower().startswith(("al-", "el-")) or (run and stems[j] in ("al", "bin")):
            run.append(j)
        else:
            flush()
    flush()
    return parties


# Words that open a criteria's exclusion without naming what is excluded.
_NOT_HEADS = frozenset(
    stem(w)
    for w in (
        "general", "local", "regional", "national", "formal", "official", "only", "other",
        "joint", "new", "single", "partial", "temporary", "full", "mere", "any", "report",
        "statement", "announcement", "claim", "change", "people", "force", "forces",
        "government", "country", "state", "party", "side", "one", "two", "already",
    )
)  # fmt: skip


def _exclusions(criteria: str) -> tuple[Exclusion, ...]:
    """The criteria's "Does not count: a; b, c or d." parts, each marked by its head: the
    first content word that names a thing (not an actor, not an adjective of kind), or the
    names it gives in parentheses ("(SCO, BRICS)")."""
    out: list[Exclusion] = []
    for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z])", criteria):
        if not re.search(r"\b(?:does|do) not count\b", sentence, re.I):
            continue
        body = re.split(r"(?:does|do) not count\s*:?", sentence, maxsplit=1, flags=re.I)
        text = body[1] if len(body) > 1 and body[1].strip(" .") else body[0]
        for group in text.split(";"):
            named = re.findall(r"\(([^)]*)\)", group)
            plain = re.sub(r"\([^)]*\)", " ", group)
            for part in re.split(r",|\bor\b", plain):
                head = _head(part)
                if head:
                    out.append(Exclusion(part.strip(" ."), frozenset({head})))
            for inner in named:
                for name in inner.split(","):
                    name = name.strip()
                    if name[:1].isupper() and not re.search(r"\d", name):
                        stems = tuple(scan(name).stems)
                        if stems:
                            out.append(Exclusion(name, frozenset(stems)))
    return tuple(out)


def _head(part: str) -> str | None:
    analysed = scan(part)
    for lemma, raw in zip(analysed.stems, analysed.raws, strict=True):
        lemmas = getAllLemmas(raw.lower())
        if lemmas and "NOUN" not in lemmas:
            continue  # "approved", "inside": no thing named
        if (
            lemma in _FUNCTION
            or lemma in _NOT_HEADS
            or len(lemma) < 4
            or _DIGITS.match(lemma)
            or _is_actor_word(lemma)
            or raw[:1].isupper()
            and raw.lower() not in ("talks",)
        ):
            continue
        return lemma
    return None


def excluded_by(
    event: Event, title_stems: Iterable[str], keep: Iterable[str] = ()
) -> Exclusion | None:
    """The criteria's exclusion an item's title names, if any: every mark of it is in the
    title. Marks that are the question's own words (`keep`: its query's terms), its act's
    words or its object's are no exclusion ("the 2001 treaty already in force" does not
    exclude a treaty question's treaty)."""
    have = frozenset(title_stems)
    frame = event.frame
    own = frozenset(keep) | event.objects | {w for p in frame.asserts | frame.opposes for w in p}
    for exclusion in event.exclusions:
        if exclusion.marks <= have and not exclusion.marks & own:
            return exclusion
    return None


def read_event(
    title: str,
    criteria: str = "",
    query_groups: Iterable[Iterable[str]] = (),
    default_outcome: str = "no",
) -> Event | None:
    """The question's event as its title says it (then its query's terms, then its
    criteria; `query_groups` are the query's AND parts, each its alternatives): a frame from
    the table when one's word names the act, else one made from the title's first verb;
    None when the title has none."""
    analysed = scan(title)
    stems, raws = analysed.stems, analysed.raws
    start = 0
    while start < len(stems) and stems[start] in _QUESTION_WORDS:
        start += 1
    mentions = find_actors(stems, raws)
    covered = {j for m in mentions for j in range(m.start, m.end)}
    found = None
    pos = start
    while True:
        candidate = _find_frame(stems, pos)
        if candidate is None:
            break
        at, length, _ = candidate
        if at not in covered:
            found = candidate
            break
        pos = at + 1
    source = "title"
    if found is None:
        groups = [list(g) for g in query_groups]
        terms = [t for g in groups for t in g]
        verb = _title_verb(stems, raws, start, covered)
        # The criteria's own YES sentence, not what they say does not count.
        yes = " ".join(
            part
            for part in re.split(r"(?<=[.!?])\s+", criteria)
            if re.search(r"\bresolves? yes\b", part, re.I)
        )
        sources = [("query", " ".join(terms))] + ([] if verb else [("criteria", yes)])
        for source, text in sources:
            other = scan(text).stems
            hit = _find_frame(other)
            if hit is not None:
                at, length, frame = hit
                return _event(
                    frame, " ".join(other[at : at + length]), stems, raws, mentions, len(stems),
                    start, criteria, source,
                )  # fmt: skip
        if verb is None:
            return None
        at, lemma = verb
        # The act as the query words it (the query's group holding the verb), else the
        # verb alone, in every inflection.
        asserts: set[Phrase] = {(lemma,)}
        for group in groups:
            phrases = [phrase(t) for t in group]
            if any(lemma in p for p in phrases):
                asserts.update(p for p in phrases if p)
        frame = Frame(lemma, frozenset(asserts), frozenset(), generic=True)
        return _event(
            frame, raws[at], stems, raws, mentions, at, start, criteria, "title", after=at + 1
        )
    at, length, frame = found
    if frame.name == "raise" and _LIFTED & set(stems[at + length :]):
        frame = frame_named("lift")  # "lift sanctions", not "lift rates"
    return _event(
        frame, " ".join(raws[at : at + length]), stems, raws, mentions, at, start, criteria,
        source, after=at + length,
    )  # fmt: skip


def _event(
    frame: Frame,
    predicate: str,
    stems: Sequence[str],
    raws: Sequence[str],
    mentions: Sequence[Mention],
    at: int,
    start: int,
    criteria: str,
    source: str,
    after: int | None = None,
) -> Event:
    # Actors: those named before the predicate (its subject); names the table does not know
    # count too. What follows the predicate is its object. A predicate read from the query
    # or the criteria has no place in the title: only the people the title names count.
    subject = [
        m.actor
        for n, m in enumerate(mentions)
        if m.start < at
        # "US Federal Reserve": the country only says whose the bank is.
        and not (
            m.actor.kind == "country"
            and n + 1 < len(mentions)
            and mentions[n + 1].start == m.end
            and mentions[n + 1].actor.kind != "country"
        )
    ] if source == "title" else []  # fmt: skip
    covered = {j for m in mentions for j in range(m.start, m.end)}
    parties = [
        p
        for p in _names(raws, stems, range(start, at))
        if not _is_actor_word(p.stems[0]) and p.stems[0] not in _OFFICES
    ]
    objects: set[str] = set()
    names: set[str] = set()
    head, head_is_name, head_done = "", False, False
    if after is not None:
        for j in range(after, len(stems)):
            if j in covered or stems[j] in _FUNCTION or _DIGITS.match(stems[j]):
                continue
            if not head_done and re.match(r"\d", raws[j]) is None:
                # The head of the first noun phrase is its last word: "rate" in "its
                # benchmark interest rate", "jet" in "a Russian military jet".
                head, head_is_name = stems[j], raws[j][:1].isupper()
                nxt = j + 1
                if nxt >= len(stems) or stems[nxt] in _FUNCTION or nxt in covered:
                    head_done = True
            elif head and not head_done:
                head_done = True
            if raws[j][:1].isupper():
                names.add(stems[j])
            objects.add(stems[j])
    del covered
    return Event(
        frame=frame,
        predicate=predicate,
        actors=tuple(dict.fromkeys(subject)),
        parties=tuple(parties),
        objects=frozenset(objects),
        exclusions=_exclusions(criteria),
        source=source,
        intention=frame.name == "commit" or _announces_intention(stems),
        head_object=head,
        head_is_name=head_is_name,
        object_names=frozenset(names),
        any_actor=_alternatives(mentions, stems, at),
    )


# Titles of office, capitalised in titles ("President of Syria") but no one's name.
_OFFICES = frozenset(
    stem(w)
    for w in (
        "president", "minister", "king", "queen", "chancellor", "secretary", "governor",
        "mayor", "leader", "premier", "pope", "emperor", "general", "senator", "speaker",
        "chairman", "chair", "ceo", "party", "member", "government", "court", "parliament",
        "congress", "senate", "army", "state", "states", "republic",
    )
)  # fmt: skip


def _alternatives(mentions: Sequence[Mention], stems: Sequence[str], at: int) -> bool:
    before = [m for m in mentions if m.start < at]
    if len(before) < 2:
        return False
    return "or" in stems[before[0].end : before[-1].start]


def _announces_intention(stems: Sequence[str]) -> bool:
    """ "Will X announce she will step down": the announcement of an intention is the event."""
    for j, lemma in enumerate(stems):
        if lemma in ("announce", "say", "declare", "confirm") and any(
            later in ("will", "plan", "intend", "not") for later in stems[j + 1 : j + 4]
        ):
            return True
    return False


def _is_actor_word(lemma: str) -> bool:
    return lemma in _actor_index()


# ---------------------------------------------------------------------------------------------
# Phrases in analysed text


@dataclass(frozen=True)
class Occurrence:
    """A frame phrase found in a text: where, which phrase, and how it bears on the frame."""

    start: int
    end: int
    role: str  # "asserts" | "opposes" | "stage" | "defeat" (a win over whoever follows)
    text: str
    final: bool = False


# In a contest, "X beats Y" is X's win and Y's loss: who stands after the verb lost.
_DEFEATS = _phrases(
    "beat|defeat|rout|oust|eliminate|knock out|edge|overcome|crush|thrash|dethrone|upset|"
    "stun|topple|unseat|trounce|see off"
)


@dataclass
class PhraseIndex:
    """Positions of lemmas in one analysed text, to find phrases quickly."""

    stems: Sequence[str]
    where: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for i, s in enumerate(self.stems):
            self.where.setdefault(s, []).append(i)

    def find(self, phrases: Iterable[Phrase]) -> list[tuple[int, int, Phrase]]:
        hits = []
        for p in phrases:
            for i in self.where.get(p[0], ()):
                if tuple(self.stems[i : i + len(p)]) == p:
                    hits.append((i, i + len(p), p))
        return hits


def occurrences(frame: Frame, index: PhraseIndex, raws: Sequence[str]) -> list[Occurrence]:
    """Where a text asserts the frame's act, its opposite, or a stage short of it; a longer
    phrase wins over a shorter one inside it ("call off" over "call")."""
    found: list[Occurrence] = []
    for role, phrases in (
        ("asserts", frame.asserts),
        ("opposes", frame.opposes),
        ("stage", frame.stages),
    ):
        for start, end, p in index.find(phrases):
            found.append(Occurrence(start, end, role, " ".join(raws[start:end]), p in frame.final))
    if frame.name == "win":
        for start, end, _ in index.find(_DEFEATS):
            found.append(Occurrence(start, end, "defeat", " ".join(raws[start:end])))
    found.sort(key=lambda o: (o.start, -(o.end - o.start)))
    kept: list[Occurrence] = []
    taken: set[int] = set()
    for occ in sorted(found, key=lambda o: -(o.end - o.start)):
        span = set(range(occ.start, occ.end))
        if span & taken:
            continue
        taken |= span
        kept.append(occ)
    return sorted(kept, key=lambda o: o.start)
