"""A local JSON archive of dated items, such as the one bundled in the `seeds` package.

{"items": [{"key", "published_at", "title", "summary", "link", …}]}. `key` is the item's
stable id, so its dedup key is sha256("archive:" + key) whatever its link says. No HTTP:
the URL is "package:<package>/<path>" (read through importlib.resources from the installed
package), a filesystem path, or a file:// URL. Sources are configured by administrators,
so a path is trusted to name a file they mean to serve.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from resolvers.ingest import ContentError, RawItem

PACKAGE_PREFIX = "package:"


ARCHIVE_PACKAGES = ("seeds",)


def locate(url: str) -> Path | Traversable:
    """The file a source URL names; ValueError if it is not an archive URL or is missing."""
    if url.startswith(PACKAGE_PREFIX):
        package, _, inner = url[len(PACKAGE_PREFIX) :].partition("/")
        if not package or not inner or ".." in inner.split("/"):
            raise ValueError(f"{url!r} is not of the form package:<package>/<file>")
        # Only the bundled data package: naming another would import arbitrary modules.
        if package not in ARCHIVE_PACKAGES:
            raise ValueError(f"package archives come from {', '.join(ARCHIVE_PACKAGES)} only")
        try:
            target: Path | Traversable = resources.files(package).joinpath(inner)
        except (ModuleNotFoundError, TypeError) as exc:
            raise ValueError(f"no installed package {package!r}") from exc
    elif url.startswith("file:"):
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"{url!r} names a file on another host")
        target = Path(unquote(parts.path))
    elif "://" in url:
        raise ValueError(f"{url!r} is not a package:, file: URL or a path")
    else:
        target = Path(url)
    if not target.is_file():
        raise ValueError(f"no archive file at {url}")
    return target


def read_archive(url: str, *, max_bytes: int) -> bytes:
    """The archive's bytes; ContentError if it is missing or larger than max_bytes."""
    try:
        target = locate(url)
        with target.open("rb") as handle:
            body = handle.read(max_bytes + 1)
    except (ValueError, OSError) as exc:
        raise ContentError(f"cannot read the archive: {exc}") from exc
    if len(body) > max_bytes:
        raise ContentError(f"archive over {max_bytes} bytes")
    return body


def parse_archive(body: bytes, *, until: date | None = None) -> tuple[list[RawItem], int]:
    """The archive's items, and how many were hidden for being published after `until`.

    Items without a key or a valid published_at (ISO 8601 with an offset) are skipped.
    """
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ContentError(f"the archive is not valid JSON: {exc}") from exc
    entries = data.get("items") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ContentError('the archive has no "items" list')
    items: list[RawItem] = []
    hidden = 0
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("key"):
            continue
        published = _published(entry.get("published_at"))
        if published is None:
            continue
        if until is not None and published.date() > until:
            hidden += 1
            continue
        key = "archive:" + str(entry["key"])
        items.append(
            RawItem(
                title=str(entry.get("title") or ""),
                summary=str(entry.get("summary") or ""),
                link=str(entry.get("link") or ""),
                published_at=published,
                key=hashlib.sha256(key.encode("utf-8")).hexdigest(),
            )
        )
    return items, hidden


def _published(value: object) -> datetime | None:
    try:
        published = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return published if published.tzinfo is not None else None
