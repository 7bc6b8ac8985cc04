"""`arrears batch run` — the nightly batch."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    batch = typer.Typer(help="The nightly batch (ageing, accrual, …).", no_args_is_help=True)
    app.add_typer(batch, name="batch")
