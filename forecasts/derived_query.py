"""Deriving a starting news_query from a question's title: its names (with their usual
variants) and its most telling content words. Word lists and title heuristics live here."""

from __future__ import annotations

import re
from typing import Any

from forecasts.actors import actor_called
from forecasts.event import read_event
from forecasts.event_frames import SLOT, frame_named, phrase
from forecasts.lexicon import pertaining_adjectives, synonyms
from forecasts.text import ACRONYM, stem, words

_QUESTION_WORDS = {
    "will", "would", "is", "are", "was", "were", "does", "do", "did", "can", "could", "should",
    "has", "have", "had", "who", "what", "when", "where", "which", "why", "how", "whether", "may",
    "might", "shall",
}  # fmt: skip
_STOPWORDS = _QUESTION_WORDS | {
    "a", "an", "the", "of", "on", "in", "into", "by", "to", "and", "or", "nor", "before", "after",
    "be", "been", "being", "still", "its", "it", "their", "them", "they", "that", "this", "these",
    "those", "with", "for", "at", "there", "from", "any", "as", "than", "then", "his", "her",
    "he", "she", "we", "our", "you", "your", "not", "no", "yes", "ever", "least", "more", "most",
    "other", "over", "under", "about", "between", "within", "until", "end",
    "some", "such", "own", "same", "so", "very", "also", "each", "either", "all", "both",
    "again", "once", "only", "out", "up", "down", "off", "per", "via", "if", "but", "one",
    "new", "next", "first", "year", "years", "month", "months", "day", "days", "date", "time",
    "january", "february", "march", "april", "june", "july", "august", "september", "october",
    "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
    "oct", "nov", "dec", "here", "against", "during", "without", "through",
    "i", "me", "my", "us",
}  # fmt: skip
# Verbs that say little about which event it is.
_WEAK = {
    "announce", "announces", "happen", "happens", "occur", "occurs", "take", "takes", "make",
    "makes", "become", "becomes", "remain", "remains", "get", "gets", "reach", "reaches", "hold",
    "holds", "keep", "keeps", "say", "says", "go", "goes", "come", "comes", "see", "publicly",
    "officially", "formal", "formally", "drawn", "set", "sets", "put", "puts", "give", "gives",
}  # fmt: skip
# Names with the forms news uses for them: the country, its adjective, its capital's metonym.
_ALIASES: dict[str, tuple[str, ...]] = {
    "us": ("US", '"United States"', "American"),
    "usa": ("US", '"United States"', "American"),
    "united states": ("US", '"United States"', "American"),
    "america": ("US", '"United States"', "American"),
    "uk": ("UK", "Britain", "British"),
    "united kingdom": ("UK", "Britain", "British"),
    "britain": ("UK", "Britain", "British"),
    "eu": ("EU", '"European Union"'),
    "european union": ("EU", '"European Union"'),
    "un": ("UN", '"United Nations"'),
    "united nations": ("UN", '"United Nations"'),
    "nato": ("NATO",),
    "north korea": ('"North Korea"', '"North Korean"', "Pyongyang"),
    "south korea": ('"South Korea"', '"South Korean"', "Seoul"),
    "saudi arabia": ('"Saudi Arabia"', "Saudi"),
}
_ADJECTIVES = {
    "russia": "Russian", "iran": "Iranian", "syria": "Syrian", "china": "Chinese",
    "israel": "Israeli", "ukraine": "Ukrainian", "turkey": "Turkish", "iraq": "Iraqi",
    "egypt": "Egyptian", "india": "Indian", "pakistan": "Pakistani", "japan": "Japanese",
    "germany": "German", "france": "French", "italy": "Italian", "spain": "Spanish",
    "brazil": "Brazilian", "mexico": "Mexican", "canada": "Canadian", "poland": "Polish",
    "lebanon": "Lebanese", "jordan": "Jordanian", "afghanistan": "Afghan", "yemen": "Yemeni",
    "libya": "Libyan", "qatar": "Qatari", "taiwan": "Taiwanese", "venezuela": "Venezuelan",
    "cuba": "Cuban", "greece": "Greek", "belarus": "Belarusian", "armenia": "Armenian",
    "azerbaijan": "Azerbaijani", "georgia": "Georgian", "kurdistan": "Kurdish",
    "palestine": "Palestinian", "ethiopia": "Ethiopian", "nigeria": "Nigerian",
    "sudan": "Sudanese", "argentina": "Argentine", "australia": "Australian",
}  # fmt: skip
_COUNTRY_OF = {adjective.lower(): country.title() for country, adjective in _ADJECTIVES.items()}
# Words that make a run of capitalised words an institution or place rather than a person.
_INSTITUTION = {
    "bank", "reserve", "union", "nations", "states", "kingdom", "republic", "party", "council",
    "court", "heights", "sea", "strait", "ministry", "army", "force", "forces", "corps",
    "company", "group", "organisation", "organization", "agency", "fund", "assembly",
    "congress", "parliament", "senate", "house", "city", "island", "islands", "coast", "gulf",
    "front", "movement", "committee", "commission", "treaty", "summit", "league", "airlines",
    "agreement", "accord", "deal", "protocol", "convention", "act", "pact", "plan",
    "university", "state", "guard", "guards", "east", "west", "north", "south", "central",
}  # fmt: skip
_EVENT_NOUNS = {
    "agreement", "deal", "treaty", "pact", "alliance", "ceasefire", "truce", "election",
    "referendum", "war", "invasion", "coup", "resignation", "impeachment", "sanctions",
    "withdrawal", "merger", "acquisition", "default", "recession", "summit", "peace", "strike",
    "attack", "annexation", "independence", "launch", "ban", "tariff", "tariffs", "clash",
}  # fmt: skip
_DATE_LIKE = re.compile(r"^\d{1,4}(?:[-/]\d{1,2}){0,2}$|^\d+(?:st|nd|rd|th)$", re.I)
_TITLE_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


