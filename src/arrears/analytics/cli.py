"""`arrears kpi …` — recovery, overdue, bad-debt and abnormal-collection rates per team, collector,
period and QC round, and the findings most often failed (R27, R28)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from arrears.core.cli_support import app_context, print_json
from arrears.security.operators import acting_user

Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
As = Annotated[str | None, typer.Option("--as", help="Read as this user (a team lead sees their team).")]


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=name) from exc


def _pct(rate: dict[str, Any]) -> str:
    return "—" if rate["rate"] is None else f"{100 * rate['rate']:.2f}%"


def _print_rows(rows: list[dict[str, Any]], currency: str) -> None:
    from arrears.core.money import format_major

    typer.echo(
        "group\taccounts\tdue\tcollected\trecovery\toverdue\tbad debt\tabnormal/contact\tabnormal/case"
    )
    for r in rows:
        typer.echo(
            f"{r['label']}\t{r['accounts']}\t{format_major(r['due'], currency)}\t{format_major(r['collected'], currency)}\t"
            f"{_pct(r['recovery_rate'])}\t{_pct(r['overdue_rate'])}\t{_pct(r['bad_debt_rate'])}\t"
            f"{_pct(r['abnormal_per_contact'])}\t{_pct(r['abnormal_per_case'])}"
        )


def register(app: typer.Typer) -> None:
    kpi = typer.Typer(help="KPIs and QC results (回款率, 逾期率, 坏账率, 异常催收率).", no_args_is_help=True)
    app.add_typer(kpi, name="kpi")

    @kpi.command("show")
    def show_cmd(
        ctx: typer.Context,
        start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD).")],
        end: Annotated[str, typer.Option("--to", help="Last day.")],
        by: Annotated[str, typer.Option(help="overall, team or collector.")] = "overall",
        currency: Annotated[str, typer.Option()] = "CNY",
        creditor: Annotated[str | None, typer.Option()] = None,
        as_user: As = None,
        as_json: Json = False,
    ) -> None:
        """The rates over one period, per team, collector or overall."""
        from arrears.analytics.service import kpis

        app_ = app_context(ctx)
        with app_.sessions() as s:
            rows = [r.to_dict() for r in kpis(s, acting_user(s, as_user, system="cli:kpi"), start=_date(start, "--from"), end=_date(end, "--to"),
                                              by=by, currency=currency.upper(), creditor=creditor)]  # fmt: skip
        if as_json:
            for r in rows:
                print_json(r)
        else:
            _print_rows(rows, currency.upper())

    @kpi.command("series")
    def series_cmd(
        ctx: typer.Context,
        start: Annotated[str, typer.Option("--from")],
        end: Annotated[str, typer.Option("--to")],
        granularity: Annotated[str, typer.Option(help="month or week.")] = "month",
        by: Annotated[str, typer.Option(help="overall, team or collector.")] = "overall",
        currency: Annotated[str, typer.Option()] = "CNY",
        as_user: As = None,
        as_json: Json = False,
    ) -> None:
        """The rates period by period: the trend over time."""
        from arrears.analytics.service import series

        app_ = app_context(ctx)
        with app_.sessions() as s:
            periods = series(s, acting_user(s, as_user, system="cli:kpi"), start=_date(start, "--from"), end=_date(end, "--to"),
                             granularity=granularity, by=by, currency=currency.upper())  # type: ignore[arg-type]  # fmt: skip
        if as_json:
            for p in periods:
                print_json(p)
            return
        for p in periods:
            typer.echo(f"{p['start']} .. {p['end']}")
            _print_rows(p["rows"], currency.upper())

    @kpi.command("findings")
    def findings_cmd(
        ctx: typer.Context,
        start: Annotated[str, typer.Option("--from")],
        end: Annotated[str, typer.Option("--to")],
        limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
        as_user: As = None,
        as_json: Json = False,
    ) -> None:
        """The scorecard items most often failed: after review, and by the machine."""
        from arrears.analytics.service import most_failed

        app_ = app_context(ctx)
        with app_.sessions() as s:
            found = most_failed(
                s,
                acting_user(s, as_user, system="cli:kpi"),
                start=_date(start, "--from"),
                end=_date(end, "--to"),
                limit=limit,
            )
        if as_json:
            print_json(found)
            return
        for source in ("reviewed", "machine"):
            typer.echo(f"{source}:")
            for f in found[source]:
                typer.echo(f"  {f['item']:<24}{f['failed']:>6} of {f['decided']:<6} {f['title']}")

    @kpi.command("round")
    def round_cmd(
        ctx: typer.Context,
        round_id: Annotated[
            int | None, typer.Argument(help="The QC round; omitted: list the rounds.")
        ] = None,
        currency: Annotated[str, typer.Option()] = "CNY",
        as_user: As = None,
        as_json: Json = False,
    ) -> None:
        """A QC round judged by effect: the rates of the collectors it sampled, and its QC figures."""
        from arrears.analytics.service import list_rounds, round_results

        app_ = app_context(ctx)
        with app_.sessions() as s:
            who = acting_user(s, as_user, system="cli:kpi")
            if round_id is None:
                rounds = list_rounds(s, who)
                for r in rounds:
                    print_json(r) if as_json else typer.echo(
                        f"{r['id']}\t{r['name']}\t{r['sampled']} of {r['considered']}"
                    )
                return
            res = round_results(s, who, round_id, currency=currency.upper())
        if as_json:
            print_json(res)
            return
        typer.echo(f"round {res['round']['id']} {res['round']['name']}")
        _print_rows([r for r in [res["overall"]] if r] + res["collectors"], currency.upper())
        if res["qc"]:
            qc = res["qc"]
            typer.echo(
                f"reviewed {qc['closed']} of {qc['sampled']}, violations {qc['violations']}, appeals {qc['appeals']}"
            )
            typer.echo("most failed: " + ", ".join(f"{i} ({n})" for i, n in qc["most_failed"]))
