"""The `arrears` command: global options here, each feature's commands wired from its own cli module."""

from __future__ import annotations

import functools
import importlib
import logging
import sys
from typing import Annotated

import typer

from arrears.core.cli_support import console
from arrears.core.errors import ArrearsError

# Each top-level command and the modules that register it. `arrears X …` imports only X's modules,
# so a command that needs no database (screen, compliance check, qc score, model fit) starts without
# SQLAlchemy and the web stack; help, and anything not listed here, wires every module.
_OWNERS: dict[str, tuple[str, ...]] = {
    "import": ("arrears.portfolio.cli",),
    "accounts": ("arrears.portfolio.cli",),
    "demo": ("arrears.demo",),
    "compliance": ("arrears.compliance.cli",),
    "screen": ("arrears.compliance.screen_cli",),
    "model": ("arrears.scoring.cli",),
    "init": ("arrears.security.cli",),
    "users": ("arrears.security.cli",),
    "audit": ("arrears.security.cli",),
    "keys": ("arrears.security.cli",),
    "simulate": ("arrears.simulation.cli",),
    "strategy": ("arrears.strategy.cli",),
    "batch": ("arrears.strategy.cli",),
    "serve": ("arrears.web.cli",),
    "qc": ("arrears.quality.cli", "arrears.quality.qc_cli"),
    "complaints": ("arrears.quality.cli", "arrears.quality.qc_cli"),
    "cases": ("arrears.cases.cli",),
    "plans": ("arrears.plans.cli",),
    "documents": ("arrears.plans.cli",),
    "kpi": ("arrears.analytics.cli",),
}
_ALL_MODULES = tuple(dict.fromkeys(m for mods in _OWNERS.values() for m in mods))


def _new_app() -> typer.Typer:
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

    return app


@functools.cache
def build_app(modules: tuple[str, ...] = _ALL_MODULES) -> typer.Typer:
    """The `arrears` command with the given feature modules' commands (default: all of them)."""
    app = _new_app()
    for name in modules:
        importlib.import_module(name).register(app)
    return app


def _command_of(argv: list[str]) -> str | None:
    """The top-level command named on the command line, after the global options (`--db URL`)."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--db":
            i += 2
            continue
        if arg.startswith("-"):
            return None  # --help and the like: the whole command list
        return arg
    return None


def __getattr__(name: str) -> typer.Typer:  # `from arrears.cli import app`: every command, built once
    if name == "app":
        app = build_app()
        globals()["app"] = app
        return app
    raise AttributeError(name)


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
        command = _command_of(sys.argv[1:])
        app = build_app(_OWNERS.get(command, _ALL_MODULES) if command else _ALL_MODULES)
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
