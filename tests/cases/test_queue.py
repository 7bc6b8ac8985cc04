"""GET /queue: callbacks and promises due today first, then broken promises, then expected recovery
(cases.priority); a case the guard would block for its next contact now is never in the order — it is
listed apart with its rule ids."""

from __future__ import annotations

from sqlalchemy.orm import Session

from arrears.core.context import AppContext
from arrears.core.db import transaction
from arrears.portfolio.models import Case, ContactPoint, Debtor
from tests import factories
from tests.cases.conftest import Api, Clock
from tests.security.world import World


def add_case(s: Session, ctx: AppContext, world: World, ref: str, priority: float, phone: str) -> int:
    acc = factories.account(s, ctx, ref, dpd=20)
    case = s.query(Case).filter_by(account_id=acc.id).one()
    case.assigned_to, case.priority = world.users["c_east"], priority
    debtor = s.get(Debtor, acc.debtor_id)
    assert debtor is not None
    s.add(
        ContactPoint(
            debtor_id=debtor.id, kind="phone", label="mobile", value_enc=ctx.keys.encrypt(phone),
            value_bidx=ctx.keys.blind_index("phone", phone), timezone="Asia/Shanghai", created_at=ctx.clock(),
        )
    )  # fmt: skip
    s.flush()
    world.cases[ref] = case.id
    world.contact_points[ref] = s.query(ContactPoint).filter_by(debtor_id=debtor.id).one().id
    return case.id


def test_queue_order(api: Api, world: World, clock: Clock) -> None:
    ctx = world.ctx
    with transaction(ctx.sessions) as s:
        s.get(Case, world.cases["A1"]).priority = 10  # type: ignore[union-attr]
        for i, (ref, prio) in enumerate(
            [
                ("Q-HIGH", 900),
                ("Q-MID", 500),
                ("Q-CALLBACK", 1),
                ("Q-PROMISE", 2),
                ("Q-BROKEN", 3),
                ("Q-DISPUTE", 5000),
            ]
        ):
            add_case(s, ctx, world, ref, prio, f"1391111000{i}")
    # Yesterday: a callback asked for this afternoon, a promise due today, one due yesterday and broken,
    # a dispute (the account is on hold). Contacts are logged at the time they happened.
    clock.set(clock.at.replace(day=27, hour=2))  # 2026-11-27 10:00 in Shanghai
    r = api.call("c_east", "Q-CALLBACK", "right_party_contact", callback_at="2026-11-28T08:00:00+00:00")
    assert r.status_code == 201
    assert api.call("c_east", "Q-PROMISE", "promise_to_pay").status_code == 201
    assert api.client.post(
        f"/api/v1/cases/{world.cases['Q-PROMISE']}/promises", headers=api.h("c_east"),
        json={"amount": "100.00", "due_date": "2026-11-28"},
    ).status_code == 201  # fmt: skip
    r = api.call("c_east", "Q-BROKEN", "promise_to_pay", at="2026-11-21T02:00:00+00:00")
    assert r.status_code == 201, r.text
    with transaction(ctx.sessions) as s:  # a promise made a week ago, due 11-24, broken after the grace
        from datetime import date

        from arrears.cases.models import Promise

        s.add(
            Promise(
                case_id=world.cases["Q-BROKEN"], account_id=s.get(Case, world.cases["Q-BROKEN"]).account_id,  # type: ignore[union-attr]
                amount=10_000, currency="CNY", promised_on=date(2026, 11, 20), due_date=date(2026, 11, 24),
                grace_days=2, status="open", paid_amount=0, created_by_name="c_east", created_at=clock.at,
            )
        )  # fmt: skip
    assert api.call("c_east", "Q-DISPUTE", "dispute").status_code == 201
    clock.set(clock.at.replace(day=28, hour=1))  # 2026-11-28 09:00 in Shanghai

    queue = api.client.get("/api/v1/queue", headers=api.h("c_east")).json()
    order = [(i["account_ref"], i["why"]) for i in queue["items"]]
    assert order == [
        ("Q-CALLBACK", "callback_due"),
        ("Q-PROMISE", "promise_due"),
        ("Q-BROKEN", "broken_promise"),
        ("Q-HIGH", "expected_recovery"),
        ("Q-MID", "expected_recovery"),
        ("A1", "expected_recovery"),
    ]
    assert [i["position"] for i in queue["items"]] == [1, 2, 3, 4, 5, 6]
    assert queue["items"][0]["callback_at"].startswith("2026-11-28T08:00")
    assert [(b["account_ref"], b["rules"]) for b in queue["blocked"]] == [("Q-DISPUTE", ["CN-H1"])]
    assert queue["total"] == 6 and queue["as_of"] == "2026-11-28"
    assert all(i["next_contact"]["channel"] == "call" for i in queue["items"])

    # Working the callback takes it off the top.
    assert api.call("c_east", "Q-CALLBACK", "no_answer").status_code == 201
    queue = api.client.get("/api/v1/queue", headers=api.h("c_east")).json()
    assert [i["account_ref"] for i in queue["items"]][:3] == ["Q-PROMISE", "Q-BROKEN", "Q-HIGH"]
    assert queue["items"][-1]["account_ref"] == "Q-CALLBACK"  # priority 1 is the lowest


def test_at_night_every_case_is_listed_apart(api: Api, world: World, clock: Clock) -> None:
    clock.set(clock.at.replace(hour=15))  # 23:00 in Shanghai
    queue = api.client.get("/api/v1/queue", headers=api.h("c_east")).json()
    assert queue["items"] == [] and [b["rules"] for b in queue["blocked"]] == [["CN-T1"]]
    assert queue["blocked"][0]["reasons"][0]["en"].startswith("No collection contact")


def test_a_case_with_a_pending_callback_to_a_third_party_is_checked_on_that_number(
    api: Api, world: World, clock: Clock
) -> None:
    # The debtor is unreachable after three tries; the collector arranges to call the emergency contact back.
    from sqlalchemy import select

    with world.ctx.sessions() as s:
        tp_point = s.scalar(
            select(ContactPoint.id).where(ContactPoint.third_party_id == world.third_parties["A1"])
        )
    for hour in (1, 2, 3):
        assert api.call("c_east", "A1", "no_answer", at=f"2026-11-28T0{hour}:00:00+00:00").status_code == 201
    r = api.contact(
        "c_east", world.cases["A1"], channel="call", contact_point_id=tp_point, outcome="third_party",
        callback_at="2026-11-28T09:00:00+00:00", at="2026-11-28T04:00:00+00:00",
    )  # fmt: skip
    assert r.status_code == 201
    item = api.client.get("/api/v1/queue", headers=api.h("c_east")).json()["items"][0]
    assert item["why"] == "callback_due" and item["next_contact"]["contact_point_id"] == tp_point
