"""The QC workflow and complaints desk at the command line, added to the `arrears qc …` and
`arrears complaints …` groups: import and auto-score interactions, QC rounds, reviews (decide,
respond, arbitrate), overdue alerts, notes, QC staff, calibration, coaching, complaint intake and
investigation.

Steps that belong to a person (an inspector's decision, a collector's appeal, an arbitration) are
recorded on behalf of the user named with `--as`; unattended work (imports, rounds, alerts) runs as
the system unless `--as` names someone. Every step is audited either way.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from arrears.core.cli_support import app_context, console, fail, print_json
from arrears.core.db import transaction
from arrears.security.operators import acting_user
from arrears.security.principal import Principal

SYSTEM = "cli:qc"
As = Annotated[str | None, typer.Option("--as", help="Act as this user (username).")]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
Items = Annotated[list[str] | None, typer.Option(help="Scorecard item id (repeatable).")]
Passed = Annotated[list[str] | None, typer.Option("--pass", help="Item passed (repeatable).")]
Failed = Annotated[list[str] | None, typer.Option("--fail", help="Item failed (repeatable).")]


def actor(session: Session, username: str | None, *, required: bool = False) -> Principal:
    return acting_user(session, username, system=SYSTEM, required=required)


def _date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=name) from exc


def _moment(value: str | None, default: datetime) -> datetime:
    if value is None:
        return default
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an ISO date-time", param_hint="--as-of") from exc
    if at.tzinfo is None:
        raise typer.BadParameter("give a time zone (e.g. 2026-11-28T09:00:00+08:00)", param_hint="--as-of")
    return at


def _decisions(passed: list[str] | None, failed: list[str] | None) -> dict[str, bool]:
    both = set(passed or []) & set(failed or [])
    if both:
        raise typer.BadParameter(f"{sorted(both)[0]} is both passed and failed", param_hint="--pass/--fail")
    return {**dict.fromkeys(passed or [], True), **dict.fromkeys(failed or [], False)}


def _ids(value: str, name: str) -> list[int]:
    out = []
    for part in value.replace("，", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise typer.BadParameter(f"{part!r} is not an id", param_hint=name)
        out.append(int(part))
    return out


def _show(rows: list[dict[str, Any]], columns: list[str]) -> None:
    for r in rows:
        typer.echo("\t".join("—" if r.get(c) is None else str(r.get(c)) for c in columns))


# --------------------------------------------------------------------------------------------- qc


def _register_qc(qc: typer.Typer) -> None:
    review_app = typer.Typer(
        help="Reviews: inspector decisions, feedback, appeals, arbitration.", no_args_is_help=True
    )
    calibration_app = typer.Typer(help="Calibration sessions (blind double scoring).", no_args_is_help=True)
    coaching_app = typer.Typer(help="The coaching library (de-identified examples).", no_args_is_help=True)
    qc.add_typer(review_app, name="review")
    qc.add_typer(calibration_app, name="calibration")
    qc.add_typer(coaching_app, name="coaching")

    @qc.command("import")
    def import_cmd(
        ctx: typer.Context,
        file: Annotated[str, typer.Argument(help="JSON lines of interactions ('-' for standard input).")],
        scorecard: Annotated[str | None, typer.Option(help="One scorecard for every line.")] = None,
        as_user: As = None,
        as_json: Json = False,
    ) -> None:
        """Import interactions (calls, SMS, e-mails, visit reports) and score each automatically.

        Each line links to a case, collector and contact attempt. All lines are checked first; one bad
        line imports nothing."""
        from arrears.quality.cli import read_json_lines
        from arrears.quality.interactions import import_interactions, parse_import_line

        lines = read_json_lines(file, lambda n, raw: parse_import_line(raw, n))
        app = app_context(ctx)
        with transaction(app.sessions) as s:
            report = import_interactions(
                s, actor(s, as_user), lines, keys=app.keys, now=app.clock(), scorecard=scorecard
            )
        out = report.to_dict()
        if as_json:
            print_json(out)
        else:
            typer.echo(
                f"{out['imported']} imported ({out['fatal']} with a fatal finding, {out['below_standard']} below "
                f"standard), {out['unchanged']} already imported"
            )

    @qc.command("sample")
    def sample_cmd(
        ctx: typer.Context,
        start: Annotated[str, typer.Option("--from", help="First day of the period (YYYY-MM-DD).")],
        end: Annotated[str, typer.Option("--to", help="Last day of the period.")],
        seed: Annotated[str | None, typer.Option(help="Seed of the random share (reproducible).")] = None,
        name: Annotated[str | None, typer.Option(help="Name of the round.")] = None,
        as_user: As = None,
        as_json: Json = False,
    ) -> None:
        """Run a QC round: sample the period's interactions for inspectors.

        Fatal, low-scoring and uncertain ones always; plus a random share per collector (higher for new
        staff)."""
        from arrears.quality.review import run_round

        app = app_context(ctx)
        lo, hi = _date(start, "--from"), _date(end, "--to")
        assert lo is not None and hi is not None
        with transaction(app.sessions) as s:
            rnd = run_round(
                s, actor(s, as_user), period_start=lo, period_end=hi, now=app.clock(), seed=seed, name=name
            )
            out = {
                "id": rnd.id,
                "name": rnd.name,
                "considered": rnd.considered,
                "sampled": rnd.sampled,
                "seed": rnd.seed,
            }
        if as_json:
            print_json(out)
        else:
            typer.echo(
                f"round {out['id']} ({out['name']}): {out['sampled']} of {out['considered']} sent to inspectors"
            )

    @qc.command("alerts")
    def alerts_cmd(
        ctx: typer.Context,
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="ISO date-time with zone; default now.")
        ] = None,
        record: Annotated[
            bool, typer.Option("--raise/--no-raise", help="Record new alerts (audited).")
        ] = True,
        as_user: As = None,
        as_json: Json = False,
    ) -> None:
        """Every workflow step past its deadline (review, answer, arbitration, complaint, calibration)."""
        from arrears.quality.interactions import usernames
        from arrears.quality.review import overdue_items, raise_alerts

        app = app_context(ctx)
        when = _moment(as_of, app.clock())
        with transaction(app.sessions) as s:
            who = actor(s, as_user)
            new = (
                {(a.kind, a.entity_id) for a in raise_alerts(s, who.username, as_of=when)[0]}
                if record
                else set()
            )
            alerts = overdue_items(s, who, as_of=when)
            names = usernames(s, [x for a in alerts for x in (a.owner_id, a.collector_id)])
            rows = [{**a.to_dict(names), "new": (a.kind, a.entity_id) in new} for a in alerts]
        if as_json:
            for r in rows:
                print_json(r)
            return
        _show(rows, ["kind", "entity", "entity_id", "due_at", "overdue_hours", "owner", "collector"])
        console.print(f"{len(rows)} overdue, {len(new)} newly raised", highlight=False)

    @qc.command("note")
    def note_cmd(
        ctx: typer.Context,
        text: Annotated[str, typer.Argument(help="The note.")],
        kind: Annotated[str, typer.Option(help="problem, bottleneck or suggestion.")],
        as_user: As = None,
        review_id: Annotated[int | None, typer.Option("--review", help="About this review.")] = None,
        round_id: Annotated[int | None, typer.Option("--round", help="About this round.")] = None,
        item: Annotated[str | None, typer.Option(help="About this scorecard item.")] = None,
    ) -> None:
        """Record a problem, a bottleneck or an improvement suggestion (R25)."""
        from arrears.quality.review import add_note

        app = app_context(ctx)
        with transaction(app.sessions) as s:
            note = add_note(s, actor(s, as_user, required=True), kind=kind, text=text, review_id=review_id,
                            round_id=round_id, item=item, now=app.clock())  # fmt: skip
            typer.echo(f"note {note.id} recorded")

    @qc.command("staff")
    def staff_cmd(
        ctx: typer.Context,
        username: Annotated[str, typer.Argument(help="The member of staff.")],
        lead: Annotated[
            bool | None, typer.Option("--lead/--no-lead", help="QC lead (arbitrates appeals).")
        ] = None,
        hired: Annotated[str | None, typer.Option(help="Hiring date (new staff are sampled more).")] = None,
        as_user: As = None,
    ) -> None:
        """Mark a QC lead, or record a hiring date."""
        from arrears.quality.review import set_staff

        app = app_context(ctx)
        with transaction(app.sessions) as s:
            row = set_staff(
                s, actor(s, as_user), username, qc_lead=lead, hired=_date(hired, "--hired"), now=app.clock()
            )
            typer.echo(f"{username}: QC lead {'yes' if row.qc_lead else 'no'}, hired {row.hired_on or '—'}")

    # ----------------------------------------------------------------------------------- reviews

    @review_app.command("list")
    def review_list(
        ctx: typer.Context,
        status: Annotated[str | None, typer.Option(help="pending, awaiting_response, appealed …")] = None,
        mine: Annotated[bool, typer.Option(help="Only the caller's worklist or feedback.")] = False,
        round_id: Annotated[int | None, typer.Option("--round")] = None,
        as_user: As = None,
        as_json: Json = False,
    ) -> None:
        """Reviews in scope, newest first."""
        from arrears.quality.review import list_reviews

        app = app_context(ctx)
        with app.sessions() as s:
            rows, total = list_reviews(
                s, actor(s, as_user), status=status, mine=mine, round_id=round_id, limit=500
            )
        if as_json:
            for r in rows:
                print_json(r)
            return
        _show(
            rows,
            [
                "id",
                "status",
                "reason",
                "collector",
                "inspector",
                "machine_score",
                "score_after",
                "final_score",
            ],
        )
        console.print(f"{len(rows)} of {total}", highlight=False)

    @review_app.command("show")
    def review_show(ctx: typer.Context, review_id: int, as_user: As = None, as_json: Json = False) -> None:
        """A review: transcript, each item's machine finding with evidence, decisions since."""
        from arrears.quality.review import review_detail

        app = app_context(ctx)
        with transaction(app.sessions) as s:
            d = review_detail(s, actor(s, as_user), review_id, keys=app.keys, now=app.clock())
        if as_json:
            print_json(d)
            return
        typer.echo(
            f"review {d['id']} · {d['status']} · collector {d['collector'] or '—'} · machine {d['machine_score']}"
        )
        for n, t in enumerate(d["turns"]):
            typer.echo(f"  [{n}] {t.get('speaker')}: {t.get('text')}")
        for i in d["items"]:
            mark = {True: "pass", False: "FAIL", None: "—"}
            typer.echo(
                f"  {i['item']:<24} machine {mark[i['machine_passed']]:<4} ({i['confidence']:.2f})  "
                f"inspector {mark[i['inspector_passed']]:<4} arbitration {mark[i['arbitration_passed']]}"
            )

    @review_app.command("decide")
    def review_decide(
        ctx: typer.Context,
        review_id: int,
        feedback: Annotated[str, typer.Option(help="Feedback to the collector.")],
        as_user: As = None,
        passed: Passed = None,
        failed: Failed = None,
    ) -> None:
        """Confirm or overturn the machine's findings and send feedback.

        Items not named are confirmed; the items the machine left open must be decided."""
        from arrears.quality.review import decide

        app = app_context(ctx)
        with transaction(app.sessions) as s:
            rv = decide(s, actor(s, as_user, required=True), review_id, decisions=_decisions(passed, failed),
                        feedback=feedback, now=app.clock())  # fmt: skip
            typer.echo(f"review {rv.id}: score {rv.score_after}, {rv.overturned} finding(s) overturned; "
                       f"the collector answers by {rv.response_due_at}")  # fmt: skip

    @review_app.command("respond")
    def review_respond(
        ctx: typer.Context,
        review_id: int,
        as_user: As = None,
        appeal: Annotated[str | None, typer.Option(help="Appeal, with the reason.")] = None,
        item: Items = None,
    ) -> None:
        """The collector acknowledges the feedback (default) or appeals named findings."""
        from arrears.quality.review import respond

        app = app_context(ctx)
        with transaction(app.sessions) as s:
            rv = respond(s, actor(s, as_user, required=True), review_id, appeal=appeal is not None, reason=appeal,
                         items=item, now=app.clock())  # fmt: skip
            typer.echo(f"review {rv.id}: {rv.status}")

    @review_app.command("arbitrate")
    def review_arbitrate(
        ctx: typer.Context,
        review_id: int,
        note: Annotated[str, typer.Option(help="The reasons for the decision.")],
        as_user: As = None,
        passed: Passed = None,
        failed: Failed = None,
    ) -> None:
        """A QC lead (or manager) decides every appealed item."""
        from arrears.quality.review import arbitrate

        app = app_context(ctx)
        with transaction(app.sessions) as s:
            rv = arbitrate(s, actor(s, as_user, required=True), review_id, decisions=_decisions(passed, failed),
                           note=note, now=app.clock())  # fmt: skip
            typer.echo(f"review {rv.id}: {rv.arbitration_outcome}, final score {rv.final_score}")

    @review_app.command("expire")
    def review_expire(
        ctx: typer.Context,
        as_of: Annotated[str | None, typer.Option("--as-of")] = None,
    ) -> None:
        """Feedback left unanswered past its deadline is deemed accepted."""
        from arrears.quality.review import close_unanswered

        app = app_context(ctx)
        with transaction(app.sessions) as s:
            ids = close_unanswered(s, SYSTEM, as_of=_moment(as_of, app.clock()))
        typer.echo(f"{len(ids)} review(s) deemed accepted")

    # ----------------------------------------------------------------------------------- calibration

    @calibration_app.command("open")
    def calibration_open(
        ctx: typer.Context,
        name: Annotated[str, typer.Option(help="Name of the session.")],
        interactions: Annotated[str, typer.Option(help="Interaction ids, comma separated.")],
        inspectors: Annotated[str, typer.Option(help="Inspector user names, comma separated.")],
        as_user: As = None,
    ) -> None:
        """Open a session: every named inspector scores the same interactions, blind."""
        from arrears.quality.review import open_calibration

        app = app_context(ctx)
        names = [n.strip() for n in inspectors.replace("，", ",").split(",") if n.strip()]
        with transaction(app.sessions) as s:
            cal = open_calibration(s, actor(s, as_user), name=name, interaction_ids=_ids(interactions, "--interactions"),
                                   inspectors=names, now=app.clock())  # fmt: skip
            typer.echo(f"calibration {cal.id} open until {cal.due_at}")

    @calibration_app.command("score")
    def calibration_score(
        ctx: typer.Context,
        calibration_id: int,
        interaction: Annotated[int, typer.Option(help="The interaction scored.")],
        as_user: As = None,
        passed: Passed = None,
        failed: Failed = None,
    ) -> None:
        """Submit one inspector's blind scoring of one interaction (final once submitted)."""
        from arrears.quality.review import submit_calibration

        app = app_context(ctx)
        with transaction(app.sessions) as s:
            row = submit_calibration(s, actor(s, as_user, required=True), calibration_id, interaction,
                                     decisions=_decisions(passed, failed), now=app.clock())  # fmt: skip
            typer.echo(f"scored {row.score}")

    @calibration_app.command("close")
    def calibration_close(ctx: typer.Context, calibration_id: int, as_user: As = None) -> None:
        """Close a session; its agreement figures become visible."""
        from arrears.quality.review import close_calibration

        app = app_context(ctx)
        with transaction(app.sessions) as s:
            close_calibration(s, actor(s, as_user), calibration_id, now=app.clock())
        typer.echo(f"calibration {calibration_id} closed")

    @calibration_app.command("report")
    def calibration_report_cmd(
        ctx: typer.Context, calibration_id: int, as_user: As = None, as_json: Json = False
    ) -> None:
        """Agreement between inspectors (kappa, score spread) and between machine and inspectors."""
        from arrears.quality.review import calibration_report

        app = app_context(ctx)
        with app.sessions() as s:
            r = calibration_report(s, actor(s, as_user), calibration_id)
        if as_json:
            print_json(r.to_dict())
            return
        typer.echo(
            f"{r.name}: {len(r.inspectors)} inspectors, {len(r.interactions)} interactions, {r.units} shared decisions"
        )
        typer.echo(f"  Fleiss' kappa {r.fleiss_kappa}  ·  all agree on {r.percent_agreement}")
        for p in r.pairwise:
            typer.echo(
                f"  {p['a']} × {p['b']}: kappa {p['kappa']}, agreement {p['agreement']} ({p['units']})"
            )
        for m in r.machine_vs_inspector:
            typer.echo(
                f"  machine × {m['inspector']}: kappa {m['kappa']}, agreement {m['agreement']} ({m['units']})"
            )
        if r.spread:
            typer.echo(f"  score spread: mean range {r.spread['mean_range']}, max {r.spread['max_range']}")

    # ----------------------------------------------------------------------------------- coaching

    @coaching_app.command("list")
    def coaching_list(
        ctx: typer.Context,
        item: Annotated[str | None, typer.Option()] = None,
        kind: Annotated[str | None, typer.Option(help="good or bad")] = None,
        as_json: Json = False,
    ) -> None:
        """The published examples, by scorecard item."""
        from arrears.quality.coaching import library

        app = app_context(ctx)
        with app.sessions() as s:
            rows = library(s, Principal.system(SYSTEM), item=item, kind=kind)
        if as_json:
            for r in rows:
                print_json(r)
            return
        for r in rows:
            typer.echo(f"[{r['kind']}] {r['item']} — {r['item_title']} ({r['language']}, {r['channel']})")
            for t in r["excerpt"]:
                typer.echo(f"    {t['speaker']}: {t['text']}")

    @coaching_app.command("publish")
    def coaching_publish(
        ctx: typer.Context,
        interaction_id: int,
        item: Annotated[str, typer.Option(help="The scorecard item it illustrates.")],
        kind: Annotated[str, typer.Option(help="good or bad")],
        note: Annotated[str | None, typer.Option(help="What to learn from it.")] = None,
        as_user: As = None,
    ) -> None:
        """Publish a reviewed interaction, de-identified, as a good or bad example."""
        from arrears.quality.coaching import publish_example

        app = app_context(ctx)
        with transaction(app.sessions) as s:
            ex = publish_example(s, actor(s, as_user), interaction_id, item=item, kind=kind, note=note,
                                 keys=app.keys, now=app.clock())  # fmt: skip
            typer.echo(f"example {ex.id} published")


