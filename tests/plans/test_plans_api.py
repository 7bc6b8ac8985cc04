"""The plans API and the lead's approvals inbox (R13, R16): a collector's plan above authority, approved
by the lead; affordability's worked example through HTTP; out-of-scope cases are 404."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from arrears.web.app import create_app
from arrears.web.pages import COOKIE
from tests.plans.helpers import add_user
from tests.security.world import PASSWORD, World

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def test_plan_above_authority_is_approved_by_the_lead(world: World) -> None:
    client = TestClient(create_app(world.ctx))
    c, lead = world.headers("c_east"), world.headers("lead_east")
    case_id = world.cases["A1"]
    r = client.post(
        f"/api/v1/cases/{case_id}/plans",
        headers=c,
        json={
            "kind": "settlement",
            "reason": "one payment, 15% off",
            "total": "8500.00",
            "first_due": "2026-12-05",
        },
    )
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["status"] == "pending_approval" and plan["approver_role"] == "team_lead"
    assert plan["discount"] == "1500.00" and plan["concession"]["discount_pct"] == "15.00"
    assert [(e["limit"], e["requested"], e["allowed"]) for e in plan["exceeded"]] == [
        ("max_discount_bps", "15.00%", "10.00%")
    ]
    assert plan["schedule"] == [
        {"seq": 1, "due_date": "2026-12-05", "amount": "8500.00", "paid": "0.00", "state": "open"}
    ]
    assert client.post(f"/api/v1/plans/{plan['id']}/approve", headers=c).status_code == 403
    inbox = client.get("/api/v1/approvals/plans", headers=lead).json()
    assert [p["id"] for p in inbox] == [plan["id"]]
    r = client.post(
        f"/api/v1/plans/{plan['id']}/approve", headers=lead, json={"note": "fair offer", "language": "en"}
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert (
        done["status"] == "active"
        and done["decided_by"] == "lead_east"
        and done["decision_note"] == "fair offer"
    )
    letter = client.get(f"/api/v1/documents/{done['letter_document_id']}", headers=c)
    assert letter.status_code == 200 and letter.content.startswith(b"%PDF-")
    assert client.get(f"/api/v1/plans/{plan['id']}", headers=c).json()["status"] == "active"
    assert [p["id"] for p in client.get(f"/api/v1/cases/{case_id}/plans", headers=c).json()] == [plan["id"]]
    r = client.post(f"/api/v1/plans/{plan['id']}/approve", headers=world.headers("manager"))
    assert r.status_code == 409


def test_lead_cannot_decide_own_plan_and_rejection_needs_a_note(world: World) -> None:
    client = TestClient(create_app(world.ctx))
    lead = world.headers("lead_east")
    r = client.post(
        f"/api/v1/cases/{world.cases['A2']}/plans",
        headers=lead,
        json={"kind": "instalment", "reason": "long plan", "count": 24, "first_due": "2026-12-10"},
    )
    assert r.status_code == 201 and r.json()["approver_role"] == "manager"
    pid = r.json()["id"]
    r = client.post(f"/api/v1/plans/{pid}/approve", headers=lead)
    assert r.status_code == 403 and "maker-checker" in r.json()["message"]
    assert (
        client.post(f"/api/v1/plans/{pid}/reject", headers=world.headers("manager"), json={}).status_code
        == 422
    )
    r = client.post(
        f"/api/v1/plans/{pid}/reject", headers=world.headers("manager"), json={"note": "too long"}
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected"


def test_affordability_worked_example_proposes_a_plan(world: World) -> None:
    client = TestClient(create_app(world.ctx))
    c = world.headers("c_east")
    r = client.post(
        f"/api/v1/cases/{world.cases['A1']}/affordability",
        headers=c,
        json={
            "monthly_income": "8000.00",
            "monthly_expenses": "3500.00",
            "other_debt_payments": "500.00",
            "dependants": 2,
        },
    )
    assert r.status_code == 201, r.text
    a = r.json()
    assert (a["owed"], a["disposable"], a["capacity"], a["ability"]) == (
        "10000.00",
        "2400.00",
        "1200.00",
        "high",
    )
    p = a["proposal"]
    assert p["kind"] == "instalment" and p["count"] == 9 and p["instalment_amount"] == "1111.11"
    assert [s["amount"] for s in p["schedule"]][-2:] == ["1111.11", "1111.12"]
    assert p["within_authority"] is False and p["approver_role"] == "team_lead"  # 9 > a collector's 6
    r = client.post(
        f"/api/v1/cases/{world.cases['A1']}/plans",
        headers=c,
        json={"kind": p["kind"], "reason": "affordability", "count": p["count"], "first_due": p["first_due"],
              "affordability_id": a["id"]},
    )  # fmt: skip
    assert r.status_code == 201 and r.json()["status"] == "pending_approval"
    assert [s["amount"] for s in r.json()["schedule"]] == [s["amount"] for s in p["schedule"]]


def test_out_of_scope_is_404_and_bad_input_names_the_field(world: World) -> None:
    client = TestClient(create_app(world.ctx))
    c = world.headers("c_east")
    other = world.cases["A3"]
    body = {"kind": "instalment", "reason": "x", "count": 2, "first_due": "2026-12-10"}
    assert client.post(f"/api/v1/cases/{other}/plans", headers=c, json=body).status_code == 404
    assert client.get(f"/api/v1/cases/{other}/plans", headers=c).status_code == 404
    means = {"monthly_income": "1.00", "monthly_expenses": "1.00"}
    assert client.post(f"/api/v1/cases/{other}/affordability", headers=c, json=means).status_code == 404
    r = client.post(f"/api/v1/cases/{other}/plans", headers=world.headers("c_west"), json=body)
    assert r.status_code == 201
    pid = r.json()["id"]
    r = client.get(f"/api/v1/plans/{pid}", headers=c)
    assert r.status_code == 404 and r.json()["message"] == f"plan {pid} not found"
    assert client.get("/api/v1/plans/987654", headers=c).json()["message"] == "plan 987654 not found"
    mine = world.cases["A1"]
    r = client.post(
        f"/api/v1/cases/{mine}/plans", headers=c, json={**body, "kind": "settlement", "total": "10.001"}
    )
    assert r.status_code == 422 and r.json()["details"][0]["field"] == "body.total"
    r = client.post(f"/api/v1/cases/{mine}/plans", headers=c, json={**body, "first_due": "2025-01-01"})
    assert r.status_code == 422 and "first_due" in r.json()["message"]
    r = client.post(f"/api/v1/cases/{mine}/plans", headers=c, json={**body, "first_due": "9999-12-31"})
    assert r.status_code == 422
    r = client.post(f"/api/v1/cases/{mine}/plans", headers=world.headers("qc"), json=body)
    assert r.status_code == 403


def _sign_in(client: TestClient, username: str) -> None:
    token = CSRF.search(client.get("/login").text).group(1)  # type: ignore[union-attr]
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303 and COOKIE in r.cookies


def test_approvals_inbox_page_in_both_languages(world: World) -> None:
    api = TestClient(create_app(world.ctx))
    r = api.post(
        f"/api/v1/cases/{world.cases['A1']}/plans",
        headers=world.headers("c_east"),
        json={"kind": "instalment", "reason": "nine months", "count": 9, "first_due": "2026-12-10"},
    )
    pid = r.json()["id"]
    api.post(
        f"/api/v1/cases/{world.cases['A2']}/escalations",
        headers=world.headers("c_east2"),
        json={"grounds": ["deliberate_evasion"], "reason": "moved away, refuses to answer"},
    )
    page = TestClient(create_app(world.ctx), follow_redirects=False)
    assert page.get("/approvals").status_code == 303  # signed out
    _sign_in(page, "lead_east")
    html = page.get("/approvals", headers={"Accept-Language": "en"}).text
    assert "Approvals inbox" in html and f'data-plan="{pid}"' in html and "data-escalation=" in html
    assert "style=" not in html and "<script>" not in html
    page.post("/language", data={"language": "zh_CN", "csrf_token": CSRF.search(html).group(1)})  # type: ignore[union-attr]
    html = page.get("/approvals").text
    assert "审批收件箱" in html and "待审批的还款计划" in html
    token = CSRF.search(html).group(1)  # type: ignore[union-attr]
    assert (
        page.post(f"/approvals/plans/{pid}", data={"decision": "approve", "csrf_token": "forged"}).status_code
        == 403
    )
    r = page.post(f"/approvals/plans/{pid}", data={"decision": "approve", "note": "ok", "csrf_token": token})
    assert r.status_code == 200 and "已批准" in r.text and f'data-plan="{pid}"' not in r.text
    assert api.get(f"/api/v1/plans/{pid}", headers=world.headers("c_east")).json()["status"] == "active"


def test_inbox_shows_a_lead_only_their_team_and_refuses_their_own(world: World) -> None:
    add_user(world, "lead_west", "team_lead", "west")
    api = TestClient(create_app(world.ctx))
    r = api.post(
        f"/api/v1/cases/{world.cases['A1']}/plans",
        headers=world.headers("lead_east"),
        json={"kind": "instalment", "reason": "two years", "count": 24, "first_due": "2026-12-10"},
    )
    pid = r.json()["id"]
    assert api.get("/api/v1/approvals/plans", headers=world.headers("lead_west")).json() == []
    page = TestClient(create_app(world.ctx), follow_redirects=False)
    _sign_in(page, "lead_east")
    html = page.get("/approvals", headers={"Accept-Language": "en"}).text
    assert "Made by you: another person decides" in html
    token = CSRF.search(html).group(1)  # type: ignore[union-attr]
    r = page.post(f"/approvals/plans/{pid}", data={"decision": "approve", "csrf_token": token})
    assert r.status_code == 403 and "maker-checker" in r.text
