"""The coaching library (R26, R29) and inspectors' notes (R25): reviewed interactions, de-identified,
published as good and bad examples per scorecard item and shared with every role; round analysis."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from arrears.core.context import AppContext
from arrears.core.db import transaction
from arrears.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from arrears.portfolio.models import Account, Debtor
from arrears.quality import coaching, review
from arrears.quality.models import QcReview
from arrears.security.principal import ROLES
from tests.conftest import FIXED_NOW
from tests.quality.review_world import GOOD_ZH, NO_RANDOM, THREAT_EN, THREAT_ZH, QcWorld, build_qc_world, line
from tests.security.world import PII

T0 = FIXED_NOW


@pytest.mark.parametrize(
    ("text", "known", "language", "gone", "kept"),
    [
        ("您好，请问是张三先生本人吗？", [("张三", "debtor")], "zh-CN", ["张三"], ["【客户】先生"]),
        ("张先生您好，我是客服专员李娜，工号1024。", [], "zh-CN", ["张先生", "李娜", "1024"], ["某先生", "专员【姓名】", "工号 ***"]),
        ("我的手机是13812345678，身份证110101199003071234。", [], "zh-CN", ["13812345678", "110101199003071234"], ["138****5678"]),
        ("告诉你的紧急联系人李四和你单位领导", [("李四", "third_party")], "zh-CN", ["李四"], ["【联系人】"]),
        ("住在北京市朝阳区建国路88号", [("北京市朝阳区建国路88号", "address")], "zh-CN", ["建国路"], ["【地址】"]),
        ("Hello, may I speak with Mr. James Carter?", [("James Carter", "debtor")], "en", ["James", "Carter"], ["[debtor]"]),
        ("Mr. Carter, my name is Dana Reyes from Northgate.", [], "en", ["Carter", "Dana", "Reyes"], ["Mr. [name]", "my name is [name]"]),
        ("Call me at 555-123-4567 or james@example.com", [], "en", ["123-4567", "james@"], ["j***@example.com"]),
        ("We can set up a payment plan of 1,700.00 a month.", [], "en", [], ["payment plan of 1,700.00 a month"]),
    ],
)  # fmt: skip
def test_deidentify(
    text: str, known: list[tuple[str, str]], language: str, gone: list[str], kept: list[str]
) -> None:
    out = coaching.deidentify(text, known, language)
    for g in gone:
        assert g not in out, out
    for k in kept:
        assert k in out, out


@pytest.fixture
def qw(ctx: AppContext) -> QcWorld:
    return build_qc_world(ctx)


def _reviewed(
    qw: QcWorld, body: list[dict[str, object]], ref: str = "A1", language: str = "zh-CN"
) -> tuple[int, int]:
    """Import one interaction, sample it, and have its inspector confirm the machine; returns ids."""
    ctx, w = qw.ctx, qw.w
    (iid,) = qw.import_lines([line(f"co-{ref}-{language}", w.cases[ref], T0, body, language=language)])  # type: ignore[arg-type]
    with transaction(ctx.sessions) as s:
        review.run_round(s, qw.p("qc"), period_start=T0.date(), period_end=T0.date(), now=T0, seed="c",
                         settings=NO_RANDOM.model_copy(update={"min_random_per_collector": 1}))  # fmt: skip
        rv = s.scalar(select(QcReview).where(QcReview.interaction_id == iid))
        assert rv is not None
        inspector = next(n for n in ("qc", "qc2", "qc_lead") if w.users[n] == rv.inspector_id)
        review.decide(s, qw.p(inspector), rv.id, decisions={"case_notes": True}, feedback="见评分。", now=T0)
        return iid, rv.id


def test_publish_share_and_withdraw(qw: QcWorld) -> None:
    ctx = qw.ctx
    bad_id, bad_review = _reviewed(qw, THREAT_ZH)
    good_id, _good_review = _reviewed(qw, GOOD_ZH, ref="A2")
    with transaction(ctx.sessions) as s:
        with pytest.raises(Forbidden):
            coaching.publish_example(
                s, qw.p("c_east"), bad_id, item="conduct_threat", kind="bad", note=None, keys=ctx.keys, now=T0
            )
        # A bad example waits until the review is settled (the collector may still appeal).
        with pytest.raises(ValidationFailed, match="not settled"):
            coaching.publish_example(
                s, qw.p("qc"), bad_id, item="conduct_threat", kind="bad", note=None, keys=ctx.keys, now=T0
            )
        review.respond(s, qw.p("c_east"), bad_review, appeal=False, now=T0)
        with pytest.raises(ValidationFailed, match="failed"):
            coaching.publish_example(
                s, qw.p("qc"), bad_id, item="conduct_threat", kind="good", note=None, keys=ctx.keys, now=T0
            )
        ex = coaching.publish_example(
            s, qw.p("qc"), bad_id, item="conduct_threat", kind="bad", keys=ctx.keys, now=T0,
            note="张三欠款时，催收员威胁人身安全：严禁此类话术。",
        )  # fmt: skip
        with pytest.raises(Conflict):
            coaching.publish_example(
                s, qw.p("qc"), bad_id, item="conduct_threat", kind="bad", note=None, keys=ctx.keys, now=T0
            )
        good = coaching.publish_example(
            s, qw.p("qc"), good_id, item="solution_offered", kind="good", note=None, keys=ctx.keys, now=T0
        )
        example_id = ex.id
        assert good.kind == "good"
    with ctx.sessions() as s:
        # Shared with the whole team, every role (R26) — de-identified.
        for role in ROLES:
            lib = coaching.library(s, qw.p(qw.w.user_for(role)))
            assert {(e["item"], e["kind"]) for e in lib} == {
                ("conduct_threat", "bad"),
                ("solution_offered", "good"),
            }
        bad = next(e for e in coaching.library(s, qw.p("c_west"), kind="bad"))
        text = " ".join(t["text"] for t in bad["excerpt"]) + (bad["note"] or "")
        for secret in ("张三", PII["A1"]["phone"], "c_east"):
            assert secret not in text
        assert "【客户】" in text and "138****5678" in text and "打断你的腿" in text
        assert [t["speaker"] for t in bad["excerpt"]] == ["agent", "debtor", "agent"]
    with transaction(ctx.sessions) as s:
        coaching.withdraw_example(s, qw.p("manager"), example_id, now=T0)
        with pytest.raises(Conflict):
            coaching.withdraw_example(s, qw.p("manager"), example_id, now=T0)
        with pytest.raises(NotFound):
            coaching.withdraw_example(s, qw.p("manager"), 987654, now=T0)
        assert [e["item"] for e in coaching.library(s, qw.p("c_east"))] == ["solution_offered"]


def test_english_example_is_deidentified(qw: QcWorld) -> None:
    ctx = qw.ctx
    with transaction(ctx.sessions) as s:  # an English-speaking debtor on A1
        acc = s.get(Account, qw.w.accounts["A1"])
        debtor = s.get(Debtor, acc.debtor_id)  # type: ignore[union-attr]
        assert debtor is not None
        debtor.name = "James Carter"
    iid, rid = _reviewed(qw, THREAT_EN, language="en-US")
    with transaction(ctx.sessions) as s:
        review.respond(s, qw.p("c_east"), rid, appeal=False, now=T0)
        coaching.publish_example(
            s, qw.p("qc"), iid, item="conduct_threat", kind="bad", note=None, keys=ctx.keys, now=T0
        )
        (ex,) = coaching.library(s, qw.p("c_east"), language="en")
        text = " ".join(t["text"] for t in ex["excerpt"])
        assert "James" not in text and "123-4567" not in text and "arrested" in text
        assert text.startswith("[debtor], you owe us money")


def test_notes_and_round_analysis(qw: QcWorld) -> None:
    ctx = qw.ctx
    _, rid = _reviewed(qw, THREAT_ZH)
    with transaction(ctx.sessions) as s:
        rv = s.get(QcReview, rid)
        assert rv is not None and rv.round_id is not None
        round_id = rv.round_id
        with pytest.raises(Forbidden):
            review.add_note(s, qw.p("c_east"), kind="problem", text="x", now=T0)
        with pytest.raises(ValidationFailed, match="kind"):
            review.add_note(s, qw.p("qc"), kind="gripe", text="x", now=T0)
        review.add_note(
            s, qw.p("qc"), kind="problem", text="新人对威胁类话术边界不清。", review_id=rid, now=T0
        )
        review.add_note(
            s, qw.p("qc"), kind="bottleneck", text="录音转写延迟两天，评审排队。", round_id=round_id, now=T0
        )
        review.add_note(
            s,
            qw.p("qc"),
            kind="suggestion",
            text="把本例加入新人培训的反面案例。",
            item="conduct_threat",
            now=T0,
        )
    with ctx.sessions() as s:
        assert {n["kind"] for n in review.list_notes(s, qw.p("manager"))} == {
            "problem",
            "bottleneck",
            "suggestion",
        }
        assert len(review.list_notes(s, qw.p("lead_east"))) == 3  # the review is about the lead's team
        summary = review.round_summary(s, qw.p("manager"), round_id)
        assert summary["sampled"] == 1 and summary["by_reason"] == {"fatal": 1}
        assert [n["kind"] for n in summary["notes"]] == ["bottleneck"]
        assert summary["by_status"] == {"awaiting_response": 1}
