"""Promise-to-pay evaluation (承诺还款), pure: promises against the account's payments.

A payment counts toward a promise when it is received on or after the day the promise was made and
no later than its due date plus the grace days. Each payment counts once: payments are matched to
open promises earliest due first (then lowest id), so two promises are never kept by one payment.

- **kept**: the matched payments reach the promised amount (resolved on the day they do, even early);
- **partly_kept**: the grace has passed with something but not all of it paid;
- **broken**: the grace has passed with nothing paid;
- **open**: otherwise (not yet due, or within the grace).

Reversed payments are left out by the caller, so a kept promise whose payment bounced re-opens (or
breaks) on the next evaluation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

FINAL = frozenset({"kept", "partly_kept", "broken"})


@dataclass(frozen=True)
class PromiseTerms:
    id: int
    amount: int  # minor units, > 0
    promised_on: date
    due_date: date
    grace_days: int = 0

    @property
    def deadline(self) -> date:
        """The last day a payment counts toward the promise."""
        return self.due_date + timedelta(days=self.grace_days)


@dataclass(frozen=True)
class Payment:
    on: date
    amount: int  # minor units, > 0


@dataclass(frozen=True)
class PromiseResult:
    id: int
    status: str
    paid: int
    resolved_on: date | None


def evaluate(
    promises: Sequence[PromiseTerms], payments: Iterable[Payment], as_of: date
) -> list[PromiseResult]:
    """The state of each promise on `as_of` (results in the order of `promises`).

    Payments after `as_of` are ignored, so evaluating an earlier day gives that day's answer.
    """
    for p in promises:
        if p.amount <= 0:
            raise ValueError(f"promise {p.id}: amount must be positive")
        if p.due_date < p.promised_on:
            raise ValueError(f"promise {p.id}: due date before the day it was made")
        if p.grace_days < 0:
            raise ValueError(f"promise {p.id}: grace days must not be negative")
    order = sorted(promises, key=lambda p: (p.due_date, p.id))
    paid = {p.id: 0 for p in promises}
    kept_on: dict[int, date] = {}
    for pay in sorted((x for x in payments if x.on <= as_of and x.amount > 0), key=lambda x: x.on):
        left = pay.amount
        for p in order:
            if left <= 0:
                break
            if p.id in kept_on or not (p.promised_on <= pay.on <= p.deadline):
                continue
            take = min(left, p.amount - paid[p.id])
            paid[p.id] += take
            left -= take
            if paid[p.id] >= p.amount:
                kept_on[p.id] = pay.on
    out = []
    for p in promises:
        if p.id in kept_on:
            out.append(PromiseResult(p.id, "kept", paid[p.id], kept_on[p.id]))
        elif as_of > p.deadline:
            status = "partly_kept" if paid[p.id] > 0 else "broken"
            out.append(PromiseResult(p.id, status, paid[p.id], p.deadline + timedelta(days=1)))
        else:
            out.append(PromiseResult(p.id, "open", paid[p.id], None))
    return out
