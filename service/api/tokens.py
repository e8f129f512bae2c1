"""API tokens (admin): list, create (the secret shown once), revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from service import auth
from service.api.deps import MAX_ID, DbDep, Limit, Offset
from service.auth import AdminScope
from service.schemas import TokenCreate, TokenCreated, TokenOut, TokenPage

router = APIRouter(prefix="/api/tokens", tags=["tokens"])
TokenId = Annotated[int, Path(ge=1, le=MAX_ID, description="the token's id")]


@router.get("", response_model=TokenPage)
def list_tokens(db: DbDep, who: AdminScope, limit: Limit = 50, offset: Offset = 0) -> TokenPage:
    """Every token with its scopes and when it was last used; never a secret."""
    items, total = auth.list_tokens(db, limit=limit, offset=offset)
    return TokenPage(items=items, total=total)


@router.post("", status_code=201, response_model=TokenCreated)
def create_token(body: TokenCreate, db: DbDep, who: AdminScope) -> TokenCreated:
    """A new token; the answer holds its secret, which is never shown again."""
    token_id, secret = auth.create_token(db, body.name, list(body.scopes), actor=who.name)
    return TokenCreated(
        id=token_id, name=" ".join(body.name.split()), scopes=list(body.scopes), token=secret
    )


@router.delete("/{token_id}", response_model=TokenOut)
def revoke_token(token_id: TokenId, request: Request, db: DbDep, who: AdminScope) -> TokenOut:
    """Revoke a token: its next request gets 401. 409 if it is already revoked."""
    revoked = auth.revoke_token(db, token_id, actor=who.name)
    request.app.state.tokens.forget()
    return revoked