# Paraphrases news uses for a title's words, beyond WordNet's synsets (this project's own):
# "warplane" is mostly "jet" in headlines, "retake" stands for "recapture".
_PARAPHRASES: dict[str, tuple[str, ...]] = {
    "warplane": ("jet", "fighter jet", "aircraft"),
    "jet": ("warplane", "aircraft"),
    "recapture": ("retake", "regain", "liberate", "take back"),
    "retake": ("recapture", "regain", "liberate"),
    "withdraw": ("pull out", "quit", "leave", "exit"),
    "quit": ("withdraw", "pull out", "leave"),
    "shoot down": ("down", "bring down"),
    "resign": ("step down", "quit"),
    "step down": ("resign", "quit"),
    "leave office": ("resign", "step down", "quit"),
    "raise": ("hike", "increase", "lift"),
    "hike": ("raise", "increase"),
    "cut": ("lower", "reduce", "trim"),
    "lower": ("cut", "reduce"),
    "launch": ("lift off", "blast off"),
    # A spacecraft "touches down" where it lands.
    "land": ("touch down",),
    "complete": ("close", "finalise", "finalize"),
    "agreement": ("deal", "accord", "pact"),
    "deal": ("agreement", "accord"),
    "treaty": ("pact", "accord"),
    "approve": ("clear", "approval", "green light"),
    "approval": ("approve", "clear", "green light"),
    "ban": ("prohibit", "outlaw"),
    "capture": ("seize", "take control"),
    "invade": ("invasion",),
    "acquisition": ("takeover", "purchase"),
    "ceasefire": ("truce",),
    "win": ("victory", "champion", "clinch", "crown"),
    "president": ("presidency",),
    "convict": ("guilty", "conviction"),
    "convicted": ("guilty", "conviction"),
    "release": ("free", "walk out", "freed"),
    "released": ("free", "walk out", "freed"),
    "prison": ("jail",),
    "jail": ("prison",),
    "presidency": ("president",),
    "sanctions": ("sanction",),
}
MAX_ALTERNATIVES = 4
_OPEN_ENDS = frozenset({"to", "on", "of", "for", "into"})


def _alternatives(word: str) -> tuple[str, ...]:
    """The word and what news says for it: the project's paraphrases, then WordNet's
    synonyms (single words and two-word phrases), at most MAX_ALTERNATIVES more."""
    lower = word.lower()
    found = list(_PARAPHRASES.get(lower, ()))
    # WordNet's verb synsets name acts news paraphrases; its noun synsets mostly name
    # things by words news never uses for them ("ballistic capsule" for a spacecraft).
    found += sorted(w for w in synonyms(lower, "v") if len(w.split()) <= 2 and w not in found)
    # A noun's adjectives say the same thing: "sexual" for "sex", "lunar" for "Moon".
    found += [w for w in pertaining_adjectives(lower)[:2] if w not in found]
    own = stem(lower)
    kept = [w for w in dict.fromkeys(found) if stem(w) != own and w != lower]
    return (lower, *kept[:MAX_ALTERNATIVES])


