"""Placeholder: commands land with their issue."""

import typer


def register(app: typer.Typer) -> None:
    return None
