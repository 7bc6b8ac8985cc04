"""Plans and concessions on a real portfolio (R13): authority and maker-checker, settlements waived only
when paid, relief through the ledger, plans followed against ledger payments to completed or broken."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from arrears.core.db import transaction
from arrears.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from arrears.documents.models import Document
from arrears.documents.storage import DocumentStore
from arrears.ledger import service as ledger
from arrears.ledger.models import LedgerTransaction
from arrears.plans import service
from arrears.plans.models import Plan
from arrears.plans.service import PlanRequest
from arrears.security.models import AuditEvent
from tests.plans.helpers import account, add_user, at, case
from tests.security.world import World

NOW = at(2026, 11, 28)


def _plan(w: World, who: str, ref: str, req: PlanRequest, docs: DocumentStore | None = None) -> Plan:
    with transaction(w.ctx.sessions) as s:
        return service.create_plan(s, w.principal(who), w.cases[ref], req, at=NOW, store=docs).plan


def _pay(w: World, ref: str, amount: int, on: date, key: str) -> None:
    with transaction(w.ctx.sessions) as s:
        ledger.post_payment(
            s,
            account(s, w, ref),
            amount=amount,
            payment_ref=key,
            paid_on=on,
            posted_at=at(on.year, on.month, on.day),
        )


def _owed(w: World, ref: str) -> int:
    with w.ctx.sessions() as s:
        return service.owed_of(account(s, w, ref))


def test_a_plan_within_authority_starts_at_once_with_its_letter(world: World, docs: DocumentStore) -> None:
    owed = _owed(world, "A1")
    req = PlanRequest("instalment", "lost job, new job from January", count=4, first_due=date(2026, 12, 10))
    plan = _plan(world, "c_east", "A1", req, docs)
    assert plan.status == "active" and plan.approver_role is None and not plan.exceeded
    assert plan.total == owed and sum(i.amount for i in plan.instalments) == owed
    with world.ctx.sessions() as s:
        letters = s.scalars(select(Document).where(Document.case_id == world.cases["A1"])).all()
        assert [(d.kind, d.language) for d in letters] == [("plan_agreement", "zh")]
        assert docs.read(letters[0].storage_key, letters[0].sha256).startswith(b"%PDF-")
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.entity == "plan")).all()
        assert actions == ["plan.create", "plan.activate"]


def test_above_authority_waits_and_a_lead_approves(world: World) -> None:
    """9 instalments > the collector's 6: the plan waits for a team lead (maker-checker, R13)."""
    req = PlanRequest("instalment", "affordability: 9 months", count=9, first_due=date(2026, 12, 10))
    plan = _plan(world, "c_east", "A1", req)
    assert plan.status == "pending_approval" and plan.approver_role == "team_lead"
    assert [e["limit"] for e in plan.exceeded or []] == ["max_instalments"]
    with transaction(world.ctx.sessions) as s, pytest.raises(Forbidden):  # collectors never approve
        service.approve_plan(s, world.principal("c_east"), plan.id, at=NOW)
    with transaction(world.ctx.sessions) as s:
        assert [p.id for p in service.pending_approvals(s, world.principal("lead_east"))] == [plan.id]
        out = service.approve_plan(s, world.principal("lead_east"), plan.id, at=NOW, note="ok")
        assert out.plan.status == "active" and out.plan.decided_by_name == "lead_east"
    with world.ctx.sessions() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "plan.approve")).one()
        assert ev.actor == "lead_east" and ev.entity_id == str(plan.id) and ev.after["status"] == "active"
        assert service.pending_approvals(s, world.principal("lead_east")) == []


