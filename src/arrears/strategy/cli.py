"""`arrears batch run` — the nightly batch."""

from __future__ import annotations

from datetime import date
from pathlib import Path
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
    _register_strategy(app)
    batch = typer.Typer(help="The nightly batch (ageing, accrual, …).", no_args_is_help=True)
    app.add_typer(batch, name="batch")

    @batch.command("run")
    def run(
        ctx: typer.Context,
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="Business date (YYYY-MM-DD); default today.")
        ] = None,
        engine: Annotated[str, typer.Option(help="Execution engine: duckdb or spark.")] = "duckdb",
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
        planned = ", ".join(f"{k} {v}" for k, v in sorted(summary.planned.items())) or "none"
        console.print(
            f"strategy {summary.strategy}: planned {planned}; {summary.blocked} blocked by the guard"
        )


def _register_strategy(app: typer.Typer) -> None:
    strategy = typer.Typer(
        help="Strategies: verify, activate, show, champion/challenger results.", no_args_is_help=True
    )
    app.add_typer(strategy, name="strategy")

    @strategy.command("verify")
    def verify_cmd(
        file: Annotated[Path, typer.Argument(help="Strategy file (YAML).")],
        pack: Annotated[list[str], typer.Option("--pack", help="Rule pack(s): cn, us.")],
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """Prove the cadence cannot break the pack's time and frequency rules (exit 0), or print a
        counterexample schedule (exit 1)."""
        from arrears.strategy.definition import load_strategy
        from arrears.strategy.service import verify_for_packs

        st = load_strategy(file)
        results = verify_for_packs(st, pack)
        failed = any(results.values())
        if as_json:
            print_json(
                {
                    "strategy": st.key,
                    "ok": not failed,
                    "violations": {p: [v.to_dict() for v in vs] for p, vs in results.items()},
                }
            )
        else:
            for p, vs in results.items():
                if not vs:
                    console.print(f"[green]✓[/green] {st.key} satisfies pack {p}")
                for v in vs:
                    console.print(f"[red]✗[/red] pack {p} {v.rule} on path {v.path}: {v.message}")
                    for e in v.schedule:
                        console.print(
                            f"    day {e['day']}: step {e['step']} {e['channel']} "
                            f"{e['window'][0]}–{e['window'][1]}"
                        )
        if failed:
            raise typer.Exit(1)

    @strategy.command("activate")
    def activate_cmd(
        ctx: typer.Context,
        file: Annotated[Path, typer.Argument(help="Strategy file (YAML).")],
        pack: Annotated[list[str], typer.Option("--pack", help="Every rule pack the creditors use.")],
    ) -> None:
        """Make a strategy live; refused unless its cadence proof passes for every pack."""
        from arrears.core.db import transaction
        from arrears.strategy.definition import load_strategy
        from arrears.strategy.service import activate

        actx = app_context(ctx)
        st = load_strategy(file)
        with transaction(actx.sessions) as s:
            row = activate(s, st, pack, clock=actx.clock)
        console.print(f"[green]activated[/green] {st.key} (sha256 {row.sha256[:12]}…)")

    @strategy.command("show")
    def show_cmd(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
        """The live strategy."""
        from arrears.strategy.definition import dump_strategy
        from arrears.strategy.service import active_strategy

        actx = app_context(ctx)
        with actx.engine.connect() as conn:
            st = active_strategy(conn)
        if as_json:
            print_json(st.model_dump(mode="json", exclude_none=True))
        else:
            console.print(dump_strategy(st), highlight=False)

    @strategy.command("results")
    def results_cmd(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
        """Champion/challenger outcomes per segment and arm, with 95% confidence intervals."""
        from arrears.strategy.experiments import arm_results
        from arrears.strategy.service import active_strategy

        actx = app_context(ctx)
        with actx.engine.connect() as conn:
            rows = arm_results(conn, active_strategy(conn))
        if as_json:
            print_json([r.to_dict() for r in rows])
            return
        table = Table(title="Champion / challenger")
        for col in (
            "segment",
            "arm",
            "accounts",
            "recovered/acct (CI95)",
            "paid share (CI95)",
            "contacts",
            "cost",
            "Δ vs champion (CI95)",
        ):
            table.add_column(col)
        for r in rows:
            diff = "" if r.diff_ci95 is None else f"{r.diff_vs_champion} ({r.diff_ci95[0]}, {r.diff_ci95[1]})"
            table.add_row(
                r.segment,
                r.arm,
                str(r.accounts),
                f"{r.recovered_per_account} ({r.ci95[0]}, {r.ci95[1]})",
                f"{r.recovery_rate} ({r.recovery_rate_ci95[0]}, {r.recovery_rate_ci95[1]})",
                str(r.contacts),
                str(r.cost),
                diff,
            )
        console.print(table)

    @strategy.command("promote")
    def promote_cmd(
        ctx: typer.Context,
        segment: Annotated[str, typer.Option(help="Segment of the experiment.")],
        arm: Annotated[str, typer.Option(help="The winning arm.")],
        version: Annotated[str, typer.Option(help="Version of the new strategy.")],
        out: Annotated[Path, typer.Option(help="Where to write the new strategy file.")],
    ) -> None:
        """Write a new strategy version where the winning arm takes the whole segment."""
        from arrears.strategy.definition import dump_strategy
        from arrears.strategy.experiments import promote
        from arrears.strategy.service import active_strategy

        actx = app_context(ctx)
        with actx.engine.connect() as conn:
            current = active_strategy(conn)
        try:
            new = promote(current, segment, arm, version)
        except KeyError as exc:
            raise typer.BadParameter(str(exc.args[0])) from exc
        out.write_text(dump_strategy(new), encoding="utf-8")
        console.print(f"wrote {new.key} to {out}; verify and activate it to make it live")
