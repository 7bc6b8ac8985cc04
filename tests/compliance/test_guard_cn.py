"""The guard under pack `cn`: one scenario per rule, with the edges named in RULES.md."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from arrears.compliance.guard import (
    Attempt,
    ContactHistory,
    ContactPoint,
    Decision,
    Event,
    Guard,
    ProposedContact,
)
from arrears.compliance.packs import load_pack
from arrears.compliance.rules import check_letter

SH = ZoneInfo("Asia/Shanghai")
PHONE = "+8613800138000"
OTHER_PHONE = "+8613900139000"
PACK = load_pack("cn", as_of=date(2026, 6, 1))


@dataclass(frozen=True)
class Flag:
    category: str
    start: int
    end: int
    match: str
    rule: str


@dataclass(frozen=True)
class Screened:
    verdict: str
    flags: tuple[Flag, ...] = field(default=())


def fake_screen(
    text: str, language: str | None = None, channel: str | None = None, pack: object = None
) -> Screened:
    """A stand-in for content screening: a few fixed words, enough to drive the guard's wiring."""
    words = {"打断你的腿": "threat", "公安局": "impersonation", "废物": "abuse"}
    flags = tuple(
        Flag(cat, text.find(w), text.find(w) + len(w), w, "") for w, cat in words.items() if w in text
    )
    if flags:
        return Screened("block", flags)
    if "可能" in text:
        return Screened("review", (Flag("pressure", 0, 2, "可能", ""),))
    return Screened("pass")


def at(day: int, hh: int, mm: int = 0, month: int = 5) -> datetime:
    return datetime(2026, month, day, hh, mm, tzinfo=SH)


def call(
    when: datetime,
    outcome: str | None = "no_answer",
    *,
    person: str = "D1",
    account: str = "A1",
    contact: str = PHONE,
    party: str = "debtor",
    channel: str = "call",
) -> Attempt:
    return Attempt(when, account, person, party, channel, contact, outcome)


def propose(when: datetime, **kw: object) -> ProposedContact:
    values: dict[str, object] = {
        "account": "A1",
        "person": "D1",
        "party": "debtor",
        "channel": "call",
        "contact": ContactPoint(PHONE),
    }
    values.update(kw)
    return ProposedContact(at=when, **values)  # type: ignore[arg-type]


def decide(p: ProposedContact, *items: Attempt | Event, pack: object = PACK) -> Decision:
    return Guard(pack, fake_screen).decide(p, ContactHistory(items))  # type: ignore[arg-type]


# -- CN-T1: no contact at night (22:00–08:00 local) unless the debtor agreed to that time


@pytest.mark.parametrize(
    ("hh", "mm", "allowed"),
    [(21, 59, True), (22, 0, False), (23, 30, False), (7, 59, False), (8, 0, True), (12, 0, True)],
)
def test_cn_t1_night_hours(hh: int, mm: int, allowed: bool) -> None:
    d = decide(propose(at(11, hh, mm)))
    assert d.allowed is allowed
    assert d.rules == (() if allowed else ("CN-T1",))


def test_cn_t1_is_local_time_of_the_contact() -> None:
    # 14:30 UTC is 22:30 in Shanghai
    d = decide(propose(datetime(2026, 5, 11, 14, 30, tzinfo=ZoneInfo("UTC"))))
    assert d.rules == ("CN-T1",)
    assert "22:00" in d.reasons[0].zh and "22:00" in d.reasons[0].en


def test_cn_t1_applies_to_every_channel_but_letters() -> None:
    for channel, contact in (("sms", PHONE), ("email", "d1@example.cn"), ("visit", "上海市长宁区某路1号")):
        kind = "phone" if channel == "sms" else "email" if channel == "email" else "address"
        d = decide(propose(at(11, 23), channel=channel, contact=ContactPoint(contact, kind), staff_count=2))
        assert "CN-T1" in d.rules, channel
    letter = decide(
        propose(at(11, 23), channel="letter", contact=ContactPoint("上海市长宁区某路1号", "address"))
    )
    assert "CN-T1" not in letter.rules


def test_cn_t1_consent_to_the_time_lifts_the_ban() -> None:
    assert decide(propose(at(11, 22, 30), consent=True)).allowed
    window = Event(at(10, 12), "A1", "D1", "consent", "time_of_day:22:00-23:00")
    assert decide(propose(at(11, 22, 30)), window).allowed
    assert decide(propose(at(11, 23, 30)), window).rules == ("CN-T1",)
    any_time = Event(at(10, 12), "A1", "D1", "consent", "time_of_day")
    assert decide(propose(at(12, 6, 0)), any_time).allowed
    # a call consent (US-F3 style) is not an agreement to be called at night
    assert not decide(propose(at(11, 22, 30)), Event(at(10, 12), "A1", "D1", "consent", "call")).allowed


