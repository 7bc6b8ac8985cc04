"""`arrears cases …` — promise evaluation, assignment (rules, profiles, unassigned cases, re-balancing)
and the contact log exported for `arrears compliance check`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from arrears.core.cli_support import app_context, console, print_json
from arrears.core.db import transaction
from arrears.core.errors import ValidationFailed
from arrears.security.principal import Principal

ACTOR = Principal.system("cli:cases")


def _date(value: str | None, default: date) -> date:
    if value is None:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc


def _list(value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.replace("，", ",").split(",") if v.strip()]


def _user_id(session: object, username: str) -> int:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from arrears.security.models import User

    assert isinstance(session, Session)
    uid = session.scalar(select(User.id).where(User.username == username.strip().lower()))
    if uid is None:
        raise ValidationFailed(f"user {username!r} not found")
    return int(uid)


def register(app: typer.Typer) -> None:
    cases = typer.Typer(help="Case work: promises, assignment, the contact log.", no_args_is_help=True)
    app.add_typer(cases, name="cases")

    @cases.command("evaluate-promises")
    def evaluate_cmd(
        ctx: typer.Context,
        as_of: Annotated[str | None, typer.Option("--as-of", help="Business date; default today.")] = None,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """Evaluate open promises against payments: kept, partly kept or broken after the grace."""
        from arrears.cases.service import evaluate_promises, local_today

        actx = app_context(ctx)
        now = actx.clock()
        tz = actx.settings.default_timezone
        day = _date(as_of, local_today(now, tz))
        with transaction(actx.sessions) as session:
            changed = evaluate_promises(session, as_of=day, now=now, actor=ACTOR, tz=tz)
            counts: dict[str, int] = {}
            for p in changed:
                counts[p.status] = counts.get(p.status, 0) + 1
        if as_json:
            print_json({"as_of": day.isoformat(), "changed": counts})
        else:
            console.print(
                f"{day.isoformat()}: "
                + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no change")
            )

    @cases.command("assign-unassigned")
    def assign_cmd(
        ctx: typer.Context,
        limit: Annotated[int | None, typer.Option(help="At most this many cases.")] = None,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """Place open unassigned cases by the assignment rules (highest priority first)."""
        from arrears.cases.service import assign_unassigned

        actx = app_context(ctx)
        with transaction(actx.sessions) as session:
            result = assign_unassigned(session, ACTOR, now=actx.clock(), limit=limit)
        out = {"assigned": len(result.moved), "unplaced": len(result.unplaced)}
        if as_json:
            print_json(out)
        else:
            console.print(f"assigned {out['assigned']}, unplaced {out['unplaced']}")

    @cases.command("profile")
    def profile_cmd(
        ctx: typer.Context,
        username: Annotated[str, typer.Argument(help="The collector's user name.")],
        skills: Annotated[
            str | None, typer.Option(help="Comma-separated skills, e.g. legal,english.")
        ] = None,
        languages: Annotated[
            str | None, typer.Option(help="Languages spoken, e.g. zh,en (empty: any).")
        ] = None,
        regions: Annotated[str | None, typer.Option(help="Regions covered (empty: any).")] = None,
        creditors: Annotated[str | None, typer.Option(help="Creditor codes (empty: any).")] = None,
        buckets: Annotated[str | None, typer.Option(help="Buckets, e.g. M1,M2 (empty: any).")] = None,
        cap: Annotated[int | None, typer.Option(help="Workload cap (open cases).")] = None,
        status: Annotated[str | None, typer.Option(help="active, leave or resigned.")] = None,
    ) -> None:
        """Create or change a collector's assignment profile."""
        from arrears.cases.service import set_profile

        actx = app_context(ctx)
        with transaction(actx.sessions) as session:
            p = set_profile(
                session,
                ACTOR,
                _user_id(session, username),
                now=actx.clock(),
                skills=_list(skills),
                languages=_list(languages),
                regions=_list(regions),
                creditors=_list(creditors),
                buckets=_list(buckets),
                max_cases=cap,
                status=status,
            )
            print_json({"user": username, "cap": p.max_cases, "status": p.status, "skills": p.skills})

    @cases.command("add-rule")
    def rule_cmd(
        ctx: typer.Context,
        name: Annotated[str, typer.Argument(help="A name for the rule.")],
        position: Annotated[int, typer.Option(help="Rules are tried in position order.")] = 100,
        bucket: Annotated[str | None, typer.Option()] = None,
        creditor: Annotated[str | None, typer.Option(help="Creditor code.")] = None,
        region: Annotated[str | None, typer.Option()] = None,
        language: Annotated[str | None, typer.Option()] = None,
        agency: Annotated[str | None, typer.Option(help="Agency code the account is placed with.")] = None,
        team: Annotated[str | None, typer.Option(help="The team that takes matching cases.")] = None,
        skill: Annotated[str | None, typer.Option(help="The skill a collector needs.")] = None,
    ) -> None:
        """Add an assignment rule: cases matching every given criterion go to the team / skill."""
        from arrears.cases.service import add_rule

        actx = app_context(ctx)
        with transaction(actx.sessions) as session:
            r = add_rule(
                session, ACTOR, name=name, now=actx.clock(), position=position, bucket=bucket,
                creditor_code=creditor, region=region, language=language, agency_code=agency, team=team,
                skill=skill,
            )  # fmt: skip
            print_json({"rule": r.id, "name": r.name, "position": r.position})

    @cases.command("hand-over")
    def handover_cmd(
        ctx: typer.Context,
        username: Annotated[str, typer.Argument(help="Whose open cases to hand over.")],
        reason: Annotated[str, typer.Option(help="leave, resignation or rebalance.")] = "leave",
        to: Annotated[
            str | None, typer.Option(help="A colleague to take them all; else by the rules.")
        ] = None,
    ) -> None:
        """Hand a collector's open cases over (leave, resignation, re-balancing)."""
        from arrears.cases.service import hand_over

        actx = app_context(ctx)
        with transaction(actx.sessions) as session:
            result = hand_over(
                session,
                ACTOR,
                _user_id(session, username),
                reason=reason,
                now=actx.clock(),
                to_user_id=_user_id(session, to) if to else None,
            )
        print_json({"moved": len(result.moved) - len(result.unplaced), "unplaced": len(result.unplaced)})

    @cases.command("rebalance")
    def rebalance_cmd(ctx: typer.Context) -> None:
        """Even out workloads: cases move from collectors above the even share to those below it."""
        from arrears.cases.service import rebalance

        actx = app_context(ctx)
        with transaction(actx.sessions) as session:
            moved = rebalance(session, ACTOR, now=actx.clock())
        print_json({"moved": len(moved)})

    @cases.command("export-log")
    def export_cmd(
        ctx: typer.Context,
        out: Annotated[Path, typer.Argument(help="CSV file to write (the columns of `compliance check`).")],
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="Up to the end of this day; default today.")
        ] = None,
        plain_contacts: Annotated[
            bool,
            typer.Option(
                help="Write plain phone numbers and addresses (needed for per-number rules; audited)."
            ),
        ] = False,
    ) -> None:
        """Write the contact log for `arrears compliance check`. Contacts read `cp:<id>` unless
        --plain-contacts (CN-D1: personal data leaves the system only when needed, and it is audited)."""
        from arrears.cases.history import contact_history
        from arrears.security import audit

        actx = app_context(ctx)
        day = _date(as_of, actx.clock().date())
        with actx.engine.connect() as conn:
            frame = contact_history(conn, day, actx.keys if plain_contacts else None)
        with transaction(actx.sessions) as session:
            audit.record(
                session, ACTOR, "contacts.export", "contact_log", None,
                after={"rows": frame.height, "as_of": day, "plain": plain_contacts}, at=actx.clock(),
            )  # fmt: skip
        frame.write_csv(out)
        console.print(f"wrote {frame.height} rows to {out}")
