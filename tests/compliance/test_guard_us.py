"""The guard under pack `us` (FDCPA / Regulation F): one scenario per rule, with the edges of the text."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
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

NY = ZoneInfo("America/New_York")
PHONE = "+12125550123"  # New York
PACK = load_pack("us", as_of=date(2026, 6, 1))


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
    """A stand-in for content screening: a few fixed phrases, enough to drive the guard's wiring."""
    words = {
        "hurt you": "threat",
        "idiot": "abuse",
        "from the police": "impersonation",
        "arrested": "false_legal",
    }
    low = text.lower()
    flags = tuple(Flag(c, low.find(w), low.find(w) + len(w), w, "") for w, c in words.items() if w in low)
    return Screened("block", flags) if flags else Screened("pass")


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 5, day, hh, mm, tzinfo=NY)


def call(
    when: datetime,
    outcome: str | None = "no_answer",
    *,
    person: str = "C1",
    account: str = "A1",
    contact: str = PHONE,
    party: str = "debtor",
    channel: str = "call",
    consent: bool = False,
) -> Attempt:
    return Attempt(when, account, person, party, channel, contact, outcome, consent)


def propose(when: datetime, **kw: object) -> ProposedContact:
    values: dict[str, object] = {
        "account": "A1",
        "person": "C1",
        "party": "debtor",
        "channel": "call",
        "contact": ContactPoint(PHONE),
    }
    values.update(kw)
    return ProposedContact(at=when, **values)  # type: ignore[arg-type]


def decide(p: ProposedContact, *items: Attempt | Event, pack: object = PACK) -> Decision:
    return Guard(pack, fake_screen).decide(p, ContactHistory(items))  # type: ignore[arg-type]


# -- US-T1: 08:00–21:00 at the consumer's location, in every candidate zone


@pytest.mark.parametrize(
    ("hh", "mm", "allowed"), [(20, 59, True), (21, 0, False), (7, 59, False), (8, 0, True), (13, 0, True)]
)
def test_us_t1_contact_hours(hh: int, mm: int, allowed: bool) -> None:
    d = decide(propose(at(11, hh, mm)))
    assert d.allowed is allowed
    assert d.rules == (() if allowed else ("US-T1",))


def test_us_t1_area_code_spanning_two_zones_must_suit_both() -> None:
    # 208 (Idaho) is split between Mountain (America/Boise) and Pacific (America/Los_Angeles) time
    idaho = ContactPoint("+12085550123")
    boise = ZoneInfo("America/Boise")
    assert decide(propose(datetime(2026, 5, 11, 8, 30, tzinfo=boise), contact=idaho)).rules == (
        "US-T1",
    )  # 07:30 PT
    assert decide(propose(datetime(2026, 5, 11, 9, 0, tzinfo=boise), contact=idaho)).allowed  # 08:00 PT
    assert decide(propose(datetime(2026, 5, 11, 20, 59, tzinfo=boise), contact=idaho)).allowed  # 19:59 PT
    assert decide(propose(datetime(2026, 5, 11, 21, 0, tzinfo=boise), contact=idaho)).rules == ("US-T1",)
    # a known zone for the contact point settles it
    pacific = ContactPoint("+12085550123", timezone="America/Los_Angeles")
    assert decide(propose(datetime(2026, 5, 11, 8, 30, tzinfo=boise), contact=pacific)).rules == ("US-T1",)
    mountain = ContactPoint("+12085550123", timezone="America/Boise")
    assert decide(propose(datetime(2026, 5, 11, 8, 30, tzinfo=boise), contact=mountain)).allowed


def test_us_t1_unknown_location_uses_every_contiguous_zone() -> None:
    email = ContactPoint("c1@example.com", "email")
    text = "Please reply STOP to opt out."
    # 10:00 in New York is 07:00 in Los Angeles
    assert decide(propose(at(11, 10), channel="email", contact=email, text=text)).rules == ("US-T1",)
    assert decide(propose(at(11, 11), channel="email", contact=email, text=text)).allowed
    # the debtor's default zone, when known, replaces the guess
    h = ContactHistory(person_zones={"C1": "America/New_York"})
    assert (
        Guard(PACK, fake_screen)
        .decide(propose(at(11, 10), channel="email", contact=email, text=text), h)
        .allowed
    )


def test_us_t1_prior_consent_lifts_the_limit() -> None:
    assert decide(propose(at(11, 21, 30), consent=True)).allowed
    assert decide(propose(at(11, 21, 30)), Event(at(10, 12), "A1", "C1", "consent", "time_of_day")).allowed