def test_cn_t1_consent_can_be_switched_off_by_the_creditor() -> None:
    strict = load_pack("cn", {"CN-T1.consent_lifts": False}, as_of=date(2026, 6, 1))
    assert decide(propose(at(11, 22, 30), consent=True), pack=strict).rules == ("CN-T1",)


# -- CN-F1: at most 3 connected calls per debtor per local day, all agencies together


def test_cn_f1_fourth_connected_call_of_the_day_is_blocked() -> None:
    three = [call(at(11, 9), "connected"), call(at(11, 10), "conversation"), call(at(11, 11), "refused")]
    assert decide(propose(at(11, 12)), *three[:2]).allowed
    d = decide(propose(at(11, 12)), *three)
    assert d.rules == ("CN-F1",)
    assert "3" in d.reasons[0].en


def test_cn_f1_counts_all_accounts_and_agencies_but_only_connected_calls() -> None:
    mixed = [
        call(at(11, 9), "connected", account="A1"),
        call(at(11, 10), "conversation", account="A2"),  # another account (agency) of the same debtor
        call(at(11, 10, 30), "no_answer"),
        call(at(11, 10, 40), "busy"),
    ]
    assert decide(propose(at(11, 12)), *mixed).allowed
    assert decide(propose(at(11, 12)), *mixed, call(at(11, 11), "connected", account="A3")).rules == (
        "CN-F1",
    )


def test_cn_f1_day_is_the_debtors_local_day() -> None:
    # 23:30 and 23:45 Shanghai on the 10th are the same UTC date as 08:30 on the 11th: not the same local day
    late = [
        call(at(10, 21), "connected"),
        call(at(10, 21, 30), "connected"),
        call(at(10, 21, 45), "connected"),
    ]
    assert decide(propose(at(11, 8, 30)), *late).allowed
    assert decide(propose(at(10, 21, 50)), *late).rules == ("CN-F1",)


def test_cn_f1_applies_to_calls_only() -> None:
    three = [call(at(11, h), "connected") for h in (9, 10, 11)]
    assert decide(propose(at(11, 12), channel="sms"), *three).allowed


# -- CN-F2: at most 6 unanswered attempts per phone number per local day


def test_cn_f2_seventh_unanswered_attempt_to_a_number_is_blocked() -> None:
    six = [call(at(11, 9, m)) for m in range(0, 60, 10)]
    assert decide(propose(at(11, 12)), *six[:5]).allowed
    d = decide(propose(at(11, 12)), *six)
    assert d.rules == ("CN-F2",)
    assert decide(propose(at(11, 12), contact=ContactPoint(OTHER_PHONE)), *six).allowed
    assert decide(propose(at(12, 9)), *six).allowed  # a new local day


def test_cn_f2_counts_the_number_however_it_is_written_and_whoever_dialled_it() -> None:
    six = [call(at(11, 9, m), contact="138 0013 8000", person=f"agent-view-{m}") for m in range(0, 30, 10)]
    six += [call(at(11, 10, m), "busy", contact="+86 138-0013-8000") for m in range(0, 30, 10)]
    assert decide(propose(at(11, 12)), *six).rules == ("CN-F2",)


def test_cn_f2_not_before_the_cba_guideline_took_effect() -> None:
    # the pack as of June 2026 holds CN-F2 from 2026-01-30; a contact on the 29th is not subject to it
    six = [call(datetime(2026, 1, 29, 9, m, tzinfo=SH)) for m in range(0, 60, 10)]
    assert decide(propose(datetime(2026, 1, 29, 12, tzinfo=SH)), *six).allowed
    six = [call(datetime(2026, 1, 30, 9, m, tzinfo=SH)) for m in range(0, 60, 10)]
    assert decide(propose(datetime(2026, 1, 30, 12, tzinfo=SH)), *six).rules == ("CN-F2",)


def test_cn_f2_unrecorded_outcomes_count_as_unanswered() -> None:
    six = [call(at(11, 9, m), None) for m in range(0, 60, 10)]
    assert decide(propose(at(11, 12)), *six).rules == ("CN-F2",)


# -- CN-P1 / CN-P2: third parties


def _unreachable(days_ago: int = 1) -> list[Attempt]:
    return [call(at(11 - days_ago, h)) for h in (9, 13, 17)]


def tp(when: datetime, **kw: object) -> ProposedContact:
    values: dict[str, object] = {"person": "T1", "party": "third_party", "contact": ContactPoint(OTHER_PHONE)}
    values.update(kw)
    return propose(when, **values)


