"""Assignment and hand-over (R17): spells record who held a case when and why, every move is audited;
caps hold (a manager may override), a case sticks with its collector, leave and resignation hand a
collector's cases over by the rules, re-balancing evens out workloads."""

from __future__ import annotations

from sqlalchemy import select

from arrears.cases import service
from arrears.cases.models import CaseAssignment, CollectorProfile
from arrears.core.db import transaction
from arrears.portfolio.models import Case
from arrears.security.models import AuditEvent
from arrears.security.principal import Principal
from tests.cases.conftest import Api, Clock
from tests.security.world import World


def spells(world: World, ref: str) -> list[tuple[str, str, str | None]]:
    with world.ctx.sessions() as s:
        names = {v: k for k, v in world.users.items()}
        rows = s.scalars(
            select(CaseAssignment)
            .where(CaseAssignment.case_id == world.cases[ref])
            .order_by(CaseAssignment.id)
        )
        return [(names[r.user_id], r.reason, r.end_reason) for r in rows]


def holder(world: World, ref: str) -> str | None:
    with world.ctx.sessions() as s:
        uid = s.get(Case, world.cases[ref]).assigned_to  # type: ignore[union-attr]
        return {v: k for k, v in world.users.items()}.get(uid) if uid else None


def assign(api: Api, user: str, ref: str, **body: object) -> object:
    return api.client.post(f"/api/v1/cases/{api.world.cases[ref]}/assign", headers=api.h(user), json=body)


def test_hand_over_history_is_kept_as_spells(api: Api, world: World, clock: Clock) -> None:
    r = assign(
        api, "lead_east", "A1", user_id=world.users["c_east2"], note="c_east trains new staff this week"
    )
    assert r.status_code == 200 and r.json()["changed"] and r.json()["previous"] == world.users["c_east"]  # type: ignore[attr-defined]
    clock.advance(days=3)
    assert assign(api, "manager", "A1", user_id=world.users["c_west"], reason="rebalance").status_code == 200  # type: ignore[attr-defined]
    assert spells(world, "A1") == [
        ("c_east", "initial", "manual"),  # held before spells were kept: recorded when it ended
        ("c_east2", "manual", "rebalance"),
        ("c_west", "rebalance", None),
    ]
    with world.ctx.sessions() as s:
        moves = s.scalars(select(AuditEvent).where(AuditEvent.action == "case.assign")).all()
        assert [(m.actor, m.after["reason"]) for m in moves] == [
            ("lead_east", "manual"),
            ("manager", "rebalance"),
        ]
    history = api.client.get(f"/api/v1/cases/{world.cases['A1']}", headers=api.h("manager")).json()["history"]
    assigned = [h["summary"] for h in history if h["kind"] == "assignment"]
    assert "assigned to c_west (rebalance)" in assigned and "assigned to c_east2 (manual)" in assigned
    # The new holder works it; the old one no longer sees it.
    assert api.client.get(f"/api/v1/cases/{world.cases['A1']}", headers=api.h("c_east")).status_code == 404
    assert api.client.get(f"/api/v1/cases/{world.cases['A1']}", headers=api.h("c_west")).status_code == 200


def test_by_the_rules_the_case_sticks_with_its_available_collector(api: Api, world: World) -> None:
    r = assign(api, "lead_east", "A1")
    assert r.status_code == 200 and r.json() == {  # type: ignore[attr-defined]
        "case_id": world.cases["A1"], "assigned_to": world.users["c_east"], "previous": world.users["c_east"],
        "reason": "kept", "changed": False, "spell_id": None,
    }  # fmt: skip
    assert spells(world, "A1") == []


def test_caps_hold_unless_a_manager_overrides(api: Api, world: World) -> None:
    with transaction(world.ctx.sessions) as s:
        service.set_profile(s, Principal.system(), world.users["c_east2"], now=world.ctx.clock(), max_cases=1)
    r = assign(api, "lead_east", "A1", user_id=world.users["c_east2"])
    assert r.status_code == 409 and "cap 1" in r.json()["message"]  # type: ignore[attr-defined]
    r = assign(api, "lead_east", "A1", user_id=world.users["c_east2"], override_cap=True)
    assert r.status_code == 409  # a lead may not override
    r = assign(api, "manager", "A1", user_id=world.users["c_east2"], override_cap=True)
    assert r.status_code == 200 and holder(world, "A1") == "c_east2"  # type: ignore[attr-defined]