# -- US-F1 / US-F3: more than 7 calls in 7 consecutive days


def _calls_on(days: list[int], outcome: str = "no_answer", **kw: object) -> list[Attempt]:
    return [call(at(d, 10), outcome, **kw) for d in days]  # type: ignore[arg-type]


def test_us_f1_the_eighth_call_in_seven_days_is_blocked() -> None:
    seven = _calls_on([5, 6, 7, 8, 9, 10, 11])
    assert decide(propose(at(11, 15)), *seven[:6]).allowed
    d = decide(propose(at(11, 15)), *seven)
    assert d.rules == ("US-F1",)
    assert d.citations == ("US-F1: 12 CFR 1006.14(b)(2)(i)(A)",)
    # the 7 consecutive days end on the proposed day: on the 12th the call of the 5th has left the window
    assert decide(propose(at(12, 9)), *seven).allowed


def test_us_f1_days_are_local_days() -> None:
    # 23:30 on the 4th in New York is already the 5th in UTC; it lies outside the window of the 11th
    seven = [call(at(4, 20, 30)), *_calls_on([6, 7, 8, 9, 10, 11])]
    assert decide(propose(at(11, 15)), *seven).allowed
    assert decide(propose(at(11, 15)), *seven, call(at(5, 0, 1))).rules == ("US-F1",)


def test_us_f1_is_per_person_and_per_debt() -> None:
    seven = _calls_on([5, 6, 7, 8, 9, 10, 11])
    assert decide(propose(at(11, 15), account="A2"), *seven).allowed
    assert decide(propose(at(11, 15), person="C2"), *seven).allowed


def test_us_f3_calls_not_connected_are_not_counted() -> None:
    six = _calls_on([5, 6, 7, 8, 9, 10])
    assert decide(propose(at(11, 15)), *six, call(at(11, 10), "busy")).allowed
    assert decide(propose(at(11, 15)), *six, call(at(11, 10), "failed")).allowed
    # unanswered, voicemail and wrong-person calls did connect to the dialed number
    for outcome in ("no_answer", "voicemail", "wrong_number", None):
        assert decide(propose(at(11, 15)), *six, call(at(11, 10), outcome)).rules == ("US-F1",), outcome


def test_us_f3_consented_calls_are_not_counted() -> None:
    six = _calls_on([5, 6, 7, 8, 9, 10])
    assert decide(propose(at(11, 15)), *six, call(at(11, 10), consent=True)).allowed
    # a call consent given within 7 days before a call takes that call out of the count
    consent = Event(at(10, 12), "A1", "C1", "consent", "call")
    assert decide(propose(at(11, 15)), *six, consent, call(at(11, 10))).rules == ()
    # … and makes the proposed call itself exempt (placed with consent)
    assert decide(propose(at(11, 15)), *_calls_on([5, 6, 7, 8, 9, 10, 11]), consent).allowed
    # a consent older than 7 days does not, neither for the proposed call nor for the counted ones
    old = Event(datetime(2026, 4, 27, 12, tzinfo=NY), "A1", "C1", "consent", "call")
    assert decide(propose(at(11, 15)), *_calls_on([5, 6, 7, 8, 9, 10, 11]), old).rules == ("US-F1",)
    # calls placed within 7 days after a consent are excluded: 2026-05-02 12:00 covers the calls of
    # the 5th–9th at 10:00, leaving 2 counted
    recent = Event(at(2, 12), "A1", "C1", "consent", "call")
    assert decide(propose(at(11, 15)), *_calls_on([5, 6, 7, 8, 9, 10, 11]), recent).allowed


def test_us_f3_consent_given_after_a_call_does_not_exclude_it() -> None:
    seven = _calls_on([5, 6, 7, 8, 9, 10, 11])
    consent_later = Event(at(11, 10, 30), "A1", "C1", "consent", "call")
    # the proposed call is exempt (consent within 7 days), but its predecessors still counted
    assert decide(propose(at(11, 15)), *seven, consent_later).allowed
    strict = load_pack("us", {"US-F3.consent_days": 0}, as_of=date(2026, 6, 1))
    assert decide(propose(at(11, 15)), *seven, consent_later, pack=strict).rules == ("US-F1",)


def test_us_f1_creditor_may_lower_the_cap() -> None:
    five = _calls_on([7, 8, 9, 10, 11])
    strict = load_pack("us", {"US-F1.max_calls": 5}, as_of=date(2026, 6, 1))
    assert decide(propose(at(11, 15)), *five).allowed
    assert decide(propose(at(11, 15)), *five, pack=strict).rules == ("US-F1",)


