"""The `forecasts` command line."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from service.cli_database import open_database
from service.settings import get_settings

app = typer.Typer(
    help="Store dated forecasts, watch the news for their outcome, and score forecasters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
questions_app = typer.Typer(help="Questions.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(questions_app, name="questions")
console = Console()
err = Console(stderr=True)


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(envvar="FORECASTS_HOST", help="address to listen on")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="FORECASTS_PORT", help="port to listen on")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            envvar="FORECASTS_SERVE_WORKERS",
            min=1,
            help="API processes on this port (each takes part in the scheduler election; "
            "exactly one runs the jobs)",
        ),
    ] = 1,
) -> None:
    """Run the API, the dashboard and the scheduler in one process (or --workers of them)."""
    import uvicorn

    from service.app import create_app
    from service.auth import MIN_ADMIN_TOKEN_CHARS, any_token_exists, create_token
    from service.security import host_patterns
    from service.serving import uvicorn_config
    from service.sourceconfig import sync_configured_sources

    settings = get_settings()
    admin_token = settings.admin_token.get_secret_value() if settings.admin_token else None
    if admin_token is not None and len(admin_token) < MIN_ADMIN_TOKEN_CHARS:
        err.print(
            f"error: FORECASTS_ADMIN_TOKEN has {len(admin_token)} characters; it must have at "
            f"least {MIN_ADMIN_TOKEN_CHARS} (a short token can be guessed). Make one with: "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
        raise typer.Exit(2)
    db = open_database()
    if settings.admin_token is None and not any_token_exists(db):
        _token_id, secret = create_token(db, "admin", ["admin"])
        console.print(
            "[bold]Created an admin token (shown once, store it now):[/bold]\n"
            f"  {secret}\n"
            "Use it as: Authorization: Bearer <token>"
        )
    try:
        added = sync_configured_sources(db, settings)
    except ValueError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from exc
    if added:
        console.print(f"Added {added} source(s) from the configuration.")
    console.print(f"Serving on http://{host}:{port}/  (API docs: http://{host}:{port}/docs)")
    trusted = host_patterns(settings.trusted_hosts)
    if "*" not in trusted and host_patterns([host])[0] not in trusted:
        err.print(
            f"note: only requests for {', '.join(trusted)} are answered: add the names clients"
            " use for this server to FORECASTS_TRUSTED_HOSTS"
        )
    if workers > 1:
        from service.worker import run_api_processes

        # Each process builds its own app (and engine) through the factory.
        db.dispose()
        run_api_processes(settings, host=host, port=port, workers=workers)
        return
    uvicorn.Server(uvicorn_config(create_app(settings, db), settings, host=host, port=port)).run()


@app.command()
def worker(
    threads: Annotated[
        int,
        typer.Option(
            envvar="FORECASTS_WORKER_THREADS", min=1, help="tasks this process runs at once"
        ),
    ] = 8,
) -> None:
    """Run one worker: fetch, parse and store the sources the scheduler or POST /api/poll
    hands to FORECASTS_QUEUE_URL, until SIGTERM or Ctrl-C."""
    import logging

    from service.queue import QueueUnavailable
    from service.worker import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        run_worker(get_settings(), threads=threads)
    except QueueUnavailable as exc:
        err.print(f"error: {exc.detail}")
        raise typer.Exit(2) from exc


@app.command()
def seed() -> None:
    """Load the seed article's questions (idempotent; does not poll)."""
    from service.seeding import load_seeds

    created, existing = load_seeds(open_database())
    console.print(f"Seed questions: {created} created, {existing} already present.")


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="who or what the token is for")],
    scope: Annotated[
        list[str],
        typer.Option("--scope", "-s", help="forecast, record, review or admin (repeatable)"),
    ],
) -> None:
    """Create a token and print its secret once."""
    from forecasts.errors import DomainError
    from service.auth import create_token

    scopes = [s.strip() for item in scope for s in item.replace(",", " ").split()]
    try:
        token_id, secret = create_token(open_database(), name, scopes, actor="command line")
    except DomainError as exc:
        err.print(f"error: {exc.detail}")
        raise typer.Exit(2) from exc
    console.print(f"Token {token_id} '{name}' with scopes {', '.join(scopes)} (shown once):")
    console.print(secret, soft_wrap=True)


@token_app.command("list")
def token_list() -> None:
    """The tokens: id, name, scopes, created, last used, revoked (never a secret)."""
    from service.auth import list_tokens

    items, total = list_tokens(open_database(), limit=1000)
    table = Table("id", "name", "scopes", "created", "last used", "revoked")

    def when(instant: object) -> str:
        return "" if instant is None else str(instant)[:19]

    for t in items:
        table.add_row(
            str(t.id),
            t.name,
            " ".join(t.scopes),
            when(t.created_at),
            when(t.last_used_at),
            when(t.revoked_at),
        )
    console.print(table)
    console.print(f"{total} token(s)")


@token_app.command("revoke")
def token_revoke(
    token: Annotated[str, typer.Argument(help="the token's name or id")],
) -> None:
    """Revoke a token: its next request is refused (401)."""
    from forecasts.errors import DomainError
    from service.auth import find_token, revoke_token

    db = open_database()
    try:
        revoked = revoke_token(db, find_token(db, token), actor="command line")
    except DomainError as exc:
        err.print(f"error: {exc.detail}")
        raise typer.Exit(2) from exc
    console.print(f"Revoked token {revoked.id} '{revoked.name}'.")


