"""Bearer tokens with scopes. Secrets are long and random, so a SHA-256 digest is enough at
rest; a slow password hash would cost every request."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from sqlalchemy import func, insert, select, update
from starlette.concurrency import run_in_threadpool

from forecasts import audit
from forecasts.errors import Conflict, InvalidInput, NotFound
from forecasts.identity import SCOPES, Principal
from forecasts.models import utcnow
from forecasts.tables import tokens_t as tokens
from service.db import Database
from service.schemas import TokenOut

# Lookups are cached briefly (see TokenBook).
CACHE_SECONDS = 10.0
ADMIN = Principal("admin", frozenset(SCOPES))
# A shorter FORECASTS_ADMIN_TOKEN is refused at start: it could be guessed.
MIN_ADMIN_TOKEN_CHARS = 32


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _check_scopes(scopes: list[str]) -> list[str]:
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise InvalidInput(
            f"scopes must be one or more of {', '.join(SCOPES)}; got {scopes}", field="scopes"
        )
    return list(dict.fromkeys(scopes))


def create_token(
    db: Database, name: str, scopes: list[str], *, actor: str = "local"
) -> tuple[int, str]:
    """Store a new token; returns its id and its secret, which is shown once and never
    stored (only its digest is)."""
    scopes = _check_scopes(scopes)
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("a token needs a name", field="name")
    secret = "fct_" + secrets.token_urlsafe(32)
    with db.write() as conn:
        token_id = int(
            conn.execute(
                insert(tokens)
                .values(
                    name=name,
                    scopes=" ".join(scopes),
                    digest=digest(secret),
                    created_at=utcnow(),
                    revoked=False,
                )
                .returning(tokens.c.id)
            ).scalar_one()
        )
        audit.record(
            conn,
            actor=actor,
            action="token.create",
            object_id=token_id,
            after={"id": token_id, "name": name, "scopes": scopes},
        )
    return token_id, secret


def _token_out(row: Any) -> TokenOut:
    return TokenOut(
        id=row.id,
        name=row.name,
        scopes=row.scopes.split(),
        created_at=_aware(row.created_at),
        last_used_at=_aware(row.last_used_at),
        revoked_at=_aware(row.revoked_at),
    )


def _aware(instant: datetime | None) -> Any:
    if instant is None:
        return None
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def list_tokens(db: Database, *, limit: int = 50, offset: int = 0) -> tuple[list[TokenOut], int]:
    """The tokens (never a secret or a digest), oldest first."""
    columns = [
        tokens.c.id,
        tokens.c.name,
        tokens.c.scopes,
        tokens.c.created_at,
        tokens.c.last_used_at,
        tokens.c.revoked_at,
    ]
    with db.read() as conn:
        total = conn.execute(select(func.count()).select_from(tokens)).scalar_one()
        rows = conn.execute(select(*columns).order_by(tokens.c.id).limit(limit).offset(offset))
        return [_token_out(r) for r in rows], int(total)


def find_token(db: Database, name_or_id: str) -> int:
    """The id of the token named (or numbered) so; NotFound otherwise, Conflict when a name
    is shared by several live tokens."""
    with db.read() as conn:
        if name_or_id.isdigit():
            row = conn.execute(select(tokens.c.id).where(tokens.c.id == int(name_or_id))).first()
            if row is not None:
                return int(row.id)
        rows = conn.execute(
            select(tokens.c.id).where(tokens.c.name == name_or_id, ~tokens.c.revoked)
        ).all()
    if not rows:
        raise NotFound(f"no live token named or numbered '{name_or_id}'")
    if len(rows) > 1:
        ids = ", ".join(str(r.id) for r in rows)
        raise Conflict(f"{len(rows)} live tokens are named '{name_or_id}' (ids {ids}): give the id")
    return int(rows[0].id)


def revoke_token(db: Database, token_id: int, *, actor: str = "local") -> TokenOut:
    """Revoke a token: its next request gets 401. 409 if it is already revoked."""
    with db.write() as conn:
        row = conn.execute(select(tokens).where(tokens.c.id == token_id)).first()
        if row is None:
            raise NotFound(f"token {token_id} not found")
        if row.revoked:
            raise Conflict(f"token {token_id} ('{row.name}') is already revoked")
        now = utcnow()
        conn.execute(
            update(tokens).where(tokens.c.id == token_id).values(revoked=True, revoked_at=now)
        )
        audit.record(
            conn,
            actor=actor,
            action="token.revoke",
            object_id=token_id,
            before={"revoked_at": None},
            after={"revoked_at": now},
        )
        row = conn.execute(select(tokens).where(tokens.c.id == token_id)).one()
    return _token_out(row)


def any_token_exists(db: Database) -> bool:
    with db.read() as conn:
        return (
            conn.execute(select(tokens.c.id).where(~tokens.c.revoked).limit(1)).first() is not None
        )


class TokenBook:
    """Finds the principal behind a bearer secret.

    Lookups are cached for CACHE_SECONDS; each refresh also records the token's
    last_used_at, so a busy token costs one small write per CACHE_SECONDS, not one per
    request. A revocation through this process clears the cache at once; one made through
    another process takes effect here within CACHE_SECONDS. A cached answer costs no thread
    hop and no query (`cached`), which is what most requests of a busy client get.
    """

    def __init__(self, db: Database, admin_secret: str | None) -> None:
        self.db = db
        self.admin_digest = digest(admin_secret) if admin_secret else None
        self._cache: dict[str, tuple[Principal | None, float]] = {}
        # Moved by forget(): a lookup that read the table before a revocation must not put
        # its (now stale) answer into the cache after the revocation cleared it.
        self._generation = 0

    def forget(self) -> None:
        self._generation += 1
        self._cache.clear()

    def cached(self, secret: str) -> tuple[bool, Principal | None]:
        """(True, the principal or None) when known without a query; (False, None) if not."""
        key = digest(secret)
        if self.admin_digest and hmac.compare_digest(key, self.admin_digest):
            return True, ADMIN
        cached = self._cache.get(key)
        if cached and cached[1] > time.monotonic():
            return True, cached[0]
        return False, None

    async def alookup(self, secret: str) -> Principal | None:
        """lookup() for the event loop: the query, when one is needed, runs in a thread."""
        known, principal = self.cached(secret)
        if known:
            return principal
        return await run_in_threadpool(self.lookup, secret)

    def lookup(self, secret: str) -> Principal | None:
        known, principal = self.cached(secret)
        if known:
            return principal
        key = digest(secret)
        generation = self._generation
        now = time.monotonic()
        with self.db.read() as conn:
            row = conn.execute(
                select(tokens.c.id, tokens.c.name, tokens.c.scopes).where(
                    tokens.c.digest == key, ~tokens.c.revoked
                )
            ).first()
        principal = Principal(row.name, frozenset(row.scopes.split())) if row else None
        if row is not None:
            with self.db.write() as conn:
                conn.execute(
                    update(tokens).where(tokens.c.id == row.id).values(last_used_at=utcnow())
                )
        if len(self._cache) > 10_000:
            self._cache.clear()
        if generation == self._generation:
            self._cache[key] = (principal, now + CACHE_SECONDS)
        return principal


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def require(scope: str):  # type: ignore[no-untyped-def]
    """A dependency that admits a request whose token carries `scope` (or admin)."""

    # Async, so a request whose token is cached is admitted on the event loop, with no hop
    # through the thread pool.
    async def dependency(request: Request) -> Principal:
        secret = _bearer(request)
        if secret is None:
            raise HTTPException(
                401,
                "missing bearer token (Authorization: Bearer <token>)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        book: TokenBook = request.app.state.tokens
        principal = await book.alookup(secret)
        if principal is None:
            raise HTTPException(
                401, "invalid or revoked token", headers={"WWW-Authenticate": "Bearer"}
            )
        if not principal.allows(scope):
            raise HTTPException(403, f"token '{principal.name}' lacks the '{scope}' scope")
        return principal

    return dependency


# Always readable, even when a deployment closes reads: probes and the page assets.
ALWAYS_OPEN = ("/healthz", "/static/")


async def read_guard(request: Request) -> None:
    """With FORECASTS_OPEN_READS=false, every request (reads too) needs a valid token."""
    if request.app.state.settings.open_reads or request.url.path.startswith(ALWAYS_OPEN):
        return
    secret = _bearer(request)
    if secret is None or await request.app.state.tokens.alookup(secret) is None:
        raise HTTPException(
            401,
            "this deployment requires a bearer token for reads",
            headers={"WWW-Authenticate": "Bearer"},
        )


ForecastScope = Annotated[Principal, Depends(require("forecast"))]
ReviewScope = Annotated[Principal, Depends(require("review"))]
AdminScope = Annotated[Principal, Depends(require("admin"))]
RecordScope = Annotated[Principal, Depends(require("record"))]
