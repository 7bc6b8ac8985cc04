"""Pure strategy rules: segment choice, champion/challenger assignment, today's step (R6–R8).

These scalar functions are the reference; the nightly batch runs the same rules columnar
(`planner.py`) and tests check that both agree. Everything here is explainable: a planned action
names its segment, arm, path and step.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from arrears.strategy.definition import Arm, Condition, Segment, Step, Strategy, TreatmentPath


def condition_holds(cond: Condition | None, f: Mapping[str, Any]) -> bool:
    """Does an account's feature row satisfy every given condition?"""
    if cond is None:
        return True
    checks = (
        cond.buckets is None or f.get("bucket") in cond.buckets,
        cond.dpd_min is None or f.get("days_past_due", 0) >= cond.dpd_min,
        cond.dpd_max is None or f.get("days_past_due", 0) <= cond.dpd_max,
        cond.balance_min is None or Decimal(str(f.get("balance_major", 0))) >= cond.balance_min,
        cond.balance_max is None or Decimal(str(f.get("balance_major", 0))) <= cond.balance_max,
        cond.score_min is None or (f.get("score") is not None and f["score"] >= cond.score_min),
        cond.score_max is None or (f.get("score") is not None and f["score"] <= cond.score_max),
        cond.ability is None or f.get("ability", "unknown") in cond.ability,
        cond.willingness is None or f.get("willingness", "unknown") in cond.willingness,
        cond.products is None or f.get("product") in cond.products,
        cond.creditors is None or f.get("creditor") in cond.creditors,
        cond.flags_any is None or bool(set(flag_set(f)) & set(cond.flags_any)),
        cond.flags_none is None or not (set(flag_set(f)) & set(cond.flags_none)),
        cond.no_contact_days is None or _days_since_contact(f) >= cond.no_contact_days,
    )
    return all(checks)


def flag_set(f: Mapping[str, Any]) -> list[str]:
    raw = f.get("flags") or ""
    return [x for x in str(raw).split(",") if x]


def _days_since_contact(f: Mapping[str, Any]) -> int:
    v = f.get("days_since_contact")
    return 10**6 if v is None else int(v)


def select_segment(strategy: Strategy, features: Mapping[str, Any]) -> Segment:
    for seg in strategy.segments:
        if condition_holds(seg.when, features):
            return seg
    raise AssertionError("the last segment matches everything (validated on load)")


def hash01(text: str) -> float:
    """Stable number in [0, 1): the first 32 bits of MD5 — the same formula the SQL engines use."""
    return int(hashlib.md5(text.encode("utf-8")).hexdigest()[:8], 16) / 4294967296.0


def assign_arm(strategy: Strategy, segment: Segment, account_ref: str) -> Arm:
    """Champion/challenger by a stable hash of the account: the same account always gets the same arm."""
    arms = segment.resolved_arms()
    x = hash01(f"{strategy.name}:{segment.id}:{account_ref}")
    edge = 0.0
    for arm in arms:
        edge += arm.share
        if x < edge:
            return arm
    return arms[-1]


def step_days(path: TreatmentPath, horizon: int) -> Iterator[tuple[int, int, Step]]:
    """(day after entry, step number, step) for every contact the path plans within `horizon` days."""
    for i, step in enumerate(path.steps):
        if not step.repeat_every:
            if path.self_cure_days + step.day <= horizon:
                yield path.self_cure_days + step.day, i + 1, step
            continue
        end = (
            path.steps[i + 1].day if i + 1 < len(path.steps) else horizon + 1
        )  # a repeat runs until the next step
        day = step.day
        while day < end and path.self_cure_days + day <= horizon:
            yield path.self_cure_days + day, i + 1, step
            day += step.repeat_every


@dataclass(frozen=True)
class PlannedAction:
    """What the strategy says to do today for one account, and why."""

    segment: str
    arm: str
    path: str
    step_no: int | None
    action: str  # contact | agency | legal | wait
    step: Step | None = None


def todays_action(
    path: TreatmentPath, days_in_path: int, features: Mapping[str, Any]
) -> PlannedAction | None:
    """The step due today on this path (first matching step), or an escalation, or nothing."""
    if path.legal_after_days is not None and days_in_path == path.legal_after_days:
        return PlannedAction("", "", path.id, None, "legal")
    if path.agency_after_days is not None and days_in_path == path.agency_after_days:
        return PlannedAction("", "", path.id, None, "agency")
    for day, no, step in step_days(path, days_in_path):
        if day == days_in_path and condition_holds(step.when, features):
            return PlannedAction("", "", path.id, no, "contact", step)
    return None


def plan_account(
    strategy: Strategy, features: Mapping[str, Any], days_in_path: int
) -> tuple[Segment, Arm, PlannedAction | None]:
    seg = select_segment(strategy, features)
    arm = assign_arm(strategy, seg, str(features["account_ref"]))
    action = todays_action(strategy.path(arm.path), days_in_path, features)
    if action is not None:
        action = PlannedAction(seg.id, arm.id, arm.path, action.step_no, action.action, action.step)
    return seg, arm, action
