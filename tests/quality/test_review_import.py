"""Importing interactions (R23, R24): every line checked before anything is written, links to case,
collector and contact attempt, transcripts encrypted, automatic scores stored per item, the stated
amounts checked against the ledger (R2), idempotent re-imports, and who may see what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from arrears.cases.models import Contact
from arrears.core.context import AppContext
from arrears.core.db import transaction
from arrears.core.errors import Forbidden, NotFound, ValidationFailed
from arrears.portfolio.models import Account
from arrears.quality import interactions as qi
from arrears.quality.conversation import InteractionError
from arrears.quality.models import QcInteraction, QcItemResult
from tests.conftest import FIXED_NOW
from tests.quality.review_world import GOOD_EN, GOOD_ZH, QcWorld, build_qc_world, line, turns

T0 = FIXED_NOW


@pytest.fixture
def qw(ctx: AppContext) -> QcWorld:
    return build_qc_world(ctx)


def _count(ctx: AppContext) -> int:
    with ctx.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(QcInteraction)) or 0)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"id": "x", "language": "zh-CN", "case_id": 1, "turns": [{"speaker": "agent", "text": "hi"}]}, "occurred_at"),
        ({"id": "x", "language": "zh-CN", "case_id": 1, "occurred_at": "2026-11-20T10:00:00",
          "turns": [{"speaker": "agent", "text": "hi"}]}, "occurred_at"),
        ({"id": "x", "language": "zh-CN", "occurred_at": "2026-11-20T10:00:00Z",
          "turns": [{"speaker": "agent", "text": "hi"}]}, "case_id"),
        ({"id": "x", "language": "zh-CN", "case_id": 0, "occurred_at": "2026-11-20T10:00:00Z",
          "turns": [{"speaker": "agent", "text": "hi"}]}, "case_id"),
        ({"id": "x", "language": "zh-CN", "case_id": 1, "channel": "sms", "occurred_at": "2026-11-20T10:00:00Z"}, "text"),
        ({"id": "x", "language": "zh-CN", "case_id": 1, "channel": "call", "text": "hello",
          "occurred_at": "2026-11-20T10:00:00Z"}, "turns"),
        ({"id": "x", "language": "zh-CN", "case_id": 1, "occurred_at": "2026-11-20T10:00:00Z",
          "turns": [{"speaker": "robot", "text": "hi"}]}, "turns[0].speaker"),
    ],
)  # fmt: skip
def test_parse_names_the_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(InteractionError) as err:
        qi.parse_import_line(raw)
    assert err.value.field == field


def test_single_text_channels_become_one_agent_turn() -> None:
    sms = qi.parse_import_line(
        {"id": "s", "language": "zh-CN", "channel": "sms", "case_id": 1, "occurred_at": "2026-11-20T10:00:00+08:00",
         "text": "【安信】张三您好，您的账单已逾期，请及时还款。"}
    )  # fmt: skip
    assert [t.speaker for t in sms.interaction.turns] == [
        "agent"
    ] and sms.occurred_at.utcoffset() == timedelta(0)
    mail = qi.parse_import_line(
        {"id": "m", "language": "en", "channel": "email", "account_ref": "A1", "occurred_at": "2026-11-20T10:00:00Z",
         "subject": "Your account", "text": "Dear customer, please call us."}
    )  # fmt: skip
    assert mail.interaction.turns[0].text == "Your account\nDear customer, please call us."
    visit = qi.parse_import_line(
        {"id": "v", "language": "zh-CN", "channel": "visit", "contact_id": 3, "occurred_at": "2026-11-20T10:00:00Z",
         "text": "两名外访员出示工作证，客户同意在门口沟通。"}
    )  # fmt: skip
    assert visit.contact_id == 3 and visit.interaction.channel == "visit"


def test_every_bad_line_reported_and_nothing_imported(qw: QcWorld) -> None:
    w = qw.w
    raws = [
        line("ok-1", w.cases["A1"], T0, GOOD_ZH),
        line("bad-case", 987654, T0, GOOD_ZH),
        line(
            "bad-lang", w.cases["A1"], T0, GOOD_ZH, language="en-US"
        ),  # English scorecard for Chinese text is fine…
        {
            **line("bad-card", w.cases["A1"], T0, GOOD_ZH),
            "scorecard": "default-us",
        },  # …but a mismatched card is not
        line("ok-1", w.cases["A2"], T0, GOOD_ZH),
        {**line("bad-user", w.cases["A1"], T0, GOOD_ZH), "collector": "nobody"},
    ]
    lines = [qi.parse_import_line(r, n) for n, r in enumerate(raws, 1)]
    with transaction(qw.ctx.sessions) as s, pytest.raises(ValidationFailed) as err:
        qi.import_interactions(s, qw.p("qc"), lines, keys=qw.ctx.keys, now=T0)
    details = err.value.details
    assert any(d.startswith("line 2: case_id:") for d in details)
    assert any(d.startswith("line 4: language:") and "default-us" in d for d in details)
    assert any(d.startswith("line 5: id:") and "line 1" in d for d in details)
    assert any(d.startswith("line 6: collector:") for d in details)
    assert not any(d.startswith("line 1:") for d in details)
    assert _count(qw.ctx) == 0


def test_links_scores_encryption_and_idempotency(qw: QcWorld) -> None:
    ctx, w = qw.ctx, qw.w
    with transaction(ctx.sessions) as s:
        acc = s.get(Account, w.accounts["A1"])
        assert acc is not None
        contact = Contact(
            case_id=w.cases["A1"], account_id=acc.id, debtor_id=acc.debtor_id, at=T0 - timedelta(hours=2),
            direction="outbound", channel="call", party="debtor", person=str(acc.debtor_id), outcome="promise",
            recorded_by=w.users["c_east2"], recorded_by_name="c_east2", created_at=T0,
        )  # fmt: skip
        s.add(contact)
        s.flush()
        contact_id = contact.id
    raws = [
        {**line("c-1", w.cases["A1"], T0 - timedelta(hours=2), GOOD_ZH), "contact_id": contact_id},
        line("c-2", w.cases["A1"], T0, turns(*[(t["speaker"], t["text"].replace("10000元", "12000元")) for t in GOOD_ZH])),
        {"id": "c-3", "language": "en", "channel": "email", "account_ref": "A3", "occurred_at": T0.isoformat(),
         "subject": "Account A3", "text": "Dear customer, your balance is 10,000.00. Reply STOP to opt out."},
    ]  # fmt: skip
    ids = qw.import_lines(raws)
    with ctx.sessions() as s:
        c1, c2, c3 = (s.get(QcInteraction, i) for i in ids)
        assert c1 and c2 and c3
        # The contact attempt decides case and collector (its recorder), unless the line names one.
        assert (c1.contact_id, c1.collector_id) == (contact_id, w.users["c_east2"])
        assert (c2.contact_id, c2.collector_id) == (None, w.users["c_east"])
        assert (c3.case_id, c3.collector_id, c3.channel, c3.turns) == (
            w.cases["A3"],
            w.users["c_west"],
            "email",
            1,
        )
        items = {
            (r.interaction_id, r.item): r
            for r in s.scalars(select(QcItemResult).where(QcItemResult.interaction_id.in_(ids)))
        }
        # R2: the balance stated is checked against the ledger (10,000.00 on A1).
        assert items[(c1.id, "amount_terms")].passed is True
        wrong = items[(c2.id, "amount_terms")]
        assert wrong.passed is False and "account balance 10000.00" in str(wrong.evidence)
        assert c3.language == "en" and c3.scorecard.startswith("default-en")
        raw = s.execute(
            text("SELECT content_enc FROM qc_interactions WHERE id = :i"), {"i": c1.id}
        ).scalar_one()
        assert "张三".encode() not in bytes(raw) and "安信".encode() not in bytes(raw)
        assert qi.decrypt_content(c1, ctx.keys)["turns"][0]["text"] == GOOD_ZH[0]["text"]
    # Same content again: nothing new. Other content under the same id: refused.
    lines = [qi.parse_import_line(r, n) for n, r in enumerate(raws, 1)]
    with transaction(ctx.sessions) as s:
        report = qi.import_interactions(s, qw.p("qc"), lines, keys=ctx.keys, now=T0)
        assert report.imported == [] and sorted(report.unchanged) == ["c-1", "c-2", "c-3"]
    changed = [qi.parse_import_line({**raws[1], "turns": GOOD_EN, "language": "en"}, 1)]
    with transaction(ctx.sessions) as s, pytest.raises(ValidationFailed, match="other content"):
        qi.import_interactions(s, qw.p("qc"), changed, keys=ctx.keys, now=T0)
    assert _count(ctx) == 3


def test_a_contact_of_another_case_is_refused(qw: QcWorld) -> None:
    ctx, w = qw.ctx, qw.w
    with transaction(ctx.sessions) as s:
        acc = s.get(Account, w.accounts["A2"])
        assert acc is not None
        contact = Contact(case_id=w.cases["A2"], account_id=acc.id, debtor_id=acc.debtor_id, at=T0, direction="outbound",
                          channel="call", party="debtor", person="x", outcome="no_answer", recorded_by_name="c", created_at=T0)  # fmt: skip
        s.add(contact)
        s.flush()
        cid = contact.id
    with pytest.raises(ValidationFailed, match="belongs to case"):
        qw.import_lines([{**line("x", w.cases["A1"], T0, GOOD_ZH), "contact_id": cid}])


def test_who_imports_and_who_sees(qw: QcWorld) -> None:
    ctx, w = qw.ctx, qw.w
    lines = [qi.parse_import_line(line("p-1", w.cases["A1"], T0, GOOD_ZH), 1)]
    with transaction(ctx.sessions) as s, pytest.raises(Forbidden):
        qi.import_interactions(s, qw.p("c_east"), lines, keys=ctx.keys, now=T0)
    (iid,) = qw.import_lines([line("p-1", w.cases["A1"], T0, GOOD_ZH)])
    with transaction(ctx.sessions) as s:
        assert (
            qi.interaction_detail(s, qw.p("c_east"), iid, keys=ctx.keys, now=T0)["turns"][0]["speaker"]
            == "agent"
        )
        assert qi.interaction_detail(s, qw.p("lead_east"), iid, keys=ctx.keys, now=T0)["id"] == iid
        assert qi.interaction_detail(s, qw.p("compliance"), iid, keys=ctx.keys, now=T0)["id"] == iid
        for outsider in ("c_east2", "c_west"):
            with pytest.raises(NotFound):
                qi.interaction_detail(s, qw.p(outsider), iid, keys=ctx.keys, now=T0)
        with pytest.raises(Forbidden):
            qi.interaction_detail(s, qw.p("legal"), iid, keys=ctx.keys, now=T0)
        assert qi.list_interactions(s, qw.p("c_west"))[1] == 0
        assert qi.list_interactions(s, qw.p("lead_east"))[1] == 1
