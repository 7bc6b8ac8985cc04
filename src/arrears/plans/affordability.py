"""Affordability: income, expenses and dependants → capacity to pay → a feasible plan (R16, R7, R13).

Pure functions on integer minor units. The formula, per month:

    disposable = income − essential expenses − other debt repayments − dependants × allowance
    capacity   = max(0, round_half_even(disposable × capacity_share))

`capacity_share` (default 50%) keeps a buffer for irregular costs, so a plan fits the debtor's means
rather than all of their spare money. The proposal from a capacity and the amount owed:

- capacity below the minimum instalment → hardship: a deferral of `hardship_deferral_days`, then a
  new assessment (R16: hardship is not refusal — consider relief);
- capacity ≥ owed → the whole amount in one payment;
- otherwise n = ⌈owed / capacity⌉ monthly instalments; if n ≤ `max_instalments`, an instalment plan
  of the full amount (equal instalments, remainder on the last);
- if even `max_instalments` instalments cannot clear it → a settlement of capacity × max_instalments
  over `max_instalments` months; the discount it implies goes through authority limits (R13).

Ability (还款能力, R6): months to clear = owed / capacity; ≤ 12 → high, ≤ 36 → medium, else low.

Worked example (CNY): income 8,000.00, expenses 3,500.00, other debts 500.00, 2 dependants at
800.00 → disposable 2,400.00, capacity 1,200.00. Owed 10,000.00 → ⌈10,000 / 1,200⌉ = 9 monthly
instalments: eight of 1,111.11 and a last of 1,111.12; ability high.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from arrears.core.money import round_half_even
from arrears.plans.schedule import ScheduledPayment, generate_schedule


class AffordabilityError(ValueError):
    """Inputs that cannot be assessed."""


@dataclass(frozen=True)
class Policy:
    capacity_share: Decimal = Decimal("0.5")
    allowance_per_dependant: int = 80_000  # minor units per dependant per month
    min_instalment: int = 10_000  # below this a plan is not workable: hardship
    max_instalments: int = 36
    first_due_days: int = 14
    hardship_deferral_days: int = 60

    def __post_init__(self) -> None:
        if not Decimal(0) < self.capacity_share <= Decimal(1):
            raise AffordabilityError("capacity_share must be in (0, 1]")
        for name in ("allowance_per_dependant", "min_instalment", "first_due_days", "hardship_deferral_days"):
            if getattr(self, name) < 0:
                raise AffordabilityError(f"{name} must not be negative")
        if not 1 <= self.max_instalments <= 360:
            raise AffordabilityError("max_instalments must be between 1 and 360")


@dataclass(frozen=True)
class Means:
    """A debtor's monthly means, minor units (R3, R16)."""

    income: int
    expenses: int
    other_debt_payments: int = 0
    dependants: int = 0

    def __post_init__(self) -> None:
        for name in ("income", "expenses", "other_debt_payments"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise AffordabilityError(f"{name} must be a non-negative amount in minor units")
        if not 0 <= self.dependants <= 30:
            raise AffordabilityError("dependants must be between 0 and 30")


@dataclass(frozen=True)
class Assessment:
    disposable: int
    capacity: int
    ability: str  # high | medium | low
    months_to_clear: int | None  # None when there is no capacity


@dataclass(frozen=True)
class Proposal:
    kind: str  # instalment | settlement | deferral
    total: int
    count: int
    frequency: str
    first_due: date
    discount: int  # owed − total (settlement only)
    reasons: tuple[tuple[str, str], ...]  # (zh, en)
    schedule: list[ScheduledPayment] = field(default_factory=list)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def assess(means: Means, owed: int, policy: Policy = Policy()) -> Assessment:
    """Capacity to pay per month and the ability level it implies for `owed`."""
    if owed < 0:
        raise AffordabilityError("owed must not be negative")
    disposable = (
        means.income
        - means.expenses
        - means.other_debt_payments
        - means.dependants * policy.allowance_per_dependant
    )
    capacity = max(0, round_half_even(Decimal(disposable) * policy.capacity_share))
    if capacity < policy.min_instalment or capacity == 0:
        return Assessment(disposable, capacity, "low", None)
    months = _ceil_div(owed, capacity) if owed else 0
    ability = "high" if months <= 12 else "medium" if months <= 36 else "low"
    return Assessment(disposable, capacity, ability, months)


def propose(assessment: Assessment, owed: int, as_of: date, policy: Policy = Policy()) -> Proposal:
    """A feasible plan for `owed` within the assessed capacity (R16)."""
    if owed <= 0:
        raise AffordabilityError("nothing is owed: no plan to propose")
    capacity = assessment.capacity
    first_due = as_of + timedelta(days=policy.first_due_days)
    if capacity < policy.min_instalment or capacity == 0:
        deferred_to = as_of + timedelta(days=policy.hardship_deferral_days)
        return Proposal(
            kind="deferral",
            total=owed,
            count=1,
            frequency="monthly",
            first_due=deferred_to,
            discount=0,
            reasons=(
                (
                    "还款能力不足：属困难情形而非拒不还款，建议暂缓还款并在到期前重新评估，可考虑减免。",
                    "No capacity to pay: hardship, not refusal — defer and reassess before the date; consider relief.",
                ),
            ),
            schedule=generate_schedule(owed, 1, "monthly", deferred_to),
        )
    count = _ceil_div(owed, capacity)
    if count <= policy.max_instalments:
        reason = (
            (
                f"月还款能力可在 {count} 期内结清全部欠款。",
                f"Monthly capacity clears the full balance in {count} instalment(s).",
            )
            if count > 1
            else ("还款能力足以一次结清。", "Capacity covers the balance in one payment.")
        )
        return Proposal(
            kind="instalment",
            total=owed,
            count=count,
            frequency="monthly",
            first_due=first_due,
            discount=0,
            reasons=(reason,),
            schedule=generate_schedule(owed, count, "monthly", first_due),
        )
    total = capacity * policy.max_instalments
    return Proposal(
        kind="settlement",
        total=total,
        count=policy.max_instalments,
        frequency="monthly",
        first_due=first_due,
        discount=owed - total,
        reasons=(
            (
                f"{policy.max_instalments} 期内无法结清：建议和解，减免部分需按权限审批。",
                f"Cannot be cleared within {policy.max_instalments} instalments: a settlement; its discount needs authority.",
            ),
        ),
        schedule=generate_schedule(total, policy.max_instalments, "monthly", first_due),
    )