class QuestionStatus(StrEnum):
    """The statuses `questions list --status` takes (anything else: exit 2, naming these)."""

    open = "open"
    resolved = "resolved"
    annulled = "annulled"


@questions_app.command("list")
def questions_list(
    status: Annotated[
        QuestionStatus | None, typer.Option(help="open, resolved or annulled")
    ] = None,
    tag: Annotated[str | None, typer.Option()] = None,
    forecaster: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """The questions as a table."""
    from forecasts.question_views import list_questions

    db = open_database()
    with db.read() as conn:
        items, total = list_questions(
            conn,
            status=status.value if status else None,
            tag=tag,
            forecaster=forecaster,
            limit=limit,
        )
    table = Table(title=f"{len(items)} of {total} questions")
    for column in ("id", "title", "resolve by", "status", "latest forecasts"):
        table.add_column(column, overflow="fold")
    for q in items:
        latest: dict[str, float] = {}
        for f in q.forecasts:
            latest[f.forecaster] = f.probability
        shown = ", ".join(f"{who}: {p:.2f}" for who, p in latest.items())
        status_text = q.status if q.outcome is None else f"{q.status} ({q.outcome})"
        table.add_row(str(q.id), q.title, q.resolve_by.isoformat(), status_text, shown)
    console.print(table)


@app.command("export")
def export(
    output: Annotated[Path, typer.Argument(help="file to write, or - for standard output")],
    fmt: Annotated[str, typer.Option("--format", help="json (lossless) or csv")] = "json",
) -> None:
    """Export questions with forecasts and resolutions (CSV: one row per forecast, the
    columns `forecasts import` reads back)."""
    from service.transfer import export_json, write_csv

    db = open_database()
    if fmt not in ("json", "csv"):
        err.print("error: --format must be json or csv")
        raise typer.Exit(2)
    if str(output) == "-":
        if fmt == "json":
            sys.stdout.write(json.dumps(export_json(db), indent=2, ensure_ascii=False))
        else:
            write_csv(db, sys.stdout)
        return
    with output.open("w", encoding="utf-8", newline="" if fmt == "csv" else None) as out:
        if fmt == "json":
            out.write(json.dumps(export_json(db), indent=2, ensure_ascii=False))
        else:
            write_csv(db, out)
    console.print(f"Wrote {output}")


def _import_help() -> str:
    from service.csv_format import CSV_HELP

    return (
        "Import an export: all or nothing (a bad record refuses the whole file, naming the "
        "record and the field), and what is already stored is skipped, so importing the "
        "same file twice adds nothing. JSON: the file `forecasts export` writes (the whole "
        f"record). {CSV_HELP}"
    )


@app.command("import", help=_import_help())
def import_(
    source: Annotated[Path, typer.Argument(help="a JSON or CSV file made by `forecasts export`")],
    new_ids: Annotated[bool, typer.Option(help="give imported questions fresh ids")] = False,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="json or csv (default: by the file's suffix, .csv or not)"),
    ] = None,
) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from forecasts.errors import DomainError
    from service.transfer import import_file

    db = open_database()
    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=err) as bar:
        tasks: dict[str, Any] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        try:
            result = import_file(db, source, fmt=fmt, new_ids=new_ids, progress=progress)
        except (OSError, ValueError, DomainError) as exc:
            bar.stop()
            # Plain: a record's path such as $.forecasts[2] is not markup.
            err.print(f"error: {exc}", markup=False, highlight=False)
            raise typer.Exit(2) from exc
    console.print(f"Imported {result.added} question(s) ({result.present} already present).")


@app.command()
def digest(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print the digest instead of sending it")
    ] = False,
) -> None:
    """E-mail the digest of pending reviews and past-deadline questions (FORECASTS_SMTP_HOST,
    FORECASTS_SMTP_PORT, FORECASTS_SMTP_SENDER, FORECASTS_DIGEST_RECIPIENTS)."""
    from forecasts.questions import utc_today
    from service.digest import build_digest, send_digest

    db = open_database()
    settings = get_settings()
    if dry_run:
        with db.read() as conn:
            console.print(
                build_digest(conn, today=utc_today(), public_url=settings.public_url).text
            )
        return
    try:
        sent = send_digest(db, settings)
    except (OSError, ValueError) as exc:  # smtplib's errors are OSErrors
        err.print(f"error: {exc}")
        raise typer.Exit(2) from exc
    console.print(
        f"Sent the digest to {', '.join(settings.digest_recipients)}: "
        f"{sent.pending} to review, {sent.past_deadline} past deadline."
    )


@app.command()
def notify() -> None:
    """Send the webhook deliveries now: new suggestions, deadlines and resolutions since the
    last run (what the scheduler's job does every FORECASTS_NOTIFY_EVERY_SECONDS)."""
    from service.webhooks import dispatch

    queued, delivered = dispatch(open_database(), get_settings())
    console.print(f"Webhooks: {queued} deliveries queued, {delivered} delivered.")


def _register_optional_commands() -> None:
    # Commands owned by other parts of the service register themselves here.
    from service import cli_news, cli_scores

    cli_news.register(app)
    cli_scores.register(app)


_register_optional_commands()
