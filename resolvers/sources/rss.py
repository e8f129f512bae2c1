"""RSS 0.9x/1.0/2.0 and Atom feeds: screen the body, then let feedparser read it."""

from __future__ import annotations

import io
import re
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
from feedparser.datetimes.rfc822 import _parse_date_rfc822
from feedparser.encodings import convert_to_utf8

from resolvers.ingest import ContentError, RawItem, clean_text, html_to_text

# feedparser defuses billion laughs but expands a single large entity referenced many
# times (the quadratic blowup), and its strict parser hands any internal DTD to expat. A
# DTD can only stand in the prolog, before the root element, so only the prolog is read:
# "<!ENTITY" in a CDATA section or a comment after it is text. An internal subset that
# declares only harmless entities (a character reference or a few letters each, as feeds
# do for &nbsp;) is stripped and its references replaced; any other entity declaration is
# refused before parsing, as defusedxml does with forbid_entities.
_ENTITY_DECLARATION = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)
_PROLOG_PART = re.compile(
    rb"""\s+ | <\?.*?\?> | <!--.*?-->
    | <!DOCTYPE(?:[^\[>"']|"[^"]*"|'[^']*')*(?:\[(?P<subset>(?:[^\]"']|"[^"]*"|'[^']*')*)\])?\s*>
    """,
    re.VERBOSE | re.DOTALL | re.IGNORECASE,
)
_HARMLESS_ENTITY = re.compile(
    rb"""<!ENTITY\s+(?P<name>[A-Za-z_][\w.-]{0,31})\s+
    (?:"(?P<dq>&\#[0-9]{1,7};|&\#x[0-9A-Fa-f]{1,6};|[^"&%<]{0,8})"
      |'(?P<sq>&\#[0-9]{1,7};|&\#x[0-9A-Fa-f]{1,6};|[^'&%<]{0,8})')\s*>""",
    re.VERBOSE,
)
_SUBSET_FILLER = re.compile(rb"\s+|<!--.*?-->", re.DOTALL)
MAX_HARMLESS_ENTITIES = 64
# expat's messages when a document simply stops: the body was cut short.
_TRUNCATION_MESSAGES = ("no element found", "unclosed token", "unclosed cdata section")
_ROOT_CLOSE = re.compile(
    rb"</\s*(?:[\w.-]+:)?(?:rss|feed|rdf)\s*>\s*(?:<!--.*?-->\s*)*$", re.I | re.S
)
_ENTRY_OPEN = re.compile(rb"<\s*(?:[\w.-]+:)?(item|entry)[\s>/]", re.I)


@dataclass
class ParsedFeed:
    items: list[RawItem]
    notes: list[str] = field(default_factory=list)
    # Set when the body stopped short of its end: the broken last entry was dropped.
    truncated: bool = False


@dataclass(frozen=True)
class _Prolog:
    end: int  # where the root element starts (len(data) if it never does)
    subset: tuple[int, int] | None  # the DOCTYPE's span when it has an internal subset
    subset_text: bytes


def _prolog(data: bytes) -> _Prolog:
    pos, subset, text = 0, None, b""
    # Byte-order marks (UTF-8, and UTF-16 ones left after NULs were removed).
    while data[pos : pos + 1] in (b"\xef", b"\xbb", b"\xbf", b"\xff", b"\xfe") and pos < 4:
        pos += 1
    while pos < len(data):
        match = _PROLOG_PART.match(data, pos)
        if match is None:
            break
        if match.group("subset") is not None:
            subset, text = (match.start(), match.end()), match.group("subset")
        pos = match.end()
    return _Prolog(pos, subset, text)


def _harmless_entities(subset: bytes) -> dict[bytes, bytes] | None:
    """The entities of an internal subset that declares only harmless ones, else None."""
    found: dict[bytes, bytes] = {}
    pos = 0
    while pos < len(subset):
        filler = _SUBSET_FILLER.match(subset, pos)
        if filler:
            pos = filler.end()
            continue
        entity = _HARMLESS_ENTITY.match(subset, pos)
        if entity is None or len(found) >= MAX_HARMLESS_ENTITIES:
            return None
        value = entity.group("dq") if entity.group("dq") is not None else entity.group("sq")
        found[entity.group("name")] = value or b""
        pos = entity.end()
    return found


