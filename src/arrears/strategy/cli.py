"""`arrears batch run` — the nightly batch."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from arrears.core.cli_support import app_context, console, print_json
from arrears.core.money import format_major


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc


def register(app: typer.Typer) -> None:
    batch = typer.Typer(help="The nightly batch (ageing, accrual, …).", no_args_is_help=True)
    app.add_typer(batch, name="batch")

    @batch.command("run")
    def run(
        ctx: typer.Context,
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="Business date (YYYY-MM-DD); default today.")
        ] = None,
        engine: Annotated[str, typer.Option(help="Execution engine.")] = "duckdb",
        as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
    ) -> None:
        """Age every account, accrue penalties and record the run (idempotent per date)."""
        from arrears.strategy.batch import run_batch

        actx = app_context(ctx)
        day = _parse_date(as_of) if as_of else actx.clock().date()
        if as_json or not console.is_terminal:
            summary = run_batch(actx, day, engine=engine)
        else:
            with console.status("batch") as status:
                summary = run_batch(actx, day, engine=engine, on_step=lambda s: status.update(f"batch: {s}"))
        if as_json:
            print_json(summary.to_dict())
            return
        table = Table(title=f"Batch {day.isoformat()} ({engine})")
        table.add_column("bucket")
        table.add_column("accounts", justify="right")
        for bucket, n in summary.buckets.items():
            table.add_row(bucket, str(n))
        console.print(table)
        accrued = ", ".join(f"{format_major(v, c)} {c}" for c, v in summary.accrued_total.items()) or "0"
        console.print(
            f"aged {summary.accounts} accounts; accrued {accrued} on {summary.accrued_accounts}; "
            f"{summary.bucket_changes} bucket moves; {summary.paid} cleared; {summary.seconds.get('total')} s"
        )