def test_maker_cannot_approve_own_and_a_lead_without_authority_cannot_either(world: World) -> None:
    lead2 = add_user(world, "lead_east2", "team_lead", "east")
    lead_west = add_user(world, "lead_west", "team_lead", "west")
    # A lead's own settlement at 30% off is above a lead's 25%: it needs a manager.
    owed = _owed(world, "A2")
    total = owed - owed * 30 // 100
    req = PlanRequest("settlement", "lump sum offer", total=total, count=1, first_due=date(2026, 12, 5))
    plan = _plan(world, "lead_east", "A2", req)
    assert plan.status == "pending_approval" and plan.approver_role == "manager"
    with transaction(world.ctx.sessions) as s, pytest.raises(Forbidden, match="maker-checker"):
        service.approve_plan(s, world.principal("lead_east"), plan.id, at=NOW)
    with transaction(world.ctx.sessions) as s, pytest.raises(Forbidden, match="authority as team_lead"):
        service.approve_plan(s, lead2, plan.id, at=NOW)
    with transaction(world.ctx.sessions) as s, pytest.raises(NotFound, match=f"plan {plan.id} not found"):
        service.approve_plan(s, lead_west, plan.id, at=NOW)  # another team's case: 404, never 403
    with transaction(world.ctx.sessions) as s:
        assert service.approve_plan(s, world.principal("manager"), plan.id, at=NOW).plan.status == "active"
    with transaction(world.ctx.sessions) as s, pytest.raises(Conflict):
        service.approve_plan(s, world.principal("manager"), plan.id, at=NOW)  # decided already


def test_rejection_needs_a_reason_and_a_second_person(world: World) -> None:
    req = PlanRequest("deferral", "waiting for a bonus", deferred_to=date(2027, 2, 28))  # 92 days > 30
    plan = _plan(world, "c_east", "A1", req)
    assert plan.status == "pending_approval" and plan.approver_role == "manager"  # > a lead's 90 days
    with transaction(world.ctx.sessions) as s, pytest.raises(ValidationFailed):
        service.reject_plan(s, world.principal("lead_east"), plan.id, at=NOW, note=" ")
    with transaction(world.ctx.sessions) as s:
        assert (
            service.reject_plan(s, world.principal("lead_east"), plan.id, at=NOW, note="too long").status
            == "rejected"
        )
    # one payment plan at a time: after the rejection a new one may be made
    _plan(
        world, "c_east", "A1", PlanRequest("deferral", "a shorter deferral", deferred_to=date(2026, 12, 20))
    )
    with pytest.raises(Conflict, match="already has plan"):
        _plan(world, "c_east", "A1", PlanRequest("deferral", "again", deferred_to=date(2026, 12, 21)))


def test_settlement_waives_the_remainder_only_when_paid_in_full(world: World, docs: DocumentStore) -> None:
    owed = _owed(world, "A1")
    total = owed - owed // 20  # 5% off: within a collector's authority
    plan = _plan(world, "c_east", "A1", PlanRequest("settlement", "settle now", total=total, count=2,
                                                   frequency="monthly", first_due=date(2026, 12, 1)), docs)  # fmt: skip
    assert plan.status == "active"
    half = plan.instalments[0].amount
    _pay(world, "A1", half, date(2026, 12, 1), "p1")
    with transaction(world.ctx.sessions) as s:
        acc = account(s, world, "A1")
        assert service.evaluate_account(s, acc, as_of=date(2026, 12, 2), at=at(2026, 12, 2), store=docs) == []
        waivers = s.scalars(select(LedgerTransaction).where(LedgerTransaction.kind == "waiver")).all()
        assert waivers == [] and acc.status == "active"  # half paid: nothing waived
    _pay(world, "A1", total - half, date(2026, 12, 20), "p2")
    with transaction(world.ctx.sessions) as s:
        acc = account(s, world, "A1")
        remainder = ledger.Balances.of(acc).owed
        assert remainder > 0
        changes = service.evaluate_account(s, acc, as_of=date(2026, 12, 21), at=at(2026, 12, 21), store=docs)
        assert [(c.before, c.after) for c in changes] == [("active", "completed")]
        waiver = s.get(LedgerTransaction, changes[0].waiver_tx_id)
        assert waiver is not None and waiver.kind == "waiver" and waiver.amount == remainder
        assert "settlement" in (waiver.reason or "")
        assert acc.status == "paid" and ledger.replay_balances(s, acc.id).owed == 0
        assert case(s, world, "A1").status == "closed"
        kinds = s.scalars(
            select(Document.kind).where(Document.account_id == acc.id).order_by(Document.id)
        ).all()
        assert kinds == ["settlement_letter", "paid_in_full"]


