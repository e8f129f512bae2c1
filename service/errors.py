"""Domain errors and bad requests mapped to HTTP, in one place."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError

from forecasts.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound

STATUS_OF: tuple[tuple[type[DomainError], int], ...] = (
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (InvalidInput, 422),
)


# How deep the echo of a refused input goes: a body nested hundreds of levels deep is
# answered with its outer levels and a marker, not a recursion error.
MAX_ECHO_DEPTH = 16
TOO_DEEP = "…(nested deeper than the error echoes)"


def _text(value: str) -> str:
    """A string JSON can carry as UTF-8: lone surrogates ("\\ud800") written out as escapes."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _finite(value: Any, depth: int = 0) -> Any:
    """The error body echoes the input, which may be anything JSON can parse: NaN and Infinity
    (JSON cannot carry them) are said as text, lone surrogates as escapes, and the echo stops
    at MAX_ECHO_DEPTH levels."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict | list | tuple) and depth >= MAX_ECHO_DEPTH:
        return TOO_DEEP
    if isinstance(value, dict):
        return {
            (_text(k) if isinstance(k, str) else k): _finite(v, depth + 1) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_finite(v, depth + 1) for v in value]
    return value


def validation_body(errors: Sequence[Any]) -> dict[str, Any]:
    """The 422 body for pydantic's errors, whatever input they echo."""
    # Cut first (jsonable_encoder recurses as deep as the input), encode, then clean again:
    # encoding may turn objects (an exception in ctx, say) into text with surrogates.
    shallow = _finite(list(errors))
    return {"detail": _finite(jsonable_encoder(shallow, custom_encoder={bytes: repr}))}


DATE_ERRORS = {
    "date_from_datetime_parsing",
    "date_parsing",
    "date_type",
    "datetime_from_date_parsing",
}
PROBABILITY_BOUNDS = {"less_than_equal", "greater_than_equal"}


def _friendlier(error: dict[str, Any]) -> dict[str, Any]:
    """pydantic's message, said the way a person would fix it: a percentage given as a
    probability, or a date not in YYYY-MM-DD."""
    loc = error.get("loc") or ()
    field = loc[-1] if loc else None
    value = error.get("input")
    kind = error.get("type")
    if field == "probability" and kind in PROBABILITY_BOUNDS and _is_number(value):
        assert isinstance(value, int | float)
        message = "probabilities are between 0 and 1"
        if 1 < value <= 100:
            message += f": did you mean {value / 100:g}?"
        return {**error, "msg": message}
    if kind in DATE_ERRORS and isinstance(value, str):
        return {**error, "msg": f"{value!r} is not a date: use YYYY-MM-DD (e.g. 2027-12-31)"}
    return error


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _not_json(request: Request, errors: Sequence[Any]) -> str | None:
    """Why the body was not read as JSON, when that is the trouble: a body sent as a form or
    as text is refused as a whole ('body' is not an object) and says nothing useful."""
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return None
    if not any(tuple(e.get("loc") or ()) == ("body",) for e in errors):
        return None
    got = f"Content-Type {media}" if media else "no Content-Type"
    return f"the body must be JSON, sent with Content-Type: application/json (got {got})"


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        status = next((code for kind, code in STATUS_OF if isinstance(exc, kind)), 400)
        body: dict[str, Any] = {"detail": _finite(exc.detail)}
        if exc.field:
            body["field"] = _finite(exc.field)
        return JSONResponse(body, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        not_json = _not_json(request, errors)
        if not_json is not None:
            return JSONResponse({"detail": not_json}, status_code=415)
        friendlier = [_friendlier(e) if isinstance(e, dict) else e for e in errors]
        return JSONResponse(validation_body(friendlier), status_code=422)

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
