"""The authorization matrix of the case-work routes, with real bodies: every role × own / other /
missing resource. A role without the action gets 403 whatever the resource; a role with it gets 2xx
on its own case and 404 on another's (collector, team lead, agency) or a missing one."""

from __future__ import annotations

import re
from typing import Any

from arrears.security.permissions import PERMISSIONS, allowed
from arrears.security.principal import ROLES, Principal
from arrears.web.deps import app_routes, route_action
from tests.cases.conftest import Api
from tests.security.world import RESTRICTED, ROLE_USER, World

ROUTES = {
    ("GET", "/api/v1/queue"),
    ("GET", "/api/v1/cases/{case_id}"),
    ("POST", "/api/v1/cases/{case_id}/contacts"),
    ("POST", "/api/v1/cases/{case_id}/promises"),
    ("POST", "/api/v1/accounts/{ref}/payments"),
    ("POST", "/api/v1/cases/{case_id}/assign"),
}


def _target(world: World, which: str) -> tuple[int, str]:
    if which == "missing":
        return 987654, "NO-SUCH-REF"
    ref = "A1" if which == "own" else "A3"
    return world.cases[ref], ref


def _body(path: str, world: World, which: str, role: str) -> tuple[Any, dict[str, str]]:
    ref = "A3" if which == "other" else "A1"
    if path.endswith("/contacts"):
        return {"channel": "sms", "contact_point_id": world.contact_points[ref], "outcome": "delivered"}, {}
    if path.endswith("/promises"):
        return {"amount": "1.00", "due_date": "2026-12-01"}, {}
    if path.endswith("/payments"):
        return {"amount": "1.00"}, {"Idempotency-Key": f"matrix-{role}-{which}"}
    return None, {}


def test_case_work_matrix(api: Api, world: World) -> None:
    routes = [(m, p, r) for m, p, r in app_routes(api.client.app) if (m, p) in ROUTES]
    assert {(m, p) for m, p, _ in routes} == ROUTES
    failures = []
    for method, path, route in routes:
        action = route_action(route)
        assert action in PERMISSIONS, (method, path)
        variants = ["own", "other", "missing"] if "{" in path else ["own"]
        for role in ROLES:
            for which in variants:
                case_id, ref = _target(world, which)
                url = path.replace("{case_id}", str(case_id)).replace("{ref}", ref)
                body, extra = _body(path, world, which, role)
                r = api.client.request(method, url, headers=api.h(ROLE_USER[role], **extra), json=body)
                if not allowed(Principal(1, "u", role), action):
                    want = 403
                elif which == "missing" or (which == "other" and role in RESTRICTED):
                    want = 404
                else:
                    want = 200
                ok = 200 <= r.status_code < 300 if want == 200 else r.status_code == want
                if not ok:
                    failures.append(
                        f"{method} {url} as {role} ({which}): want {want}, got {r.status_code} {r.text[:200]}"
                    )
    assert not failures, "\n".join(failures)


def test_every_case_work_route_declares_its_action() -> None:
    from pathlib import Path

    from arrears.core.context import AppContext
    from arrears.web.app import create_app

    app = create_app(AppContext(database_url="sqlite://", key_file=Path("/nonexistent")))
    found = {(m, p): route_action(r) for m, p, r in app_routes(app) if (m, p) in ROUTES}
    assert found == {
        ("GET", "/api/v1/queue"): "queue.read",
        ("GET", "/api/v1/cases/{case_id}"): "cases.read",
        ("POST", "/api/v1/cases/{case_id}/contacts"): "cases.contact",
        ("POST", "/api/v1/cases/{case_id}/promises"): "cases.promise",
        ("POST", "/api/v1/accounts/{ref}/payments"): "payments.post",
        ("POST", "/api/v1/cases/{case_id}/assign"): "cases.assign",
    }
    assert all(re.fullmatch(r"[a-z]+\.[a-z]+", a or "") for a in found.values())
