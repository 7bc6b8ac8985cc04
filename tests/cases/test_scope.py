"""A collector works only their own cases: another collector's case is "not found" (404) — to read,
contact, promise, pay, plan or escalate — the same answer as a case that does not exist; and a
collector cannot assign at all (403, decided before any lookup)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from arrears.cases.models import Contact, GuardDecisionRecord, Promise
from arrears.ledger.models import LedgerTransaction
from tests.cases.conftest import Api
from tests.security.world import World

MISSING = 987654


def _calls(world: World, case_id: int, ref: str) -> list[tuple[str, str, dict[str, object], dict[str, str]]]:
    return [
        ("GET", f"/api/v1/cases/{case_id}", {}, {}),
        (
            "POST",
            f"/api/v1/cases/{case_id}/contacts",
            {"channel": "call", "contact_point_id": world.contact_points["A1"], "outcome": "no_answer"},
            {},
        ),
        ("POST", f"/api/v1/cases/{case_id}/promises", {"amount": "100.00", "due_date": "2026-12-05"}, {}),
        (
            "POST",
            f"/api/v1/accounts/{ref}/payments",
            {"amount": "100.00"},
            {"Idempotency-Key": f"scope-{ref}"},
        ),
        (
            "POST",
            f"/api/v1/cases/{case_id}/plans",
            {"kind": "deferral", "reason": "r", "deferred_to": "2026-12-10"},
            {},
        ),
        ("POST", f"/api/v1/cases/{case_id}/escalations", {"grounds": ["other"], "reason": "r"}, {}),
    ]


@pytest.mark.parametrize("username", ["c_east", "c_east2"])
def test_a_collector_gets_404_for_a_case_that_is_not_theirs(
    api: Api, world: World, client: TestClient, username: str
) -> None:
    other = "A3" if username == "c_east" else "A1"
    for method, path, body, extra in _calls(world, world.cases[other], other):
        r = client.request(method, path, headers=api.h(username, **extra), json=body or None)
        if path.endswith("/escalations") and r.status_code == 403:
            continue  # a role without the action is refused before any lookup
        assert r.status_code == 404, (path, r.status_code, r.text)
        assert r.json()["error"] == "not_found"
    for method, path, body, extra in _calls(world, MISSING, "NO-SUCH-REF"):
        r = client.request(method, path, headers=api.h(username, **extra), json=body or None)
        assert r.status_code in (403, 404), (path, r.status_code)
    # out of scope reads exactly like missing: same message shape
    a = client.get(f"/api/v1/cases/{world.cases[other]}", headers=api.h(username)).json()["message"]
    b = client.get(f"/api/v1/cases/{MISSING}", headers=api.h(username)).json()["message"]
    assert a.replace(str(world.cases[other]), "N") == b.replace(str(MISSING), "N")
    with world.ctx.sessions() as s:  # nothing was written on the other collector's case
        for model in (Contact, GuardDecisionRecord, Promise):
            assert s.scalar(select(func.count()).select_from(model)) == 0
        assert s.scalar(select(func.count()).where(LedgerTransaction.kind == "payment")) == 0


def test_a_collector_cannot_assign_even_their_own_case(api: Api, world: World, client: TestClient) -> None:
    for ref in ("A1", "A3"):
        r = client.post(
            f"/api/v1/cases/{world.cases[ref]}/assign",
            headers=api.h("c_east"),
            json={"user_id": world.users["c_east"]},
        )
        assert r.status_code == 403 and r.json()["error"] == "forbidden"


def test_a_lead_assigns_in_their_team_only(api: Api, world: World, client: TestClient) -> None:
    r = client.post(f"/api/v1/cases/{world.cases['A3']}/assign", headers=api.h("lead_east"), json={})
    assert r.status_code == 404  # the west team's case
    r = client.post(
        f"/api/v1/cases/{world.cases['A1']}/assign",
        headers=api.h("lead_east"),
        json={"user_id": world.users["c_west"]},
    )
    assert r.status_code == 422 and "not in your team" in r.json()["message"]


def test_agency_staff_see_only_accounts_placed_with_their_agency(
    api: Api, world: World, client: TestClient
) -> None:
    assert client.get(f"/api/v1/cases/{world.cases['A1']}", headers=api.h("ag1")).status_code == 200
    for ref in ("A2", "A3"):
        assert client.get(f"/api/v1/cases/{world.cases[ref]}", headers=api.h("ag1")).status_code == 404
    assert client.get("/api/v1/queue", headers=api.h("ag1")).json()["items"] == []  # none assigned to them


def test_roles_without_case_work_are_refused(api: Api, world: World, client: TestClient) -> None:
    case = world.cases["A1"]
    for username in ("qc", "compliance", "admin"):
        assert client.get("/api/v1/queue", headers=api.h(username)).status_code == 403
        r = api.call(username, "A1", "no_answer")
        assert r.status_code == 403, username
        assert client.post(f"/api/v1/cases/{case}/promises", headers=api.h(username),
                           json={"amount": "1.00", "due_date": "2026-12-01"}).status_code == 403  # fmt: skip
    assert client.post(f"/api/v1/cases/{case}/assign", headers=api.h("qc"), json={}).status_code == 403
