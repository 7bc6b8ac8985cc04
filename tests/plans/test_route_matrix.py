"""Authorization matrix of the plans, legal and documents routes: every route × every role × own, other
people's and missing resources (plans, escalations and documents included), with valid bodies.

A role without the action gets 403 whatever the resource; with it, a collector, team lead or agency
gets 404 for another team's case and everyone gets 404 for a missing one, with the same message a
missing resource gets; otherwise the request reaches the service (2xx, or 409/422 when the resource's
state does not allow the step — never 403 or 404).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from arrears.core.db import transaction
from arrears.documents.storage import DocumentStore
from arrears.legal import service as legal
from arrears.plans import service as plans
from arrears.plans.service import PlanRequest
from arrears.security.permissions import PERMISSIONS, allowed
from arrears.security.principal import ROLES, Principal
from arrears.web.app import API_PREFIX, create_app
from arrears.web.deps import app_routes, route_action
from tests.plans.helpers import at
from tests.security.world import RESTRICTED, ROLE_USER, World

MINE = (
    "plans.", "affordability.", "statements.", "legal.", "cases.casefile", "documents.",
)  # fmt: skip
MISSING = 987654
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def _setup(w: World, docs: DocumentStore) -> dict[str, dict[str, int]]:
    """Per side (own = A1, c_east's; other = A3, c_west's): a pending plan, a handed-over escalation, a document."""
    ids: dict[str, dict[str, int]] = {"own": {}, "other": {}}
    for side, ref, maker in (("own", "A1", "c_east"), ("other", "A3", "c_west")):
        case_id = w.cases[ref]
        with transaction(w.ctx.sessions) as s:
            req = PlanRequest("instalment", "nine months", count=9, first_due=at(2026, 12, 10).date())
            ids[side]["plan_id"] = plans.create_plan(
                s, w.principal(maker), case_id, req, at=at(2026, 11, 28)
            ).plan.id
            notice = legal.formal_notice(s, w.principal(maker), docs, case_id, at=at(2026, 11, 28))
            ids[side]["document_id"] = notice.id
            esc = legal.request_escalation(
                s, w.principal(maker), case_id, grounds=["other"], reason="x", at=at(2026, 11, 28)
            )
            legal.approve_escalation(s, w.principal("manager"), esc.id, at=at(2026, 11, 28))
            legal.hand_over(s, w.principal("legal"), docs, esc.id, handler_kind="legal_department", handler_name=None,
                            at=at(2026, 11, 28))  # fmt: skip
            ids[side]["escalation_id"] = esc.id
    return ids


def _value(w: World, ids: dict[str, dict[str, int]], name: str, which: str) -> object:
    if which == "missing":
        return "NO-SUCH-REF" if name == "ref" else MISSING
    ref = "A1" if which == "own" else "A3"
    if name == "case_id":
        return w.cases[ref]
    if name == "ref":
        return ref
    return ids[which][name]


BODIES: dict[tuple[str, str], Callable[[], dict[str, Any]]] = {
    ("POST", "/cases/{case_id}/plans"): lambda: {
        "json": {"kind": "deferral", "reason": "x", "deferred_to": "2026-12-20"}
    },
    ("GET", "/cases/{case_id}/plans"): dict,
    ("GET", "/approvals/plans"): dict,
    ("GET", "/plans/{plan_id}"): dict,
    ("POST", "/plans/{plan_id}/approve"): lambda: {"json": {"note": "ok"}},
    ("POST", "/plans/{plan_id}/reject"): lambda: {"json": {"note": "no"}},
    ("POST", "/plans/{plan_id}/letters"): lambda: {"json": {"language": "en"}},
    ("POST", "/cases/{case_id}/affordability"): lambda: {
        "json": {"monthly_income": "9000", "monthly_expenses": "3000"}
    },
    ("GET", "/accounts/{ref}/statement"): dict,
    ("POST", "/cases/{case_id}/notices"): lambda: {"json": {"language": "zh"}},
    ("POST", "/cases/{case_id}/escalations"): lambda: {"json": {"grounds": ["other"], "reason": "x"}},
    ("GET", "/cases/{case_id}/escalations"): dict,
    ("GET", "/approvals/escalations"): dict,
    ("GET", "/escalations/{escalation_id}"): dict,
    ("POST", "/escalations/{escalation_id}/approve"): lambda: {"json": {}},
    ("POST", "/escalations/{escalation_id}/reject"): lambda: {"json": {"note": "no"}},
    ("POST", "/escalations/{escalation_id}/handover"): lambda: {"json": {"handler_kind": "legal_department"}},
    ("POST", "/escalations/{escalation_id}/stages"): lambda: {"json": {"stage": "filed"}},
    ("GET", "/cases/{case_id}/casefile"): dict,
    ("GET", "/escalations/{escalation_id}/casefile"): dict,
    ("POST", "/cases/{case_id}/attachments"): lambda: {"files": {"file": ("scan.png", PNG, "image/png")}},
    ("GET", "/cases/{case_id}/documents"): dict,
    ("GET", "/documents/{document_id}"): dict,
}
STATE_REFUSALS = {409, 422}  # the step does not fit the resource's state (decided, closed, stage order …)


def test_matrix_of_plans_legal_and_documents_routes(world: World, docs: DocumentStore) -> None:
    ids = _setup(world, docs)
    client = TestClient(create_app(world.ctx))
    routes = [
        (m, p[len(API_PREFIX) :], route_action(r))
        for m, p, r in app_routes(client.app)
        if p.startswith(API_PREFIX) and (route_action(r) or "").startswith(MINE)
    ]
    assert {(m, p) for m, p, _ in routes} == set(BODIES), "every route of these features has a body here"
    headers = {role: world.headers(ROLE_USER[role]) for role in ROLES}
    failures: list[str] = []
    calls = 0
    for method, path, action in routes:
        assert action in PERMISSIONS
        names = re.findall(r"{(\w+)}", path)
        for role in ROLES:
            for which in ("own", "other", "missing") if names else ("own",):
                url = path
                for name in names:
                    url = url.replace("{" + name + "}", str(_value(world, ids, name, which)))
                r = client.request(
                    method, API_PREFIX + url, headers=headers[role], **BODIES[(method, path)]()
                )
                calls += 1
                got = r.status_code
                if not allowed(Principal(1, "u", role), action):
                    want: set[int] = {403}
                elif which == "missing" or (which == "other" and role in RESTRICTED):
                    want = {404}
                else:
                    want = {200, 201} | STATE_REFUSALS
                if got not in want:
                    failures.append(
                        f"{method} {url} as {role} ({which}): expected {sorted(want)}, got {got} {r.text[:200]}"
                    )
                if got == 404:
                    kind = {"plan_id": "plan", "escalation_id": "escalation", "document_id": "document",
                            "case_id": "case", "ref": "account"}[names[0]]  # fmt: skip
                    assert re.fullmatch(rf"{kind} \S+ not found", r.json()["message"]), r.text
    assert not failures, "\n".join(failures)
    assert calls > 400
