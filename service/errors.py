"""Domain errors and bad requests mapped to HTTP, in one place."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError

from forecasts.errors import Conflict, DomainError, InvalidInput, NotFound

STATUS_OF: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, 404),
    (Conflict, 409),
    (InvalidInput, 422),
)


def _finite(value: Any) -> Any:
    """The error body echoes the input; JSON cannot carry NaN or Infinity, so say them as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        status = next((code for kind, code in STATUS_OF if isinstance(exc, kind)), 400)
        body: dict[str, Any] = {"detail": exc.detail}
        if exc.field:
            body["field"] = exc.field
        return JSONResponse(body, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _finite(jsonable_encoder(exc.errors(), custom_encoder={bytes: repr}))
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError) -> JSONResponse:
        # A value the database cannot hold (an out-of-range number, say); nothing was written.
        return JSONResponse(
            {"detail": f"a value cannot be stored: {str(exc.orig).splitlines()[0]}"},
            status_code=422,
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        return JSONResponse(
            {"detail": f"conflicts with stored data: {str(exc.orig).splitlines()[0]}"},
            status_code=409,
        )