# -- US-F2: a call within 7 days after a telephone conversation (its day is day 1)


def test_us_f2_day_seven_blocked_day_eight_allowed() -> None:
    talk = call(at(1, 10), "conversation")
    assert decide(propose(at(1, 16)), talk).rules == ("US-F2",)  # day 1
    assert decide(propose(at(7, 20, 30)), talk).rules == ("US-F2",)  # day 7, late
    assert decide(propose(at(8, 8, 0)), talk).allowed  # day 8, first allowed hour
    d = decide(propose(at(7, 9)), talk)
    assert d.citations == ("US-F2: 12 CFR 1006.14(b)(2)(i)(B)",)


def test_us_f2_needs_a_conversation_about_that_debt() -> None:
    assert decide(propose(at(3, 10)), call(at(1, 10), "connected")).allowed
    assert decide(propose(at(3, 10)), call(at(1, 10), "conversation", account="A2")).allowed
    assert decide(propose(at(3, 10), consent=True), call(at(1, 10), "conversation")).allowed  # US-F3


def test_us_f2_applies_to_calls_not_to_letters() -> None:
    talk = call(at(1, 10), "conversation")
    letter = ContactPoint("1 Main St, Springfield", "address")
    assert decide(propose(at(3, 10), channel="letter", contact=letter), talk).allowed


# -- US-P1 / US-P2: third parties


def _unreachable() -> list[Attempt]:
    return [call(at(10, h)) for h in (9, 13, 17)]


def tp(when: datetime, **kw: object) -> ProposedContact:
    values: dict[str, object] = {
        "person": "N1",
        "party": "third_party",
        "contact": ContactPoint("+12125550999"),
    }
    values.update(kw)
    return propose(when, **values)


def test_us_p2_third_party_while_the_consumer_is_reachable_is_blocked() -> None:
    assert decide(tp(at(11, 10)), *_unreachable()).allowed
    reachable = [*_unreachable(), call(at(9, 10), "conversation")]
    d = decide(tp(at(11, 10)), *reachable)
    assert d.rules == ("US-P2",)
    assert "unreachable" in d.reasons[0].en


def test_us_p2_each_third_party_once_unless_asked() -> None:
    first = call(at(11, 10), "connected", person="N1", party="third_party", contact="+12125550999")
    assert decide(tp(at(11, 15)), *_unreachable(), first).rules == ("US-P2",)
    assert decide(tp(at(11, 15), consent=True), *_unreachable(), first).allowed
    asked = Event(at(11, 10, 5), "A1", "N1", "consent", "recontact")
    assert decide(tp(at(11, 15)), *_unreachable(), first, asked).allowed
    # an attempt that reached no one communicated nothing
    missed = call(at(11, 10), "no_answer", person="N1", party="third_party", contact="+12125550999")
    assert decide(tp(at(11, 15)), *_unreachable(), missed).allowed
    refused = Event(at(11, 10, 5), "A1", "N1", "third_party_refused")
    assert decide(tp(at(11, 15)), *_unreachable(), refused).rules == ("US-P2",)


def test_us_p1_a_third_party_is_never_told_about_the_debt() -> None:
    hist = _unreachable()
    assert decide(tp(at(11, 10), text="Please ask John to call Jane at 212-555-0100."), *hist).allowed
    d = decide(tp(at(11, 10), text="John owes us money on an overdue account."), *hist)
    assert d.rules == ("US-P1",)


# -- US-T2 / US-V1 / holds


def test_us_t2_attorney_and_cease() -> None:
    attorney = Event(at(1, 10), "A1", "C1", "attorney")
    assert decide(propose(at(11, 10)), attorney).rules == ("US-T2",)
    lawyer = ContactPoint("+12125550777")
    assert decide(propose(at(11, 10), party="attorney", contact=lawyer), attorney).allowed
    assert decide(propose(at(11, 10), account="A2"), attorney).allowed  # represented about A1 only
    d = decide(propose(at(11, 10)), Event(at(1, 10), "A1", "C1", "cease"))
    assert d.rules == ("US-T2",) and "cease" in d.reasons[0].en


def test_us_v1_dispute_then_verification() -> None:
    dispute = Event(at(2, 10), "A1", "C1", "dispute")
    d = decide(propose(at(11, 10)), dispute)
    assert d.rules == ("US-V1",)
    assert d.citations == ("US-V1: 15 USC 1692g; 12 CFR 1006.34",)
    verified = Event(at(5, 10), "A1", "C1", "verified")
    assert decide(propose(at(11, 10)), dispute, verified).allowed
    assert decide(propose(at(4, 10)), dispute, verified).rules == ("US-V1",)  # before verification


