"""Every knob of the service, typed, with its default and its FORECASTS_ environment variable."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FORECASTS_", extra="ignore")

    database_url: str = "sqlite:///forecasts.db"
    admin_token: SecretStr | None = None
    scheduler: Literal["on", "off"] = "on"
    allow_private_sources: bool = False
    # The source configuration `serve` loads; None means the one bundled with the package.
    sources_file: Path | None = None
    open_reads: bool = True
    max_body_bytes: int = 1024 * 1024
    # WAL with synchronous=NORMAL survives a killed process (the WAL is in the OS cache);
    # FULL also survives a power cut, at an fsync per commit.
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "NORMAL"
    sqlite_busy_timeout_ms: int = 10_000
    # News polling.
    grace_days: int = 7
    source_deadline_seconds: float = 30.0
    fetch_timeout_seconds: float = 10.0
    fetch_max_bytes: int = 10 * 1024 * 1024
    fetch_max_redirects: int = 5
    fetch_retries: int = 2
    user_agent: str = "forecasts/0.1 (+https://github.com/forecasts; news watcher for forecasts)"
    guardian_api_key: SecretStr | None = None


@cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
