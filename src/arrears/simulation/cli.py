"""`arrears simulate portfolio`: write a synthetic placement file and the payments that follow it."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from arrears.core.cli_support import console, fail, print_json
from arrears.core.errors import ArrearsError


def _placement_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"--placement-date: not a date: {text!r} (write YYYY-MM-DD)") from None


def register(app: typer.Typer) -> None:
    simulate = typer.Typer(
        name="simulate",
        help="Synthetic data for demos, tests and backtests (模拟数据).",
        no_args_is_help=True,
    )

    @simulate.command("portfolio")
    def portfolio(
        accounts: Annotated[int, typer.Option("--accounts", help="Number of accounts.")],
        out: Annotated[Path, typer.Option("--out", help="Directory for placements and payments files.")],
        seed: Annotated[
            int, typer.Option("--seed", help="Random seed: same seed, byte-identical files.")
        ] = 0,
        locale: Annotated[
            str, typer.Option("--locale", help="zh_CN (Chinese headers, CNY) or en_US (USD).")
        ] = ("zh_CN"),
        placement_date: Annotated[
            str | None,
            typer.Option("--placement-date", help="Placement date YYYY-MM-DD (default 2026-10-15, fixed)."),
        ] = None,
        payments_share: Annotated[
            float, typer.Option("--payments-share", help="Share of accounts paying within 30 days.")
        ] = 0.3,
        fmt: Annotated[
            str, typer.Option("--format", help="Placements as csv or xlsx (payments are CSV).")
        ] = "csv",
        messy: Annotated[
            bool,
            typer.Option("--messy/--clean", help="Mix amount and date spellings as real Chinese files do."),
        ] = True,
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    ) -> None:
        """Generate a placement (委案) file and a payments (还款) file for N synthetic accounts."""
        from arrears.simulation.portfolio import check_format, generate_portfolio, write_portfolio

        placed = _placement_date(placement_date)
        started = time.perf_counter()
        try:
            check_format(fmt, accounts)  # before spending time on generation
            generated = generate_portfolio(
                accounts,
                seed,
                locale=locale,
                placement_date=placed,
                payments_share=payments_share,
                messy=messy,
            )
            generated_s = time.perf_counter() - started
            files = write_portfolio(generated, out, fmt=fmt)
        except ArrearsError as exc:
            raise fail(exc.message) from exc
        except OSError as exc:
            raise fail(f"cannot write to {out}: {exc.strerror or exc}") from exc
        summary = generated.summary()
        summary["files"] = {k: str(v) for k, v in files.items()}
        summary["seconds"] = {
            "generate": round(generated_s, 3),
            "total": round(time.perf_counter() - started, 3),
        }
        if as_json:
            print_json(summary)
            return
        console.print(
            f"[green]generated[/green] {summary['accounts']:,} accounts ({summary['debtors']:,} debtors), "
            f"{summary['payments']:,} payments, placed {summary['placement_date']}, "
            f"in {summary['seconds']['total']:.1f}s",
            highlight=False,
        )
        shares = ", ".join(f"{b} {c / summary['accounts']:.1%}" for b, c in summary["buckets"].items())
        console.print(f"  buckets: {shares}", highlight=False)
        for name, path in files.items():
            console.print(f"  {name}: {path}", highlight=False)

    app.add_typer(simulate)
