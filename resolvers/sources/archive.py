"""A local JSON archive of dated items, such as the one bundled in the `seeds` package.

{"items": [{"key", "published_at", "title", "summary", "link", …}]}. `key` is the item's
stable id, so its dedup key is sha256("archive:" + key) whatever its link says. No HTTP.

An archive source reads one of two folders, and nothing outside them:

- `package:seeds/<path>`: a file shipped in the `seeds` package (read where it is installed);
- `<path>`: a file in the configured archive folder (FORECASTS_ARCHIVE_DIR), the path
  relative to it, e.g. `news/2016.json`.

Absolute paths, file: URLs, empty, `.` or `..` segments and links that lead out of the folder
are refused, all with the same message and before the file system is asked whether the path
exists, so a source URL cannot be used to learn what is on the server's disk.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from importlib import resources
from pathlib import Path, PurePosixPath

from resolvers.ingest import ContentError, RawItem

PACKAGE_PREFIX = "package:"
ARCHIVE_PACKAGES = ("seeds",)
REFUSED = (
    "not a package:seeds/<file> URL nor a path inside the archive folder "
    "(FORECASTS_ARCHIVE_DIR) such as news/2016.json; absolute paths, file: URLs, '..' and "
    "links out of the folder are refused"
)


def _relative_parts(path: str) -> tuple[str, ...]:
    """The segments of a relative path, or ValueError(REFUSED) for any other shape."""
    if not path or "\x00" in path or "\\" in path or path.startswith(("/", "~")):
        raise ValueError(REFUSED)
    parts = tuple(path.split("/"))
    if any(part in ("", ".", "..") for part in parts) or PurePosixPath(path).is_absolute():
        raise ValueError(REFUSED)
    return parts


def _split(url: str) -> tuple[str | None, tuple[str, ...]]:
    """(the package, or None for the archive folder; the path's segments); ValueError(REFUSED)
    for every URL that is neither."""
    if url.startswith(PACKAGE_PREFIX):
        package, _, inner = url[len(PACKAGE_PREFIX) :].partition("/")
        # Only the bundled data package: naming another would import arbitrary modules.
        if package not in ARCHIVE_PACKAGES:
            raise ValueError(REFUSED)
        return package, _relative_parts(inner)
    if ":" in url.split("/", 1)[0]:
        raise ValueError(REFUSED)  # file:, http: and any other scheme
    return None, _relative_parts(url)


def check_url(url: str) -> None:
    """Refuse an archive URL of the wrong shape (ValueError); a bundled file must also exist.

    Files in the archive folder are looked up when the source is polled, with the folder
    the service is configured with.
    """
    package, _parts = _split(url)
    if package is not None:
        locate(url)


def _root(package: str | None, archive_dir: Path | None) -> Path:
    if package is None:
        if archive_dir is None:
            raise ValueError(
                "no archive folder is configured (FORECASTS_ARCHIVE_DIR); without it, "
                "archive sources read package:seeds/<file> only"
            )
        return Path(archive_dir)
    try:
        root = resources.files(package)
    except (ModuleNotFoundError, TypeError) as exc:
        raise ValueError(f"no installed package {package!r}") from exc
    # An installed package is a directory on disk; a zipped one has no path to contain.
    if not isinstance(root, Path):
        raise ValueError(f"the {package} package is not installed as files on disk")
    return root


def locate(url: str, *, archive_dir: Path | None = None) -> Path:
    """The file a source URL names; ValueError if it is not an allowed archive URL (REFUSED,
    the same whether or not such a file exists) or names no file in its folder."""
    package, parts = _split(url)
    root = _root(package, archive_dir)
    try:
        base = root.resolve(strict=True)
        # resolve() follows every link, so a link inside the folder pointing out of it is
        # judged by where it leads.
        target = base.joinpath(*parts).resolve(strict=False)
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
        raise ValueError(REFUSED) from exc
    if not target.is_relative_to(base) or target == base:
        raise ValueError(REFUSED)
    if not target.is_file():
        raise ValueError(f"no archive file at {url}")
    return target


def read_archive(url: str, *, max_bytes: int, archive_dir: Path | None = None) -> bytes:
    """The archive's bytes; ContentError if it is refused, missing or larger than max_bytes."""
    try:
        target = locate(url, archive_dir=archive_dir)
        with target.open("rb") as handle:
            body = handle.read(max_bytes + 1)
    except ValueError as exc:
        raise ContentError(f"cannot read the archive: {exc}") from exc
    except OSError as exc:
        raise ContentError(f"cannot read the archive: {type(exc).__name__}") from exc
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
