"""Ability × willingness to pay (还款能力 × 还款意愿) with reasons, and the hardship / evasion / fraud
flags (R6, R7, R16). Pure: facts in, assessment out; recomputed after every contact, promise and
payment.

**Ability** (high / medium / low / unknown) comes from money:
- with an affordability record, the monthly surplus (income − expenses) against the balance: the
  months the balance would take to clear (≤ `ABILITY_HIGH_MONTHS` high, ≤ `ABILITY_MEDIUM_MONTHS`
  medium, longer or no surplus low);
- else from the stated monthly income, assuming `DISPOSABLE_SHARE` of it can go to debts;
- else payments already made show some ability (medium); nothing known is unknown.
A declared hardship lowers ability one level unless an affordability record says otherwise.

**Willingness** (high / medium / low / unknown) comes from behaviour, as a score:
kept promise +2, partly kept +1, broken −2, each payment +1 (at most +3), refusal −2, avoidance
(≥ `AVOIDANCE_ATTEMPTS` attempts and under `AVOIDANCE_RATE` of them reached) −1, abuse toward staff −1,
a promise made +1. A dispute is the debtor's right and moves nothing. With no evidence at all it is
unknown; ≥ 2 high, ≤ −2 low, else medium.

**Flags** (R16 — hardship is not evasion):
- `fraud_suspected`: every phone number tried is wrong (at least two), nobody was ever reached and
  nothing was ever paid — the identity or contact data may be false;
- `deliberate_evasion`: nothing paid and either two or more broken promises, two or more refusals,
  or the numbers went wrong after the debtor was reached and a promise broke — *unless* a hardship
  was declared and ability is low, which reads as cannot-pay, not will-not-pay;
- `hardship`: a hardship declared, or ability low from an affordability record;
- `dispute_open`: a dispute not yet verified; `abusive_to_staff`: abuse or threats recorded (R18).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from arrears.core.money import format_major

LEVELS = ("high", "medium", "low", "unknown")
ABILITY_HIGH_MONTHS = 6
ABILITY_MEDIUM_MONTHS = 24
DISPOSABLE_SHARE = 0.3
AVOIDANCE_ATTEMPTS = 6
AVOIDANCE_RATE = 0.1
FLAG_ORDER = ("fraud_suspected", "deliberate_evasion", "hardship", "dispute_open", "abusive_to_staff")


@dataclass(frozen=True)
class Means:
    """What is known about the debtor's means, in minor units of the account currency."""

    balance: int
    currency: str = "CNY"
    monthly_income: int | None = None
    monthly_expenses: int | None = None  # from an affordability record
    dependants: int | None = None
    affordability_surplus: int | None = None  # monthly capacity from an affordability record


@dataclass(frozen=True)
class Behaviour:
    attempts: int = 0  # outbound calls and visits
    reached: int = 0  # right-party contacts among them
    wrong_numbers: int = 0  # distinct phone numbers found wrong
    phone_numbers: int = 0  # distinct phone numbers tried
    refusals: int = 0
    disputes_open: int = 0
    hardship: int = 0
    abuse: int = 0
    promises_made: int = 0
    kept: int = 0
    partly_kept: int = 0
    broken: int = 0
    payments: int = 0
    paid_total: int = 0
    wrong_after_reached: bool = False  # numbers went wrong after the debtor had been reached


@dataclass(frozen=True)
class Reason:
    code: str
    zh: str
    en: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "zh": self.zh, "en": self.en}


@dataclass(frozen=True)
class Assessment:
    ability: str
    willingness: str
    flags: tuple[str, ...]
    reasons: tuple[Reason, ...]
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def flags_text(self) -> str | None:
        return ",".join(self.flags) or None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ability": self.ability,
            "willingness": self.willingness,
            "flags": list(self.flags),
            "reasons": [r.to_dict() for r in self.reasons],
            "figures": dict(self.figures),
        }


def _lower(level: str) -> str:
    return {"high": "medium", "medium": "low"}.get(level, level)


def _months_level(months: float | None) -> str:
    if months is None:
        return "low"
    if months <= ABILITY_HIGH_MONTHS:
        return "high"
    if months <= ABILITY_MEDIUM_MONTHS:
        return "medium"
    return "low"


def ability_of(m: Means, b: Behaviour, reasons: list[Reason]) -> tuple[str, dict[str, Any]]:
    figures: dict[str, Any] = {}
    surplus: int | None = None
    source = None
    if m.affordability_surplus is not None or (
        m.monthly_income is not None and m.monthly_expenses is not None
    ):
        surplus = (
            m.affordability_surplus
            if m.affordability_surplus is not None
            else int(m.monthly_income or 0) - int(m.monthly_expenses or 0)
        )
        source = "affordability"
    elif m.monthly_income is not None:
        surplus = int(m.monthly_income * DISPOSABLE_SHARE)
        source = "income"
    if surplus is not None:
        months = (m.balance / surplus) if surplus > 0 else None
        amount = format_major(surplus, m.currency)
        level = _months_level(months)
        figures.update(monthly_surplus=surplus, months_to_clear=None if months is None else round(months, 1))
        if source == "affordability":
            reasons.append(
                Reason(
                    "ability.affordability",
                    f"收支评估：每月可还 {amount}，"
                    + (f"约 {months:.1f} 个月可还清" if months is not None else "无可还余额"),
                    f"Affordability: {amount} a month to spare, "
                    + (f"about {months:.1f} months to clear" if months is not None else "nothing to spare"),
                )
            )
        else:
            reasons.append(
                Reason(
                    "ability.income",
                    f"按月收入的 {int(DISPOSABLE_SHARE * 100)}% 估算可还 {amount}/月，"
                    + (f"约 {months:.1f} 个月可还清" if months is not None else "无可还余额"),
                    f"{int(DISPOSABLE_SHARE * 100)}% of the stated income, {amount} a month, "
                    + (
                        f"would clear it in about {months:.1f} months"
                        if months is not None
                        else "clears nothing"
                    ),
                )
            )
    elif b.payments > 0:
        level = "medium"
        reasons.append(
            Reason(
                "ability.payments", "已有还款，说明具备一定还款能力", "Payments received show some ability"
            )
        )
    else:
        level = "unknown"
        reasons.append(Reason("ability.unknown", "缺少收入与收支信息", "No income or affordability data"))
    if b.hardship and source != "affordability" and level != "unknown":
        level = _lower(level)
        reasons.append(Reason("ability.hardship", "债务人申明经济困难", "The debtor declared hardship"))
    elif b.hardship and level == "unknown":
        level = "low"
        reasons.append(Reason("ability.hardship", "债务人申明经济困难", "The debtor declared hardship"))
    return level, figures


