"""Every knob of the service, typed, with its default and its FORECASTS_ environment variable."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FORECASTS_", extra="ignore")

    database_url: str = "sqlite:///forecasts.db"
    admin_token: SecretStr | None = None
    scheduler: Literal["on", "off"] = "on"
    allow_private_sources: bool = False
    # The source configuration `serve` loads; None means the one bundled with the package.
    sources_file: Path | None = None
    # The folder archive sources may read besides the bundled seeds: an archive source's URL
    # is then a path relative to it ("news/2016.json"). None: only package:seeds/… archives.
    archive_dir: Path | None = None
    open_reads: bool = True
    # Host names (and addresses) the service answers to; any other Host header gets a 400, so
    # a page on a DNS-rebinding name cannot talk to a local service. Behind a reverse proxy,
    # list the public name(s), e.g. FORECASTS_TRUSTED_HOSTS='["forecasts.example.org"]'.
    # "testserver" is the name Starlette's test client sends; ["*"] turns the check off.
    trusted_hosts: list[str] = ["127.0.0.1", "localhost", "::1", "testserver"]
    max_body_bytes: int = 1024 * 1024
    # WAL with synchronous=NORMAL survives a killed process (the WAL is in the OS cache);
    # FULL also survives a power cut, at an fsync per commit.
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "NORMAL"
    sqlite_busy_timeout_ms: int = 10_000
    # A serving process checkpoints the WAL this often on a thread of its own, not inside
    # the commit that fills it (service.wal_checkpoint); 0 leaves it to SQLite's commits.
    sqlite_checkpoint_seconds: float = Field(default=2.0, ge=0)
    # News polling.
    grace_days: int = 7
    # While requests are in flight, a cycle in the serving process sleeps this many times as
    # long as each step of its matching took, so requests go first (service.foreground).
    poll_yield_factor: float = Field(default=1.0, ge=0, le=100)
    source_deadline_seconds: float = 30.0
    fetch_timeout_seconds: float = 10.0
    fetch_max_bytes: int = 10 * 1024 * 1024
    fetch_max_redirects: int = 5
    fetch_retries: int = 2
    user_agent: str = "forecasts/0.1 (+https://github.com/forecasts; news watcher for forecasts)"
    guardian_api_key: SecretStr | None = None
    # Items kept from one fetch of one source, the newest first; the cut is noted on the
    # source's last_status. Bounds the work (and storage) one feed can cause.
    max_items_per_fetch: int = 1000
    # `forecasts serve` (uvicorn) against slow or greedy clients; a reverse proxy in front
    # should bound them too (see the README's "Production").
    # Seconds an idle keep-alive connection stays open.
    serve_timeout_keep_alive_seconds: int = 5
    # Seconds a client has to send a request's headers, from connecting or from the end of
    # the previous response; then the connection is closed (slowloris).
    serve_header_timeout_seconds: float = 10.0
    # Connections and requests at once; past it, uvicorn answers 503.
    serve_limit_concurrency: int | None = 200
    # The most bytes of an unfinished request line and headers h11 buffers; past it, 400.
    serve_max_header_bytes: int = 16 * 1024
    # Notifications (API.md "Notifications"). The address the service is reached at, for the
    # links in webhook texts, feeds and the digest ("" leaves links relative).
    public_url: str = ""
    # A delivery is tried this many times; the waits between tries grow from the backoff.
    webhook_attempts: int = 3
    webhook_backoff_seconds: float = 2.0
    # How often the scheduler turns new events into deliveries and sends them.
    notify_every_seconds: int = 30
    # The e-mail digest of pending reviews and past-deadline questions (off without a host
    # or recipients); sent daily at digest_hour UTC by the scheduler, or by `forecasts digest`.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "forecasts@localhost"
    smtp_timeout_seconds: float = 10.0
    digest_recipients: list[str] = []
    digest_hour: int = 7
    # Fetching on a task queue (deploy/SCALING.md). Unset: the process that polls fetches
    # itself, as one process always has. Set (amqp://user:pass@host:5672/vhost for RabbitMQ,
    # or redis://host:6379/0): each due source becomes one task for `forecasts worker`.
    queue_url: SecretStr | None = None
    # The queue's name on the broker: deployments (or test runs) sharing one broker keep
    # apart by giving each its own.
    queue_name: str = Field(default="forecasts-poll", pattern=r"^[A-Za-z0-9_.:-]{1,200}$")
    # How often the elected scheduler hands the due sources to the workers.
    queue_dispatch_seconds: int = Field(default=30, ge=1, le=3600)
    # How long a batch (the scheduler's, or POST /api/poll's) waits for its tasks before it
    # matches what is stored and reports the rest as still queued.
    queue_wait_seconds: float = Field(default=300.0, gt=0)


@cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
