"""An item's link and id, as the rss adapter keeps them: relative ones made absolute against
the feed's URL (after any xml:base), absolute ones (any scheme) untouched."""

from __future__ import annotations

from resolvers.sources.rss import parse_feed

FEED_URL = "https://news.invalid/world/feed.xml"


def rss(items: str, channel_attrs: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"'
        ' xmlns:xml="http://www.w3.org/XML/1998/namespace">'
        f"<channel{channel_attrs}><title>t</title><link>https://news.invalid/</link>"
        f"{items}</channel></rss>"
    ).encode()


def item(link: str, guid: str = "", attrs: str = "") -> str:
    guid_element = f"<guid>{guid}</guid>" if guid else ""
    return (
        f"<item{attrs}><title>A ceasefire takes hold</title><link>{link}</link>"
        f"{guid_element}<description>Fighting stopped.</description>"
        "<pubDate>Mon, 02 Jun 2025 10:00:00 GMT</pubDate></item>"
    )


def links(body: bytes, location: str = FEED_URL) -> list[tuple[str, str | None]]:
    feed = parse_feed(body, content_type="application/rss+xml", location=location)
    return [(i.link, i.guid) for i in feed.items]


def test_relative_links_and_ids_are_resolved_against_the_feed_url():
    body = rss(item("/2025/06/ceasefire", guid="../stories/17") + item("ceasefire-2"))
    assert links(body) == [
        ("https://news.invalid/2025/06/ceasefire", "https://news.invalid/stories/17"),
        ("https://news.invalid/world/ceasefire-2", None),
    ]


def test_absolute_links_are_kept_as_given():
    body = rss(item("https://other.invalid/a?b=1#c", guid="tag:news.invalid,2025:17"))
    assert links(body) == [("https://other.invalid/a?b=1#c", "tag:news.invalid,2025:17")]


def test_xml_base_comes_before_the_feed_url():
    body = rss(item("story-9", attrs=' xml:base="https://mirror.invalid/archive/"'))
    assert links(body) == [("https://mirror.invalid/archive/story-9", None)]
    relative_base = rss(item("story-9", attrs=' xml:base="/archive/"'))
    assert links(relative_base) == [("https://news.invalid/archive/story-9", None)]


def test_without_the_feed_url_links_stay_as_the_feed_gives_them():
    body = rss(item("/2025/06/ceasefire"))
    assert links(body, location="") == [("/2025/06/ceasefire", None)]
