"""Placeholder: configured sources land with the news-polling issue."""

from typing import Any


def sync_configured_sources(db: Any, settings: Any) -> int:
    return 0
