"""Promises to pay through the API: kept when the payments reach the amount (an acknowledgement is
generated, R14), broken after the grace (the case returns to the top of the queue until the next
contact), partly kept, re-opened when the payment is reversed; bad promises are refused."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from typer.testing import CliRunner

from arrears.cases.models import Acknowledgement, Promise
from arrears.core.db import transaction
from arrears.ledger import service as ledger
from arrears.security.models import AuditEvent
from tests.cases.conftest import Api, Clock
from tests.conftest import FIXED_NOW
from tests.security.world import World


def promise(api: Api, ref: str, amount: str, due: str, user: str = "c_east") -> dict[str, object]:
    r = api.client.post(
        f"/api/v1/cases/{api.world.cases[ref]}/promises",
        headers=api.h(user),
        json={"amount": amount, "due_date": due},
    )
    assert r.status_code == 201, r.text
    return r.json()


def pay(
    api: Api, ref: str, amount: str, key: str, user: str = "c_east", paid_on: str | None = None
) -> dict[str, object]:
    body = {"amount": amount} | ({"paid_on": paid_on} if paid_on else {})
    r = api.client.post(
        f"/api/v1/accounts/{ref}/payments", headers=api.h(user, **{"Idempotency-Key": key}), json=body
    )
    assert r.status_code == 201, r.text
    return r.json()


def status_of(world: World, promise_id: object) -> tuple[str, int]:
    with world.ctx.sessions() as s:
        p = s.get(Promise, promise_id)
        assert p is not None
        return p.status, p.paid_amount


def test_a_promise_is_kept_by_payments_and_acknowledged(api: Api, world: World, clock: Clock) -> None:
    p = promise(api, "A1", "500.00", "2026-12-01")
    assert (p["status"], p["grace_days"], p["promised_on"]) == ("open", 2, "2026-11-28")
    clock.advance(days=1)
    pay(api, "A1", "200.00", "pay-1")
    assert status_of(world, p["id"]) == ("open", 20_000)
    clock.advance(days=1)
    pay(api, "A1", "300.00", "pay-2")
    assert status_of(world, p["id"]) == ("kept", 50_000)
    with world.ctx.sessions() as s:
        ack = s.scalars(select(Acknowledgement)).one()
        assert (ack.promise_id, ack.kind, ack.status, ack.language) == (
            p["id"],
            "promise_kept",
            "generated",
            "zh",
        )
        assert "500.00" in ack.body and "A1" in ack.body
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "promise.evaluate")).all()
        assert ev[-1].after["status"] == "kept"
    case = api.client.get(f"/api/v1/cases/{world.cases['A1']}", headers=api.h("c_east")).json()
    assert case["promises"][0]["status"] == "kept" and case["assessment"]["willingness"] == "high"
    kinds = [h["kind"] for h in case["history"]]
    assert {"promise", "promise_result", "payment", "acknowledgement"} <= set(kinds)


def test_a_broken_promise_returns_the_case_to_the_top_of_the_queue(
    api: Api, world: World, clock: Clock
) -> None:
    # c_east holds A1 and, for this test, A2 (priority above A1's)
    assign = api.client.post(
        f"/api/v1/cases/{world.cases['A2']}/assign",
        headers=api.h("lead_east"),
        json={"user_id": world.users["c_east"]},
    )
    assert assign.status_code == 200
    with transaction(world.ctx.sessions) as s:
        from arrears.portfolio.models import Case

        s.get(Case, world.cases["A2"]).priority = 500  # type: ignore[union-attr]
        s.get(Case, world.cases["A1"]).priority = 100  # type: ignore[union-attr]
    p = promise(api, "A1", "500.00", "2026-11-30")  # grace 2 days: broken from 2026-12-03
    queue = api.client.get("/api/v1/queue", headers=api.h("c_east")).json()
    assert [i["account_ref"] for i in queue["items"]] == ["A2", "A1"]
    clock.set(FIXED_NOW + timedelta(days=2))  # 2026-11-30: due today
    queue = api.client.get("/api/v1/queue", headers=api.h("c_east")).json()
    assert [(i["account_ref"], i["why"]) for i in queue["items"]] == [
        ("A1", "promise_due"),
        ("A2", "expected_recovery"),
    ]
    clock.set(FIXED_NOW + timedelta(days=4))  # 2026-12-02: within the grace, still open
    assert status_of(world, p["id"]) == ("open", 0)
    assert api.client.get("/api/v1/queue", headers=api.h("c_east")).json()["items"][0]["account_ref"] == "A2"
    clock.set(FIXED_NOW + timedelta(days=5))  # 2026-12-03: broken
    queue = api.client.get("/api/v1/queue", headers=api.h("c_east")).json()
    assert [(i["account_ref"], i["why"]) for i in queue["items"]] == [
        ("A1", "broken_promise"),
        ("A2", "expected_recovery"),
    ]
    assert status_of(world, p["id"]) == ("broken", 0)
    case = api.client.get(f"/api/v1/cases/{world.cases['A1']}", headers=api.h("c_east")).json()
    assert case["assessment"]["willingness"] == "low"
    clock.advance(minutes=10)  # the collector follows up: the case goes back to its place
    assert api.call("c_east", "A1", "no_answer").status_code == 201
    queue = api.client.get("/api/v1/queue", headers=api.h("c_east")).json()
    assert [(i["account_ref"], i["why"]) for i in queue["items"]] == [
        ("A2", "expected_recovery"),
        ("A1", "expected_recovery"),
    ]


def test_partly_kept_after_the_grace_and_a_reversal_reopens(api: Api, world: World, clock: Clock) -> None:
    p = promise(api, "A1", "500.00", "2026-11-29")
    pay(api, "A1", "100.00", "part")
    clock.set(FIXED_NOW + timedelta(days=4))  # 2026-12-02 > 11-29 + 2
    api.client.get("/api/v1/queue", headers=api.h("c_east"))
    assert status_of(world, p["id"]) == ("partly_kept", 10_000)

    q = promise(api, "A1", "50.00", "2026-12-04")
    tx = pay(api, "A1", "50.00", "full")
    assert status_of(world, q["id"]) == ("kept", 5_000)
    with transaction(world.ctx.sessions) as s:  # the payment bounces
        ledger.reverse(s, int(tx["transaction_id"]), reason="cheque returned", posted_at=world.ctx.clock())
    from arrears.cases.service import evaluate_promises

    with transaction(world.ctx.sessions) as s:
        evaluate_promises(s, as_of=(FIXED_NOW + timedelta(days=4)).date(), now=world.ctx.clock())
    assert status_of(world, q["id"]) == ("open", 0)


def test_bad_promises_are_refused_with_the_field(api: Api, world: World) -> None:
    url = f"/api/v1/cases/{world.cases['A1']}/promises"
    cases = [
        ({"amount": "20000.00", "due_date": "2026-12-01"}, "more than"),  # A1 owes 10000.00
        ({"amount": "0", "due_date": "2026-12-01"}, "positive"),
        ({"amount": "10.001", "due_date": "2026-12-01"}, "decimals"),
        ({"amount": "10.00", "due_date": "2026-11-27"}, "past"),
        ({"amount": "10.00", "due_date": "2027-06-01"}, "90 days"),
        ({"amount": "ten", "due_date": "2026-12-01"}, "body.amount"),
    ]
    for body, words in cases:
        r = api.client.post(url, headers=api.h("c_east"), json=body)
        assert r.status_code == 422 and words in r.json()["message"], (body, r.text)


def test_the_cli_evaluates_promises(api: Api, world: World, clock: Clock) -> None:
    p = promise(api, "A1", "500.00", "2026-11-28")
    from arrears.cli import app

    runner = CliRunner()
    args = ["--db", world.ctx.database_url, "cases", "evaluate-promises", "--as-of", "2026-12-01", "--json"]
    import os

    env = {**os.environ, "ARREARS_KEY_FILE": str(world.ctx.key_file)}
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert '"broken": 1' in result.output
    assert status_of(world, p["id"]) == ("broken", 0)
    bad = runner.invoke(
        app, ["--db", world.ctx.database_url, "cases", "evaluate-promises", "--as-of", "soon"], env=env
    )
    assert bad.exit_code != 0
