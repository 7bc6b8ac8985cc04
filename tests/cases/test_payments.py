"""POST /accounts/{ref}/payments with an Idempotency-Key: the same key twice is one posting with the same
answer; the key used for a different payment is a conflict; bad input names the field."""

from __future__ import annotations

from sqlalchemy import func, select

from arrears.ledger.models import LedgerTransaction
from arrears.portfolio.models import Account
from arrears.security.models import AuditEvent
from tests.cases.conftest import Api
from tests.security.world import World


def payments(world: World) -> int:
    with world.ctx.sessions() as s:
        return int(s.scalar(select(func.count()).where(LedgerTransaction.kind == "payment")) or 0)


def test_the_same_key_twice_is_one_posting_and_the_same_answer(api: Api, world: World) -> None:
    h = api.h("c_east", **{"Idempotency-Key": "bank-ref-20261128-001"})
    first = api.client.post("/api/v1/accounts/A1/payments", headers=h, json={"amount": "1200.50"})
    after_first = total_of(world, "A1")
    again = api.client.post("/api/v1/accounts/A1/payments", headers=h, json={"amount": "1200.50"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert "idempotent-replayed" not in first.headers and again.headers["idempotent-replayed"] == "true"
    body = first.json()
    assert body["payment_ref"] == "bank-ref-20261128-001" and body["amount"] == "1200.50"
    parts = body["allocation"]
    assert sum(int(v.replace(".", "")) for v in parts.values()) == 120_050
    assert payments(world) == 1 and total_of(world, "A1") == after_first  # the replay changed nothing
    with world.ctx.sessions() as s:
        audits = s.scalars(select(AuditEvent).where(AuditEvent.action == "payment.post")).all()
        assert len(audits) == 1 and audits[0].actor == "c_east"


def total_of(world: World, ref: str) -> int:
    with world.ctx.sessions() as s:
        acc = s.scalar(select(Account).where(Account.account_ref == ref))
        assert acc is not None
        return acc.total


def test_a_key_reused_for_another_payment_is_a_conflict(api: Api, world: World) -> None:
    h = api.h("lead_east", **{"Idempotency-Key": "k-1"})
    assert (
        api.client.post("/api/v1/accounts/A1/payments", headers=h, json={"amount": "10.00"}).status_code
        == 201
    )
    r = api.client.post("/api/v1/accounts/A1/payments", headers=h, json={"amount": "11.00"})
    assert r.status_code == 409 and "k-1" in r.json()["message"]
    r = api.client.post("/api/v1/accounts/A2/payments", headers=h, json={"amount": "10.00"})
    assert r.status_code == 409
    assert payments(world) == 1


def test_bad_payments_name_the_field(api: Api, world: World) -> None:
    url = "/api/v1/accounts/A1/payments"
    r = api.client.post(url, headers=api.h("c_east"), json={"amount": "10.00"})
    assert r.status_code == 422 and "idempotency-key" in r.json()["message"].lower()
    key = {"Idempotency-Key": "x1"}
    for body, words in (
        ({"amount": "-5"}, "body.amount"),
        ({"amount": "0.00"}, "positive"),
        ({"amount": "5.00", "paid_on": "2026-12-25"}, "future"),
    ):
        r = api.client.post(url, headers=api.h("c_east", **key), json=body)
        assert r.status_code == 422 and words in r.json()["message"], (body, r.text)
    r = api.client.post(
        "/api/v1/accounts/A3/payments", headers=api.h("c_east", **key), json={"amount": "5.00"}
    )
    assert r.status_code == 404
    r = api.client.post(url, headers=api.h("qc", **key), json={"amount": "5.00"})
    assert r.status_code == 403
    assert payments(world) == 0


def test_a_payment_in_full_closes_the_case(api: Api, world: World) -> None:
    detail = api.client.get(f"/api/v1/cases/{world.cases['A1']}", headers=api.h("c_east")).json()
    # the shown balance is before today's penalty accrual; pay a round amount above it
    total = int(detail["balances"]["total"].replace(".", "")) + 100_000
    amount = f"{total // 100}.{total % 100:02d}"
    r = api.client.post(
        "/api/v1/accounts/A1/payments",
        headers=api.h("c_east", **{"Idempotency-Key": "all"}),
        json={"amount": amount},
    )
    assert (
        r.status_code == 201 and r.json()["allocation"]["credit"] != "0.00"
    )  # the rest is the debtor's credit
    after = api.client.get(f"/api/v1/cases/{world.cases['A1']}", headers=api.h("manager")).json()
    assert after["status"] == "closed" and after["close_reason"] == "paid"
    assert api.client.get("/api/v1/queue", headers=api.h("c_east")).json()["items"] == []