def _predicate_group(title: str) -> tuple[tuple[str, ...], frozenset[str]] | None:
    """The title's act as a group of alternatives, and the lemmas it covers in the title."""
    event = read_event(title)
    if event is None or event.source != "title":
        return None
    written = event.predicate.lower()
    group = _alternatives(written)
    if not event.frame.generic:
        # Only the word's senses of the frame's act: "release" a Mac is not "free" it.
        group = (written, *(a for a in group[1:] if phrase(a) in event.frame.asserts))
    if len(group) == 1 and not event.frame.generic:
        # No paraphrase known: the frame's own first words stand in.
        frame = frame_named(event.frame.name)
        # A phrase with an object slot, or ending in the preposition its object follows
        # ("put name to"), is no query term: news puts words between.
        extra = [
            " ".join(p)
            for p in frame.ordered
            if " ".join(p) != stem(written) and SLOT not in p and p[-1] not in _OPEN_ENDS
        ]
        group = (written, *extra[: MAX_ALTERNATIVES - 1])
    covered = frozenset(stem(w) for w in words(written))
    return tuple(_quote_if_needed(w) for w in group), covered


def _quote_if_needed(word: str) -> str:
    # Hyphenated or apostrophe words are phrases to the parser; quoting keeps them readable.
    if word.startswith('"'):
        return word
    return f'"{word}"' if len(words(word)) > 1 or word.upper() in ("OR", "AND") else word


def _name_group(run: list[str]) -> tuple[str, ...]:
    key = " ".join(w.lower() for w in run)
    if key in _ALIASES:
        return _ALIASES[key]
    actor = actor_called(" ".join(run))
    if actor is not None and actor.kind != "country":
        # "the Fed", "the Federal Reserve" and "FOMC" are one actor (forecasts.event).
        written = " ".join(run)
        distinct = {a.lower(): a for a in reversed(actor.written) if a.lower() != written.lower()}
        alternatives = list(dict.fromkeys(distinct[a.lower()] for a in actor.written
                                          if a.lower() in distinct))  # fmt: skip
        others = [a for a in alternatives if " " not in a] + [a for a in alternatives if " " in a]
        return tuple(_quote_if_needed(a) for a in (written, *others[:2]))
    if len(run) == 1:
        word = run[0]
        adjective = _ADJECTIVES.get(word.lower())
        if adjective:
            return (word, adjective)
        country = _COUNTRY_OF.get(word.lower())
        if country:
            return (country, word)
        related = pertaining_adjectives(word)
        if related and not word.isupper():
            # "Moon" is also "lunar", "Sun" "solar".
            return (_quote_if_needed(word), *related[:2])
        if "-" in word and word.lower().startswith(("al-", "el-")):
            # al-Assad is mostly written Assad.
            return (word.split("-", 1)[1], _quote_if_needed(word))
        return (_quote_if_needed(word),)
    phrase = '"' + " ".join(run) + '"'
    last = run[-1]
    if len(run) <= 3 and not any(w.lower() in _INSTITUTION for w in run) and len(last) >= 3:
        # A person's name: news mostly uses the surname alone; a company or club its first
        # word ("Exxon" for Exxon Mobil, "Leicester" for Leicester City).
        first = run[0]
        forms: tuple[str, ...] = _name_group([last]) + (phrase,)
        if len(run) >= 2 and len(first) >= 4 and first.lower() not in _STOPWORDS:
            forms = (_quote_if_needed(first), *forms)
        return tuple(dict.fromkeys(forms))
    return (phrase,)


def _content_rank(word: str) -> int:
    lower = word.strip('"').lower()
    rank = 0
    if lower in _EVENT_NOUNS:
        rank += 3
    if lower.endswith(("ment", "tion", "sion", "ship", "ance", "ence", "ity", "ty")):
        rank += 2
    if lower.endswith(("al", "ic", "ive", "ous", "ful", "less", "ly")):
        rank -= 1
    return rank


def _is_name(word: str) -> bool:
    if word[:1].isupper():
        return True
    head, _, rest = word.partition("-")
    return head.lower() in ("al", "el") and rest[:1].isupper()


def _name_groups(run: list[str]) -> list[tuple[str, ...]]:
    """Split a run of capitalised words at known names: "US Federal Reserve" is the US and
    "Federal Reserve"; "North Korea" stays one name."""
    if len(run) > 1 and actor_called(" ".join(run)) is not None:
        return [_name_group(run)]
    groups: list[tuple[str, ...]] = []
    rest: list[str] = []
    j = 0
    while j < len(run):
        pair = " ".join(w.lower() for w in run[j : j + 2])
        known = None
        if j + 1 < len(run) and pair in _ALIASES:
            known, j = run[j : j + 2], j + 2
        elif run[j].lower() in _ALIASES or run[j].lower() in _ADJECTIVES:
            known, j = run[j : j + 1], j + 1
        else:
            rest.append(run[j])
            j += 1
            continue
        if rest:
            groups.append(_name_group(rest))
            rest = []
        groups.append(_name_group(known))
    if rest:
        groups.append(_name_group(rest))
    return groups


