"""Cadence proof: an account following a strategy cannot break the pack's time and frequency rules.

`verify(strategy, pack)` walks every path's schedule over a horizon long enough to cover each step
and two full cycles of every repeat, under the worst case the rules allow for (every call
connects and becomes a conversation; or none is answered), and checks:
- CN-T1 / US-T1: each step's local time window lies inside the allowed hours;
- CN-F1: connected calls per day (worst case: every call connects);
- CN-F2: unanswered attempts per number per day (worst case: none answered);
- US-F1: call attempts in any 7 consecutive days;
- US-F2: no call within 7 days after a conversation (worst case: every call is a conversation).
The planner takes at most one action per account per day (the first step due whose condition
holds), so the proof walks one contact per day; where several steps fall on a day, the worst case
over their conditions is taken (a call if any of them is a call). A failure returns the
counterexample schedule. Not part of the proof, and checked at run time by the nightly guard
pre-check instead: transitions between paths (an account changing segment) and several accounts
of one debtor planned on the same day (CN-F1 counts per debtor).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from arrears.strategy.definition import Strategy, TreatmentPath, _hhmm
from arrears.strategy.rules import step_days


@dataclass
class Violation:
    rule: str
    path: str
    message: str
    schedule: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "path": self.path, "message": self.message, "schedule": self.schedule}


def _horizon(path: TreatmentPath) -> int:
    last = max((s.day for s in path.steps), default=0)
    repeat = max((s.repeat_every or 0 for s in path.steps), default=0)
    return path.self_cure_days + last + 2 * repeat + 14


def _param(pack: Any, rule: str, name: str) -> Any:
    return pack.param(rule, name) if rule in pack else None


def verify(strategy: Strategy, pack: Any) -> list[Violation]:
    """Every violation found (empty = the cadence is proven within the horizon)."""
    out: list[Violation] = []
    for path in strategy.paths:
        schedule = list(step_days(path, _horizon(path)))
        out += _time_rules(path, schedule, pack)  # any due step may be the one taken
        out += _frequency_rules(path, _one_per_day(schedule), pack)
    return out


def _one_per_day(schedule: list[Any]) -> list[Any]:
    """The planner's worst case per day: a call if any step due that day is a call, else the first due step."""
    by_day: dict[int, list[Any]] = {}
    for entry in schedule:
        by_day.setdefault(entry[0], []).append(entry)
    out = []
    for day in sorted(by_day):
        calls = [e for e in by_day[day] if e[2].channel in ("call", "voicemail")]
        out.append((calls or by_day[day])[0])
    return out


def _entry(day: int, no: int, step: Any) -> dict[str, Any]:
    return {"day": day, "step": no, "channel": step.channel, "window": list(step.window)}


def _time_rules(path: TreatmentPath, schedule: list[Any], pack: Any) -> list[Violation]:
    out = []
    for rule in ("CN-T1", "US-T1"):
        if rule not in pack:
            continue
        lo, hi = _hhmm(_param(pack, rule, "allowed_from")), _hhmm(_param(pack, rule, "allowed_until"))
        channels = set(_param(pack, rule, "channels") or ())
        for day, no, step in schedule:
            start, end = step.window_minutes
            if step.channel in channels and (start < lo or end > hi):
                out.append(
                    Violation(
                        rule,
                        path.id,
                        (
                            f"step {no} ({step.channel}) may contact between {step.window[0]} and {step.window[1]} "
                            f"local time; {rule} allows {_param(pack, rule, 'allowed_from')}–{_param(pack, rule, 'allowed_until')}"
                        ),
                        [_entry(day, no, step)],
                    )
                )
                break
    return out


def _calls(schedule: list[Any], channels: set[str]) -> list[tuple[int, int, Any]]:
    return [(d, n, s) for d, n, s in schedule if s.channel in channels]


def _frequency_rules(path: TreatmentPath, schedule: list[Any], pack: Any) -> list[Violation]:
    out: list[Violation] = []
    per_day_rules = (("CN-F1", "max_connected_calls_per_day"), ("CN-F2", "max_unanswered_per_number_per_day"))
    for rule, param in per_day_rules:
        if rule not in pack:
            continue
        cap = int(_param(pack, rule, param))
        calls = _calls(schedule, set(_param(pack, rule, "call_channels") or ("call",)))
        for day, n in Counter(d for d, _, _ in calls).items():
            if n > cap:
                out.append(
                    Violation(
                        rule,
                        path.id,
                        f"{n} calls planned on day {day}; at most {cap} allowed",
                        [_entry(d, no, s) for d, no, s in calls if d == day],
                    )
                )
                break
    if "US-F1" in pack:
        cap, window = int(_param(pack, "US-F1", "max_calls")), int(_param(pack, "US-F1", "window_days"))
        calls = _calls(schedule, set(_param(pack, "US-F1", "call_channels") or ("call",)))
        for d in [day for day, _, _ in calls]:
            in_window = [x for x in calls if d - window < x[0] <= d]
            if len(in_window) > cap:
                out.append(
                    Violation(
                        "US-F1",
                        path.id,
                        (
                            f"{len(in_window)} calls in the {window} days ending on day {d}; more than {cap} is presumed "
                            "harassment"
                        ),
                        [_entry(*x) for x in in_window],
                    )
                )
                break
    if "US-F2" in pack:
        window = int(_param(pack, "US-F2", "window_days"))
        calls = _calls(schedule, set(_param(pack, "US-F2", "call_channels") or ("call",)))
        for prev, nxt in pairwise(calls):
            if nxt[0] - prev[0] < window:
                out.append(
                    Violation(
                        "US-F2",
                        path.id,
                        (
                            f"a call on day {nxt[0]} comes {nxt[0] - prev[0]} days after a call on day {prev[0]}; if that "
                            f"call was a conversation, no call is allowed within {window} days (conversation day = day 1)"
                        ),
                        [_entry(*prev), _entry(*nxt)],
                    )
                )
                break
    return out