def test_a_broken_settlement_waives_nothing(world: World) -> None:
    owed = _owed(world, "A1")
    plan = _plan(world, "c_east", "A1", PlanRequest("settlement", "offer", total=owed - owed // 20,
                                                   first_due=date(2026, 12, 1), grace_days=3))  # fmt: skip
    _pay(world, "A1", 100_000, date(2026, 12, 1), "part")
    with transaction(world.ctx.sessions) as s:
        acc = account(s, world, "A1")
        assert service.evaluate_account(s, acc, as_of=date(2026, 12, 4), at=at(2026, 12, 4)) == []  # in grace
        changes = service.evaluate_account(s, acc, as_of=date(2026, 12, 5), at=at(2026, 12, 5))
        assert [(c.plan_id, c.after) for c in changes] == [(plan.id, "broken")]
        assert s.scalar(select(LedgerTransaction.id).where(LedgerTransaction.kind == "waiver")) is None
        assert s.get(Plan, plan.id).broken_on == date(2026, 12, 5)  # type: ignore[union-attr]


def test_instalment_plan_completes_on_payments_and_ignores_reversed_ones(world: World) -> None:
    with world.ctx.sessions() as s:
        acc = account(s, world, "A2")
        acc_owed = service.owed_of(acc)
    plan = _plan(
        world,
        "c_east2",
        "A2",
        PlanRequest("instalment", "three months", count=3, first_due=date(2026, 12, 15)),
    )
    assert plan.total == acc_owed
    _pay(world, "A2", plan.total, date(2026, 12, 1), "all")
    with transaction(world.ctx.sessions) as s:
        tx = s.scalar(select(LedgerTransaction).where(LedgerTransaction.payment_ref == "all"))
        assert tx is not None
        ledger.reverse(s, tx.id, reason="bounced", posted_at=at(2026, 12, 2))
    with transaction(world.ctx.sessions) as s:
        prog = service.progress(s, s.get(Plan, plan.id), date(2026, 12, 3))  # type: ignore[arg-type]
        assert prog is not None and prog.paid == 0 and prog.status == "on_track"
    for i, line in enumerate(plan.instalments):
        _pay(world, "A2", line.amount, line.due_date, f"i{i}")
    with transaction(world.ctx.sessions) as s:
        acc = account(s, world, "A2")
        changes = service.evaluate_account(s, acc, as_of=date(2027, 2, 20), at=at(2027, 2, 20))
        assert [(c.after, c.waiver_tx_id) for c in changes] == [
            ("completed", None)
        ]  # no waiver for instalments


def test_relief_waives_penalty_and_interest_through_the_ledger(world: World) -> None:
    _pay(world, "A3", 1, date(2026, 11, 28), "accrue")  # brings the penalty up to date
    with transaction(world.ctx.sessions) as s:
        acc = account(s, world, "A3")
        penalty = acc.penalty
        assert penalty > 0
    with pytest.raises(ValidationFailed, match=r"waive\.principal"):
        _plan(world, "c_west", "A3", PlanRequest("relief", "hardship", waive={"principal": 100}))
    with pytest.raises(ValidationFailed, match="more than"):
        _plan(world, "c_west", "A3", PlanRequest("relief", "hardship", waive={"penalty": penalty + 1}))
    plan = _plan(world, "c_west", "A3", PlanRequest("relief", "hospital bills", waive={"penalty": penalty}))
    assert plan.status == "completed" and plan.waiver_tx_id is not None
    with world.ctx.sessions() as s:
        tx = s.get(LedgerTransaction, plan.waiver_tx_id)
        assert tx is not None and tx.kind == "waiver" and tx.amount == penalty and tx.posted_by == "c_west"
        assert "hospital bills" in (tx.reason or "")
        acc = account(s, world, "A3")
        assert acc.penalty == 0 and ledger.replay_balances(s, acc.id) == ledger.Balances.of(acc)


