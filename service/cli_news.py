"""News commands: `forecasts poll` (one cycle now) and `forecasts backtest` (replay dated news
against the questions, in memory, without writing anything)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy import select

console = Console()
err = Console(stderr=True)

STEP_LABELS = {"fetch": "Fetching sources", "match": "Matching items"}


def poll(
    force: Annotated[
        bool, typer.Option("--force", help="poll every enabled source, due or not")
    ] = False,
) -> None:
    """Run one poll cycle now: fetch, store, match, deadline check; then print the report."""
    from resolvers.cycle import run_cycle
    from service.cli_database import open_database
    from service.polling import poll_config
    from service.settings import get_settings
    from service.sourceconfig import sync_configured_sources

    settings = get_settings()
    db = open_database()
    sync_configured_sources(db, settings)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(STEP_LABELS.get(step, step), total=total or 1)
            bar.update(tasks[step], completed=done if total else 1, total=total or 1)

        report = run_cycle(db, poll_config(settings), force=force, progress=progress)
    console.print(
        f"Polled {report.sources_polled} source(s): {report.new_items} new item(s), "
        f"{report.suggestions_created} new suggestion(s)."
    )
    if report.errors:
        table = Table(title=f"{len(report.errors)} source error(s)")
        table.add_column("source")
        table.add_column("error", overflow="fold")
        for error in report.errors:
            table.add_row(error["source"], error["error"])
        console.print(table)


def backtest(
    question: Annotated[
        int | None, typer.Option("--question", min=1, help="only this question (its id)")
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="only items from the source of this name")
    ] = None,
) -> None:
    """Replay the archive day by day from each question's opened_on and print the first day
    each question would have been flagged. Writes nothing to the database."""
    from forecasts.tables import news_t, questions_t
    from resolvers.analysis import MatchItem, question_spec
    from resolvers.backtest import BUNDLED_ARCHIVE_SOURCE, bundled_archive, replay, seed_questions
    from resolvers.news_store import item_from_row
    from service.cli_database import open_database
    from service.settings import get_settings

    settings = get_settings()
    db = open_database()
    with db.read() as conn:
        query = select(questions_t).order_by(questions_t.c.id)
        if question is not None:
            query = query.where(questions_t.c.id == question)
        rows = conn.execute(query).all()
        item_query = select(news_t)
        if source is not None:
            item_query = item_query.where(news_t.c.source_name == source)
        items: list[MatchItem] = [item_from_row(r) for r in conn.execute(item_query)]
    specs = [
        spec
        for r in rows
        if (
            spec := question_spec(
                r.id, r.news_query, r.opened_on, r.resolve_by, r.default_outcome, r.title
            )
        )
        is not None
    ]
    if not rows:
        if question is not None:
            err.print(f"error: no question {question} in the database")
            raise typer.Exit(2)
        console.print("No questions in the database: replaying the bundled seed questions.")
        specs = seed_questions()
    if source is None or source == BUNDLED_ARCHIVE_SOURCE:
        items.extend(bundled_archive())
    results = replay(specs, items, grace_days=settings.grace_days, until=datetime.now(UTC).date())
    table = Table(title=f"Backtest over {len({i.key for i in items})} item(s)")
    for column in ("id", "question", "first flagged by news", "deadline check", "answer"):
        table.add_column(column, overflow="fold")
    for result in results:
        news = result.news
        news_text = "not flagged"
        if news is not None and news.item is not None:
            news_text = (
                f"{news.day}: {news.outcome} ({news.confidence:.2f})\n"
                f"'{news.item.title}' ({news.item.source})"
            )
        deadline = result.deadline
        deadline_text = (
            f"{deadline.day}: {deadline.outcome} ({deadline.confidence:.2f})"
            if deadline
            else "not yet due"
        )
        answer = result.answer
        table.add_row(
            str(result.question.id),
            result.question.title,
            news_text,
            deadline_text,
            answer.outcome if answer else "open",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add `poll` and `backtest` to the `forecasts` command line."""
    app.command("poll")(poll)
    app.command("backtest")(backtest)
