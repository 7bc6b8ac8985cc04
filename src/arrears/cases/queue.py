"""The collector's work queue order, pure (R4, R9, R11).

Tiers, best first:

0. **due today** — a callback the collector promised (its time has come or comes today and no
   contact followed it yet), or a promise to pay falling due today; earliest time first;
1. **broken promise** — a promise resolved as broken (or partly kept) with no outbound contact since;
   most recently broken first;
2. **expected recovery** — the rest, by `cases.priority` (P(pay) × balance, written by the nightly
   batch), highest first.

Ties break on the case id. Cases the guard would block now are never in the ordered queue: the
caller passes them as blocked and they come back in a separate list, with their rule ids, so the
collector sees why a case is not workable (they are *hidden from the order and listed apart*).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

TIERS = ("due_today", "broken_promise", "expected_recovery")


@dataclass(frozen=True)
class QueueFacts:
    case_id: int
    priority: float = 0.0
    callback_at: datetime | None = None  # pending callback (no contact logged after it was set)
    callback_day: date | None = None  # the callback's local date in the queue's zone
    promise_due: date | None = None  # earliest open promise due date
    broken_at: datetime | None = None  # latest broken promise with no contact since
    blocked_rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ranked:
    case_id: int
    tier: str
    why: str  # callback_due | promise_due | broken_promise | expected_recovery
    key: tuple[float, ...]


def rank(f: QueueFacts, today: date) -> Ranked:
    """The tier and sort key of one workable case."""
    if f.callback_at is not None and f.callback_day is not None and f.callback_day <= today:
        return Ranked(f.case_id, TIERS[0], "callback_due", (0, 0, f.callback_at.timestamp(), f.case_id))
    if f.promise_due is not None and f.promise_due == today:  # after timed callbacks (appointments)
        return Ranked(f.case_id, TIERS[0], "promise_due", (0, 1, 0.0, f.case_id))
    if f.broken_at is not None:
        return Ranked(f.case_id, TIERS[1], "broken_promise", (1, 0, -f.broken_at.timestamp(), f.case_id))
    return Ranked(f.case_id, TIERS[2], "expected_recovery", (2, 0, -float(f.priority), f.case_id))


def order(facts: Iterable[QueueFacts], today: date) -> tuple[list[Ranked], list[QueueFacts]]:
    """(ordered workable cases, blocked cases in case-id order)."""
    workable: list[Ranked] = []
    blocked: list[QueueFacts] = []
    for f in facts:
        if f.blocked_rules:
            blocked.append(f)
        else:
            workable.append(rank(f, today))
    workable.sort(key=lambda r: r.key)
    blocked.sort(key=lambda f: f.case_id)
    return workable, blocked
