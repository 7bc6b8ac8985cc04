"""Authorization matrix of the quality, complaints, coaching and KPI routes, with real resources and
bodies: every route × every role × own (c_east's work, case A1), other people's (c_west's, A3) and
missing resources.

A role without the action gets 403 whatever the resource. With it:
- QC records about a collector's work (interactions, reviews) are 404 outside the principal's reach:
  collectors and team leads see their own (team's) work only, agency staff none of c_east's;
- answering feedback is the reviewed collector's alone (404 for anyone else);
- complaints follow the collector and the case: a team lead sees their team's only;
- rounds, calibration sessions and coaching examples are not anyone's portfolio: 404 only when missing;
- otherwise the request reaches the service: 2xx, or 409/422 when the resource's state does not allow
  the step (decided, closed, not settled) — never 403 or 404.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from arrears.core.context import AppContext
from arrears.core.db import transaction
from arrears.quality import coaching, review
from arrears.quality import complaints_service as cs
from arrears.quality.models import QcInteraction, QcReview
from arrears.security.permissions import PERMISSIONS, allowed
from arrears.security.principal import ROLES, Principal
from arrears.web.app import API_PREFIX, create_app
from arrears.web.deps import app_routes, route_action
from tests.conftest import FIXED_NOW
from tests.quality.review_world import NO_RANDOM, THREAT_ZH, QcWorld, build_qc_world, line
from tests.security.world import ROLE_USER

MISSING = 987654
OVERSIGHT = {"qc_inspector", "manager", "compliance_officer", "admin"}
STATE_REFUSALS = {409, 422}
T0 = FIXED_NOW
Ids = dict[str, dict[str, int]]

# (method, path) → (kind of its path parameter, body builder). Kinds decide who gets 404 (see above).
Body = Callable[[Ids, str], dict[str, Any]]
_none: Body = lambda ids, which: {}  # noqa: E731
ROUTES: dict[tuple[str, str], tuple[str | None, Body]] = {
    ("POST", "/qc/interactions"): (None, lambda ids, which: {"json": {"lines": [ids["lines"]["own"]]}}),  # type: ignore[dict-item]
    ("GET", "/qc/interactions"): (None, _none),
    ("GET", "/qc/interactions/{interaction_id}"): ("collector", _none),
    ("GET", "/cases/{case_id}/interactions"): ("case", _none),
    ("POST", "/qc/rounds"): (None, lambda ids, which: {"json": {"period_start": "2026-01-01", "period_end": "2026-01-31"}}),
    ("GET", "/qc/rounds/{round_id}"): ("global", _none),
    ("GET", "/qc/reviews"): (None, _none),
    ("GET", "/qc/reviews/{review_id}"): ("collector", _none),
    ("POST", "/qc/reviews/{review_id}/decision"): ("collector", lambda ids, which: {"json": {"decisions": {"case_notes": True}, "feedback": "ok"}}),
    ("POST", "/qc/reviews/{review_id}/response"): ("self", lambda ids, which: {"json": {"action": "acknowledge"}}),
    ("POST", "/qc/reviews/{review_id}/arbitration"): ("collector", lambda ids, which: {"json": {"decisions": {"case_notes": True}, "note": "n"}}),
    ("GET", "/qc/alerts"): (None, _none),
    ("POST", "/qc/notes"): (None, lambda ids, which: {"json": {"kind": "suggestion", "text": "多做共情训练"}}),
    ("GET", "/qc/notes"): (None, _none),
    ("POST", "/qc/staff"): (None, lambda ids, which: {"json": {"username": "qc2", "hired_on": "2026-01-05"}}),
    ("POST", "/qc/calibrations"): (None, lambda ids, which: {"json": {"name": "m", "interaction_ids": [ids["interaction"]["own"]], "inspectors": ["qc", "qc2"]}}),
    ("GET", "/qc/calibrations/{calibration_id}/task"): ("global", _none),
    ("POST", "/qc/calibrations/{calibration_id}/scores"): ("global", lambda ids, which: {"json": {"interaction_id": ids["interaction"][which if which != "missing" else "own"], "decisions": {"tone": True}}}),
    ("POST", "/qc/calibrations/{calibration_id}/close"): ("global", _none),
    ("GET", "/qc/calibrations/{calibration_id}/report"): ("global", _none),
    ("GET", "/coaching/examples"): (None, _none),
    ("POST", "/coaching/examples"): (None, lambda ids, which: {"json": {"interaction_id": ids["interaction"]["own"], "item": "conduct_threat", "kind": "bad"}}),
    ("POST", "/coaching/examples/{example_id}/withdraw"): ("global", _none),
    ("POST", "/complaints"): (None, lambda ids, which: {"json": {"channel": "email", "text": "催收员天天打电话骚扰我。"}}),
    ("GET", "/complaints"): (None, _none),
    ("GET", "/complaints/{complaint_id}"): ("complaint", _none),
    ("POST", "/complaints/{complaint_id}/assign"): ("complaint", _none),
    ("POST", "/complaints/{complaint_id}/interactions"): ("complaint", lambda ids, which: {"json": {"interaction_ids": [ids["interaction"][which if which != "missing" else "own"]]}}),
    ("POST", "/complaints/{complaint_id}/close"): ("complaint", lambda ids, which: {"json": {"outcome": "not_upheld", "note": "查无实据"}}),
    ("GET", "/kpis"): (None, _none),
    ("GET", "/kpis/series"): (None, _none),
    ("GET", "/kpis/findings"): (None, _none),
    ("GET", "/kpis/rounds"): (None, _none),
    ("GET", "/kpis/rounds/{round_id}"): ("global", _none),
}  # fmt: skip
ROUTES = {(m, API_PREFIX + p): v for (m, p), v in ROUTES.items()}
PARAM = {"interaction_id": "interaction", "review_id": "review", "round_id": "round", "case_id": "case",
         "calibration_id": "calibration", "example_id": "example", "complaint_id": "complaint"}  # fmt: skip


def _setup(qw: QcWorld) -> Ids:
    """Per side (own: c_east on A1; other: c_west on A3): an interaction with a decided review, a round,
    a calibration session with `qc` in it, a coaching example and a complaint; `qc` is a QC lead."""
    w, ctx = qw.w, qw.ctx
    ids: Ids = {
        k: {} for k in ("interaction", "review", "round", "calibration", "example", "complaint", "case")
    }
    ids["lines"] = {}
    with transaction(ctx.sessions) as s:
        review.set_staff(s, qw.p("manager"), "qc", qc_lead=True, now=T0)
    for which, ref in (("own", "A1"), ("other", "A3")):
        raw = line(f"mx-{which}", w.cases[ref], T0 - timedelta(days=1), THREAT_ZH)
        ids["lines"][which] = raw  # type: ignore[assignment]
        (iid,) = qw.import_lines([raw])
        with transaction(ctx.sessions) as s:
            rnd = review.run_round(s, qw.p("qc"), period_start=(T0 - timedelta(days=1)).date(), period_end=T0.date(),
                                   now=T0, seed=which, settings=NO_RANDOM)  # fmt: skip
            rv = s.scalar(select(QcReview).where(QcReview.interaction_id == iid))
            assert rv is not None
            review.decide(s, qw.p("qc"), rv.id, decisions={"case_notes": True}, feedback="注意用语", now=T0)
            # Settle it and publish it, so there is an example to withdraw; then a fresh decided review.
            cal = review.open_calibration(
                s, qw.p("manager"), name=which, interaction_ids=[iid], inspectors=["qc", "qc2"], now=T0
            )
            c = cs.intake(s, qw.p("compliance"), cs.ComplaintIn(channel="phone", text="催收员威胁我。", case_id=w.cases[ref]),
                          keys=ctx.keys, now=T0)  # fmt: skip
            ids["interaction"][which], ids["review"][which], ids["round"][which] = iid, rv.id, rnd.id
            ids["calibration"][which], ids["complaint"][which], ids["case"][which] = (
                cal.id,
                c.id,
                w.cases[ref],
            )
        (extra,) = qw.import_lines([line(f"mx-ex-{which}", w.cases[ref], T0 - timedelta(days=2), THREAT_ZH)])
        with transaction(ctx.sessions) as s:
            interaction = s.get(QcInteraction, extra)
            assert interaction is not None
            rv2 = review.open_review(s, "test", interaction, reason="random", now=T0)
            review.decide(s, qw.p("qc"), rv2.id, decisions={"case_notes": True}, feedback="x", now=T0)
            review.close_unanswered(s, "test", as_of=T0 + timedelta(days=4))
            ex = coaching.publish_example(
                s, qw.p("qc"), extra, item="conduct_threat", kind="bad", note=None, keys=ctx.keys, now=T0
            )
            ids["example"][which] = ex.id
    return ids


def _value(ids: Ids, name: str, which: str) -> int:
    return MISSING if which == "missing" else ids[PARAM[name]][which]


def _reaches(kind: str | None, role: str, which: str) -> bool:
    """Whether a role that has the action gets past the scope check."""
    if which == "missing":
        return False
    if kind in (None, "global"):
        return True
    if kind == "case":
        return not (which == "other" and role in {"collector", "team_lead", "agency"})
    if kind == "self":
        return role == "collector" and which == "own"
    if kind in ("collector", "complaint"):
        return role in OVERSIGHT or (role in ("collector", "team_lead") and which == "own")
    raise AssertionError(kind)


@pytest.fixture
def qw(ctx: AppContext) -> QcWorld:
    return build_qc_world(ctx)


def test_matrix_of_quality_complaints_and_kpi_routes(qw: QcWorld) -> None:
    ids = _setup(qw)
    client = TestClient(create_app(qw.ctx))
    routes = [(m, p, route_action(r)) for m, p, r in app_routes(client.app) if (m, p) in ROUTES]
    assert {(m, p) for m, p, _ in routes} == set(ROUTES), "every route of these features is in ROUTES"
    headers = {role: qw.w.headers(ROLE_USER[role]) for role in ROLES}
    failures: list[str] = []
    calls = 0
    for method, path, action in routes:
        assert action in PERMISSIONS, (method, path)
        kind, body = ROUTES[(method, path)]
        names = re.findall(r"{(\w+)}", path)
        for role in ROLES:
            for which in ("own", "other", "missing") if names else ("own",):
                url = path
                for name in names:
                    url = url.replace("{" + name + "}", str(_value(ids, name, which)))
                r = client.request(method, url, headers=headers[role], **body(ids, which))
                calls += 1
                if not allowed(Principal(1, "u", role), action):
                    want = {403}
                elif not _reaches(kind, role, which):
                    want = {404}
                else:
                    want = {200, 201} | STATE_REFUSALS
                if r.status_code not in want:
                    failures.append(
                        f"{method} {url} as {role} ({which}): expected {sorted(want)}, got {r.status_code} {r.text[:200]}"
                    )
                elif r.status_code == 404:
                    assert re.fullmatch(rf"{PARAM[names[0]]} \S+ not found", r.json()["message"]), r.text
    assert not failures, "\n".join(failures)
    assert calls > 500


def test_every_route_needs_a_token(qw: QcWorld) -> None:
    client = TestClient(create_app(qw.ctx))
    for method, path in ROUTES:
        url = re.sub(r"{\w+}", "1", path)
        r = client.request(method, url, headers={"Authorization": "Bearer arr_not-a-token"})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", (method, path)
