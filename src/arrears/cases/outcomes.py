"""Contact vocabularies for case work (R12) and how each maps onto the compliance guard's terms.

Pure: no database. The guard knows a small set of outcomes (conversation, connected, no_answer …);
collectors record richer ones (promise_to_pay, dispute, hardship …). Each collector outcome maps to
one guard outcome, so a logged contact counts toward the caps exactly as it happened, and some imply
an event the guard honours from then on (a dispute holds the account, a cease request stops contact).
"""

from __future__ import annotations

from dataclasses import dataclass

from arrears.compliance.rules import CHANNELS, EVENT_KINDS, PARTIES, THIRD_PARTIES

DIRECTIONS = ("outbound", "inbound")


@dataclass(frozen=True)
class Outcome:
    code: str
    guard: str  # the guard's outcome (compliance.rules.OUTCOMES)
    zh: str
    en: str
    reached: bool = False  # a right-party contact: the debtor (or guarantor) was spoken to


OUTCOMES: dict[str, Outcome] = {
    o.code: o
    for o in (
        Outcome("right_party_contact", "conversation", "本人接通", "Right-party contact", reached=True),
        Outcome("promise_to_pay", "conversation", "承诺还款", "Promise to pay", reached=True),
        Outcome("dispute", "conversation", "提出异议", "Dispute", reached=True),
        Outcome("hardship", "conversation", "经济困难", "Hardship", reached=True),
        Outcome("refused", "refused", "拒绝还款", "Refused", reached=True),
        Outcome("cease_request", "conversation", "要求停止联系", "Asked to stop contact", reached=True),
        Outcome("abusive_to_staff", "conversation", "辱骂或威胁工作人员", "Abusive to staff", reached=True),
        Outcome("third_party", "connected", "第三方接听", "Third party answered"),
        Outcome("no_answer", "no_answer", "无人接听", "No answer"),
        Outcome("busy", "busy", "占线", "Busy"),
        Outcome("voicemail", "voicemail", "语音信箱", "Voicemail"),
        Outcome("wrong_number", "wrong_number", "错号", "Wrong number"),
        Outcome("delivered", "delivered", "已送达", "Delivered"),
        Outcome("failed", "failed", "发送失败", "Failed"),
        Outcome("not_home", "no_answer", "上门未遇", "Nobody at home"),
        Outcome("moved_away", "wrong_number", "已搬离", "Moved away"),
    )
}

# Outcomes a contact with a third party can have: never a promise, dispute or negotiation (CN-P1, US-P1).
THIRD_PARTY_OUTCOMES = frozenset(
    {
        "third_party",
        "refused",
        "no_answer",
        "busy",
        "voicemail",
        "wrong_number",
        "delivered",
        "failed",
        "not_home",
        "moved_away",
        "abusive_to_staff",
    }
)

# Events a collector may record with a contact; `verified` (a dispute checked) needs a lead or legal.
RECORDABLE_EVENTS = tuple(k for k in EVENT_KINDS if k != "time_barred")
EVENTS_NEEDING_REVIEWER = frozenset({"verified"})

EVENT_LABELS: dict[str, tuple[str, str]] = {
    "cease": ("要求停止联系", "Cease request"),
    "dispute": ("债务异议", "Dispute"),
    "verified": ("异议已核实", "Dispute verified"),
    "attorney": ("已委托律师", "Represented by an attorney"),
    "opt_out": ("退订", "Opt-out"),
    "third_party_refused": ("第三方拒绝联系", "Third party refused contact"),
    "bankruptcy": ("破产", "Bankruptcy"),
    "deceased": ("身故", "Deceased"),
    "consent": ("同意联系", "Consent"),
    "time_barred": ("已过诉讼时效", "Time-barred"),
}


class VocabularyError(ValueError):
    """An outcome, channel, party or event the platform does not know; the message names the field."""


def check_contact(channel: str, party: str, outcome: str, direction: str) -> None:
    """Validate a contact's vocabulary (raises VocabularyError naming the field)."""
    if channel not in CHANNELS:
        raise VocabularyError(f"channel: {channel!r} is not one of {', '.join(CHANNELS)}")
    if party not in PARTIES:
        raise VocabularyError(f"party: {party!r} is not one of {', '.join(PARTIES)}")
    if outcome not in OUTCOMES:
        raise VocabularyError(f"outcome: {outcome!r} is not one of {', '.join(OUTCOMES)}")
    if direction not in DIRECTIONS:
        raise VocabularyError(f"direction: {direction!r} is not one of {', '.join(DIRECTIONS)}")
    if party in THIRD_PARTIES and outcome not in THIRD_PARTY_OUTCOMES:
        # CN-P1 / US-P1: a third party is never negotiated with about the debt
        raise VocabularyError(f"outcome: {outcome!r} cannot be recorded for a {party}")


def guard_outcome(outcome: str, party: str) -> str:
    """The guard's outcome for a recorded one; a third party answering is `connected`, not a conversation
    with the debtor."""
    o = OUTCOMES[outcome]
    if party in THIRD_PARTIES and o.guard == "conversation":
        return "connected"
    return o.guard


def implied_events(outcome: str, party: str) -> tuple[str, ...]:
    """Events an outcome implies: a dispute holds the account (CN-H1, US-V1); a cease request stops
    contact (CN-H1, US-T2); a third party's refusal is permanent (CN-P2, US-P2)."""
    if outcome == "dispute" and party not in THIRD_PARTIES:
        return ("dispute",)
    if outcome == "cease_request":
        return ("cease",)
    if outcome == "refused" and party in THIRD_PARTIES:
        return ("third_party_refused",)
    return ()


def right_party(outcome: str, party: str) -> bool:
    """A right-party contact: the debtor or guarantor reached (R12)."""
    return party not in THIRD_PARTIES and party != "attorney" and OUTCOMES[outcome].reached


def person_key(debtor_id: int, third_party_id: int | None) -> str:
    """The guard's person key: the debtor id (as the nightly pre-check uses), or `t<id>` for a third party."""
    return f"t{third_party_id}" if third_party_id is not None else str(debtor_id)
