"""The nightly batch row by row through the ORM: the reference the columnar batch is checked and
timed against (R4, R6, R9).

`baseline_day` accrues, ages, keeps bucket spells, builds features, applies the scalar strategy rules
and the scalar guard for each planned contact, and writes the plan and the case — one account at a
time, as a naive implementation would. Run on the same portfolio for the same days, it must leave
the same state as `arrears.strategy.batch.run_batch`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from datetime import time as dtime
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select

from arrears.core.context import AppContext
from arrears.core.db import transaction


def baseline_day(ctx: AppContext, as_of: date) -> None:
    """The same batch, one account at a time through the ORM (what a naive implementation does)."""
    from arrears.compliance.guard import ContactHistory, Guard, ProposedContact
    from arrears.compliance.guard import ContactPoint as GuardPoint
    from arrears.compliance.packs import load_pack
    from arrears.ledger import service as ledger
    from arrears.portfolio import ageing
    from arrears.portfolio.models import Account, BucketHistory, Case, ContactPoint, Creditor, Debtor
    from arrears.strategy import rules
    from arrears.strategy.batch import BatchRun
    from arrears.strategy.models import PlannedContact, TreatmentSpell
    from arrears.strategy.service import active_strategy

    now = ctx.clock()
    guards: dict[str, Guard] = {}
    with transaction(ctx.sessions) as s:
        strategy = active_strategy(s.connection())
        run = BatchRun(as_of=as_of, engine="baseline", status="running", started_at=now)
        s.add(run)
        s.flush()
        for acct in s.scalars(select(Account).where(Account.status == "active").order_by(Account.id)):
            ledger.accrue_through(s, acct, as_of, posted_at=now)
            dpd = ageing.days_past_due(
                as_of,
                total_balance=ledger.Balances.of(acct).owed,
                overdue_since=acct.overdue_since,
                principal_outstanding=acct.principal,
                schedule=ledger.schedule_of(s, acct),
            )
            bucket = ageing.bucket_for(dpd)
            spell = s.scalar(
                select(BucketHistory).where(
                    BucketHistory.account_id == acct.id, BucketHistory.left_on.is_(None)
                )
            )
            if spell is None or spell.bucket != bucket:
                if spell is not None:
                    spell.left_on = as_of
                s.add(BucketHistory(account_id=acct.id, bucket=bucket, entered_on=as_of))
            acct.days_past_due, acct.bucket, acct.aged_as_of = dpd, bucket, as_of
            case = s.scalar(select(Case).where(Case.account_id == acct.id, Case.status == "open"))
            creditor = s.get(Creditor, acct.creditor_id)
            assert creditor is not None
            balance = acct.principal + acct.interest + acct.penalty + acct.fees
            score = float(np.round(1.0 / (1.0 + np.exp(-(0.6 - 0.03 * dpd))), 6))  # the batch's prior
            feats = {
                "account_ref": acct.account_ref,
                "creditor": creditor.code,
                "product": acct.product,
                "bucket": bucket,
                "days_past_due": dpd,
                "balance_major": balance / 100,
                "score": score,
                "ability": case.ability if case else "unknown",
                "willingness": case.willingness if case else "unknown",
                "flags": case.flags if case else None,
            }
            seg = rules.select_segment(strategy, feats)
            arm = rules.assign_arm(strategy, seg, acct.account_ref)
            state = s.scalar(
                select(TreatmentSpell).where(
                    TreatmentSpell.account_id == acct.id, TreatmentSpell.left_on.is_(None)
                )
            )
            if state is None or state.segment != seg.id or state.arm != arm.id:
                if state is not None:
                    state.left_on = as_of
                state = TreatmentSpell(
                    account_id=acct.id,
                    strategy=strategy.key,
                    segment=seg.id,
                    arm=arm.id,
                    path=arm.path,
                    entered_on=as_of,
                )
                s.add(state)
            action = rules.todays_action(strategy.path(arm.path), (as_of - state.entered_on).days, feats)
            priority = float(np.round(score * float(balance), 4))
            if action is not None:
                allowed, why = True, None
                step = action.step
                if action.action == "contact" and step is not None:
                    debtor = s.get(Debtor, acct.debtor_id)
                    assert debtor is not None
                    kind = {"email": "email", "letter": "address", "visit": "address"}.get(
                        step.channel, "phone"
                    )
                    point = s.scalar(
                        select(ContactPoint)
                        .where(
                            ContactPoint.debtor_id == acct.debtor_id,
                            ContactPoint.kind == kind,
                            ContactPoint.third_party_id.is_(None),
                            ContactPoint.status == "active",
                        )
                        .order_by(ContactPoint.id)
                        .limit(1)
                    )
                    if point is None:
                        allowed, why = False, "NO-CONTACT-POINT"
                    else:
                        zone = point.timezone or debtor.timezone
                        hh, mm = step.window[0].split(":")
                        at = datetime.combine(as_of, dtime(int(hh), int(mm)), ZoneInfo(zone)).astimezone(UTC)
                        guard = guards.get(creditor.rule_pack) or guards.setdefault(
                            creditor.rule_pack, Guard(load_pack(creditor.rule_pack))
                        )
                        decision = guard.decide(
                            ProposedContact(
                                at=at,
                                account=acct.account_ref,
                                person=str(acct.debtor_id),
                                party="debtor",
                                channel=step.channel,
                                contact=GuardPoint(ctx.keys.decrypt(point.value_enc), kind, zone),
                            ),
                            ContactHistory(),
                        )
                        allowed, why = decision.allowed, ",".join(decision.rules) or None
                s.add(
                    PlannedContact(
                        batch_run_id=run.id,
                        as_of=as_of,
                        account_id=acct.id,
                        strategy=strategy.key,
                        segment=seg.id,
                        arm=arm.id,
                        path=arm.path,
                        step_no=action.step_no,
                        action=action.action,
                        channel=step.channel if step else None,
                        template=step.template if step else None,
                        tone=step.tone if step else None,
                        window_start=step.window[0] if step else None,
                        window_end=step.window[1] if step else None,
                        allowed=allowed,
                        rules=why,
                        priority=priority,
                    )
                )
            if case is not None:
                case.score, case.score_source, case.priority = score, "prior:dpd-logistic", priority
            s.flush()
        run.status = "succeeded"