def test_cn_p2_third_party_only_while_the_debtor_is_unreachable() -> None:
    assert decide(tp(at(11, 10)), *_unreachable()).allowed
    # the debtor answered two days ago: reachable
    reached = [*_unreachable(), call(at(9, 10), "connected")]
    assert decide(tp(at(11, 10)), *reached).rules == ("CN-P2",)
    # too few attempts to call the debtor unreachable
    assert decide(tp(at(11, 10)), *_unreachable()[:2]).rules == ("CN-P2",)
    # attempts older than the window do not count
    assert decide(tp(at(11, 10)), *_unreachable(days_ago=8)).rules == ("CN-P2",)
    # attempts on another account do not show this account's debtor unreachable
    other = [call(at(10, h), account="A9") for h in (9, 13, 17)]
    assert decide(tp(at(11, 10)), *other).rules == ("CN-P2",)
    assert decide(tp(at(11, 10), party="employer"), *_unreachable()).allowed


def test_cn_p2_refusal_is_permanent() -> None:
    refused = Event(at(1, 10, month=1), "A1", "T1", "third_party_refused")
    d = decide(tp(at(11, 10)), *_unreachable(), refused)
    assert d.rules == ("CN-P2",)
    assert "拒绝" in d.reasons[0].zh and "permanent" in d.reasons[0].en
    assert decide(tp(at(11, 10), person="T2"), *_unreachable(), refused).allowed


def test_cn_p1_p2_what_may_be_said_to_a_third_party() -> None:
    hist = _unreachable()
    assert decide(tp(at(11, 10), text="您好，请转告张先生尽快回电。"), *hist).allowed
    assert decide(tp(at(11, 10), text="张先生逾期未还，请转告。"), *hist).rules == ("CN-P2",)
    assert decide(tp(at(11, 10), text="请你替他还这笔钱。"), *hist).rules == ("CN-P1",)
    # the debtor may be told about the debt
    assert decide(propose(at(11, 10), text="您的借款已逾期，请尽快还款。")).allowed


# -- CN-C1: forbidden conduct, through content screening


def test_cn_c1_screened_conduct_blocks_and_review_warns() -> None:
    d = decide(propose(at(11, 10), text="再不还就打断你的腿，我们是公安局的"))
    assert d.rules == ("CN-C1",)
    assert "威胁恐吓" in d.reasons[0].zh and "impersonating authorities" in d.reasons[0].en
    review = decide(propose(at(11, 10), text="您可能需要考虑一下"))
    assert review.allowed and review.warnings and review.warnings[0].rule == "CN-C1"


# -- CN-V1: field visits


@pytest.mark.parametrize(
    ("staff", "shown", "rules"),
    [(1, True, ("CN-V1",)), (None, True, ("CN-V1",)), (2, True, ()), (3, False, ("CN-V1",))],
)
def test_cn_v1_visits_need_two_staff_showing_identification(
    staff: int | None, shown: bool, rules: tuple[str, ...]
) -> None:
    address = ContactPoint("上海市长宁区某路1号", "address")
    d = decide(propose(at(11, 10), channel="visit", contact=address, staff_count=staff, ids_shown=shown))
    assert d.rules == rules


def test_cn_v1_unknown_identification_is_a_warning() -> None:
    address = ContactPoint("上海市长宁区某路1号", "address")
    d = decide(propose(at(11, 10), channel="visit", contact=address, staff_count=2))
    assert d.allowed and [w.rule for w in d.warnings] == ["CN-V1"]


# -- CN-L1: collection letters

GOOD_LETTER = """尊敬的 {{ name }}：
截至今日，您的欠款金额为 {{ amount_owed }} 元。欠款原因：信用卡消费逾期未还，依据您与本行签订的信用卡领用合约及相关法律规定。
您有权了解账户信息并提出异议，亦有按约还款的义务。
账户查询：请登录网上银行核对账单。还款方式：可通过本行还款账户或网点还款。
如有异议，请拨打客服电话或书面提出申诉。联系电话：95500，地址：上海市浦东新区某路1号。"""


