"""`forecasts score`: the GET /api/scores figures as tables in the terminal."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from forecasts.errors import InvalidInput, NotFound
from forecasts.schemas import ScoresOut
from forecasts.scoreboard import MAX_BINS
from service.scoreboard_store import compute_scores

console = Console()
err = Console(stderr=True)


def _number(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def summary_table(scores: ScoresOut) -> Table:
    """n, Brier, log score, base rate, skill score and the Murphy decomposition."""
    table = Table(title="Summary")
    table.add_column("figure")
    table.add_column("value", justify="right")
    decomposition = scores.decomposition
    rows = (
        ("scored pairs (n)", str(scores.n)),
        ("Brier score", _number(scores.brier)),
        ("log score", _number(scores.log_score)),
        ("base rate", _number(scores.base_rate)),
        ("Brier skill score", _number(scores.brier_skill_score)),
        ("reliability", _number(decomposition.reliability)),
        ("resolution", _number(decomposition.resolution)),
        ("uncertainty", _number(decomposition.uncertainty)),
    )
    for name, value in rows:
        table.add_row(name, value)
    return table


def forecaster_table(scores: ScoresOut) -> Table:
    """One row per forecaster; relative Brier is negative when better than the others."""
    table = Table(title="By forecaster")
    table.add_column("forecaster", overflow="fold")
    for column in ("n", "Brier", "log score", "time-avg Brier", "relative Brier"):
        table.add_column(column, justify="right")
    for row in scores.by_forecaster:
        table.add_row(
            row.forecaster,
            str(row.n),
            _number(row.brier),
            _number(row.log_score),
            _number(row.time_averaged_brier),
            _number(row.relative_brier),
        )
    return table


def calibration_table(scores: ScoresOut) -> Table:
    """The non-empty bins with their observed rate and 95 % Wilson interval."""
    table = Table(title="Calibration (95 % Wilson intervals)")
    for column in ("bin", "n", "mean p", "observed", "95 % interval"):
        table.add_column(column, justify="right")
    for b in scores.calibration:
        table.add_row(
            f"{b.bin_low:.2f}–{b.bin_high:.2f}",
            str(b.n),
            _number(b.mean_probability, 3),
            _number(b.observed_rate, 3),
            f"{b.ci_low:.3f}–{b.ci_high:.3f}",
        )
    return table


def _day(value: datetime | None) -> date | None:
    return None if value is None else value.date()


def score(
    forecaster: Annotated[str | None, typer.Option(help="only this forecaster's pairs")] = None,
    tag: Annotated[str | None, typer.Option(help="only questions with this tag")] = None,
    bins: Annotated[int, typer.Option(min=1, max=MAX_BINS, help="calibration bins")] = 10,
    resolved_from: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="only questions resolved on or after this day"),
    ] = None,
    resolved_to: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="only questions resolved on or before this day"),
    ] = None,
) -> None:
    """Brier and log scores, calibration and each forecaster's standing, as tables."""
    from service.cli_database import open_database

    db = open_database()
    try:
        with db.read() as conn:
            scores = compute_scores(
                conn,
                forecaster=forecaster,
                tag=tag,
                bins=bins,
                resolved_from=_day(resolved_from),
                resolved_to=_day(resolved_to),
            )
    except NotFound as exc:
        err.print(f"error: {exc.detail}")
        raise typer.Exit(1) from exc
    except InvalidInput as exc:
        err.print(f"error: {exc.detail}")
        raise typer.Exit(2) from exc
    finally:
        db.dispose()
    if scores.n == 0:
        console.print(
            "No scored pairs: no question in scope is resolved yes or no with a forecast "
            "made on or before its resolution."
        )
        return
    console.print(summary_table(scores))
    console.print(forecaster_table(scores))
    console.print(calibration_table(scores))


def register(app: typer.Typer) -> None:
    """Add `score` to the `forecasts` command line."""
    app.command("score")(score)
