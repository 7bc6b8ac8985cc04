"""Legal stages (R19): the order a case moves through on the legal route, outcomes and cost kinds.

Pure rules on plain values. A stage only moves forward (a stage may be skipped — a case settled
before a hearing goes straight to `closed`); closing needs an outcome; a judgment may carry one.
"""

from __future__ import annotations

STAGES: tuple[str, ...] = ("pre_litigation", "filed", "hearing", "judgment", "enforcement", "closed")
STAGE_LABELS = {
    "pre_litigation": ("诉前", "pre-litigation"),
    "filed": ("已立案", "filed"),
    "hearing": ("开庭审理", "hearing"),
    "judgment": ("判决", "judgment"),
    "enforcement": ("强制执行", "enforcement"),
    "closed": ("结案", "closed"),
}
JUDGMENT_OUTCOMES = ("judgment_for_creditor", "judgment_partly_for_creditor", "judgment_against_creditor")
CLOSING_OUTCOMES = (
    *JUDGMENT_OUTCOMES,
    "settled",
    "paid_in_full",
    "mediated",
    "withdrawn",
    "enforced_in_full",
    "enforced_in_part",
    "enforcement_terminated",  # 终结本次执行: no assets found
    "uncollectable",
)
COST_KINDS = (
    "court_fee",
    "lawyer_fee",
    "preservation_fee",
    "enforcement_fee",
    "notary_fee",
    "service_fee",
    "other",
)


class StageError(ValueError):
    pass


def check_transition(current: str | None, new: str, outcome: str | None) -> None:
    """Raise StageError unless the legal route may move from `current` to `new` (with `outcome`)."""
    if new not in STAGES:
        raise StageError(f"stage {new!r}: must be one of {', '.join(STAGES)}")
    if current == "closed":
        raise StageError("the legal route is closed; nothing follows")
    at = STAGES.index(current) if current in STAGES else -1
    if STAGES.index(new) <= at:
        raise StageError(
            f"stage {new} cannot follow {current}: stages only move forward ({' → '.join(STAGES)})"
        )
    if new == "closed":
        if outcome is None:
            raise StageError("closing needs an outcome")
        if outcome not in CLOSING_OUTCOMES:
            raise StageError(f"outcome {outcome!r}: must be one of {', '.join(CLOSING_OUTCOMES)}")
    elif new == "judgment":
        if outcome is not None and outcome not in JUDGMENT_OUTCOMES:
            raise StageError(f"a judgment's outcome must be one of {', '.join(JUDGMENT_OUTCOMES)}")
    elif outcome is not None:
        raise StageError(f"an outcome is recorded with a judgment or at closing, not at {new}")


def check_cost(kind: str, amount: int) -> None:
    if kind not in COST_KINDS:
        raise StageError(f"cost kind {kind!r}: must be one of {', '.join(COST_KINDS)}")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise StageError("a cost is a positive amount in minor units")