def test_relief_above_authority_is_granted_only_on_approval(world: World) -> None:
    with transaction(world.ctx.sessions) as s:
        acc = account(s, world, "A1")
        ledger.adjust(s, acc, "interest", 500_000, reason="interest to date", posted_at=NOW)
    plan = _plan(world, "c_east", "A1", PlanRequest("relief", "hardship", waive={"interest": 300_000}))
    assert plan.status == "pending_approval" and plan.waiver_tx_id is None  # 3,000.00 > 2,000.00
    with world.ctx.sessions() as s:
        assert account(s, world, "A1").interest == 500_000
    with transaction(world.ctx.sessions) as s:
        done = service.approve_plan(s, world.principal("lead_east"), plan.id, at=NOW).plan
        assert done.status == "completed" and account(s, world, "A1").interest == 200_000


def test_collectors_cannot_plan_cases_that_are_not_theirs(world: World) -> None:
    req = PlanRequest("instalment", "x", count=2, first_due=date(2026, 12, 10))
    with pytest.raises(NotFound, match=f"case {world.cases['A3']} not found"):
        _plan(world, "c_east", "A3", req)
    with pytest.raises(NotFound):
        _plan(world, "c_east", "A2", req)  # a teammate's case
    with pytest.raises(Forbidden):
        _plan(world, "qc", "A1", req)


def test_per_creditor_limits_change_who_may_grant(world: World) -> None:
    text = """
creditors:
  BANK1:
    collector: {max_discount_bps: 0, max_instalments: 2, max_waiver_minor: 0, max_deferral_days: 10}
"""
    with transaction(world.ctx.sessions) as s, pytest.raises(ValidationFailed, match="limits must rise"):
        service.load_limits(
            s,
            world.principal("manager"),
            text.replace("max_instalments: 2", "max_instalments: 99"),
            "x.yaml",
            at=NOW,
        )
    with transaction(world.ctx.sessions) as s:
        assert service.load_limits(s, world.principal("manager"), text, "bank1.yaml", at=NOW) == {"BANK1": 4}
    plan = _plan(world, "c_east", "A1", PlanRequest("instalment", "x", count=3, first_due=date(2026, 12, 1)))
    assert plan.status == "pending_approval"  # 3 > 2 for this creditor now
    with transaction(world.ctx.sessions) as s, pytest.raises(Forbidden):
        service.load_limits(s, world.principal("c_east"), text, "bank1.yaml", at=NOW)


def test_input_is_checked_against_the_account(world: World) -> None:
    owed = _owed(world, "A1")
    cases = [
        (
            PlanRequest("instalment", "x", total=owed - 1, count=2, first_due=date(2026, 12, 1)),
            "use a settlement",
        ),
        (PlanRequest("settlement", "x", total=owed, first_due=date(2026, 12, 1)), "below the amount owed"),
        (
            PlanRequest("instalment", "x", count=2, first_due=date(2026, 11, 1)),
            "first_due: must not be in the past",
        ),
        (PlanRequest("deferral", "x"), "deferred_to"),
        (PlanRequest("instalment", " ", count=2, first_due=date(2026, 12, 1)), "reason"),
        (
            PlanRequest("settlement", "x", total=owed * 4 // 10, first_due=date(2026, 12, 1)),
            "beyond every approver",
        ),
    ]
    for req, message in cases:
        with pytest.raises(ValidationFailed, match=message):
            _plan(world, "c_east", "A1", req)