def _is_institution(group: tuple[str, ...]) -> bool:
    actor = actor_called(group[0].strip('"'))
    return actor is not None and actor.kind != "country"


def _skippable(word: str) -> bool:
    lower = word.lower()
    return (
        lower in _STOPWORDS
        or lower in _WEAK
        or bool(_DATE_LIKE.match(word))
        or len(lower) < 3
        or not any(c.isalpha() for c in word)
    )


def derive_query(title: str) -> str:
    """A starting news_query from a title: its names (with their usual variants) and its most
    telling content words; alternatives the title offers ("X or Y") stay alternatives."""
    raw = [
        re.sub(r"['’]s?$", "", w)
        for w in _TITLE_WORD.findall(ACRONYM.sub(lambda m: m.group(1).replace(".", ""), title))
    ]
    names: list[tuple[str, ...]] = []
    content: list[tuple[int, tuple[str, ...]]] = []  # (title position, group)
    seen: set[str] = set()
    act = _predicate_group(title)
    act_group = act[0] if act else None
    status_quo = act is None and re.search(r"\bstill\b", title, re.I) is not None
    last: list[Any] | None = None  # the list the previous group went to
    join_next = False
    i = 0
    while i < len(raw):
        word = raw[i]
        if word.lower() == "or":
            join_next = last is not None
            i += 1
            continue
        if _skippable(word) and not (word.isupper() and word.lower() in _ALIASES):
            join_next = False
            i += 1
            continue
        if _is_name(word):
            run = [word]
            while i + 1 < len(raw):
                if _is_name(raw[i + 1]) and not _skippable(raw[i + 1]):
                    i += 1
                    run.append(raw[i])
                elif (
                    raw[i + 1] == "of"
                    and i + 2 < len(raw)
                    and _is_name(raw[i + 2])
                    and actor_called(" ".join([*run, "of", raw[i + 2]])) is not None
                ):
                    # "Bank of Japan" is one name.
                    run += ["of", raw[i + 2]]
                    i += 2
                else:
                    break
            target: list[Any] = names
            groups = _name_groups(run)
        elif act is not None and stem(word.lower()) in act[1]:
            if act_group is not None and act_group not in [g for _, g in content]:
                content.append((i, act_group))
                seen.update(act[1])
            last, join_next = content, False
            i += 1
            continue
        else:
            target = content
            groups = [
                tuple(_quote_if_needed(w) for w in _alternatives(word))
                if word.lower() in _PARAPHRASES
                or synonyms(word.lower(), "v")
                or pertaining_adjectives(word.lower())
                else (_quote_if_needed(word.lower()),)
            ]
        for group in groups:
            key = stem(words(group[0])[0]) if words(group[0]) else group[0]
            if key in seen:
                continue
            seen.add(key)
            if join_next and last is target and target:
                previous = target.pop()
                if target is content:
                    group = previous[1] + group
                    target.append((previous[0], group))
                else:
                    target.append(previous + group)
            elif target is content:
                content.append((i, group))
            else:
                names.append(group)
            join_next = False
        last = target
        i += 1
    # "US Federal Reserve", "US FDA": the country only says whose the institution is.
    names = [
        g
        for n, g in enumerate(names)
        if not (g in _ALIASES.values() and n + 1 < len(names) and _is_institution(names[n + 1]))
    ]
    names = names[:4]
    if status_quo:
        # "Will X still be president?" asks whether the change happens: the query looks for
        # its news (API.md: default_outcome "yes", the query describes the change).
        leaving = frame_named("leave office").ordered[:MAX_ALTERNATIVES]
        act_group = tuple(_quote_if_needed(" ".join(p)) for p in leaving)
        content = [(len(raw), act_group)] + [
            (pos, g) for pos, g in content if g[0].strip('"').lower() not in ("president",)
        ]
    slots = max(1, 5 - len(names))
    best = sorted(
        content, key=lambda pc: -(9 if pc[1] == act_group else max(_content_rank(w) for w in pc[1]))
    )[:slots]
    groups = names + [g for _, g in sorted(best, key=lambda pc: pc[0])]
    if not groups:
        fallback = [w for w in raw if any(c.isalnum() for c in w)]
        return " ".join(_quote_if_needed(w) for w in fallback[:4])
    return " ".join(g[0] if len(g) == 1 else "(" + " OR ".join(g) + ")" for g in groups)