def screen(data: bytes) -> bytes:
    """The body to parse: refused (ContentError) if its prolog declares entities other than
    harmless ones; such harmless ones are replaced where referenced and the DTD dropped."""
    prolog = _prolog(data)
    if not _ENTITY_DECLARATION.search(data, 0, prolog.end):
        return data
    entities = _harmless_entities(prolog.subset_text) if prolog.subset else None
    if prolog.subset is None or entities is None:
        raise ContentError(
            "refused: the feed declares XML entities (<!ENTITY …>), which can expand "
            "into an XML bomb"
        )
    start, end = prolog.subset
    body = data[end:]
    if entities:
        names = b"|".join(re.escape(n) for n in entities)
        # Each value is at most a character reference: the body grows by less than 3×.
        body = re.sub(b"&(" + names + b");", lambda m: entities[m.group(1)], body)
    return data[:start] + body


def parse_feed(body: bytes, *, content_type: str | None = None, location: str = "") -> ParsedFeed:
    """Read a feed body into raw items; raise ContentError if it is no usable feed.

    `content_type` is the HTTP Content-Type (its charset counts, as feedparser applies
    RFC 3023); `location` is the feed's URL, against which relative links are resolved.
    """
    conversion: dict[str, Any] = {}
    headers = {"content-type": content_type} if content_type else {}
    # Screen exactly what the parser will read: feedparser first converts any encoding it
    # detects (UTF-16, UTF-32, EBCDIC, a declared legacy charset) to UTF-8. The raw body,
    # with NULs removed, is screened too, for a body no encoding fits.
    data = screen(convert_to_utf8(headers, body, conversion))
    screen(body.replace(b"\0", b""))
    # A BytesIO, not bytes: feedparser fetches a URL or opens a path given as a string.
    # The data is UTF-8 now, and says so in its XML declaration; the original media type
    # was judged above.
    # No content-location: given one, feedparser resolves every URI-holding element of
    # every entry against it, a third of its time on a large feed (bench/poll.py); only
    # the link and the id are kept, and those are resolved below with feedparser's own rule.
    converted_headers = {"content-type": "application/xml; charset=utf-8"}
    parsed = feedparser.parse(io.BytesIO(data), response_headers=converted_headers)
    entries = list(parsed.get("entries") or [])
    reason = _reason(parsed.get("bozo_exception")) if parsed.get("bozo") else ""
    truncated = bool(parsed.get("bozo")) and _is_truncated(data, reason)
    notes: list[str] = []
    if truncated:
        if entries and _last_entry_unclosed(data):
            entries.pop()
            notes.append("body truncated: its broken last entry was dropped")
        else:
            notes.append("body truncated")
    if not entries:
        # An empty feed is a feed when feedparser knows its kind: well-formed, cut short, or
        # using an HTML entity (&nbsp;) that XML does not define.
        known = parsed.get("version") and (
            not parsed.get("bozo") or truncated or "undefined entity" in reason
        )
        if not known and parsed.get("bozo"):
            raise ContentError(f"malformed feed: {reason}")
        if not known:
            served_as = f" (served as {content_type})" if content_type else ""
            raise ContentError(f"not an RSS or Atom feed{served_as}")
    if conversion.get("bozo"):
        notes.append(f"encoding: {_reason(conversion.get('bozo_exception'))}")
    if parsed.get("bozo") and not truncated:
        notes.append("not well-formed XML, entries read leniently: " + reason)
    return ParsedFeed(
        items=[_raw_item(entry, location) for entry in entries], notes=notes, truncated=truncated
    )


def _is_truncated(data: bytes, reason: str) -> bool:
    """Whether the body stops before its root element closes (what expat says of a cut)."""
    if not reason.lower().startswith(_TRUNCATION_MESSAGES):
        return False
    return _ROOT_CLOSE.search(data[-4096:]) is None


def _last_entry_unclosed(data: bytes) -> bool:
    starts = list(_ENTRY_OPEN.finditer(data))
    if not starts:
        return False
    last = starts[-1]
    name = last.group(1).lower()
    closing = re.compile(rb"</\s*(?:[\w.-]+:)?" + name + rb"\s*>", re.I)
    return closing.search(data, last.end()) is None


def _raw_item(entry: Any, location: str = "") -> RawItem:
    title = str(entry.get("title") or "")
    if (entry.get("title_detail") or {}).get("type", "text/plain") != "text/plain":
        title = html_to_text(title)
    summary = str(entry.get("summary") or "")
    summary_type = (entry.get("summary_detail") or {}).get("type", "text/html")
    if not summary and entry.get("content"):
        summary = str(entry["content"][0].get("value") or "")
        summary_type = entry["content"][0].get("type", "text/html")
    summary = clean_text(summary) if summary_type == "text/plain" else html_to_text(summary)
    guid = _absolute(location, str(entry.get("id") or ""))
    return RawItem(
        title=title,
        summary=summary,
        link=_absolute(location, str(entry.get("link") or "")),
        published_at=_entry_time(entry),
        guid=guid.strip() or None if guid else None,
    )