def test_cn_l1_check_letter_finds_missing_contents() -> None:
    assert check_letter(GOOD_LETTER, PACK) == []
    no_amount = GOOD_LETTER.replace("您的欠款金额为 {{ amount_owed }} 元。", "")
    assert check_letter(no_amount, PACK) == ["amount_owed"]
    assert check_letter("请尽快还钱。", PACK) == [
        "name",
        "amount_owed",
        "reason_and_legal_basis",
        "rights_and_duties",
        "how_to_check_account",
        "how_to_repay",
        "how_to_dispute",
        "creditor_contact",
    ]
    english = (
        "Dear {{ name }}, the amount owed is {{ amount_owed }}, arising from your card purchases, under the "
        "card agreement (legal basis). You have rights and obligations under it. Check your account online; "
        "how to pay: pay online at our site. To dispute, write to us. Contact us: tel 400-800-8000."
    )
    assert check_letter(english, PACK) == []


def test_cn_l1_guard_blocks_an_incomplete_letter() -> None:
    letter = ContactPoint("上海市长宁区某路1号", "address")
    assert decide(propose(at(11, 10), channel="letter", contact=letter, text=GOOD_LETTER)).allowed
    d = decide(propose(at(11, 10), channel="letter", contact=letter, text="尊敬的 {{ name }}：请尽快还款。"))
    assert d.rules == ("CN-L1",)
    assert "欠款金额" in d.reasons[0].zh and "the amount owed" in d.reasons[0].en


# -- holds (CN-H1)


def test_holds_block_contact() -> None:
    p = propose(at(11, 10))
    assert decide(p, Event(at(1, 10), "A1", "D1", "bankruptcy")).rules == ("CN-H1",)
    assert decide(p, Event(at(1, 10), "A7", "D1", "bankruptcy")).rules == (
        "CN-H1",
    )  # the person, any account
    assert decide(p, Event(at(1, 10), "A1", "D1", "deceased")).rules == ("CN-H1",)
    assert decide(p, Event(at(1, 10), "A1", "D1", "cease")).rules == ("CN-H1",)
    assert decide(p, Event(at(1, 10), "A2", "D1", "cease")).allowed  # cease is per account
    assert decide(p, Event(at(12, 10), "A1", "D1", "cease")).allowed  # only what happened before counts


def test_dispute_holds_until_verified() -> None:
    p = propose(at(11, 10))
    dispute = Event(at(5, 10), "A1", "D1", "dispute")
    assert decide(p, dispute).rules == ("CN-H1",)
    assert decide(p, dispute, Event(at(8, 10), "A1", "D1", "verified")).allowed
    again = Event(at(9, 10), "A1", "D1", "dispute")
    assert decide(p, dispute, Event(at(8, 10), "A1", "D1", "verified"), again).rules == ("CN-H1",)
    # a dispute holds the account for everyone contacted about it
    assert decide(tp(at(11, 10)), *_unreachable(), dispute).rules == ("CN-H1",)


def test_decision_carries_citations_and_both_languages() -> None:
    d = decide(propose(at(11, 23)), *[call(at(11, h), "connected") for h in (9, 10, 11)])
    assert d.rules == ("CN-T1", "CN-F1")
    assert d.citations[0].startswith("CN-T1: GB/T 45251")
    assert all(r.zh and r.en for r in d.reasons)
    assert d.to_dict()["rules"] == ["CN-T1", "CN-F1"]


def test_bad_proposals_are_refused_plainly() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(propose(datetime(2026, 5, 11, 10)))
    with pytest.raises(ValueError, match="unknown party 'neighbour'"):
        decide(propose(at(11, 10), party="neighbour"))
    with pytest.raises(ValueError, match="unknown channel 'fax'"):
        decide(propose(at(11, 10), channel="fax"))
    with pytest.raises(ValueError, match="unknown outcome"):
        ContactHistory([call(at(11, 9), "hung_up")])


def test_history_added_out_of_order_is_the_same_history() -> None:
    items = [call(at(11, 9 + i), "connected") for i in range(3)]
    later = propose(at(11, 12))
    forward = Guard(PACK, fake_screen).decide(later, ContactHistory(items))
    backward = Guard(PACK, fake_screen).decide(later, ContactHistory(reversed(items)))
    assert forward == backward and forward.rules == ("CN-F1",)


def test_history_after_the_proposal_is_ignored() -> None:
    assert decide(propose(at(11, 9)), *[call(at(11, 10 + i), "connected") for i in range(3)]).allowed


def test_with_the_shipped_content_screening() -> None:
    pytest.importorskip("arrears.compliance.screening")
    guard = Guard(PACK)  # the default: arrears.compliance.screening.screen_text
    threat = guard.decide(propose(at(11, 10), channel="sms", text="再不还钱就打断你的腿"), ContactHistory())
    assert threat.rules == ("CN-C1",)
    assert "威胁恐吓" in threat.reasons[0].zh
    polite = guard.decide(propose(at(11, 10), channel="sms", text="您好，请尽快回电。"), ContactHistory())
    assert polite.allowed
