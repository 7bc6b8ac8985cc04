"""Assignment rules (R17): who takes a case, pure functions over plain values.

- **Rules** route a case by bucket, creditor, region, language and agency to a team and a skill; the
  first active rule (by position) whose set criteria all match decides; with no match any collector
  may take the case.
- **Eligibility**: the collector is available (not on leave, not resigned), under their workload cap,
  in the rule's team with the rule's skill, speaks the debtor's language, covers the region, creditor
  and bucket (an empty list on the profile means "any"). Agency staff take only accounts placed with
  their agency; an account placed with an agency goes to that agency's staff when one is eligible,
  else to in-house staff.
- **Stickiness**: a case stays with its collector while that collector is available; rules only
  place new or handed-over cases.
- **Choice**: among eligible collectors, the lowest load relative to cap, then the lowest load, then
  the lowest user id (deterministic).
- **Rebalancing**: cases move from collectors above the team's level (the even share, capped by each
  cap) to eligible colleagues below it, lowest priority first, so high-value work keeps its owner.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CaseFacts:
    case_id: int
    bucket: str | None = None
    creditor: str | None = None
    region: str | None = None
    language: str | None = None
    agency_code: str | None = None
    priority: float = 0.0
    current: int | None = None  # the collector holding the case now


@dataclass(frozen=True)
class Collector:
    user_id: int
    team_id: int | None = None
    agency_code: str | None = None
    skills: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    creditors: frozenset[str] = frozenset()
    buckets: frozenset[str] = frozenset()
    cap: int = 200
    available: bool = True


@dataclass(frozen=True)
class Rule:
    id: int
    position: int = 100
    bucket: str | None = None
    creditor: str | None = None
    region: str | None = None
    language: str | None = None
    agency_code: str | None = None
    team_id: int | None = None
    skill: str | None = None
    active: bool = True

    def matches(self, case: CaseFacts) -> bool:
        pairs = (
            (self.bucket, case.bucket),
            (self.creditor, case.creditor),
            (self.region, case.region),
            (self.language, case.language),
            (self.agency_code, case.agency_code),
        )
        return self.active and all(want is None or want == got for want, got in pairs)


@dataclass(frozen=True)
class Choice:
    case_id: int
    user_id: int | None
    reason: str  # kept | rules | none
    rule_id: int | None = None
    why: str = ""


@dataclass
class Loads:
    """Open cases per collector, updated as choices are made."""

    counts: dict[int, int] = field(default_factory=dict)

    def of(self, user_id: int) -> int:
        return self.counts.get(user_id, 0)

    def move(self, old: int | None, new: int | None) -> None:
        if old is not None:
            self.counts[old] = self.of(old) - 1
        if new is not None:
            self.counts[new] = self.of(new) + 1


def matching_rule(case: CaseFacts, rules: Sequence[Rule]) -> Rule | None:
    for rule in sorted(rules, key=lambda r: (r.position, r.id)):
        if rule.matches(case):
            return rule
    return None


def _covers(allowed: frozenset[str], value: str | None) -> bool:
    return not allowed or (value is not None and value in allowed)


def eligible(collector: Collector, case: CaseFacts, rule: Rule | None, load: int) -> str | None:
    """None when the collector may take the case, else the first reason they may not."""
    if not collector.available:
        return "not available"
    if load >= collector.cap:
        return "at workload cap"
    if collector.agency_code is not None and collector.agency_code != case.agency_code:
        return "other agency"  # CN-O1, CN-D1: agency staff see only what is placed with their agency
    if rule is not None and rule.team_id is not None and collector.team_id != rule.team_id:
        return "other team"
    if rule is not None and rule.skill is not None and rule.skill not in collector.skills:
        return f"lacks skill {rule.skill}"
    if not _covers(collector.languages, case.language):
        return "language"
    if not _covers(collector.regions, case.region):
        return "region"
    if not _covers(collector.creditors, case.creditor):
        return "creditor"
    if not _covers(collector.buckets, case.bucket):
        return "bucket"
    return None


def choose(
    case: CaseFacts,
    collectors: Iterable[Collector],
    rules: Sequence[Rule],
    loads: Loads,
    *,
    sticky: bool = True,
    exclude: frozenset[int] = frozenset(),
) -> Choice:
    """The collector for one case (not applied to `loads`; `assign_all` does that)."""
    pool = list(collectors)
    by_id = {c.user_id: c for c in pool}
    if sticky and case.current is not None and case.current not in exclude:
        holder = by_id.get(case.current)
        if holder is not None and holder.available:
            return Choice(case.case_id, holder.user_id, "kept", None, "stays with its collector")
    rule = matching_rule(case, rules)
    fits = [c for c in pool if c.user_id not in exclude and not eligible(c, case, rule, loads.of(c.user_id))]
    if case.agency_code is not None and any(c.agency_code == case.agency_code for c in fits):
        # placed with an agency: its staff first
        fits = [c for c in fits if c.agency_code == case.agency_code]
    best: tuple[float, int, int] | None = None
    for c in fits:
        load = loads.of(c.user_id)
        key = (load / c.cap if c.cap > 0 else math.inf, load, c.user_id)
        if best is None or key < best:
            best = key
    rule_id = rule.id if rule else None
    if best is None:
        return Choice(case.case_id, None, "none", rule_id, "no eligible collector under cap")
    return Choice(case.case_id, best[2], "rules", rule_id, "by rule" if rule else "no rule matched; any")


def assign_all(
    cases: Sequence[CaseFacts],
    collectors: Sequence[Collector],
    rules: Sequence[Rule],
    loads: Loads,
    *,
    sticky: bool = True,
    exclude: frozenset[int] = frozenset(),
) -> list[Choice]:
    """Choices for many cases, highest priority first (they get the least loaded collectors), with
    loads updated as each is placed."""
    out: list[Choice] = []
    for case in sorted(cases, key=lambda c: (-c.priority, c.case_id)):
        choice = choose(case, collectors, rules, loads, sticky=sticky, exclude=exclude)
        if choice.user_id != case.current:
            loads.move(case.current, choice.user_id)
        out.append(choice)
    return out


def rebalance_plan(
    cases: Sequence[CaseFacts], collectors: Sequence[Collector], rules: Sequence[Rule]
) -> list[Choice]:
    """Moves that bring every available collector to at most the even share (capped by their cap).

    Cases held by collectors above the level move to eligible colleagues below it, lowest priority
    first; a case no colleague may take stays where it is. Returns only the moves.
    """
    available = [c for c in collectors if c.available]
    if not available:
        return []
    by_holder: dict[int, list[CaseFacts]] = {}
    for case in cases:
        if case.current is not None:
            by_holder.setdefault(case.current, []).append(case)
    total = sum(len(v) for k, v in by_holder.items() if k in {c.user_id for c in available})
    share = math.ceil(total / len(available))
    level = {c.user_id: min(share, c.cap) for c in available}
    loads = Loads({c.user_id: len(by_holder.get(c.user_id, [])) for c in available})
    moves: list[Choice] = []
    for holder in sorted(available, key=lambda c: (-loads.of(c.user_id), c.user_id)):
        excess = loads.of(holder.user_id) - level[holder.user_id]
        if excess <= 0:
            continue
        for case in sorted(by_holder.get(holder.user_id, []), key=lambda c: (c.priority, c.case_id)):
            if excess <= 0:
                break
            takers = [
                c for c in available if c.user_id != holder.user_id and loads.of(c.user_id) < level[c.user_id]
            ]
            choice = choose(case, takers, rules, loads, sticky=False)
            if choice.user_id is None:
                continue
            loads.move(holder.user_id, choice.user_id)
            moves.append(Choice(case.case_id, choice.user_id, "rebalance", choice.rule_id, "above level"))
            excess -= 1
    return moves


def loads_of(assigned: Mapping[int, int | None]) -> Loads:
    """Loads from a case → collector mapping."""
    loads = Loads()
    for user in assigned.values():
        if user is not None:
            loads.move(None, user)
    return loads