def _absolute(location: str, uri: str) -> str:
    """`uri` (already resolved against any xml:base by feedparser) made absolute against the
    feed's URL, as feedparser itself resolves a link or an id given the feed's
    content-location: a plain urljoin ("" when the URI cannot be joined)."""
    if not location or not uri:
        return uri
    try:
        return urljoin(location, uri)
    except ValueError:
        return ""


def _entry_time(entry: Any) -> datetime | None:
    """published, else updated, as feedparser parsed it (a UTC struct_time); None when the
    entry gives no date or one that no date handler reads."""
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    try:
        # tm_sec can be 60 or 61 (leap seconds), which datetime refuses.
        return datetime(
            parsed[0], parsed[1], parsed[2], parsed[3], parsed[4], min(parsed[5], 59), tzinfo=UTC
        )
    except (TypeError, ValueError, OverflowError):
        return None


def _reason(exc: object) -> str:
    text = str(exc or "unknown error")
    # expat's messages start with "<unknown>:line:column:"; keep the position, readably.
    match = re.match(r"<unknown>:(\d+):(\d+): (.*)", text, re.S)
    if match:
        text = f"{match.group(3)} (line {match.group(1)}, column {match.group(2)})"
    return " ".join(text.split())[:300]


# ---------------------------------------------------------------------------------------------
# Dates with localised day and month names

# Month names and abbreviations of Portuguese, Spanish, Italian, French and German feeds
# (lowercase, accents removed, no final dot), as RFC 822's English abbreviations.
_MONTHS: dict[str, str] = {}
for _english, _names in {
    "Jan": "jan janeiro ene enero gen gennaio janv janvier januar jaen",
    "Feb": "fev fevereiro feb febrero febbraio fevr fevrier februar",
    "Mar": "mar marco marzo mars maerz marz mrz",
    "Apr": "abr abril apr aprile avr avril april",
    "May": "mai maio may mayo mag maggio",
    "Jun": "jun junho junio giu giugno juin juni",
    "Jul": "jul julho julio lug luglio juil juillet juli",
    "Aug": "ago agosto aout aug august",
    "Sep": "set setembro sep sept septiembre setiembre settembre septembre september",
    "Oct": "out outubro oct octubre ott ottobre octobre okt oktober",
    "Nov": "nov novembro noviembre novembre november",
    "Dec": "dez dezembro dic diciembre dicembre dec decembre dezember",
}.items():
    for _name in _names.split():
        _MONTHS[_name] = _english
# Day names: dropped (the date says which day it is).
_DAYS = frozenset(
    "seg segunda ter terca qua quarta qui quinta sex sexta sab sabado dom domingo feira "
    "lun lunes mar martes mie miercoles jue jueves vie viernes "
    "lunedi martedi mer mercoledi gio giovedi ven venerdi domenica "
    "lundi mardi mercredi jeu jeudi vendredi sam samedi dim dimanche "
    "mo montag di dienstag mi mittwoch do donnerstag fr freitag sa samstag so sonntag".split()
)
_ENGLISH_DAYS = frozenset("mon tue wed thu fri sat sun".split())
_DATE_TOKEN = re.compile(r"[^\W\d_]+\.?|\S+")


def _plain(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.lower().rstrip("."))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def parse_localised_date(text: str) -> time.struct_time | None:
    """An RFC 822 date written with Portuguese, Spanish, Italian, French or German day and
    month names ("Seg, 24 Set 2018 10:00:00 -0300", "mer, 16 nov 2022 08:00:00 +0100"),
    as a UTC struct_time; None for anything else (feedparser's own handlers read English)."""
    tokens = _DATE_TOKEN.findall(text.replace(",", " "))
    out: list[str] = []
    localised = False
    for n, token in enumerate(tokens):
        if not token[:1].isalpha() or token[:1].isupper() and len(token) <= 4 and token.isupper():
            out.append(token)  # numbers, times, zones (GMT, CET, +0100)
            continue
        plain = _plain(token)
        if n == 0 and plain in _ENGLISH_DAYS:
            return None
        if plain in _MONTHS and not (n == 0 and plain in _DAYS):
            localised = localised or plain != _MONTHS[plain].lower()
            out.append(_MONTHS[plain])
        elif plain in _DAYS or plain == "de":
            localised = True
        else:
            return None
    if not localised:
        return None
    result = _parse_date_rfc822(" ".join(out))
    return result if isinstance(result, time.struct_time) else None


feedparser.registerDateHandler(parse_localised_date)
