"""The FastAPI application: API, dashboard and (optionally) the scheduler in one process."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp

from service import apidocs, errors
from service.api import (
    audit,
    estimates,
    health,
    questions,
    scores,
    sources,
    suggestions,
    tokens,
)
from service.auth import TokenBook, read_guard
from service.cache import PageCache
from service.collector import settle_collector
from service.db import Database
from service.limits import RequestGuard
from service.security import SecurityHeaders, host_patterns
from service.settings import Settings, get_settings

log = logging.getLogger("forecasts")


class ForecastsApp(FastAPI):
    """FastAPI with the security headers outside even Starlette's error middleware, so a
    500 carries them too (middleware added with add_middleware runs inside it)."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    """Build the app. Migrations run at startup; the scheduler starts if settings say so."""
    settings = settings or get_settings()
    db = db or Database(settings.database_url, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db.migrate()
        db.start_background_checkpoints()
        settle_collector()
        scheduler = None
        if settings.scheduler == "on":
            from service.scheduler import start_scheduler

            scheduler = start_scheduler(db, settings)
        app.state.scheduler = scheduler
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown()
            # After the scheduler: its last jobs may still be parsing feeds.
            from resolvers.sources.parsing import shutdown_pool

            shutdown_pool()
            db.stop_background_checkpoints()

    app = ForecastsApp(
        title="Forecasts",
        version="0.1.0",
        summary="Dated forecasts, news-watched resolutions, Brier scores and calibration.",
        lifespan=lifespan,
        dependencies=[Depends(read_guard)],
        # Served by service.apidocs from vendored assets, behind the read guard.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.tokens = TokenBook(
        db, settings.admin_token.get_secret_value() if settings.admin_token else None
    )
    app.state.scheduler = None
    # Serialised question pages keyed by request and data revision (one cache per app, so
    # two apps on two databases never share entries).
    app.state.question_pages = PageCache()
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes)
    # Added last, so it runs first: a request for an unknown Host is refused before anything.
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=host_patterns(settings.trusted_hosts))
    errors.install(app)
    for module in (
        questions,
        estimates,
        sources,
        suggestions,
        scores,
        tokens,
        audit,
        health,
        apidocs,
    ):
        app.include_router(module.router)
    from service.api import drafts

    app.include_router(drafts.router)
    from service.api import webhooks

    app.include_router(webhooks.router)
    from service import feeds

    app.include_router(feeds.router)
    from service.dashboard import routes as dashboard

    app.include_router(dashboard.router)
    dashboard.mount_static(app)
    from service import openapi_docs

    openapi_docs.install(app)
    return app
