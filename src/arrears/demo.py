"""`arrears demo`: a working system in one command on the embedded database — no services needed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from arrears.core.cli_support import app_context, console


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        ctx: typer.Context,
        accounts: Annotated[int, typer.Option(help="Accounts in the demo portfolio.")] = 2000,
        seed: Annotated[int, typer.Option(help="Random seed (same seed, same portfolio).")] = 42,
        locale: Annotated[str, typer.Option(help="zh_CN or en_US.")] = "zh_CN",
        out: Annotated[Path, typer.Option(help="Where the generated files go.")] = Path("demo-data"),
        serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the app afterwards.")] = True,
    ) -> None:
        """Initialise the database, generate a Chinese demo portfolio, import it, run the nightly batch, serve."""
        from arrears.core.migrate import upgrade
        from arrears.portfolio.importing import import_payments, import_placements
        from arrears.simulation.portfolio import generate_portfolio, write_portfolio
        from arrears.strategy.batch import run_batch

        actx = app_context(ctx)
        console.print(f"[bold]database[/bold] {actx.database_url}")
        upgrade(actx.engine)
        _ = actx.keys  # creates the key file on first use
        today = actx.clock().date()
        placed = today - timedelta(days=30)
        portfolio = generate_portfolio(accounts, seed, locale=locale, placement_date=placed)
        files = write_portfolio(portfolio, out)
        console.print(f"[bold]generated[/bold] {accounts} accounts → {files['placements']}")
        creditor = "DEMO-BANK" if locale == "zh_CN" else "DEMO-LENDER"
        placed_result = import_placements(actx, files["placements"], creditor)
        console.print(f"[bold]placements[/bold] {placed_result.to_dict()}")
        paid_result = import_payments(actx, files["payments"], creditor)
        console.print(f"[bold]payments[/bold] {paid_result.to_dict()}")
        summary = run_batch(actx, today)
        console.print(f"[bold]batch {today}[/bold] buckets {summary.buckets}; accrued {summary.accrued_total}")
        if serve:
            import uvicorn

            from arrears.web.app import create_app

            console.print(f"[bold green]serving[/bold green] http://{actx.settings.host}:{actx.settings.port}")
            uvicorn.run(create_app(actx), host=actx.settings.host, port=actx.settings.port, log_level="warning")
