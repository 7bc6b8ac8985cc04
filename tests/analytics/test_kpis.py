"""KPIs worked by hand (R27, R28): recovery, overdue, bad-debt and abnormal-collection rates on a small
portfolio built through the ledger service, per team, collector and month; plus the pure rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from arrears.analytics import kpis as k
from arrears.analytics import service as analytics
from arrears.cases.models import CaseAssignment, Contact
from arrears.core.context import AppContext
from arrears.core.db import transaction
from arrears.core.errors import Forbidden, ValidationFailed
from arrears.ledger import service as ledger
from arrears.portfolio.models import Account, BucketHistory, Case
from arrears.quality import complaints_service as cs
from arrears.quality import interactions as qi
from arrears.quality import review
from arrears.quality.models import QcInteraction, QcReview
from arrears.security.models import Team, User
from arrears.security.principal import Principal
from tests import factories
from tests.quality.review_world import NO_RANDOM, THREAT_ZH

NOV = (date(2026, 11, 1), date(2026, 11, 30))


def at(d: date, hour: int = 10) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)


# --------------------------------------------------------------------------------------------- pure


def test_ratio_and_periods() -> None:
    assert k.Ratio(1, 4).value == 0.25 and k.Ratio(0, 0).value is None
    assert k.Ratio(0, 0).to_dict() == {"numerator": 0, "denominator": 0, "rate": None}
    assert k.periods(date(2026, 10, 15), date(2026, 12, 3)) == [
        (date(2026, 10, 15), date(2026, 10, 31)),
        (date(2026, 11, 1), date(2026, 11, 30)),
        (date(2026, 12, 1), date(2026, 12, 3)),
    ]
    weeks = k.periods(date(2026, 11, 25), date(2026, 12, 8), "week")  # 2026-11-25 is a Wednesday
    assert weeks == [
        (date(2026, 11, 25), date(2026, 11, 29)),
        (date(2026, 11, 30), date(2026, 12, 6)),
        (date(2026, 12, 7), date(2026, 12, 8)),
    ]
    with pytest.raises(ValueError):
        k.periods(date(2026, 12, 1), date(2026, 11, 1))


def test_rates_on_plain_values() -> None:
    rows = [
        k.AccountPeriod(1, 7, 1, owed_at_start=1000, added=0, collected=250, written_off=0, owed_at_end=750, overdue_at_end=True),
        k.AccountPeriod(2, 7, 1, owed_at_start=0, added=500, collected=500, written_off=0, owed_at_end=0, overdue_at_end=False),
        k.AccountPeriod(3, 8, 2, owed_at_start=300, added=0, collected=0, written_off=300, owed_at_end=0, overdue_at_end=False),
        k.AccountPeriod(4, 8, 2, owed_at_start=200, added=0, collected=0, written_off=0, owed_at_end=200, overdue_at_end=False),
    ]  # fmt: skip
    assert k.recovery_rate(rows) == k.Ratio(750, 2000)
    assert k.overdue_rate(rows) == k.Ratio(750, 950)
    assert k.overdue_count_rate(rows) == k.Ratio(1, 4)
    assert k.bad_debt_rate(rows) == k.Ratio(300, 2000)
    events = [k.AbnormalEvent("violation", 10, 7, 1, 1), k.AbnormalEvent("complaint", 10, 7, 1, 2)]
    tallies = [k.ContactTally(7, 1, 10, 3), k.ContactTally(7, 1, 11, 1), k.ContactTally(8, 2, 12, 0)]
    per_contact, per_case, abnormal = k.abnormal_rates(events, tallies)
    assert (per_contact, per_case, abnormal) == (k.Ratio(2, 4), k.Ratio(1, 2), 1)
    by_team = {r.key: r for r in k.grouped("team", rows, events, tallies)}
    assert by_team[1].recovery_rate == k.Ratio(750, 1500) and by_team[2].bad_debt_rate == k.Ratio(300, 500)
    assert by_team[2].abnormal_per_contact == k.Ratio(0, 0) and by_team[2].abnormal_per_contact.value is None
    with pytest.raises(ValueError):
        k.grouped("region", rows, events, tallies)


# --------------------------------------------------------------------------------------------- worked example


@dataclass
class Book:
    ctx: AppContext
    users: dict[str, int] = field(default_factory=dict)
    teams: dict[str, int] = field(default_factory=dict)
    accounts: dict[str, int] = field(default_factory=dict)
    cases: dict[str, int] = field(default_factory=dict)

    def p(self, name: str) -> Principal:
        with self.ctx.sessions() as s:
            user = s.get(User, self.users[name])
            assert user is not None
            return Principal.of(user)


def _contact(s, book: Book, ref: str, who: str, when: datetime) -> int:  # type: ignore[no-untyped-def]
    acc = s.get(Account, book.accounts[ref])
    c = Contact(case_id=book.cases[ref], account_id=acc.id, debtor_id=acc.debtor_id, at=when, direction="outbound",
                channel="call", party="debtor", person=str(acc.debtor_id), outcome="no_answer",
                recorded_by=book.users[who], recorded_by_name=who, created_at=when)  # fmt: skip
    s.add(c)
    s.flush()
    return int(c.id)


@pytest.fixture
def book(ctx: AppContext) -> Book:
    """Five accounts (CNY, no penalty accrual), two teams, three collectors, November 2026:

    K1 east/c1  10,000.00 placed 10-01; fee 50.00 on 11-05; pays 3,000.00 on 11-10     → owes 7,050.00, overdue
    K2 east/c1   5,000.00 placed 10-01; pays in full on 11-20 (bucket C from 11-20)      → owes 0
    K3 east/c2   8,000.00 placed 11-15                                                    → owes 8,000.00, overdue
    K4 west/c3   2,000.00 placed 10-01; written off 11-25                                 → owes 0
    K5 west/c3   4,000.00 placed 10-01; paid 1,000.00 on 10-20; current (bucket C) from 11-28; pays 500.00 on 12-05
    """
    b = Book(ctx)
    now = ctx.clock()
    with transaction(ctx.sessions) as s:
        for name in ("east", "west"):
            t = Team(name=name, created_at=now)
            s.add(t)
            s.flush()
            b.teams[name] = t.id
        for name, role, team in [("c1", "collector", "east"), ("c2", "collector", "east"), ("c3", "collector", "west"),
                                 ("lead", "team_lead", "east"), ("boss", "manager", None), ("insp", "qc_inspector", None),
                                 ("comp", "compliance_officer", None)]:  # fmt: skip
            u = User(username=name, role=role, team_id=b.teams.get(team) if team else None, password_hash="x",
                     active=True, created_at=now - timedelta(days=400), updated_at=now)  # fmt: skip
            s.add(u)
            s.flush()
            b.users[name] = u.id
        spec = [("K1", 1_000_000, date(2026, 10, 1), "c1"), ("K2", 500_000, date(2026, 10, 1), "c1"),
                ("K3", 800_000, date(2026, 11, 15), "c2"), ("K4", 200_000, date(2026, 10, 1), "c3"),
                ("K5", 400_000, date(2026, 10, 1), "c3")]  # fmt: skip
        for ref, principal, placed, who in spec:
            acc = factories.account(s, ctx, ref, balances={"principal": principal}, placement_date=placed,
                                    daily_penalty_rate="0", dpd=30)  # fmt: skip
            case = s.scalar(select(Case).where(Case.account_id == acc.id))
            assert case is not None
            case.assigned_to = b.users[who]
            b.accounts[ref], b.cases[ref] = acc.id, case.id
        # K1 moved to c2 in December: at the end of November c1 held it (assignment spells decide).
        s.get(Case, b.cases["K1"]).assigned_to = b.users["c2"]  # type: ignore[union-attr]
        s.add_all([
            CaseAssignment(case_id=b.cases["K1"], user_id=b.users["c1"], started_at=at(date(2026, 10, 1)),
                           ended_at=at(date(2026, 12, 2)), reason="initial", end_reason="manual", assigned_by="t"),
            CaseAssignment(case_id=b.cases["K1"], user_id=b.users["c2"], started_at=at(date(2026, 12, 2)),
                           reason="manual", assigned_by="t"),
        ])  # fmt: skip

        def acc(ref: str) -> Account:
            a = s.get(Account, b.accounts[ref])
            assert a is not None
            return a

        ledger.adjust(s, acc("K1"), "fees", 5_000, reason="visit fee", posted_at=at(date(2026, 11, 5)))
        ledger.post_payment(
            s,
            acc("K1"),
            amount=300_000,
            payment_ref="p-k1",
            paid_on=date(2026, 11, 10),
            posted_at=at(date(2026, 11, 10)),
        )
        ledger.post_payment(
            s,
            acc("K2"),
            amount=500_000,
            payment_ref="p-k2",
            paid_on=date(2026, 11, 20),
            posted_at=at(date(2026, 11, 20)),
        )
        ledger.write_off(s, acc("K4"), reason="uncollectable", posted_at=at(date(2026, 11, 25)))
        ledger.post_payment(
            s,
            acc("K5"),
            amount=100_000,
            payment_ref="p-k5a",
            paid_on=date(2026, 10, 20),
            posted_at=at(date(2026, 10, 20)),
        )
        s.add(BucketHistory(account_id=b.accounts["K5"], bucket="C", entered_on=date(2026, 11, 28)))
        ledger.post_payment(
            s,
            acc("K5"),
            amount=50_000,
            payment_ref="p-k5b",
            paid_on=date(2026, 12, 5),
            posted_at=at(date(2026, 12, 5)),
        )
        # Contacts in November: c1 4 on K1 and 2 on K2, c2 3 on K3, c3 1 on K4; one in December (outside).
        k1_contacts = [_contact(s, b, "K1", "c1", at(date(2026, 11, d))) for d in (3, 6, 9, 12)]
        contact_k1 = k1_contacts[0]
        for d in (4, 8):
            _contact(s, b, "K2", "c1", at(date(2026, 11, d)))
        for d in (16, 17, 18):
            _contact(s, b, "K3", "c2", at(date(2026, 11, d)))
        _contact(s, b, "K4", "c3", at(date(2026, 11, 21)))
        _contact(s, b, "K4", "c3", at(date(2026, 12, 1)))
    # QC: c1's logged call on K1 threatened the debtor (fatal, upheld); c3 sent an SMS not in the log.
    lines = [
        qi.parse_import_line({"id": "k1-call", "language": "zh-CN", "contact_id": contact_k1,
                              "occurred_at": at(date(2026, 11, 3)).isoformat(), "turns": THREAT_ZH}, 1),
        qi.parse_import_line({"id": "k4-sms", "language": "zh-CN", "channel": "sms", "case_id": b.cases["K4"],
                              "occurred_at": at(date(2026, 11, 22)).isoformat(),
                              "text": "【银行】您好，您的账户已逾期，请及时还款，如有困难可致电协商分期。"}, 2),
    ]  # fmt: skip
    now = at(date(2026, 11, 26))
    with transaction(ctx.sessions) as s:
        qi.import_interactions(s, b.p("insp"), lines, keys=ctx.keys, now=now)
        review.run_round(
            s, b.p("insp"), period_start=NOV[0], period_end=NOV[1], now=now, seed="k", settings=NO_RANDOM
        )
        rv = s.scalar(select(QcReview).join(QcInteraction).where(QcInteraction.external_id == "k1-call"))
        assert rv is not None
        review.decide(s, b.p("insp"), rv.id, decisions={"case_notes": False}, feedback="严重违规。", now=now)
        review.respond(s, b.p("c1"), rv.id, appeal=False, now=now)
        # Complaints: an upheld conduct complaint about c2's K3 counts; a rejected one and an October one do not.
        c = cs.intake(s, b.p("comp"), cs.ComplaintIn(channel="phone", case_id=b.cases["K3"],
                      text="催收员威胁我说要去我单位找领导，把欠款的事告诉我同事。"), keys=ctx.keys, now=at(date(2026, 11, 20)))  # fmt: skip
        cs.close(s, b.p("comp"), c.id, outcome="upheld", note="属实", keys=ctx.keys, now=now)
        c2 = cs.intake(s, b.p("comp"), cs.ComplaintIn(channel="phone", case_id=b.cases["K2"],
                       text="催收员每天打很多电话骚扰我。"), keys=ctx.keys, now=at(date(2026, 11, 21)))  # fmt: skip
        cs.close(s, b.p("comp"), c2.id, outcome="not_upheld", note="记录显示每天一次", keys=ctx.keys, now=now)
        c3 = cs.intake(s, b.p("comp"), cs.ComplaintIn(channel="phone", case_id=b.cases["K1"], received_at=at(date(2026, 10, 30)),
                       text="催收员威胁要起诉我并告诉我家人。"), keys=ctx.keys, now=at(date(2026, 10, 30)))  # fmt: skip
        cs.close(s, b.p("comp"), c3.id, outcome="upheld", note="属实", keys=ctx.keys, now=now)
    return b


def _rate(row: dict[str, object], name: str) -> tuple[object, object]:
    r = row[name]
    assert isinstance(r, dict)
    return r["numerator"], r["denominator"]


def test_worked_example_november(book: Book) -> None:
    with book.ctx.sessions() as s:
        (overall,) = [r.to_dict() for r in analytics.kpis(s, book.p("boss"), start=NOV[0], end=NOV[1])]
        teams = {
            r.label: r.to_dict()
            for r in analytics.kpis(s, book.p("boss"), start=NOV[0], end=NOV[1], by="team")
        }
        people = {
            r.label: r.to_dict()
            for r in analytics.kpis(s, book.p("boss"), start=NOV[0], end=NOV[1], by="collector")
        }
    # Amount due in November: K1 10,000 + 50 fee; K2 5,000; K3 8,000 placed in the month; K4 2,000; K5 3,000
    # left after October's payment = 28,050.00. Collected: 3,000 (K1) + 5,000 (K2); December's 500 is not.
    assert _rate(overall, "recovery_rate") == (800_000, 2_805_000)
    assert overall["recovery_rate"]["rate"] == pytest.approx(800_000 / 2_805_000, abs=1e-6)  # 28.52%
    # Outstanding at the end: K1 7,050 + K3 8,000 + K5 3,000; K5 is current (bucket C) → overdue 15,050.
    assert _rate(overall, "overdue_rate") == (1_505_000, 1_805_000)
    assert _rate(overall, "overdue_count_rate") == (2, 5)
    # Written off: K4's 2,000 of the 28,050 due.
    assert _rate(overall, "bad_debt_rate") == (200_000, 2_805_000)
    # Abnormal: the upheld violation (K1, c1) and the upheld complaint (K3, c2) — not the rejected one,
    # not October's. Contacts: 4 + 2 + 3 + 1 logged, plus c3's SMS not in the log = 11 (the K1 call is
    # the logged contact itself). Cases worked: K1, K2, K3, K4.
    assert (overall["violations"], overall["complaints"]) == (1, 1)
    assert _rate(overall, "abnormal_per_contact") == (2, 11)
    assert _rate(overall, "abnormal_per_case") == (2, 4)
    # Per team.
    assert _rate(teams["east"], "recovery_rate") == (800_000, 2_305_000)
    assert _rate(teams["west"], "recovery_rate") == (0, 500_000)
    assert _rate(teams["west"], "bad_debt_rate") == (200_000, 500_000)
    assert _rate(teams["east"], "abnormal_per_contact") == (2, 9)
    assert _rate(teams["west"], "abnormal_per_contact") == (0, 2)
    # Per collector: K1 is c1's at the end of November although c2 holds it now.
    assert _rate(people["c1"], "recovery_rate") == (800_000, 1_505_000)
    assert _rate(people["c2"], "recovery_rate") == (0, 800_000)
    assert _rate(people["c1"], "abnormal_per_contact") == (1, 6)
    assert _rate(people["c1"], "abnormal_per_case") == (1, 2)
    assert _rate(people["c2"], "abnormal_per_case") == (1, 1)
    assert _rate(people["c3"], "abnormal_per_case") == (0, 1)


def test_over_time_scope_findings_and_rounds(book: Book) -> None:
    with book.ctx.sessions() as s:
        months = analytics.series(s, book.p("boss"), start=date(2026, 10, 1), end=NOV[1])
        assert [m["start"] for m in months] == [date(2026, 10, 1), date(2026, 11, 1)]
        (october,) = months[0]["rows"]
        # October: K1, K2, K4, K5 placed (21,000.00); K5 paid 1,000.00.
        assert _rate(october, "recovery_rate") == (100_000, 2_100_000)
        assert _rate(months[1]["rows"][0], "recovery_rate") == (800_000, 2_805_000)
        # A team lead sees their own team only; collectors do not read KPIs.
        lead = analytics.kpis(s, book.p("lead"), start=NOV[0], end=NOV[1], by="collector")
        assert {r.label for r in lead} == {"c1", "c2"}
        (lead_all,) = analytics.kpis(s, book.p("lead"), start=NOV[0], end=NOV[1])
        assert lead_all.recovery_rate == k.Ratio(800_000, 2_305_000)
        with pytest.raises(Forbidden):
            analytics.kpis(s, book.p("c1"), start=NOV[0], end=NOV[1])
        with pytest.raises(ValidationFailed):
            analytics.kpis(s, book.p("boss"), start=NOV[1], end=NOV[0])
        # Findings most often failed: the reviewed list counts settled reviews only.
        found = analytics.most_failed(s, book.p("boss"), start=NOV[0], end=NOV[1])
        reviewed = {f["item"]: f for f in found["reviewed"]}
        assert reviewed["conduct_threat"]["failed"] == 1 and reviewed["case_notes"]["failed"] == 1
        assert {f["item"] for f in found["machine"]} >= {"conduct_threat"}
        # The QC round judged by effect: the collectors it sampled over its period — c1 (the fatal call)
        # and c3 (the SMS, below the pass mark of a call scorecard), not c2.
        (rnd,) = analytics.list_rounds(s, book.p("boss"))
        res = analytics.round_results(s, book.p("boss"), rnd["id"])
        assert [c["label"] for c in res["collectors"]] == ["c1", "c3"]
        assert _rate(res["overall"], "recovery_rate") == (800_000, 1_505_000 + 200_000 + 300_000)
        assert (
            res["qc"]["violations"] == 1
            and res["qc"]["by_reason"]["fatal"] == 1
            and res["qc"]["sampled"] == 2
        )
