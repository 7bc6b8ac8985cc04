"""Portfolio commands: `arrears import placements|payments|schedule` and `arrears accounts show`.

Exit codes: 0 imported (with --skip-invalid, also when some rows went to the rejects file);
1 nothing imported (bad rows in an all-or-nothing import, an unreadable file, an unknown account).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from arrears.core.cli_support import app_context, console, fail, print_json, progress
from arrears.core.errors import ArrearsError

MAX_ERRORS_SHOWN = 20

FileArg = Annotated[Path, typer.Argument(help="CSV (UTF-8, UTF-8 with BOM, GB18030/GBK) or XLSX file.")]
CreditorOpt = Annotated[str, typer.Option("--creditor", help="Creditor code (委托方).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
SkipOpt = Annotated[
    bool,
    typer.Option(
        "--skip-invalid", help="Import the good rows; write the bad ones, with reasons, to a rejects file."
    ),
]
RejectsOpt = Annotated[
    Path | None,
    typer.Option("--rejects", help="Where rejected rows go (default NAME.rejects.csv next to the file)."),
]
MappingOpt = Annotated[
    Path | None,
    typer.Option("--mapping", help="Header mapping file (YAML or CSV: source header → canonical name)."),
]


def _report(result: Any, as_json: bool) -> None:
    """Print an import result; exit 1 when nothing was committed."""
    if as_json:
        print_json(result.to_dict())
    else:
        verb = "imported" if result.committed else "NOT imported"
        colour = "green" if result.ok else "yellow" if result.committed else "red"
        console.print(
            f"[{colour}]{result.kind} {verb}[/{colour}]: {result.rows} rows — {result.imported} new, "
            f"{result.updated} updated, {result.unchanged} unchanged, {result.rejected} rejected",
            highlight=False,
        )
        for w in result.warnings:
            console.print(f"[yellow]warning:[/yellow] {w}", highlight=False)
        for e in result.errors[:MAX_ERRORS_SHOWN]:
            where = f"{e.header} ({e.column})" if e.header and e.header != e.column else e.column
            console.print(f"  row {e.row}, {where}: {e.reason}", highlight=False)
        if len(result.errors) > MAX_ERRORS_SHOWN:
            console.print(f"  … and {len(result.errors) - MAX_ERRORS_SHOWN} more", highlight=False)
        if result.rejects_file:
            console.print(f"rejected rows written to {result.rejects_file}", highlight=False)
        if not result.committed and result.errors:
            console.print("nothing was written: fix the rows above, or use --skip-invalid", highlight=False)
    if not result.committed:
        raise typer.Exit(1)


def _run(as_json: bool, label: str, rows_hint: int | None, fn: Callable[[Callable[[int], None]], Any]) -> Any:
    try:
        with progress(label, rows_hint, enabled=not as_json) as advance:
            return fn(advance)
    except ArrearsError as exc:
        if as_json:
            print_json({"error": exc.code, "message": exc.message, "committed": False})
            raise typer.Exit(1) from exc
        raise fail(exc.message) from exc


def _count_rows(path: Path) -> int | None:
    """A cheap estimate for the progress bar (lines of a CSV)."""
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            return None
        with path.open("rb") as fh:
            return (
                max(0, sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b"")) - 1) or None
            )
    except OSError:
        return None


def register(app: typer.Typer) -> None:
    imports = typer.Typer(help="Import placement, payment and schedule files (导入委案、还款、分期).",
                          no_args_is_help=True)  # fmt: skip
    accounts = typer.Typer(help="Look at accounts (账户).", no_args_is_help=True)
    app.add_typer(imports, name="import")
    app.add_typer(accounts, name="accounts")

    @imports.command("placements")
    def placements(
        ctx: typer.Context,
        file: FileArg,
        creditor: CreditorOpt,
        skip_invalid: SkipOpt = False,
        rejects: RejectsOpt = None,
        as_json: JsonOpt = False,
        placement_date: Annotated[
            str | None,
            typer.Option(
                "--placement-date", help="委案日期 for rows without one (default today), e.g. 2026-11-28."
            ),
        ] = None,
        mapping: MappingOpt = None,
    ) -> None:
        """Import a placement file (委案文件): debtors, contacts, accounts, opening balances, cases."""
        from arrears.portfolio.importing import import_placements
        from arrears.portfolio.parsing import parse_date

        actx = app_context(ctx)
        when: date | None = None
        if placement_date is not None:
            try:
                when = parse_date(placement_date)
            except ValueError as exc:
                raise fail(f"--placement-date: {exc}") from exc
        result = _run(
            as_json, "importing placements", _count_rows(file),
            lambda advance: import_placements(
                actx, file, creditor, skip_invalid=skip_invalid, rejects_path=rejects, placement_date=when,
                mapping_path=mapping, progress=advance,
            ),
        )  # fmt: skip
        _report(result, as_json)

    @imports.command("payments")
    def payments(
        ctx: typer.Context,
        file: FileArg,
        creditor: CreditorOpt,
        skip_invalid: SkipOpt = False,
        rejects: RejectsOpt = None,
        as_json: JsonOpt = False,
        mapping: MappingOpt = None,
    ) -> None:
        """Import a payment file (还款文件): each payment allocated by the creditor's waterfall, once per ref."""
        from arrears.portfolio.importing import import_payments

        actx = app_context(ctx)
        result = _run(
            as_json, "posting payments", _count_rows(file),
            lambda advance: import_payments(
                actx, file, creditor, skip_invalid=skip_invalid, rejects_path=rejects, mapping_path=mapping,
                progress=advance,
            ),
        )  # fmt: skip
        _report(result, as_json)

    @imports.command("schedule")
    def schedule(
        ctx: typer.Context,
        file: FileArg,
        creditor: CreditorOpt,
        skip_invalid: SkipOpt = False,
        rejects: RejectsOpt = None,
        as_json: JsonOpt = False,
        mapping: MappingOpt = None,
    ) -> None:
        """Import instalment schedules (分期计划): replaces each listed account's schedule."""
        from arrears.portfolio.importing import import_schedule

        actx = app_context(ctx)
        result = _run(
            as_json, "importing schedules", _count_rows(file),
            lambda advance: import_schedule(
                actx, file, creditor, skip_invalid=skip_invalid, rejects_path=rejects, mapping_path=mapping,
                progress=advance,
            ),
        )  # fmt: skip
        _report(result, as_json)

    @accounts.command("show")
    def show(
        ctx: typer.Context,
        ref: Annotated[str, typer.Argument(help="Account reference (合同号).")],
        creditor: Annotated[
            str | None, typer.Option("--creditor", help="Creditor code, if the ref is shared.")
        ] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """An account's balances, days past due, bucket and status."""
        from arrears.portfolio.service import account_summary

        actx = app_context(ctx)
        try:
            with actx.sessions() as session:
                summary = account_summary(session, ref, creditor)
        except ArrearsError as exc:
            if as_json:
                print_json({"error": exc.code, "message": exc.message})
                raise typer.Exit(1) from exc
            raise fail(exc.message) from exc
        if as_json:
            print_json(summary)
            return
        table = Table(show_header=False, box=None)
        b = summary["balance"]
        cur = summary["currency"]
        rows = [
            ("creditor 委托方", summary["creditor"]),
            ("status 状态", summary["status"]),
            ("days past due 逾期天数", str(summary["days_past_due"])),
            ("bucket 账龄", summary["bucket"]),
            ("principal 本金", f"{b['principal']} {cur}"),
            ("interest 利息", f"{b['interest']} {cur}"),
            ("penalty 罚息", f"{b['penalty']} {cur}"),
            ("fees 费用", f"{b['fees']} {cur}"),
            ("credit 溢缴款", f"{b['credit']} {cur}"),
            ("total 合计", f"[bold]{b['total']} {cur}[/bold]"),
        ]
        for k, val in rows:
            table.add_row(k, val)
        Console().print(Panel(table, title=f"account {summary['account_ref']}", expand=False))
