"""`arrears demo`: a working system in one command on the embedded database — no services needed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from arrears.core.cli_support import app_context, console
from arrears.core.money import format_major


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
        _demo_staff(actx)
        today = actx.clock().date()
        placed = today - timedelta(days=30)
        portfolio = generate_portfolio(accounts, seed, locale=locale, placement_date=placed)
        files = write_portfolio(portfolio, out)
        console.print(f"[bold]generated[/bold] {accounts} accounts → {files['placements']}")
        creditor = "DEMO-BANK" if locale == "zh_CN" else "DEMO-LENDER"
        for label, importer, path in (
            ("placements", import_placements, files["placements"]),
            ("payments", import_payments, files["payments"]),
        ):
            r = importer(actx, path, creditor).to_dict()
            console.print(
                f"[bold]{label}[/bold] {r['rows']} rows: {r['imported']} imported, {r['updated']} updated, "
                f"{r['rejected']} rejected"
            )
        summary = run_batch(actx, today)
        accrued = ", ".join(f"{format_major(v, c)} {c}" for c, v in summary.accrued_total.items()) or "0"
        planned = ", ".join(f"{k} {v}" for k, v in sorted(summary.planned.items())) or "none"
        console.print(
            f"[bold]batch {today}[/bold] {summary.accounts} accounts aged; buckets {summary.buckets}"
        )
        console.print(
            f"  penalty accrued {accrued}; planned today: {planned}; {summary.blocked} held back by the guard"
        )
        _assign(actx)
        if serve:
            import uvicorn

            from arrears.web.app import create_app

            console.print(
                f"[bold green]serving[/bold green] http://{actx.settings.host}:{actx.settings.port}"
            )
            uvicorn.run(
                create_app(actx), host=actx.settings.host, port=actx.settings.port, log_level="warning"
            )


DEMO_PASSWORD = "demo-password-2026"  # demo staff only; `arrears init` generates real passwords
DEMO_STAFF = (
    ("lead1", "team_lead", "华东一组"),
    ("collector1", "collector", "华东一组"),
    ("collector2", "collector", "华东一组"),
    ("qc1", "qc_inspector", None),
    ("compliance1", "compliance_officer", None),
)


def _demo_staff(actx: Any) -> None:
    """An admin and a small team to sign in with; existing users are left as they are."""
    from sqlalchemy import select

    from arrears.core.db import transaction
    from arrears.security.models import User
    from arrears.security.principal import Principal
    from arrears.security.service import create_user, ensure_first_admin

    with transaction(actx.sessions) as session:
        now = actx.clock()
        first = ensure_first_admin(session, username="admin", password=DEMO_PASSWORD, now=now)
        created = ["admin"] if first.created else []
        for name, role, team in DEMO_STAFF:
            if session.scalar(select(User.id).where(User.username == name)) is None:
                create_user(
                    session,
                    Principal.system("demo"),
                    username=name,
                    role=role,
                    password=DEMO_PASSWORD,
                    now=now,
                    team=team,
                )
                created.append(name)
    if created:
        console.print(f"[bold]staff[/bold] {', '.join(created)} — demo password: {DEMO_PASSWORD}")


def _assign(actx: Any) -> None:
    """Give the demo collectors their queues: open cases placed by the assignment rules, best first."""
    from arrears.cases.service import assign_unassigned
    from arrears.core.db import transaction
    from arrears.security.principal import Principal

    with transaction(actx.sessions) as session:
        placed = assign_unassigned(session, Principal.system("demo"), now=actx.clock())
    if placed.moved or placed.unplaced:
        console.print(
            f"[bold]queues[/bold] {len(placed.moved)} cases assigned to collectors; "
            f"{len(placed.unplaced)} left for a manager to place"
        )
