"""News sources: the rules for changing them, and the configuration
file that `forecasts serve` loads (by default the one bundled with the package).

Configured sources are only ever added by name: a source already present (perhaps changed
through the API since) is left exactly as it is.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from forecasts import audit
from forecasts.errors import Conflict, InvalidInput, NotFound
from forecasts.models import utcnow
from forecasts.tables import sources_t as sources
from resolvers.fetch import guard_url
from resolvers.sources import validate_options
from service.db import Database
from service.schemas import SourceCreate, SourceOut, SourcePatch
from service.settings import Settings

DEFAULT_SOURCES_FILE = "default_sources.toml"
# Kinds that fetch a URL over the network, so the private-address guard applies to them
# (an archive is a file shipped with the package or on local disk).
NETWORK_KINDS = frozenset({"rss", "gdelt", "guardian"})
# Option values never shown back: the API answers with this mask in their place, and a PATCH
# that sends the mask back keeps the stored secret.
SECRET_OPTIONS = frozenset({"api_key"})
SECRET_MASK = "***"


def public_options(options: dict[str, Any]) -> dict[str, Any]:
    """The options as shown to readers: secrets masked."""
    return {k: (SECRET_MASK if k in SECRET_OPTIONS and v else v) for k, v in options.items()}


def check_source(
    kind: str,
    url: str,
    options: dict[str, Any],
    *,
    allow_private: bool,
    check_address: bool = True,
) -> None:
    """Refuse a source its adapter could not poll, or one aimed at a private address.

    Raises InvalidInput (422). The address check resolves the host name but connects nowhere;
    the fetcher checks again at every request, since DNS answers change.
    """
    validate_options(kind, url, options)
    if check_address and kind in NETWORK_KINDS:
        guard_url(url, allow_private=allow_private)


def _out(row: Any) -> SourceOut:
    values = dict(row._mapping)
    values["options"] = public_options(values["options"] or {})
    return SourceOut.model_validate(values)


_OUT_COLUMNS = [sources.c[name] for name in SourceOut.model_fields]


def get_source(conn: Connection, source_id: int) -> SourceOut:
    row = conn.execute(select(*_OUT_COLUMNS).where(sources.c.id == source_id)).first()
    if row is None:
        raise NotFound(f"source {source_id} not found")
    return _out(row)


def list_sources(
    conn: Connection, *, limit: int = 50, offset: int = 0
) -> tuple[list[SourceOut], int]:
    total = conn.execute(select(func.count()).select_from(sources)).scalar_one()
    rows = conn.execute(
        select(*_OUT_COLUMNS).order_by(sources.c.id).limit(limit).offset(offset)
    ).all()
    return [_out(row) for row in rows], total


def _check_name_free(conn: Connection, name: str, *, except_id: int | None = None) -> None:
    query = select(sources.c.id).where(sources.c.name == name)
    if except_id is not None:
        query = query.where(sources.c.id != except_id)
    if conn.execute(query).first() is not None:
        raise Conflict(f"a source named {name!r} already exists", field="name")


# What a source's audit rows show: its settings, secrets masked, not its polling health.
AUDITED_SOURCE_FIELDS = ("name", "kind", "url", "poll_every_minutes", "enabled", "options")


def _audited(row: Any) -> dict[str, Any]:
    fields = {name: getattr(row, name) for name in AUDITED_SOURCE_FIELDS}
    fields["options"] = public_options(dict(fields["options"] or {}))
    return fields


def _source_row(conn: Connection, source_id: int) -> Any:
    row = conn.execute(select(sources).where(sources.c.id == source_id)).first()
    if row is None:
        raise NotFound(f"source {source_id} not found")
    return row


def create_source(conn: Connection, spec: SourceCreate, *, actor: str = "configuration") -> int:
    """Store a source already checked by `check_source`; 409 if its name is taken."""
    _check_name_free(conn, spec.name)
    now = utcnow()
    source_id = int(
        conn.execute(
            insert(sources)
            .values(
                name=spec.name,
                kind=spec.kind,
                url=spec.url,
                poll_every_minutes=spec.poll_every_minutes,
                enabled=spec.enabled,
                options=spec.options,
                items_seen=0,
                consecutive_failures=0,
                created_at=now,
                updated_at=now,
            )
            .returning(sources.c.id)
        ).scalar_one()
    )
    audit.record(
        conn,
        actor=actor,
        action="source.create",
        object_id=source_id,
        after=_audited(_source_row(conn, source_id)),
    )
    return source_id


def stored_source(conn: Connection, source_id: int) -> dict[str, Any]:
    """The stored kind, url and options (secrets included) of one source; 404 if absent."""
    row = conn.execute(
        select(sources.c.kind, sources.c.url, sources.c.options).where(sources.c.id == source_id)
    ).first()
    if row is None:
        raise NotFound(f"source {source_id} not found")
    return {"kind": row.kind, "url": row.url, "options": dict(row.options or {})}


def merge_patch(stored: dict[str, Any], patch: SourcePatch) -> dict[str, Any]:
    """The kind, url and options the source will have after `patch`.

    A secret sent back as the mask (as a client that read the source would) keeps its value.
    """
    options = stored["options"]
    if patch.options is not None:
        options = dict(patch.options)
        for key in SECRET_OPTIONS:
            if options.get(key) == SECRET_MASK and key in stored["options"]:
                options[key] = stored["options"][key]
    return {
        "kind": patch.kind if patch.kind is not None else stored["kind"],
        "url": patch.url if patch.url is not None else stored["url"],
        "options": options,
    }


def update_source(
    conn: Connection,
    source_id: int,
    patch: SourcePatch,
    merged: dict[str, Any],
    *,
    actor: str = "configuration",
) -> None:
    """Apply `patch` (with kind, url and options from `merge_patch`, already checked)."""
    before = _source_row(conn, source_id)
    values: dict[str, Any] = {
        name: getattr(patch, name)
        for name in ("name", "poll_every_minutes", "enabled")
        if getattr(patch, name) is not None
    }
    values.update(merged)
    if "name" in values:
        _check_name_free(conn, values["name"], except_id=source_id)
    values["updated_at"] = utcnow()
    conn.execute(update(sources).where(sources.c.id == source_id).values(**values))
    audit.record(
        conn,
        actor=actor,
        action="source.patch",
        object_id=source_id,
        before=_audited(before),
        after=_audited(_source_row(conn, source_id)),
    )


def delete_source(conn: Connection, source_id: int, *, actor: str = "configuration") -> None:
    """Remove a source. Its stored items stay (their source_id becomes null), and so does
    the evidence of suggestions made from them (kept on the suggestion as it was seen)."""
    before = _source_row(conn, source_id)
    conn.execute(sources.delete().where(sources.c.id == source_id))
    audit.record(
        conn, actor=actor, action="source.delete", object_id=source_id, before=_audited(before)
    )


# --- the configuration file -----------------------------------------------------------------


def _read_config(settings: Settings) -> tuple[str, str]:
    """(where the file is, its text): FORECASTS_SOURCES_FILE, else the bundled default."""
    if settings.sources_file is not None:
        path = Path(settings.sources_file)
        try:
            return str(path), path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read the sources file {path}: {exc}") from exc
    bundled = resources.files("service").joinpath(DEFAULT_SOURCES_FILE)
    return f"{bundled} (bundled)", bundled.read_text(encoding="utf-8")


def configured_sources(settings: Settings) -> list[SourceCreate]:
    """The sources the configuration lists, checked; ValueError naming the file and problem."""
    where, document = _read_config(settings)
    try:
        data = tomllib.loads(document)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"sources file {where} is not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"sources"})
    if unknown:
        raise ValueError(
            f"sources file {where}: unknown top-level key(s) {', '.join(unknown)};"
            " list sources as [[sources]] tables"
        )
    entries = data.get("sources", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError(f"sources file {where}: 'sources' must be an array of [[sources]] tables")
    specs: list[SourceCreate] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        label = f"sources file {where}, source #{number} ({entry.get('name', 'unnamed')!r})"
        try:
            spec = SourceCreate.model_validate(entry)
            validate_options(spec.kind, spec.url, spec.options)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'entry'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ValueError(f"{label}: {problems}") from exc
        except InvalidInput as exc:
            raise ValueError(f"{label}: {exc.detail}") from exc
        if spec.name in seen:
            raise ValueError(f"{label}: the name {spec.name!r} is listed twice")
        seen.add(spec.name)
        specs.append(spec)
    return specs


def sync_configured_sources(db: Database, settings: Settings) -> int:
    """Add the configured sources whose name is not stored yet; returns how many were added.

    Never changes a stored source, so edits made through the API survive restarts. (A source
    deleted through the API comes back at the next start: disable it instead.)
    """
    specs = configured_sources(settings)
    with db.read() as conn:
        present: set[str] = set(conn.execute(select(sources.c.name)).scalars())
    added = 0
    for spec in specs:
        if spec.name in present:
            continue
        try:
            with db.write() as conn:
                create_source(conn, spec)
        except (Conflict, IntegrityError):
            # Another process starting at the same moment added it first.
            continue
        added += 1
    return added