# --------------------------------------------------------------------------------------------- complaints


def _register_complaints(complaints: typer.Typer) -> None:
    @complaints.command("add")
    def add_cmd(
        ctx: typer.Context,
        channel: Annotated[str, typer.Option(help="portal, phone, email or regulator.")],
        text: Annotated[str | None, typer.Option(help="The complaint (or --file).")] = None,
        file: Annotated[Path | None, typer.Option(help="Read the complaint from a UTF-8 file.")] = None,
        case: Annotated[int | None, typer.Option(help="Case id.")] = None,
        account: Annotated[str | None, typer.Option(help="Account reference.")] = None,
        collector: Annotated[str | None, typer.Option(help="The collector complained about.")] = None,
        interaction: Annotated[
            list[int] | None, typer.Option(help="Linked interaction id (repeatable).")
        ] = None,
        regulator_ref: Annotated[str | None, typer.Option(help="The regulator's reference.")] = None,
        received: Annotated[str | None, typer.Option(help="When it was received (ISO, with zone).")] = None,
        as_user: As = None,
        as_json: Json = False,
    ) -> None:
        """Record a complaint; it is triaged automatically and its investigation deadline starts."""
        from arrears.quality.complaints_service import ComplaintIn, complaint_view, intake
        from arrears.quality.interactions import usernames

        if (text is None) == (file is None):
            raise fail("give the complaint with --text or --file (one of them)")
        if file is not None:
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise fail(f"cannot read {file}: {exc}") from exc
        app = app_context(ctx)
        with transaction(app.sessions) as s:
            data = ComplaintIn(channel=channel, text=text or "", case_id=case, account_ref=account, collector=collector,
                               interaction_ids=interaction or [], regulator_ref=regulator_ref,
                               received_at=_moment(received, app.clock()) if received else None)  # fmt: skip
            c = intake(s, actor(s, as_user), data, keys=app.keys, now=app.clock())
            out = complaint_view(c, usernames(s, [c.collector_id]))
        if as_json:
            print_json(out)
        else:
            flag = "alleges misconduct" if out["conduct"] else "no misconduct alleged"
            typer.echo(
                f"{out['ref']}: {out['category']} ({flag}, confidence {out['confidence']:.2f}); due {out['due_at']}"
            )

    @complaints.command("list")
    def list_cmd(
        ctx: typer.Context,
        status: Annotated[str | None, typer.Option(help="open, investigating or closed.")] = None,
        overdue: Annotated[bool, typer.Option(help="Only those past their deadline.")] = False,
        as_user: As = None,
        as_json: Json = False,
    ) -> None:
        """Complaints, soonest deadline first."""
        from arrears.quality.complaints_service import list_complaints

        app = app_context(ctx)
        with app.sessions() as s:
            rows, total = list_complaints(s, actor(s, as_user), status=status,
                                          overdue_as_of=app.clock() if overdue else None, limit=500)  # fmt: skip
        if as_json:
            for r in rows:
                print_json(r)
            return
        _show(
            rows,
            [
                "id",
                "ref",
                "channel",
                "category",
                "conduct",
                "status",
                "due_at",
                "collector",
                "outcome",
                "summary",
            ],
        )
        console.print(f"{len(rows)} of {total}", highlight=False)

    @complaints.command("show")
    def show_cmd(ctx: typer.Context, complaint_id: int, as_user: As = None) -> None:
        """One complaint as received (the read is audited)."""
        from arrears.quality.complaints_service import complaint_detail

        app = app_context(ctx)
        with transaction(app.sessions) as s:
            d = complaint_detail(s, actor(s, as_user), complaint_id, keys=app.keys, now=app.clock())
        print_json(d)

    @complaints.command("assign")
    def assign_cmd(
        ctx: typer.Context,
        complaint_id: int,
        investigator: Annotated[str | None, typer.Option(help="Compliance officer or manager.")] = None,
        as_user: As = None,
    ) -> None:
        """Start the investigation."""
        from arrears.quality.complaints_service import assign

        app = app_context(ctx)
        with transaction(app.sessions) as s:
            c = assign(s, actor(s, as_user), complaint_id, investigator=investigator, now=app.clock())
            typer.echo(f"{c.ref}: {c.status}")

    @complaints.command("close")
    def close_cmd(
        ctx: typer.Context,
        complaint_id: int,
        outcome: Annotated[str, typer.Option(help="upheld or not_upheld.")],
        note: Annotated[str, typer.Option(help="What the investigation found.")],
        category: Annotated[str | None, typer.Option(help="Correct the triage category.")] = None,
        conduct: Annotated[
            bool | None, typer.Option("--conduct/--no-conduct", help="Misconduct found.")
        ] = None,
        as_user: As = None,
    ) -> None:
        """Close the investigation; an upheld misconduct complaint feeds QC and coaching."""
        from arrears.quality.complaints_service import close

        app = app_context(ctx)
        with transaction(app.sessions) as s:
            c = close(s, actor(s, as_user), complaint_id, outcome=outcome, note=note, category=category,
                      conduct=conduct, keys=app.keys, now=app.clock())  # fmt: skip
            typer.echo(f"{c.ref}: closed, {c.outcome}")


def register(app: typer.Typer) -> None:
    """Add the workflow commands to the `qc` and `complaints` groups of arrears.quality.cli."""
    from arrears.quality.cli import complaints_app, qc_app

    if any(c.name == "sample" for c in qc_app.registered_commands):
        return  # the groups are module-level: a second `arrears` app shares them, already filled
    _register_qc(qc_app)
    _register_complaints(complaints_app)


__all__ = ["actor", "register"]
