"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    """200 when the database answers; says whether this process runs the scheduler."""
    try:
        with request.app.state.db.read() as conn:
            conn.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means the database is not ok
        database = f"error: {type(exc).__name__}"
    scheduler = request.app.state.scheduler
    running = scheduler is not None and getattr(scheduler, "running", False)
    body = {
        "status": "ok" if database == "ok" else "degraded",
        "database": database,
        "scheduler": "running" if running else "off",
    }
    return JSONResponse(body, status_code=200 if database == "ok" else 503)
