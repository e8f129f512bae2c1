"""What the source adapters' tests share: polling one source through poll_source on a
loopback fetcher, and the recorded answers in tests/fixtures (see PROVENANCE.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from resolvers.fetch import Fetcher
from resolvers.items import FetchOutcome, PollConfig, QuestionWindow
from resolvers.sources import SourceSpec, poll_source
from tests.conftest import FIXTURES

CONFIG = PollConfig(
    allow_private_sources=True,
    fetch_timeout_seconds=0.5,
    fetch_max_bytes=1024 * 1024,
    fetch_retries=0,
    grace_days=7,
)
NOW = datetime(2026, 8, 14, 12, 0, tzinfo=UTC)


def poll(
    source: SourceSpec,
    windows: list[QuestionWindow] | None = None,
    *,
    config: PollConfig = CONFIG,
    now: datetime = NOW,
    is_allowed: Callable[[str], bool] | None = None,
) -> FetchOutcome:
    async def go() -> FetchOutcome:
        async with Fetcher(config, is_allowed=is_allowed) as fetcher:
            return await poll_source(fetcher, source, windows or [], config, now=now)

    return asyncio.run(go())


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()
