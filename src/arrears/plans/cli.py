"""`arrears plans limits-load|limits-show|evaluate` and `arrears documents letterhead`.

Operators act as the system principal `cli:<os user>`; what they change is audited under that name.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from arrears.core.cli_support import app_context, fail, print_json
from arrears.core.db import transaction
from arrears.core.errors import ArrearsError
from arrears.documents import service as documents
from arrears.documents.storage import store_for
from arrears.plans import service
from arrears.plans.authority import AUTHORITY_ROLES
from arrears.portfolio.models import Creditor
from arrears.security.operators import operator


def register(app: typer.Typer) -> None:
    plans = typer.Typer(
        help="Plans and concessions: authority limits, follow-up of plans.", no_args_is_help=True
    )
    app.add_typer(plans, name="plans")

    @plans.command("limits-load")
    def limits_load(
        ctx: typer.Context,
        file: Annotated[
            Path, typer.Argument(help="YAML with a `creditors:` section (see plans/authority.yaml).")
        ],
    ) -> None:
        """Load per-creditor authority limits (R13); the whole file is validated before anything changes."""
        actx = app_context(ctx)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise fail(f"{file}: cannot read ({exc.strerror})") from None
        try:
            with transaction(actx.sessions) as session:
                counts = service.load_limits(session, operator(), text, str(file), at=actx.clock())
        except ArrearsError as exc:
            raise fail(exc.message) from None
        print_json({"loaded": counts})

    @plans.command("limits-show")
    def limits_show(
        ctx: typer.Context, creditor: Annotated[str, typer.Argument(help="Creditor code.")]
    ) -> None:
        """The authority limits in force for a creditor, per role."""
        actx = app_context(ctx)
        with actx.sessions() as session:
            cid = session.scalar(select(Creditor.id).where(Creditor.code == creditor))
            if cid is None:
                raise fail(f"creditor {creditor} not found")
            print_json({role: service.limits_for(session, cid, role).as_dict() for role in AUTHORITY_ROLES})

    @plans.command("evaluate")
    def evaluate(
        ctx: typer.Context,
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="Business date (default: today, UTC).")
        ] = None,
    ) -> None:
        """Follow every active plan against the ledger: completed (settlement remainders waived) or broken."""
        actx = app_context(ctx)
        now = actx.clock()
        try:
            day = date.fromisoformat(as_of) if as_of else now.date()
        except ValueError:
            raise fail(f"--as-of {as_of!r}: not a date (YYYY-MM-DD)") from None
        try:
            with transaction(actx.sessions) as session:
                changes = service.evaluate_plans(
                    session, as_of=day, at=now, actor=operator(), store=store_for(actx)
                )
        except ArrearsError as exc:
            raise fail(exc.message) from None
        print_json(
            {
                "as_of": day.isoformat(),
                "changes": [
                    {"plan_id": c.plan_id, "from": c.before, "to": c.after, "waiver_tx_id": c.waiver_tx_id}
                    for c in changes
                ],
            }
        )

    docs = typer.Typer(help="Letters and documents: creditors' letterheads.", no_args_is_help=True)
    app.add_typer(docs, name="documents")

    @docs.command("letterhead")
    def letterhead(
        ctx: typer.Context,
        creditor: Annotated[str, typer.Argument(help="Creditor code.")],
        phone: Annotated[str, typer.Option("--phone", help="Customer service telephone (CN-L1).")],
        email: Annotated[str | None, typer.Option("--email")] = None,
        address_zh: Annotated[str | None, typer.Option("--address-zh")] = None,
        address_en: Annotated[str | None, typer.Option("--address-en")] = None,
        website: Annotated[str | None, typer.Option("--website")] = None,
        repayment_zh: Annotated[
            str | None, typer.Option("--repayment-zh", help="How to repay, in Chinese.")
        ] = None,
        repayment_en: Annotated[
            str | None, typer.Option("--repayment-en", help="How to repay, in English.")
        ] = None,
    ) -> None:
        """Set the creditor's contact details and repayment channels printed on letters."""
        actx = app_context(ctx)
        try:
            with transaction(actx.sessions) as session:
                row = documents.set_letterhead(
                    session, operator(), creditor, phone=phone, at=actx.clock(), email=email,
                    address_zh=address_zh, address_en=address_en, website=website,
                    repayment_zh=repayment_zh, repayment_en=repayment_en,
                )  # fmt: skip
                out = {"creditor": creditor, "phone": row.phone, "email": row.email}
        except ArrearsError as exc:
            raise fail(exc.message) from None
        print_json(out)