def test_leave_hands_cases_over_by_the_rules_and_the_rules_then_skip_the_absent(
    api: Api, world: World
) -> None:
    with transaction(world.ctx.sessions) as s:
        lead = world.principal("lead_east")
        result = service.hand_over(s, lead, world.users["c_east"], reason="leave", now=world.ctx.clock())
        assert result.moved == {world.cases["A1"]: world.users["c_east2"]}  # the only other in the team
        assert s.get(CollectorProfile, world.users["c_east"]).status == "leave"  # type: ignore[union-attr]
    assert holder(world, "A1") == "c_east2"
    assert spells(world, "A1") == [("c_east", "initial", "leave"), ("c_east2", "leave", None)]
    # Back from leave: cases do not jump back (stickiness with the new holder)
    with transaction(world.ctx.sessions) as s:
        service.set_profile(
            s, Principal.system(), world.users["c_east"], now=world.ctx.clock(), status="active"
        )
    assert assign(api, "lead_east", "A1").json()["reason"] == "kept"  # type: ignore[attr-defined]
    # A lead cannot hand over another team's collector
    with transaction(world.ctx.sessions) as s:
        import pytest

        from arrears.core.errors import NotFound

        with pytest.raises(NotFound):
            service.hand_over(
                s, world.principal("lead_east"), world.users["c_west"], reason="leave", now=world.ctx.clock()
            )


def test_resignation_with_nobody_eligible_leaves_cases_for_a_manager(api: Api, world: World) -> None:
    with transaction(world.ctx.sessions) as s:
        service.set_profile(s, Principal.system(), world.users["c_east2"], now=world.ctx.clock(), max_cases=1)
        result = service.hand_over(s, world.principal("lead_east"), world.users["c_east"], reason="resignation",
                                   now=world.ctx.clock())  # fmt: skip
        assert result.unplaced == [world.cases["A1"]]
    assert holder(world, "A1") is None and spells(world, "A1") == [("c_east", "initial", "resignation")]
    # the manager places it by the rules: A1 is placed with agency AG1, so its staff come first
    with transaction(world.ctx.sessions) as s:
        placed = service.assign_unassigned(s, world.principal("manager"), now=world.ctx.clock())
        assert placed.moved == {world.cases["A1"]: world.users["ag1"]}


def test_assignment_rules_route_by_language_and_skill(api: Api, world: World) -> None:
    from arrears.portfolio.models import Debtor

    with transaction(world.ctx.sessions) as s:
        system = Principal.system()
        service.set_profile(s, system, world.users["c_east2"], now=world.ctx.clock(), languages=["zh"])
        service.set_profile(s, system, world.users["c_west"], now=world.ctx.clock(), languages=["zh", "en"],
                            skills=["english"])  # fmt: skip
        service.add_rule(
            s, system, name="English speakers", now=world.ctx.clock(), language="en", skill="english"
        )
        case = s.get(Case, world.cases["A1"])
        assert case is not None
        s.get(Debtor, world.debtors["A1"]).language = "en"  # type: ignore[union-attr]
        case.assigned_to = None
    with transaction(world.ctx.sessions) as s:
        placed = service.assign_unassigned(s, world.principal("manager"), now=world.ctx.clock())
    assert placed.moved == {world.cases["A1"]: world.users["c_west"]}


def test_rebalance_evens_out_a_team(api: Api, world: World) -> None:
    from tests import factories

    with transaction(world.ctx.sessions) as s:
        for i in range(4):  # c_east now holds five cases, c_east2 one
            acc = factories.account(s, world.ctx, f"R{i}", dpd=15)
            case = s.query(Case).filter_by(account_id=acc.id).one()
            case.assigned_to, case.priority = world.users["c_east"], i
    with transaction(world.ctx.sessions) as s:
        moved = service.rebalance(s, world.principal("lead_east"), now=world.ctx.clock())
    assert len(moved) == 2
    with world.ctx.sessions() as s:
        loads = service.workloads(s)
        assert (loads.of(world.users["c_east"]), loads.of(world.users["c_east2"])) == (3, 3)
        assert loads.of(world.users["c_west"]) == 1  # other teams untouched


def test_the_board_page_hands_over_and_reassigns(world: World, clock: Clock) -> None:
    from fastapi.testclient import TestClient

    from arrears.web.app import create_app
    from tests.cases.test_pages import sign_in

    client = TestClient(create_app(world.ctx), follow_redirects=False)
    token = sign_in(client, "lead_east")
    page = client.get("/board", headers={"accept-language": "en"})
    assert page.status_code == 200 and "Workload" in page.text and "c_east2" in page.text
    r = client.post("/board/assign", data={"csrf_token": token, "case_id": str(world.cases["A1"]),
                                           "user_id": str(world.users["c_east2"])}, headers={"accept-language": "en"})  # fmt: skip
    assert r.status_code == 200 and "is now with c_east2" in r.text
    r = client.post("/board/handover", data={"csrf_token": token, "user_id": str(world.users["c_east2"]),
                                             "reason": "leave"}, headers={"accept-language": "zh-CN"})  # fmt: skip
    assert r.status_code == 200 and "移交" in r.text
    assert holder(world, "A1") == "c_east" and holder(world, "A2") == "c_east"
    refused = client.post("/board/handover", data={"csrf_token": "forged", "user_id": "1", "reason": "leave"})
    assert refused.status_code == 403
