"""A small QC world on top of the security world: extra inspectors, a QC lead, and interactions
written for these tests (zh-CN and English), imported through the interactions service.

    c_east  (team east)  works A1 (debtor 张三)
    c_east2 (team east)  works A2
    c_west  (team west)  works A3
    qc, qc2 — inspectors;  qc_lead — inspector with the lead flag;  manager, compliance, lead_east …
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from arrears.core.context import AppContext
from arrears.core.db import transaction
from arrears.quality import interactions as qi
from arrears.quality import review
from arrears.quality.qc_settings import QCSettings
from arrears.security.models import User
from arrears.security.principal import Principal
from tests.security.world import World, _password_hash, build_world

A, D = "agent", "debtor"

# Only the fatal, low and uncertain ones, no random share: tests decide exactly what is sampled.
NO_RANDOM = QCSettings(random_share=0.0, new_staff_share=0.0, min_random_per_collector=0)


def turns(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"speaker": s, "text": t} for s, t in pairs]


# A lawful, complete call about A1 (debtor 张三, balance 10,000.00 CNY).
GOOD_ZH = turns(
    (A, "您好，请问是张三先生本人吗？"),
    (D, "是我。"),
    (A, "张先生您好，我是安信消费金融的客服专员李娜，工号1024，今天来电是关于您在我司的借款，想跟您核对一下还款情况。您目前欠款共计10000元，还款日是11月15日。"),
    (D, "我最近失业了，手头很紧。"),
    (A, "非常理解您的难处，这段时间确实不容易。我们可以为您申请分期，每月还1700元，分6期还清。"),
    (D, "好的，我跟家里商量一下。"),
    (A, "好的，那跟您确认一下：12月5日前还第一期1700元，稍后会给您发送短信，感谢您的配合。"),
)  # fmt: skip

# Threats and disclosure to the employer and contacts: fatal.
THREAT_ZH = turns(
    (A, "张三，你欠钱不还是吧？"),
    (D, "我现在没钱，您是哪位？我的手机是13812345678。"),
    (A, "再不还钱我们就派人去你家，打断你的腿，还要把你欠钱的事告诉你单位领导和你所有通讯录联系人！"),
)

GOOD_EN = turns(
    (A, "Hello, may I speak with Mr. James Carter?"),
    (D, "Yes, speaking."),
    (A, "Mr. Carter, my name is Dana Reyes and I'm calling from Northgate Recovery. This is an attempt to collect a debt and any information obtained will be used for that purpose. Your balance is 10,000.00, due on November 15."),
    (D, "I lost my job and can't pay it all."),
    (A, "I understand, that sounds difficult. We can set up a payment plan of 1,700.00 a month."),
    (D, "OK."),
    (A, "To summarize, your first payment of 1,700.00 is due December 5, and I'll send you a confirmation letter. Thank you."),
)  # fmt: skip

THREAT_EN = turns(
    (A, "James, you owe us money and if you don't pay today we will have you arrested and we'll call your employer and tell your boss."),
    (D, "I can't pay. Please stop calling me at 555-123-4567."),
)  # fmt: skip


def line(
    ident: str, case_id: int, at: datetime, body: list[dict[str, Any]], language: str = "zh-CN", **extra: Any
) -> dict[str, Any]:
    return {
        "id": ident,
        "language": language,
        "case_id": case_id,
        "occurred_at": at.isoformat(),
        "turns": body,
        **extra,
    }


@dataclass
class QcWorld:
    w: World
    ctx: AppContext

    def p(self, username: str) -> Principal:
        return self.w.principal(username)

    def import_lines(
        self, raws: list[dict[str, Any]], *, as_user: str = "qc", now: datetime | None = None
    ) -> list[int]:
        lines = [qi.parse_import_line(r, n) for n, r in enumerate(raws, 1)]
        with transaction(self.ctx.sessions) as s:
            report = qi.import_interactions(
                s, self.p(as_user), lines, keys=self.ctx.keys, now=now or self.ctx.clock()
            )
            return report.imported


def build_qc_world(ctx: AppContext) -> QcWorld:
    w = build_world(ctx)
    now = ctx.clock()
    with transaction(ctx.sessions) as s:
        for name in ("qc2", "qc_lead"):
            u = User(username=name, role="qc_inspector", password_hash=_password_hash(), active=True,
                     created_at=now - timedelta(days=400), updated_at=now)  # fmt: skip
            s.add(u)
            s.flush()
            w.users[name] = u.id
        # Everyone in the security world was "hired" long ago, so nobody is new staff unless a test says so.
        for uid in list(w.users.values()):
            user = s.get(User, uid)
            assert user is not None
            user.created_at = now - timedelta(days=400)
        s.flush()
        review.set_staff(s, w.principal("manager"), "qc_lead", qc_lead=True, now=now)
    return QcWorld(w, ctx)
