"""The news_query language (placeholder until the matcher lands): parse and derive."""

from __future__ import annotations

import re

from forecasts.errors import InvalidInput

_STOP = {
    "will",
    "the",
    "a",
    "an",
    "of",
    "on",
    "in",
    "by",
    "to",
    "and",
    "or",
    "before",
    "after",
    "be",
    "still",
    "its",
    "their",
    "that",
    "with",
    "for",
    "at",
    "there",
    "from",
    "any",
}


def parse_query(text: str) -> str:
    if text.count('"') % 2 or text.count("(") != text.count(")"):
        raise InvalidInput("news_query has an unclosed quote or parenthesis", field="news_query")
    return text


def derive_query(title: str) -> str:
    words = [w for w in re.findall(r"[A-Za-z][\w'-]+", title) if w.lower() not in _STOP]
    return " ".join(words[:6])
