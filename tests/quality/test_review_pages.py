"""The QC pages in zh-CN and English: the desk, a review with the inspector's and the collector's forms
(CSRF-checked), the coaching library, the complaints desk and the results page with its Plotly chart
served by the app (no CDN)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from arrears.core.context import AppContext
from arrears.core.db import transaction
from arrears.quality import review
from arrears.quality.complaints import classify_complaint
from arrears.quality.models import QcReview
from arrears.web.app import create_app
from tests.conftest import FIXED_NOW
from tests.quality.review_world import NO_RANDOM, THREAT_ZH, QcWorld, build_qc_world, line
from tests.security.world import PASSWORD

T0 = FIXED_NOW
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def qw(ctx: AppContext) -> QcWorld:
    return build_qc_world(ctx)


def browser(qw: QcWorld, username: str) -> tuple[TestClient, str]:
    client = TestClient(create_app(qw.ctx), follow_redirects=False)
    token = CSRF.search(client.get("/login").text).group(1)  # type: ignore[union-attr]
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303, r.text
    return client, CSRF.search(client.get("/qc").text).group(1)  # type: ignore[union-attr]


def _sampled(qw: QcWorld) -> tuple[int, str]:
    (iid,) = qw.import_lines([line("pg-1", qw.w.cases["A1"], T0 - timedelta(days=1), THREAT_ZH)])
    with transaction(qw.ctx.sessions) as s:
        review.run_round(s, qw.p("qc"), period_start=(T0 - timedelta(days=1)).date(), period_end=T0.date(), now=T0,
                         seed="p", settings=NO_RANDOM)  # fmt: skip
        rv = s.scalar(select(QcReview).where(QcReview.interaction_id == iid))
        assert rv is not None
        return rv.id, next(n for n in ("qc", "qc2", "qc_lead") if qw.w.users[n] == rv.inspector_id)


def test_review_forms_end_to_end_in_both_languages(qw: QcWorld) -> None:
    rid, inspector = _sampled(qw)
    client, token = browser(qw, inspector)
    zh = client.get(f"/qc/reviews/{rid}", headers={"accept-language": "zh-CN"})
    en = client.get(f"/qc/reviews/{rid}", headers={"accept-language": "en"})
    assert zh.status_code == en.status_code == 200
    assert "致命项违规" in zh.text and "通话转写" in zh.text and 'data-testid="decide-form"' in zh.text
    assert "Fatal finding" in en.text and "Send the decision and feedback" in en.text
    assert "打断你的腿" in en.text  # the transcript, for the inspector
    desk = client.get("/qc", headers={"accept-language": "en"})
    assert f'href="/qc/reviews/{rid}"' in desk.text and "My reviews" in desk.text
    # A forged form is refused; the real one records the decision.
    assert (
        client.post(f"/qc/reviews/{rid}/decide", data={"csrf_token": "forged", "feedback": "x"}).status_code
        == 403
    )
    bad = client.post(f"/qc/reviews/{rid}/decide", data={"csrf_token": token, "feedback": "请注意"})
    assert bad.status_code == 422 and "case_notes" in bad.text  # the manual item must be decided
    r = client.post(f"/qc/reviews/{rid}/decide", data={"csrf_token": token, "feedback": "威胁属严重违规。",
                                                      "decision": ["case_notes:pass", "conduct_disclosure:pass", ""]})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == f"/qc/reviews/{rid}?done=decided"
    with qw.ctx.sessions() as s:
        rv = s.get(QcReview, rid)
        assert rv is not None and rv.status == "awaiting_response" and rv.overturned == 1
    # The collector sees the feedback and appeals from the page.
    collector, ctoken = browser(qw, "c_east")
    page = collector.get(f"/qc/reviews/{rid}", headers={"accept-language": "zh-CN"})
    assert "威胁属严重违规。" in page.text and 'data-testid="respond-form"' in page.text
    other, otoken = browser(qw, "c_west")
    assert other.get(f"/qc/reviews/{rid}").status_code == 404
    assert (
        other.post(
            f"/qc/reviews/{rid}/respond", data={"csrf_token": otoken, "action": "acknowledge"}
        ).status_code
        == 404
    )
    r = collector.post(f"/qc/reviews/{rid}/respond", data={"csrf_token": ctoken, "action": "appeal",
                                                          "reason": "没有威胁", "items": ["conduct_threat"]})  # fmt: skip
    assert r.status_code == 303
    lead, ltoken = browser(qw, "qc_lead" if inspector != "qc_lead" else "manager")
    page = lead.get(f"/qc/reviews/{rid}", headers={"accept-language": "en"})
    assert 'data-testid="arbitrate-form"' in page.text
    r = lead.post(f"/qc/reviews/{rid}/arbitrate", data={"csrf_token": ltoken, "decision": ["conduct_threat:fail"],
                                                       "note": "维持"})  # fmt: skip
    assert r.status_code == 303
    final = lead.get(f"/qc/reviews/{rid}?done=arbitrated", headers={"accept-language": "zh-CN"})
    assert "已仲裁" in final.text and "维持原判" in final.text and "属实" not in final.text


def test_coaching_complaints_and_results_pages(qw: QcWorld) -> None:
    client, token = browser(qw, "compliance")
    r = client.post("/qc/complaints", data={"csrf_token": token, "channel": "phone", "case_id": str(qw.w.cases["A1"]),
                                           "text": "催收员威胁要把我欠钱的事告诉我单位领导，电话13812345678。"})  # fmt: skip
    assert r.status_code == 303 and "done=CMP-" in r.headers["location"]
    page = client.get(r.headers["location"], headers={"accept-language": "zh-CN"})
    triage = classify_complaint("催收员威胁要把我欠钱的事告诉我单位领导，电话13812345678。")
    label = {"threat": "威胁", "disclosure": "泄露债务信息", "harassment": "骚扰"}[triage.category]
    assert (
        "已登记并自动分类" in page.text
        and f"<td>{label}</td>" in page.text
        and "13812345678" not in page.text
    )
    cid = re.search(r'href="/qc/complaints/(\d+)"', page.text).group(1)  # type: ignore[union-attr]
    detail = client.get(f"/qc/complaints/{cid}", headers={"accept-language": "en"})
    assert (
        "13812345678" in detail.text and 'data-testid="close-form"' in detail.text
    )  # the investigator's view
    r = client.post(
        f"/qc/complaints/{cid}/close", data={"csrf_token": token, "outcome": "upheld", "note": "属实"}
    )
    assert r.status_code == 303
    # Coaching: the upheld complaint is in the library for every collector, de-identified.
    collector, _ = browser(qw, "c_west")
    lib = collector.get("/qc/coaching", headers={"accept-language": "zh-CN"})
    assert "反面案例" in lib.text and "来自属实投诉" in lib.text and "13812345678" not in lib.text
    assert collector.get("/qc/results").status_code == 403
    assert collector.get("/qc/complaints").status_code == 200  # collectors record complaints, not read them
    # Results: the chart's data and labels as JSON, Plotly from the app itself.
    manager, _ = browser(qw, "manager")
    res = manager.get("/qc/results", headers={"accept-language": "zh-CN"})
    assert res.status_code == 200 and "回款率" in res.text and "异常催收率" in res.text
    assert '<script src="/qc/results/plotly.min.js"' in res.text and "cdn" not in res.text.lower()
    data = json.loads(re.search(r'id="kpi-data">(.*?)</script>', res.text, re.S).group(1))  # type: ignore[union-attr]
    labels = json.loads(re.search(r'id="kpi-labels">(.*?)</script>', res.text, re.S).group(1))  # type: ignore[union-attr]
    assert labels["recovery_rate"] == "回款率" and [p["label"] for p in data["periods"]][-1] == "2026-11"
    assert data["periods"][-1]["abnormal_per_contact"]["numerator"] == 1
    js = manager.get("/qc/results/plotly.min.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert js.text.lstrip().startswith("/**") and "plotly.js v" in js.text[:200]
    assert manager.get("/qc/results/kpi-charts.js").text.count("Plotly.newPlot") == 2


def test_results_page_shows_calibration_agreement(qw: QcWorld) -> None:
    (a, b) = qw.import_lines(
        [line("cal-p1", qw.w.cases["A1"], T0, THREAT_ZH), line("cal-p2", qw.w.cases["A2"], T0, THREAT_ZH)]
    )
    # Two inspectors, four decisions each, agreeing on three: Fleiss' kappa = (P̄ − P_e) ÷ (1 − P_e), P̄ = 3/4.
    votes = {"qc": {a: {"tone": True, "empathy": True}, b: {"tone": False, "empathy": False}},
             "qc2": {a: {"tone": True, "empathy": False}, b: {"tone": False, "empathy": False}}}  # fmt: skip
    with transaction(qw.ctx.sessions) as s:
        cal = review.open_calibration(
            s, qw.p("qc_lead"), name="十二月校准", interaction_ids=[a, b], inspectors=["qc", "qc2"], now=T0
        )
        for who, table in votes.items():
            for iid, decisions in table.items():
                review.submit_calibration(s, qw.p(who), cal.id, iid, decisions=decisions, now=T0)
        review.close_calibration(s, qw.p("qc_lead"), cal.id, now=T0)
    manager, _ = browser(qw, "manager")
    page = manager.get("/qc/results", headers={"accept-language": "zh-CN"}).text
    row = re.search(r'data-testid="calibrations">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)  # type: ignore[union-attr]
    p_o, p_e = 3 / 4, (3 / 8) ** 2 + (5 / 8) ** 2  # qc passes 2 of 4, qc2 1 of 4: 3 of 8 pooled
    assert "十二月校准" in row and "qc, qc2" in row and "75%" in row
    assert f">{round((p_o - p_e) / (1 - p_e), 3)}<" in row
    collector, _ = browser(qw, "c_east")
    assert manager.get("/qc/results").status_code == 200 and collector.get("/qc/results").status_code == 403
