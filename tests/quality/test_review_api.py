"""The QC, complaints and KPI routes under /api/v1: the review cycle over HTTP, who may do what (403 by
role, 404 outside one's scope), the error format, and every new route declared in the permission
table."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from arrears.core.context import AppContext
from arrears.security.permissions import PERMISSIONS
from arrears.web.app import API_PREFIX, create_app
from arrears.web.deps import app_routes, route_action
from tests.conftest import FIXED_NOW
from tests.quality.review_world import GOOD_ZH, THREAT_ZH, QcWorld, build_qc_world, line

T0 = FIXED_NOW
MINE = ("/qc/", "/complaints", "/coaching/", "/kpis", "/interactions")


@pytest.fixture
def qw(ctx: AppContext) -> QcWorld:
    return build_qc_world(ctx)


def test_every_new_route_has_a_rule() -> None:
    app = create_app(
        AppContext(database_url="sqlite://", key_file=__import__("pathlib").Path("/nonexistent"))
    )
    routes = [
        (m, p, r) for m, p, r in app_routes(app) if p.startswith(API_PREFIX) and any(x in p for x in MINE)
    ]
    assert len(routes) >= 30
    for m, p, r in routes:
        assert route_action(r) in PERMISSIONS, f"{m} {p}"


def test_review_cycle_over_http(qw: QcWorld) -> None:
    w = qw.w
    client = TestClient(create_app(qw.ctx))
    h = {
        name: w.headers(name) for name in ("qc", "qc2", "qc_lead", "c_east", "c_west", "lead_east", "manager")
    }
    lines: list[dict[str, Any]] = [
        line("api-good", w.cases["A1"], T0 - timedelta(days=1), GOOD_ZH),
        line("api-bad", w.cases["A1"], T0 - timedelta(days=1), THREAT_ZH),
    ]
    r = client.post("/api/v1/qc/interactions", json={"lines": lines}, headers=h["c_east"])
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    bad_line = {**lines[0], "id": "api-x", "case_id": 987654}
    r = client.post("/api/v1/qc/interactions", json={"lines": [bad_line]}, headers=h["qc"])
    assert r.status_code == 422 and r.json()["details"] == ["line 1: case_id: no case 987654"]
    r = client.post("/api/v1/qc/interactions", json={"lines": lines}, headers=h["qc"])
    assert r.status_code == 200 and r.json()["imported"] == 2 and r.json()["fatal"] == 1
    good_id, bad_id = r.json()["ids"]
    # Reads are scoped by collector: the collector and their lead see it, another collector does not.
    assert client.get(f"/api/v1/qc/interactions/{bad_id}", headers=h["c_east"]).status_code == 200
    assert client.get(f"/api/v1/qc/interactions/{bad_id}", headers=h["lead_east"]).status_code == 200
    assert client.get(f"/api/v1/qc/interactions/{bad_id}", headers=h["c_west"]).status_code == 404
    assert client.get(f"/api/v1/cases/{w.cases['A1']}/interactions", headers=h["c_east"]).json()["total"] == 2
    assert client.get(f"/api/v1/cases/{w.cases['A1']}/interactions", headers=h["c_west"]).status_code == 404
    # A round: the fatal call goes to an inspector; the collector does not see it until it is decided.
    body = {"period_start": str((T0 - timedelta(days=2)).date()), "period_end": str(T0.date()), "seed": "api"}
    assert client.post("/api/v1/qc/rounds", json=body, headers=h["c_east"]).status_code == 403
    rnd = client.post("/api/v1/qc/rounds", json=body, headers=h["qc"]).json()
    assert rnd["sampled"] >= 1
    reviews = client.get("/api/v1/qc/reviews", headers=h["manager"]).json()["items"]
    rv = next(x for x in reviews if x["interaction_id"] == bad_id)
    assert client.get(f"/api/v1/qc/reviews/{rv['id']}", headers=h["c_east"]).status_code == 404
    inspector = rv["inspector"]
    decision = {"decisions": {"case_notes": True, "conduct_disclosure": True}, "feedback": "威胁属严重违规。"}
    assert (
        client.post(f"/api/v1/qc/reviews/{rv['id']}/decision", json=decision, headers=h["c_east"]).status_code
        == 403
    )
    r = client.post(f"/api/v1/qc/reviews/{rv['id']}/decision", json=decision, headers=h[inspector])
    assert r.status_code == 200 and r.json()["status"] == "awaiting_response" and r.json()["fatal"] is True
    assert (
        client.post(
            f"/api/v1/qc/reviews/{rv['id']}/decision", json=decision, headers=h[inspector]
        ).status_code
        == 409
    )
    # The collector reads the feedback and appeals; another collector cannot answer for them.
    mine = client.get("/api/v1/qc/reviews?mine=true", headers=h["c_east"]).json()
    assert [x["id"] for x in mine["items"]] == [rv["id"]] and mine["items"][0][
        "feedback"
    ] == "威胁属严重违规。"
    appeal = {"action": "appeal", "reason": "我没有威胁。", "items": ["conduct_threat"]}
    assert (
        client.post(f"/api/v1/qc/reviews/{rv['id']}/response", json=appeal, headers=h["c_west"]).status_code
        == 404
    )
    r = client.post(f"/api/v1/qc/reviews/{rv['id']}/response", json=appeal, headers=h["c_east"])
    assert r.status_code == 200 and r.json()["status"] == "appealed"
    arb = {"decisions": {"conduct_threat": False}, "note": "录音证实威胁。"}
    arbiter = "qc_lead" if inspector != "qc_lead" else "manager"
    plain = "qc2" if inspector != "qc2" else "qc"
    assert (
        client.post(f"/api/v1/qc/reviews/{rv['id']}/arbitration", json=arb, headers=h[plain]).status_code
        == 403
    )
    r = client.post(f"/api/v1/qc/reviews/{rv['id']}/arbitration", json=arb, headers=h[arbiter])
    assert r.status_code == 200 and r.json()["outcome"] == "upheld" and r.json()["final_fatal"] is True
    # Alerts: nothing overdue now; the pending review of the good call (if sampled) is overdue in three days.
    late = (T0 + timedelta(days=3)).isoformat()
    alerts = client.get("/api/v1/qc/alerts", params={"as_of": late}, headers=h["manager"]).json()["items"]
    assert all(a["kind"] == "review_overdue" for a in alerts)
    assert (
        client.get(
            "/api/v1/qc/alerts", params={"as_of": "2026-12-01T00:00:00"}, headers=h["manager"]
        ).status_code
        == 422
    )
    # Coaching: publish the settled bad example; every role reads the library.
    ex = {"interaction_id": bad_id, "item": "conduct_threat", "kind": "bad", "note": "反面案例"}
    assert client.post("/api/v1/coaching/examples", json=ex, headers=h["c_east"]).status_code == 403
    assert client.post("/api/v1/coaching/examples", json=ex, headers=h["qc"]).status_code == 201
    lib = client.get("/api/v1/coaching/examples", headers=h["c_west"]).json()["items"]
    assert [e["item"] for e in lib] == ["conduct_threat"] and "张三" not in str(lib)
    assert good_id != bad_id


def test_complaints_and_kpis_over_http(qw: QcWorld) -> None:
    w = qw.w
    client = TestClient(create_app(qw.ctx))
    comp, c_east = w.headers("compliance"), w.headers("c_east")
    body = {"channel": "phone", "text": "催收员打电话给我单位领导说我欠钱不还。", "case_id": w.cases["A1"]}
    assert client.post("/api/v1/complaints", json=body, headers=w.headers("c_west")).status_code == 404
    r = client.post("/api/v1/complaints", json=body, headers=c_east)
    assert r.status_code == 201 and r.json()["category"] == "disclosure" and r.json()["conduct"] is True
    cid = r.json()["id"]
    assert client.get("/api/v1/complaints", headers=c_east).status_code == 403
    assert client.get(f"/api/v1/complaints/{cid}", headers=comp).json()["text"] == body["text"]
    assert client.post(f"/api/v1/complaints/{cid}/assign", headers=comp).json()["status"] == "investigating"
    r = client.post(
        f"/api/v1/complaints/{cid}/close", json={"outcome": "upheld", "note": "属实"}, headers=comp
    )
    assert r.status_code == 200 and r.json()["outcome"] == "upheld"
    assert (
        client.post(
            f"/api/v1/complaints/{cid}/close", json={"outcome": "upheld", "note": "x"}, headers=comp
        ).status_code
        == 409
    )
    # KPIs: the current month by default; collectors may not read them.
    k = client.get("/api/v1/kpis", params={"by": "collector"}, headers=w.headers("manager"))
    assert k.status_code == 200 and k.json()["start"] == "2026-11-01" and k.json()["end"] == "2026-11-28"
    rows = {row["label"]: row for row in k.json()["rows"]}
    assert rows["c_east"]["complaints"] == 1 and rows["c_east"]["abnormal_per_case"]["numerator"] == 1
    assert client.get("/api/v1/kpis", headers=c_east).status_code == 403
    lead = client.get("/api/v1/kpis", params={"by": "collector"}, headers=w.headers("lead_east")).json()[
        "rows"
    ]
    assert {row["label"] for row in lead} <= {"c_east", "c_east2"}
    s = client.get("/api/v1/kpis/series", headers=w.headers("manager")).json()
    assert [p["start"] for p in s["periods"]][-1] == "2026-11-01" and len(s["periods"]) == 6
    assert (
        client.get(
            "/api/v1/kpis", params={"start": "2026-12-01", "end": "2026-11-01"}, headers=w.headers("manager")
        ).status_code
        == 422
    )
    assert client.get("/api/v1/kpis/findings", headers=w.headers("qc")).status_code == 200


@pytest.mark.parametrize(
    "path", ["/api/v1/qc/reviews/987654", "/api/v1/complaints/987654", "/api/v1/qc/interactions/987654"]
)
def test_missing_is_404_in_the_one_error_format(qw: QcWorld, path: str) -> None:
    r = TestClient(create_app(qw.ctx)).get(path, headers=qw.w.headers("manager"))
    assert (
        r.status_code == 404
        and r.json()["error"] == "not_found"
        and re.search(r"987654 not found", r.json()["message"])
    )
