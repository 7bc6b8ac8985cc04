"""Payment allocation by waterfall — pure functions on plain values, no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from arrears.ledger.models import COMPONENTS

DEFAULT_WATERFALL: tuple[str, ...] = ("fees", "penalty", "interest", "principal")


class WaterfallError(ValueError):
    pass


def validate_waterfall(order: Sequence[str] | None) -> tuple[str, ...]:
    """A waterfall names every component exactly once."""
    if not order:
        return DEFAULT_WATERFALL
    seq = tuple(order)
    if sorted(seq) != sorted(COMPONENTS):
        raise WaterfallError(f"waterfall must list each of {', '.join(COMPONENTS)} once, got {list(seq)}")
    return seq


@dataclass(frozen=True)
class Allocation:
    """How a payment splits: per component, plus what is left over as a credit balance."""

    parts: dict[str, int]
    credit: int

    @property
    def total(self) -> int:
        return sum(self.parts.values()) + self.credit


def allocate_payment(
    amount: int, balances: Mapping[str, int], waterfall: Sequence[str] | None = None
) -> Allocation:
    """Pay components in waterfall order up to their balance; overpayment becomes credit, never lost."""
    if amount <= 0:
        raise WaterfallError("a payment amount must be positive")
    remaining = amount
    parts = dict.fromkeys(COMPONENTS, 0)
    for component in validate_waterfall(waterfall):
        owed = max(0, balances.get(component, 0))
        take = min(owed, remaining)
        parts[component] = take
        remaining -= take
        if remaining == 0:
            break
    return Allocation(parts=parts, credit=remaining)
