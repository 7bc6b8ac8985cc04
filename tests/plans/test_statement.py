"""Debtor progress feedback (R14): the statement's figures are the ledger's, on demand and after every
payment; kept promises are acknowledged as a document."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from arrears.core.db import transaction
from arrears.core.money import format_major
from arrears.documents.models import Document, Letterhead
from arrears.documents.storage import DocumentStore
from arrears.ledger import service as ledger
from arrears.ledger.models import COMPONENTS
from arrears.plans import feedback, service
from arrears.plans.service import PlanRequest
from arrears.plans.statement import build_statement
from arrears.web.app import create_app
from tests.plans.helpers import account, at
from tests.security.world import World


def _history(w: World) -> dict[str, int]:
    """A1: two payments, one of them reversed, a third, and relief on part of the interest."""
    paid = dict.fromkeys(COMPONENTS, 0)
    with transaction(w.ctx.sessions) as s:
        acc = account(s, w, "A1")
        ledger.adjust(s, acc, "interest", 300_000, reason="interest to date", posted_at=at(2026, 11, 20))
        p1 = ledger.post_payment(
            s, acc, amount=50_000, payment_ref="p1", paid_on=date(2026, 11, 21), posted_at=at(2026, 11, 21)
        )
        p2 = ledger.post_payment(
            s, acc, amount=70_000, payment_ref="p2", paid_on=date(2026, 11, 22), posted_at=at(2026, 11, 22)
        )
        ledger.reverse(s, p2.transaction.id, reason="bounced", posted_at=at(2026, 11, 23))
        p3 = ledger.post_payment(
            s, acc, amount=20_000, payment_ref="p3", paid_on=date(2026, 11, 24), posted_at=at(2026, 11, 24)
        )
        for posting in (p1, p3):
            for c in COMPONENTS:
                paid[c] += posting.allocation.parts[c]
        ledger.waive(s, acc, {"interest": 100_000}, reason="relief", posted_at=at(2026, 11, 25))
    return paid


def test_statement_figures_are_the_ledgers(world: World) -> None:
    paid = _history(world)
    with world.ctx.sessions() as s:
        acc = account(s, world, "A1")
        st = build_statement(s, acc, date(2026, 11, 28))
        assert st.remaining == ledger.replay_balances(s, acc.id) == ledger.Balances.of(acc)
        assert {c: st.paid[c] for c in COMPONENTS} == paid
        assert st.total_paid == 70_000 and st.payments == 2 and st.last_payment_on == date(2026, 11, 24)
        assert st.waived == {"principal": 0, "interest": 100_000, "penalty": 0, "fees": 0}
        assert (
            st.next_source == "overdue"
            and st.next_due == date(2026, 11, 28)
            and st.next_amount == st.remaining.total
        )


def test_statement_api_json_and_pdf(world: World) -> None:
    _history(world)
    client = TestClient(create_app(world.ctx))
    with transaction(world.ctx.sessions) as s:
        service.create_plan(s, world.principal("c_east"), world.cases["A1"],
                            PlanRequest("instalment", "x", count=3, first_due=date(2026, 12, 10)), at=at(2026, 11, 28))  # fmt: skip
    r = client.get("/api/v1/accounts/A1/statement", headers=world.headers("c_east"))
    assert r.status_code == 200, r.text
    body = r.json()
    with world.ctx.sessions() as s:
        acc = account(s, world, "A1")
        bal = ledger.replay_balances(s, acc.id)
        plan = service.plans_of_case(s, world.cases["A1"])[0]
        first = plan.instalments[0].amount
    assert body["remaining"] == {c: format_major(getattr(bal, c), "CNY") for c in COMPONENTS}
    assert body["remaining_total"] == format_major(bal.total, "CNY") and body["total_paid"] == "700.00"
    assert body["next_source"] == "plan" and body["next_due"] == "2026-12-10"
    assert body["next_amount"] == format_major(first, "CNY")
    assert body["plan"]["id"] == plan.id and body["plan"]["status"] == "active"
    assert client.get("/api/v1/accounts/A3/statement", headers=world.headers("c_east")).status_code == 404
    pdf = client.get("/api/v1/accounts/A1/statement?format=pdf&language=zh", headers=world.headers("c_east"))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and b"WenQuanYiMicroHei" in pdf.content
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True
        ).stdout.decode()
        assert "还款进度通知" in text and "下一次应还" in text and "A1" in text


def test_after_every_payment_a_statement_and_plan_follow_up(world: World, docs: DocumentStore) -> None:
    with transaction(world.ctx.sessions) as s:
        acc = account(s, world, "A2")
        owed = service.owed_of(acc)
        plan = service.create_plan(s, world.principal("c_east2"), world.cases["A2"],
                                   PlanRequest("settlement", "offer", total=owed - owed // 20, first_due=date(2026, 12, 1)),
                                   at=at(2026, 11, 28), store=docs).plan  # fmt: skip
    with transaction(world.ctx.sessions) as s:
        acc = account(s, world, "A2")
        posting = ledger.post_payment(
            s,
            acc,
            amount=plan.total,
            payment_ref="settle",
            paid_on=date(2026, 11, 30),
            posted_at=at(2026, 11, 30),
        )
        fb = feedback.after_payment(s, docs, acc, at=at(2026, 11, 30), payment_tx_id=posting.transaction.id)
        assert [(c.plan_id, c.after) for c in fb.plan_changes] == [(plan.id, "completed")]  # type: ignore[attr-defined]
        assert fb.paid_in_full is not None and fb.statement is not None and fb.notes == []
        assert fb.statement.source == "payment" and fb.statement.source_id == posting.transaction.id
        assert acc.status == "paid" and ledger.replay_balances(s, acc.id).owed == 0
    with world.ctx.sessions() as s:
        kinds = s.scalars(
            select(Document.kind).where(Document.account_id == acc.id).order_by(Document.id)
        ).all()
        assert kinds == ["settlement_letter", "paid_in_full", "statement"]


def test_without_a_letterhead_the_hook_follows_plans_and_says_why_no_letter(
    world: World, docs: DocumentStore
) -> None:
    with transaction(world.ctx.sessions) as s:
        s.execute(delete(Letterhead))
    with transaction(world.ctx.sessions) as s:
        acc = account(s, world, "A1")
        ledger.post_payment(
            s, acc, amount=1000, payment_ref="x", paid_on=date(2026, 11, 28), posted_at=at(2026, 11, 28)
        )
        fb = feedback.after_payment(s, docs, acc, at=at(2026, 11, 28))
        assert fb.statement is None and "no contact details for letters" in fb.notes[0]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_kept_promise_acknowledgement_document(world: World, docs: DocumentStore, language: str) -> None:
    with transaction(world.ctx.sessions) as s:
        doc = feedback.promise_kept_ack(
            s, docs, case_id=world.cases["A1"], paid_on=date(2026, 11, 27), amount_paid=50_000,
            promised_on=date(2026, 11, 28), promised_amount=50_000, at=at(2026, 11, 28), language=language, promise_id=7,
        )  # fmt: skip
        assert doc.kind == "promise_ack" and doc.source_id == 7 and doc.language == language
        data = docs.read(doc.storage_key, doc.sha256)
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=data, capture_output=True, check=True
        ).stdout.decode()
        assert ("感谢您信守承诺" in text) if language == "zh" else ("Thank you for keeping your word" in text)
        assert ("500.00 元" in text) if language == "zh" else ("CNY 500.00" in text)