def willingness_of(b: Behaviour, reasons: list[Reason]) -> tuple[str, int]:
    score = 0
    evidence = False

    def add(points: int, code: str, zh: str, en: str) -> None:
        nonlocal score, evidence
        score += points
        evidence = True
        reasons.append(Reason(code, zh, en))

    if b.kept:
        add(2 * b.kept, "willingness.kept", f"兑现承诺 {b.kept} 次", f"{b.kept} promise(s) kept")
    if b.partly_kept:
        add(
            b.partly_kept,
            "willingness.partly_kept",
            f"部分兑现承诺 {b.partly_kept} 次",
            f"{b.partly_kept} promise(s) partly kept",
        )
    if b.broken:
        add(-2 * b.broken, "willingness.broken", f"未兑现承诺 {b.broken} 次", f"{b.broken} promise(s) broken")
    if b.payments:
        add(
            min(b.payments, 3),
            "willingness.payments",
            f"已还款 {b.payments} 笔",
            f"{b.payments} payment(s) made",
        )
    if b.refusals:
        add(
            -2 * b.refusals,
            "willingness.refused",
            f"明确拒绝还款 {b.refusals} 次",
            f"Refused to pay {b.refusals} time(s)",
        )
    if b.abuse:
        add(-1, "willingness.abuse", "对工作人员辱骂或威胁", "Abuse or threats toward staff")
    open_promises = b.promises_made - b.kept - b.partly_kept - b.broken
    if open_promises > 0:
        add(1, "willingness.promised", "已作出还款承诺", "A promise to pay is open")
    if b.attempts >= AVOIDANCE_ATTEMPTS and b.reached < b.attempts * AVOIDANCE_RATE:
        add(
            -1,
            "willingness.avoidance",
            f"联系 {b.attempts} 次仅接通 {b.reached} 次",
            f"Reached {b.reached} time(s) in {b.attempts} attempts",
        )
    elif b.reached and not evidence:
        evidence = True
        reasons.append(Reason("willingness.reached", "已与本人取得联系", "The debtor has been reached"))
    if b.disputes_open:
        reasons.append(
            Reason(
                "willingness.dispute",
                "存在未核实的异议（不影响意愿评估）",
                "An unverified dispute (does not count against willingness)",
            )
        )
    if not evidence:
        reasons.append(Reason("willingness.unknown", "尚无足够的行为信息", "Not enough behaviour yet"))
        return "unknown", score
    if score >= 2:
        return "high", score
    if score <= -2:
        return "low", score
    return "medium", score


def assess(m: Means, b: Behaviour) -> Assessment:
    """The assessment of one case from its money facts and behaviour."""
    reasons: list[Reason] = []
    ability, figures = ability_of(m, b, reasons)
    willingness, score = willingness_of(b, reasons)
    flags: set[str] = set()
    nothing_paid = b.payments == 0 and b.paid_total == 0
    if b.phone_numbers >= 2 and b.wrong_numbers >= b.phone_numbers and b.reached == 0 and nothing_paid:
        flags.add("fraud_suspected")
        reasons.append(
            Reason(
                "flag.fraud_suspected",
                f"全部 {b.phone_numbers} 个号码均为错号，从未联系到本人且从未还款",
                f"All {b.phone_numbers} numbers are wrong, never reached, nothing ever paid",
            )
        )
    hardship_explains = b.hardship > 0 and ability == "low"
    evasive = nothing_paid and (b.broken >= 2 or b.refusals >= 2 or (b.wrong_after_reached and b.broken >= 1))
    if evasive and hardship_explains:
        reasons.append(
            Reason(
                "flag.hardship_not_evasion",
                "虽未兑现承诺但已申明困难且还款能力低：按困难处理，不视为恶意逃废债",
                "Promises broken but hardship declared and ability low: treated as hardship, not evasion",
            )
        )
    elif evasive:
        flags.add("deliberate_evasion")
        reasons.append(
            Reason(
                "flag.deliberate_evasion",
                "从未还款，且多次失信、拒绝或在联系后号码失效",
                "Nothing paid, with repeated broken promises, refusals or numbers gone dead after contact",
            )
        )
    if b.hardship or (ability == "low" and m.affordability_surplus is not None):
        flags.add("hardship")
    if b.disputes_open:
        flags.add("dispute_open")
    if b.abuse:
        flags.add("abusive_to_staff")
    figures.update(willingness_score=score, balance=m.balance)
    return Assessment(
        ability=ability,
        willingness=willingness,
        flags=tuple(f for f in FLAG_ORDER if f in flags),
        reasons=tuple(reasons),
        figures=figures,
    )
