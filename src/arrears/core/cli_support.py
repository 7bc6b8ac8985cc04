"""Shared CLI plumbing: context from the global options, uniform errors, JSON output, progress bars."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:  # the context pulls in SQLAlchemy: imported when a command needs the database
    from arrears.core.context import AppContext

console = Console(stderr=True)


def app_context(ctx: typer.Context) -> AppContext:
    from arrears.core.context import AppContext

    root = ctx.find_root()
    if not isinstance(root.obj, AppContext):
        db = (root.params or {}).get("db")
        root.obj = AppContext.from_settings(database_url=db)
    return root.obj


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")


def fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


@contextmanager
def progress(description: str, total: int | None, enabled: bool = True) -> Iterator[Any]:
    """A Rich progress bar on a terminal; silent (a no-op advance) when piped or asked for JSON."""
    if not enabled or not console.is_terminal:
        yield lambda n=1: None
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)
