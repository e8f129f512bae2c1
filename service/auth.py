"""Bearer tokens with scopes. Secrets are long and random, so a SHA-256 digest is enough at
rest; a slow password hash would cost every request."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import insert, select

from forecasts.tables import tokens_t as tokens
from service.db import Database

SCOPES = ("forecast", "review", "admin")
# Lookups are cached briefly: a revoked token stops working within this many seconds.
CACHE_SECONDS = 10.0


@dataclass(frozen=True)
class Principal:
    name: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(db: Database, name: str, scopes: list[str]) -> str:
    """Store a new token and return its secret, which is shown once and never stored."""
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ValueError(f"scopes must be among {', '.join(SCOPES)}; got {scopes}")
    secret = "fct_" + secrets.token_urlsafe(32)
    with db.write() as conn:
        conn.execute(
            insert(tokens).values(name=name, scopes=" ".join(scopes), digest=digest(secret))
        )
    return secret


def any_token_exists(db: Database) -> bool:
    with db.read() as conn:
        return (
            conn.execute(select(tokens.c.id).where(~tokens.c.revoked).limit(1)).first() is not None
        )


class TokenBook:
    """Finds the principal behind a bearer secret."""

    def __init__(self, db: Database, admin_secret: str | None) -> None:
        self.db = db
        self.admin_digest = digest(admin_secret) if admin_secret else None
        self._cache: dict[str, tuple[Principal | None, float]] = {}

    def lookup(self, secret: str) -> Principal | None:
        key = digest(secret)
        if self.admin_digest and hmac.compare_digest(key, self.admin_digest):
            return Principal("admin", frozenset(SCOPES))
        cached = self._cache.get(key)
        now = time.monotonic()
        if cached and cached[1] > now:
            return cached[0]
        with self.db.read() as conn:
            row = conn.execute(
                select(tokens.c.name, tokens.c.scopes).where(
                    tokens.c.digest == key, ~tokens.c.revoked
                )
            ).first()
        principal = Principal(row.name, frozenset(row.scopes.split())) if row else None
        if len(self._cache) > 10_000:
            self._cache.clear()
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

    def dependency(request: Request) -> Principal:
        secret = _bearer(request)
        if secret is None:
            raise HTTPException(
                401,
                "missing bearer token (Authorization: Bearer <token>)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        principal = request.app.state.tokens.lookup(secret)
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


def read_guard(request: Request) -> None:
    """With FORECASTS_OPEN_READS=false, every request (reads too) needs a valid token."""
    if request.app.state.settings.open_reads or request.url.path.startswith(ALWAYS_OPEN):
        return
    secret = _bearer(request)
    if secret is None or request.app.state.tokens.lookup(secret) is None:
        raise HTTPException(
            401,
            "this deployment requires a bearer token for reads",
            headers={"WWW-Authenticate": "Bearer"},
        )


ForecastScope = Annotated[Principal, Depends(require("forecast"))]
ReviewScope = Annotated[Principal, Depends(require("review"))]
AdminScope = Annotated[Principal, Depends(require("admin"))]
