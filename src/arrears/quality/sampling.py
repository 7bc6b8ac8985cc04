"""Which interactions go to an inspector (R24): every fatal, low-scoring or uncertain one, plus a random
share of each collector's others — a higher share for new staff.

Pure: plain values in, plain values out. The random share is reproducible: each interaction gets a
sha256 ticket from the round's seed and its id, and the lowest tickets are picked, so the same seed
picks the same interactions whatever order they come in.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Mandatory reasons in the order they are reported (the first that applies names the pick).
MANDATORY = ("fatal", "low_score", "needs_review", "low_confidence")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One machine-scored interaction not yet reviewed."""

    interaction_id: int
    collector_id: int | None
    score: float
    fatal: bool
    pass_mark: float
    undecided: int = 0  # automatic items the machine left to a person
    min_confidence: float = 1.0
    new_staff: bool = False


@dataclass(frozen=True, slots=True)
class SamplingPolicy:
    low_score: float | None = None  # None: each interaction's scorecard pass mark
    low_confidence: float = 0.5
    random_share: float = 0.05
    new_staff_share: float = 0.20
    min_random_per_collector: int = 1

    def __post_init__(self) -> None:
        for name in ("random_share", "new_staff_share", "low_confidence"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if self.min_random_per_collector < 0:
            raise ValueError("min_random_per_collector must not be negative")


@dataclass(frozen=True, slots=True)
class Pick:
    interaction_id: int
    reason: str  # fatal | low_score | needs_review | low_confidence | random | new_staff


def mandatory_reason(c: Candidate, policy: SamplingPolicy) -> str | None:
    """Why an interaction must be reviewed whatever the sample, or None."""
    if c.fatal:
        return "fatal"
    threshold = c.pass_mark if policy.low_score is None else policy.low_score
    if c.score < threshold:
        return "low_score"
    if c.undecided > 0:
        return "needs_review"
    if c.min_confidence < policy.low_confidence:
        return "low_confidence"
    return None


def ticket(seed: str, interaction_id: int) -> str:
    return hashlib.sha256(f"{seed}:{interaction_id}".encode()).hexdigest()


def random_quota(total: int, share: float, minimum: int) -> int:
    """How many random picks a collector with `total` interactions in the round gets."""
    if total <= 0:
        return 0
    return max(minimum, math.ceil(share * total - 1e-9))


def select_for_review(candidates: Iterable[Candidate], policy: SamplingPolicy, seed: str) -> list[Pick]:
    """Mandatory picks, then per collector a random share of the rest (ordered by interaction id)."""
    picks: dict[int, str] = {}
    by_collector: dict[int | None, list[Candidate]] = {}
    seen: set[int] = set()
    for c in candidates:
        if c.interaction_id in seen:
            raise ValueError(f"interaction {c.interaction_id} is listed twice")
        seen.add(c.interaction_id)
        by_collector.setdefault(c.collector_id, []).append(c)
        reason = mandatory_reason(c, policy)
        if reason is not None:
            picks[c.interaction_id] = reason
    for items in by_collector.values():
        new_staff = any(c.new_staff for c in items)
        share = policy.new_staff_share if new_staff else policy.random_share
        quota = random_quota(len(items), share, policy.min_random_per_collector)
        rest: Sequence[Candidate] = sorted(
            (c for c in items if c.interaction_id not in picks), key=lambda c: ticket(seed, c.interaction_id)
        )
        for c in rest[:quota]:
            picks[c.interaction_id] = "new_staff" if new_staff else "random"
    return [Pick(i, picks[i]) for i in sorted(picks)]
