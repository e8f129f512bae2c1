"""The actor dictionary: who acts in news (central banks, countries, agencies, bodies) and
the phrases news calls each by, so that "the Fed", "the Federal Reserve" and "the FOMC" are
one actor and the Bank of Japan another; and finding them in analysed text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from forecasts.event_frames import Phrase, phrase, phrase_set

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
