"""The authorization matrix, generated from the app's route table: every API route × every role.

Each route must declare an action (`requires(action)`) that the permission table knows; a route
without one fails here. For each role the expected answer comes from the table: a role without the
action gets 403 whatever the resource; a role with it gets 2xx on its own resources and 404 on
other people's (collector, team lead, agency), and 404 for resources that do not exist.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from arrears.core.context import AppContext
from arrears.security.permissions import PERMISSIONS, allowed
from arrears.security.principal import ROLES, Principal
from arrears.web.app import API_PREFIX, create_app
from arrears.web.deps import app_routes, route_action
from tests.security.world import PASSWORD, RESTRICTED, ROLE_USER, World

# How to fill each path parameter: own resource, other people's resource, a missing one.
PARAMS = {
    "ref": lambda w, which: {"own": "A1", "other": "A3", "missing": "NO-SUCH-REF"}[which],
    "debtor_id": lambda w, which: {"own": w.debtors["A1"], "other": w.debtors["A3"], "missing": 987654}[
        which
    ],
    "case_id": lambda w, which: {"own": w.cases["A1"], "other": w.cases["A3"], "missing": 987654}[which],
}


def delegated_routes() -> set[tuple[str, str]]:
    """Routes whose matrix lives with their feature, because a meaningful request needs real bodies or
    resources only that feature can build (plans, escalations, documents; contacts, promises, payments;
    QC reviews, calibrations, complaints, KPI rounds).
    Those matrices check the same rule — 403 without the action, 404 out of scope — route by route."""
    from tests.cases.test_matrix import ROUTES as CASE_ROUTES
    from tests.plans.test_route_matrix import BODIES as PLAN_BODIES
    from tests.quality.test_review_matrix import ROUTES as QC_ROUTES

    def full(path: str) -> str:
        return path if path.startswith(API_PREFIX) else API_PREFIX + path

    return {(m, full(p)) for m, p in [*CASE_ROUTES, *PLAN_BODIES, *QC_ROUTES]}


# Query strings a route needs to answer 2xx (the matrix is about permission, not validation).
QUERY = {f"{API_PREFIX}/debtors": {"phone": "13812345678"}}


def _body(path: str, w: World, which: str, role: str) -> Any:
    if path.endswith("/reveal"):
        ref = "A1" if which == "own" else "A3"
        return {"field": "contact_point", "id": w.contact_points[ref], "reason": "call"}
    if path.endswith("/auth/token"):
        return {"username": ROLE_USER[role], "password": PASSWORD}
    return None


def api_routes(app: Any, *, include_delegated: bool = False) -> list[tuple[str, str, Any]]:
    skip = set() if include_delegated else delegated_routes()
    return [(m, p, r) for m, p, r in app_routes(app) if p.startswith(API_PREFIX) and (m, p) not in skip]


def test_every_api_route_declares_a_known_action() -> None:
    app = create_app(AppContext(database_url="sqlite://", key_file=Path("/nonexistent")))
    everything = api_routes(app, include_delegated=True)
    missing = [f"{m} {p}" for m, p, r in everything if route_action(r) not in PERMISSIONS]
    routes = api_routes(app)
    assert len(routes) >= 12
    assert not missing, f"routes without a rule in the permission table: {missing}"
    unknown_params = [
        f"{m} {p}: {name}" for m, p, _ in routes for name in re.findall(r"{(\w+)}", p) if name not in PARAMS
    ]
    assert not unknown_params, f"teach the matrix how to fill these path parameters: {unknown_params}"


def _expected(role: str, action: str, which: str, has_resource: bool) -> int:
    rule = PERMISSIONS[action]
    if not rule.public and not allowed(Principal(1, "u", role), action):
        return 403
    if not has_resource:
        return 200
    if which == "missing":
        return 404
    if which == "other" and rule.scoped and role in RESTRICTED:
        return 404
    return 200


def test_matrix(world: World) -> None:
    client = TestClient(create_app(world.ctx))
    rows: list[str] = []
    failures: list[str] = []
    for method, path, route in api_routes(client.app):
        action = route_action(route)
        assert action is not None
        names = re.findall(r"{(\w+)}", path)
        variants = ["own", "other", "missing"] if names else ["own"]
        for role in ROLES:
            for which in variants:
                url = path
                for name in names:
                    url = url.replace("{" + name + "}", str(PARAMS[name](world, which)))
                headers = {} if PERMISSIONS[action].public else world.headers(ROLE_USER[role])
                body = _body(path, world, which, role)
                r = client.request(method, url, headers=headers, json=body, params=QUERY.get(path))
                want = _expected(role, action, which, bool(names))
                got = r.status_code
                rows.append(f"{method} {path} {role} {which}: {got}")
                if (want == 200 and not 200 <= got < 300) or (want != 200 and got != want):
                    failures.append(
                        f"{method} {url} as {role} ({which}): expected {want}, got {got} {r.text[:160]}"
                    )
                if want != 200:
                    assert r.headers["content-type"].startswith("application/json")
                    assert r.json()["error"] in {"forbidden", "not_found"}
    assert not failures, "\n".join(failures)
    assert len(rows) >= 100


def test_delegated_matrices_cover_real_routes() -> None:
    app = create_app(AppContext(database_url="sqlite://", key_file=Path("/nonexistent")))
    present = {(m, p) for m, p, _ in api_routes(app, include_delegated=True)}
    assert delegated_routes() <= present, f"stale entries: {delegated_routes() - present}"


def test_without_a_token_every_protected_route_is_401(world: World) -> None:
    client = TestClient(create_app(world.ctx))
    for method, path, route in api_routes(client.app):
        action = route_action(route)
        if action is None or PERMISSIONS[action].public:
            continue
        url = path
        for name in re.findall(r"{(\w+)}", path):
            url = url.replace("{" + name + "}", str(PARAMS[name](world, "own")))
        for headers in ({}, {"Authorization": "Bearer arr_not-a-token"}, {"Authorization": "Basic YTpi"}):
            r = client.request(
                method,
                url,
                headers=headers,
                json=_body(path, world, "own", "collector"),
                params=QUERY.get(path),
            )
            assert r.status_code == 401, (method, url, headers, r.text)
            assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("username", "refs"),
    [("c_east", ["A1"]), ("lead_east", ["A1", "A2"]), ("ag1", ["A1"]), ("manager", ["A1", "A2", "A3"])],
)
def test_lists_hold_only_what_is_in_scope(world: World, username: str, refs: list[str]) -> None:
    client = TestClient(create_app(world.ctx))
    page = client.get("/api/v1/accounts", headers=world.headers(username)).json()
    assert [a["ref"] for a in page["items"]] == refs and page["total"] == len(refs)


def test_revoked_token_stops_working(world: World) -> None:
    client = TestClient(create_app(world.ctx))
    r = client.post("/api/v1/auth/token", data={"username": "c_east", "password": PASSWORD})
    assert r.status_code == 200
    h = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert client.get("/api/v1/me", headers=h).json()["role"] == "collector"
    assert client.post("/api/v1/auth/revoke", headers=h).json() == {"revoked": True}
    assert client.get("/api/v1/me", headers=h).status_code == 401


def test_account_balances_are_decimal_strings_and_pii_masked(world: World) -> None:
    client = TestClient(create_app(world.ctx))
    acc = client.get("/api/v1/accounts/A1", headers=world.headers("c_east")).json()
    assert acc["balances"]["principal"] == "10000.00" and acc["balances"]["total"] == "10000.00"
    assert acc["bucket"] == "M1" and acc["case_id"] == world.cases["A1"]
    debtor = client.get(f"/api/v1/debtors/{world.debtors['A1']}", headers=world.headers("manager")).json()
    assert debtor["national_id"] == "1101**********1234" and debtor["name"] == "张*"
    assert debtor["can_reveal"] is False
    assert "13812345678" not in str(debtor)
    csv_text = client.get("/api/v1/exports/accounts.csv", headers=world.headers("lead_east")).text
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("creditor,account_ref,debtor_name,national_id")
    assert len(lines) == 3 and "1101**********1234" in csv_text and "110101199003071234" not in csv_text
    events = client.get(
        "/api/v1/audit/events?action=accounts.export", headers=world.headers("compliance")
    ).json()
    assert [e["actor"] for e in events["items"]] == ["lead_east"]
