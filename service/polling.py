"""The service's settings as the resolvers' poll configuration."""

from __future__ import annotations

from resolvers.items import PollConfig
from service.foreground import pacer
from service.settings import Settings


def poll_config(settings: Settings) -> PollConfig:
    return PollConfig(
        allow_private_sources=settings.allow_private_sources,
        source_deadline_seconds=settings.source_deadline_seconds,
        fetch_timeout_seconds=settings.fetch_timeout_seconds,
        fetch_max_bytes=settings.fetch_max_bytes,
        fetch_max_redirects=settings.fetch_max_redirects,
        fetch_retries=settings.fetch_retries,
        user_agent=settings.user_agent,
        grace_days=settings.grace_days,
        guardian_api_key=(
            settings.guardian_api_key.get_secret_value() if settings.guardian_api_key else None
        ),
        archive_dir=settings.archive_dir,
        max_items_per_fetch=settings.max_items_per_fetch,
        pace=pacer(settings.poll_yield_factor),
    )
