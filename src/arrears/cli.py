"""The `arrears` command: global options here, each feature's commands wired from its own cli module."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from arrears.core.cli_support import console
from arrears.core.errors import ArrearsError

app = typer.Typer(
    name="arrears",
    help="Arrears — collections platform (催收管理系统).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", envvar="ARREARS_DATABASE_URL", help="Database URL (default sqlite:///./arrears.db)."
        ),
    ] = None,
) -> None:
    ctx.obj = None  # the AppContext is built lazily from --db by core.cli_support.app_context


def _wire() -> None:
    from arrears import demo as demo_cli
    from arrears.analytics import cli as analytics_cli
    from arrears.cases import cli as cases_cli
    from arrears.compliance import cli as compliance_cli
    from arrears.compliance import screen_cli
    from arrears.plans import cli as plans_cli
    from arrears.portfolio import cli as portfolio_cli
    from arrears.quality import cli as quality_cli
    from arrears.quality import qc_cli
    from arrears.scoring import cli as scoring_cli
    from arrears.security import cli as security_cli
    from arrears.simulation import cli as simulation_cli
    from arrears.strategy import cli as strategy_cli
    from arrears.web import cli as web_cli

    portfolio_cli.register(app)
    demo_cli.register(app)
    compliance_cli.register(app)
    screen_cli.register(app)
    scoring_cli.register(app)
    security_cli.register(app)
    simulation_cli.register(app)
    strategy_cli.register(app)
    web_cli.register(app)
    quality_cli.register(app)
    cases_cli.register(app)
    plans_cli.register(app)
    qc_cli.register(app)
    analytics_cli.register(app)


_wire()


def describe_db_error(exc: Exception) -> str:
    """A database failure in one plain line (no SQL, no trace); an uninitialised database says how to fix it."""
    orig = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "no such table" in orig or ("relation" in orig and "does not exist" in orig):
        return f"the database is not initialised ({orig}); run `arrears init` first"
    return f"database error: {orig}"


def main() -> None:
    """Entry point: domain errors are reported plainly; nothing unexpected prints a stack trace."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        rc = app(standalone_mode=False)
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except ArrearsError as exc:
        console.print(f"[red]error:[/red] {exc.message}", highlight=False)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        console.print("aborted")
        sys.exit(130)
    except Exception as exc:  # last line of defence: a plain message, the details in the log
        import click
        from sqlalchemy.exc import DBAPIError

        if isinstance(exc, DBAPIError):
            console.print(f"[red]error:[/red] {describe_db_error(exc)}", highlight=False)
            sys.exit(1)

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        logging.getLogger("arrears").debug("unexpected error", exc_info=True)
        console.print(f"[red]internal error:[/red] {type(exc).__name__}: {exc}", highlight=False)
        sys.exit(70)


if __name__ == "__main__":
    main()
