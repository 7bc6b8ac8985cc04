"""Complaints: intake from portal, phone, e-mail and regulator referral → automatic triage (zh-CN and
English) → investigation with a deadline → upheld → the interactions go to QC and a de-identified bad
example reaches the coaching library; the text is encrypted, the lists scrubbed, everything audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from arrears.core.context import AppContext
from arrears.core.db import transaction
from arrears.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from arrears.quality import coaching, review
from arrears.quality import complaints_service as cs
from arrears.quality.models import Complaint, QcReview
from arrears.security.models import AuditEvent
from tests.conftest import FIXED_NOW
from tests.quality.review_world import THREAT_ZH, QcWorld, build_qc_world, line
from tests.security.world import PII

T0 = FIXED_NOW
ZH_TEXT = (
    "你们的催收员每天给我打十几个电话，还说要把我欠钱的事告诉我单位领导和同事。我叫张三，电话13812345678。"
)
EN_TEXT = "Your collector called my employer and told my boss about my debt. He also threatened to have me arrested."


@pytest.fixture
def qw(ctx: AppContext) -> QcWorld:
    return build_qc_world(ctx)


def test_intake_triage_and_scope(qw: QcWorld) -> None:
    ctx, w = qw.ctx, qw.w
    with transaction(ctx.sessions) as s:
        with pytest.raises(NotFound):  # a collector records complaints on their own cases only
            cs.intake(s, qw.p("c_west"), cs.ComplaintIn(channel="phone", text=ZH_TEXT, case_id=w.cases["A1"]),
                      keys=ctx.keys, now=T0)  # fmt: skip
        with pytest.raises(ValidationFailed, match="regulator_ref"):
            cs.intake(
                s,
                qw.p("compliance"),
                cs.ComplaintIn(channel="regulator", text=EN_TEXT),
                keys=ctx.keys,
                now=T0,
            )
        with pytest.raises(ValidationFailed, match="channel"):
            cs.intake(
                s, qw.p("compliance"), cs.ComplaintIn(channel="fax", text=EN_TEXT), keys=ctx.keys, now=T0
            )
        zh = cs.intake(s, qw.p("c_east"), cs.ComplaintIn(channel="phone", text=ZH_TEXT, case_id=w.cases["A1"]),
                       keys=ctx.keys, now=T0)  # fmt: skip
        en = cs.intake(
            s, qw.p("compliance"),
            cs.ComplaintIn(channel="regulator", text=EN_TEXT, account_ref="A3", regulator_ref="CFPB-2611-0042",
                           received_at=T0 - timedelta(days=1)),
            keys=ctx.keys, now=T0,
        )  # fmt: skip
        portal = cs.intake(s, qw.p("compliance"), cs.ComplaintIn(channel="portal", text="我已经还清了，你们系统显示的金额不对。"),
                           keys=ctx.keys, now=T0)  # fmt: skip
        zh_id, en_id = zh.id, en.id
        # Triage: category, alleged misconduct, in both languages; non-conduct complaints are told apart.
        assert (zh.category, zh.conduct, zh.language) == ("disclosure", True, "zh-CN")
        assert (en.category, en.conduct, en.language) == ("disclosure", True, "en")
        assert (portal.category, portal.conduct) == ("dispute", False)
        # Links: the case's holder is the collector complained about.
        assert (zh.collector_id, en.collector_id, portal.case_id) == (
            w.users["c_east"],
            w.users["c_west"],
            None,
        )
        # Deadlines: 15 days; a regulator's referral 10 days from receipt.
        assert zh.due_at == T0 + timedelta(days=15) and en.due_at == T0 - timedelta(days=1) + timedelta(
            days=10
        )
        assert en.complainant == "regulator" and zh.ref.startswith("CMP-20261128-")
        assert PII["A1"]["phone"] not in zh.summary and "138****5678" in zh.summary
        raw = s.execute(text("SELECT text_enc FROM complaints WHERE id = :i"), {"i": zh.id}).scalar_one()
        assert "张三".encode() not in bytes(raw)
    with transaction(ctx.sessions) as s:
        with pytest.raises(Forbidden):
            cs.list_complaints(s, qw.p("c_east"))
        assert {c["id"] for c in cs.list_complaints(s, qw.p("lead_east"))[0]} == {zh_id}  # the team's only
        assert cs.list_complaints(s, qw.p("compliance"))[1] == 3
        with pytest.raises(NotFound):
            cs.complaint_detail(s, qw.p("lead_east"), en_id, keys=ctx.keys, now=T0)
        detail = cs.complaint_detail(s, qw.p("compliance"), zh_id, keys=ctx.keys, now=T0)
        assert detail["text"] == ZH_TEXT  # the original, for the investigator (the read is audited)
        # The investigation deadline passes: an alert for the team lead and compliance.
        later = T0 + timedelta(days=16)
        assert {a.entity_id for a in review.overdue_items(s, qw.p("compliance"), as_of=later)} == {
            zh_id,
            en_id,
            portal.id,
        }
        assert [a.entity_id for a in review.overdue_items(s, qw.p("lead_east"), as_of=later)] == [zh_id]
        assert [
            c["id"]
            for c in cs.list_complaints(s, qw.p("compliance"), overdue_as_of=T0 + timedelta(days=10))[0]
        ] == [en_id]


def test_upheld_conduct_complaint_feeds_qc_and_coaching(qw: QcWorld) -> None:
    ctx, w = qw.ctx, qw.w
    (iid,) = qw.import_lines([line("cmp-call", w.cases["A1"], T0 - timedelta(days=1), THREAT_ZH)])
    with transaction(ctx.sessions) as s:
        c = cs.intake(s, qw.p("c_east"),
                      cs.ComplaintIn(channel="phone", text=ZH_TEXT, case_id=w.cases["A1"], interaction_ids=[iid]),
                      keys=ctx.keys, now=T0)  # fmt: skip
        cid = c.id
        with pytest.raises(Forbidden):
            cs.assign(s, qw.p("qc"), cid, investigator=None, now=T0)
        with pytest.raises(ValidationFailed, match="not a compliance officer"):
            cs.assign(s, qw.p("manager"), cid, investigator="c_east", now=T0)
        cs.assign(s, qw.p("manager"), cid, investigator="compliance", now=T0)
        with pytest.raises(ValidationFailed, match="outcome"):
            cs.close(s, qw.p("compliance"), cid, outcome="maybe", note="n", keys=ctx.keys, now=T0)
        closed = cs.close(s, qw.p("compliance"), cid, outcome="upheld", note="录音证实张三所述属实：催收员以告知单位相威胁。",
                          keys=ctx.keys, now=T0 + timedelta(days=3))  # fmt: skip
        assert (closed.status, closed.outcome, closed.conduct_final) == ("closed", "upheld", True)
        with pytest.raises(Conflict):
            cs.close(s, qw.p("compliance"), cid, outcome="not_upheld", note="n", keys=ctx.keys, now=T0)
    with ctx.sessions() as s:
        # QC: the linked interaction went to an inspector.
        rv = s.scalar(select(QcReview).where(QcReview.interaction_id == iid))
        assert rv is not None and rv.reason == "complaint" and rv.status == "pending"
        # Coaching: a bad example of the conduct item concerned, de-identified, visible to every collector.
        (ex,) = coaching.library(s, qw.p("c_west"))
        assert (ex["item"], ex["kind"], ex["source"]) == ("conduct_disclosure", "bad", "complaint")
        body = " ".join(t["text"] for t in ex["excerpt"]) + (ex["note"] or "")
        assert "张三" not in body and PII["A1"]["phone"] not in body and "通讯录" in body
        actions = s.scalars(
            select(AuditEvent.action).where(AuditEvent.entity == "complaint", AuditEvent.entity_id == str(cid)).order_by(AuditEvent.id)
        ).all()  # fmt: skip
        assert actions == ["complaint.create", "complaint.assign", "complaint.close"]


def test_upheld_complaint_without_a_recording_publishes_the_complaint_itself(qw: QcWorld) -> None:
    ctx, w = qw.ctx, qw.w
    with transaction(ctx.sessions) as s:
        c = cs.intake(s, qw.p("compliance"), cs.ComplaintIn(channel="email", text=ZH_TEXT, case_id=w.cases["A1"]),
                      keys=ctx.keys, now=T0)  # fmt: skip
        cs.close(s, qw.p("compliance"), c.id, outcome="upheld", note="属实。", keys=ctx.keys, now=T0)
        (ex,) = coaching.library(s, qw.p("c_east"))
        assert ex["excerpt"][0]["speaker"] == "complainant" and ex["item"] == "conduct_disclosure"
        assert "张三" not in ex["excerpt"][0]["text"] and "【客户】" in ex["excerpt"][0]["text"]
        assert "138****5678" in ex["excerpt"][0]["text"]


@pytest.mark.parametrize(
    ("complaint_text", "outcome", "conduct"),
    [
        ("我已经还清了，你们系统显示的金额不对，请核实。", "upheld", None),
        (ZH_TEXT, "not_upheld", None),
        (ZH_TEXT, "upheld", False),
    ],
)
def test_nothing_fed_unless_upheld_misconduct(
    qw: QcWorld, complaint_text: str, outcome: str, conduct: bool | None
) -> None:
    ctx, w = qw.ctx, qw.w
    (iid,) = qw.import_lines([line("nf-call", w.cases["A1"], T0, THREAT_ZH)])
    with transaction(ctx.sessions) as s:
        c = cs.intake(s, qw.p("compliance"),
                      cs.ComplaintIn(channel="portal", text=complaint_text, case_id=w.cases["A1"], interaction_ids=[iid]),
                      keys=ctx.keys, now=T0)  # fmt: skip
        cs.close(
            s,
            qw.p("compliance"),
            c.id,
            outcome=outcome,
            note="查明。",
            conduct=conduct,
            keys=ctx.keys,
            now=T0,
        )
        assert s.scalar(select(QcReview).where(QcReview.interaction_id == iid)) is None
        assert coaching.library(s, qw.p("c_east")) == []
        assert s.get(Complaint, c.id).status == "closed"  # type: ignore[union-attr]