def test_us_h1_bankruptcy_and_death() -> None:
    assert decide(propose(at(11, 10)), Event(at(1, 10), "A9", "C1", "bankruptcy")).rules == ("US-H1",)
    assert decide(
        propose(at(11, 10), person="G1", party="guarantor"), Event(at(1, 10), "A1", "C1", "deceased")
    ).rules == ("US-H1",)


# -- US-E1 / US-E2: electronic messages and voicemail


def test_us_e1_opt_out_is_honoured_for_that_number_or_address() -> None:
    stop = Event(at(5, 10), "A1", "C1", "opt_out", PHONE)
    text = "ACME: a message for you. Reply STOP to opt out."
    assert decide(propose(at(11, 10), channel="sms", text=text), stop).rules == ("US-E1",)
    assert decide(
        propose(at(11, 10), channel="sms", text=text, contact=ContactPoint("(212) 555-0123")), stop
    ).rules == ("US-E1",)
    assert decide(
        propose(at(11, 10), channel="sms", text=text, contact=ContactPoint("+12125550124")), stop
    ).allowed
    assert decide(propose(at(11, 10)), stop).allowed  # a call to the number is not an electronic message
    by_channel = Event(at(5, 10), "A1", "C1", "opt_out", "email")
    email = ContactPoint("c1@example.com", "email", "America/New_York")
    assert decide(propose(at(11, 10), channel="email", contact=email, text=text), by_channel).rules == (
        "US-E1",
    )
    assert decide(propose(at(11, 10), channel="sms", text=text), by_channel).allowed


def test_us_e1_electronic_messages_carry_an_opt_out() -> None:
    assert decide(propose(at(11, 10), channel="sms", text="ACME: please call us at 212-555-0100.")).rules == (
        "US-E1",
    )
    assert decide(
        propose(at(11, 10), channel="sms", text="ACME: please call us. Text STOP to unsubscribe.")
    ).allowed


def test_us_e2_limited_content_voicemail() -> None:
    ok = "This is Jane Roe from ACME Services, please call me back at 212-555-0100."
    assert decide(propose(at(11, 10), channel="voicemail", text=ok)).allowed
    bad = "This is Jane from ACME about the past due balance of $420 on your account."
    assert decide(propose(at(11, 10), channel="voicemail", text=bad)).rules == ("US-E2",)


def test_us_b1_no_threat_of_suit_on_a_time_barred_debt() -> None:
    barred = Event(at(1, 10), "A1", "C1", "time_barred")
    text = "If you do not pay we will file a lawsuit."
    assert decide(
        propose(at(11, 10), channel="letter", contact=ContactPoint("1 Main St", "address"), text=text)
    ).allowed
    d = decide(
        propose(at(11, 10), channel="letter", contact=ContactPoint("1 Main St", "address"), text=text), barred
    )
    assert d.rules == ("US-B1",)


def test_us_c1_c2_screened_conduct() -> None:
    d = decide(propose(at(11, 10), text="Pay now or we will hurt you, idiot. You will be arrested."))
    assert d.rules == ("US-C1", "US-C2")
    assert "threats" in d.reasons[0].en and "obscene or abusive language" in d.reasons[0].en
    assert "false legal threats" in d.reasons[1].en


def test_rules_apply_from_their_effective_date() -> None:
    # Regulation F call frequencies did not exist before 2021-11-30
    before = [call(datetime(2021, 11, 20 + i, 10, tzinfo=NY)) for i in range(7)]
    assert decide(propose(datetime(2021, 11, 26, 15, tzinfo=NY)), *before[:7]).allowed
    after = [call(datetime(2021, 11, 30, 10, tzinfo=NY) + timedelta(days=i)) for i in range(7)]
    assert decide(propose(datetime(2021, 12, 6, 15, tzinfo=NY)), *after).rules == ("US-F1",)


def test_with_the_shipped_content_screening() -> None:
    pytest.importorskip("arrears.compliance.screening")
    guard = Guard(PACK)  # the default: arrears.compliance.screening.screen_text
    text = "Pay now or we will hurt you, idiot. Reply STOP to opt out."
    d = guard.decide(propose(at(11, 10), channel="sms", text=text), ContactHistory())
    assert d.rules == ("US-C1",)
    ok = guard.decide(
        propose(at(11, 10), channel="sms", text="Please call us. Reply STOP to opt out."), ContactHistory()
    )
    assert ok.allowed
