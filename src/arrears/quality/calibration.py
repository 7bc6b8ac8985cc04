"""Calibration (校准): agreement between inspectors, and between the machine and inspectors.  # R24, R26

Pure functions on plain values, for the calibration sessions where several inspectors score the same
interactions blind: Cohen's kappa (two raters; unweighted, linear or quadratic weights for ordered
grades), Fleiss' kappa (any fixed number of raters per item), percent agreement, score spread across
inspectors, and per-item agreement between machine and human decisions.

Conventions: when chance agreement is already total (every rating the same category), kappa is 1.0 if
the raters agree everywhere and 0.0 otherwise, instead of the undefined 0/0.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Weights = Literal["linear", "quadratic"] | None


def percent_agreement(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Share of items on which two raters gave the same rating."""
    _same_length(a, b)
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def _same_length(a: Sequence[Hashable], b: Sequence[Hashable]) -> None:
    if len(a) != len(b):
        raise ValueError(f"the raters rated different numbers of items ({len(a)} and {len(b)})")
    if not a:
        raise ValueError("no items rated")


def cohen_kappa(
    a: Sequence[Hashable],
    b: Sequence[Hashable],
    *,
    weights: Weights = None,
    labels: Sequence[Hashable] | None = None,
) -> float:
    """Cohen's kappa of two raters. With `weights`, `labels` gives the order of the grades (default: sorted)."""
    _same_length(a, b)
    if labels is None:
        try:
            labels = sorted(set(a) | set(b))  # type: ignore[type-var]
        except TypeError:
            labels = list(dict.fromkeys([*a, *b]))
    index = {label: i for i, label in enumerate(labels)}
    missing = [x for x in (*a, *b) if x not in index]
    if missing:
        raise ValueError(f"rating {missing[0]!r} is not among the labels")
    k = len(labels)
    n = len(a)

    def weight(i: int, j: int) -> float:
        if weights is None:
            return 0.0 if i == j else 1.0
        if k == 1:
            return 0.0
        d = abs(i - j) / (k - 1)
        return d if weights == "linear" else d * d

    if weights not in (None, "linear", "quadratic"):
        raise ValueError("weights must be None, 'linear' or 'quadratic'")
    ca, cb = Counter(index[x] for x in a), Counter(index[y] for y in b)
    observed = sum(weight(index[x], index[y]) for x, y in zip(a, b, strict=True)) / n
    expected = sum(ca[i] * cb[j] * weight(i, j) for i in ca for j in cb) / (n * n)
    if expected == 0:
        return 1.0 if observed == 0 else 0.0
    return 1.0 - observed / expected


def fleiss_kappa(ratings: Sequence[Sequence[Hashable]]) -> float:
    """Fleiss' kappa: `ratings[i]` holds the ratings item i received, the same number for every item."""
    if not ratings:
        raise ValueError("no items rated")
    raters = len(ratings[0])
    if raters < 2:
        raise ValueError("Fleiss' kappa needs at least two ratings per item")
    for i, r in enumerate(ratings):
        if len(r) != raters:
            raise ValueError(f"item {i} has {len(r)} ratings, item 0 has {raters}")
    counts = [Counter(r) for r in ratings]
    return fleiss_kappa_counts(counts, raters)


def fleiss_kappa_counts(counts: Sequence[Mapping[Hashable, int]], raters: int) -> float:
    """Fleiss' kappa from per-item category counts (each item's counts sum to `raters`)."""
    n_items = len(counts)
    totals: Counter[Hashable] = Counter()
    p_items = []
    for i, c in enumerate(counts):
        if sum(c.values()) != raters:
            raise ValueError(f"item {i}: counts sum to {sum(c.values())}, expected {raters}")
        totals.update(c)
        p_items.append((sum(v * v for v in c.values()) - raters) / (raters * (raters - 1)))
    p_bar = sum(p_items) / n_items
    p_e = sum((t / (n_items * raters)) ** 2 for t in totals.values())
    if p_e == 1:
        return 1.0 if p_bar == 1 else 0.0
    return (p_bar - p_e) / (1 - p_e)


@dataclass(frozen=True, slots=True)
class Spread:
    """How far apart inspectors' scores of the same interactions are."""

    interactions: int
    mean_range: float  # mean over interactions of (max − min) score
    max_range: float
    mean_std: float  # mean over interactions of the population standard deviation
    rater_bias: Mapping[str, float]  # each inspector's mean difference from the per-interaction mean
    widest: tuple[str, ...]  # interactions with the largest range, worst first (up to 5)


def score_spread(scores: Mapping[str, Mapping[str, float]]) -> Spread:
    """`scores[inspector][interaction] = score`; only interactions scored by at least two inspectors count."""
    by_item: dict[str, dict[str, float]] = {}
    for rater, items in scores.items():
        for item, score in items.items():
            if not isinstance(score, int | float) or isinstance(score, bool) or not math.isfinite(score):
                raise ValueError(f"{rater} / {item}: score must be a finite number")
            by_item.setdefault(item, {})[rater] = float(score)
    shared = {item: r for item, r in by_item.items() if len(r) >= 2}
    if not shared:
        raise ValueError("no interaction was scored by two or more inspectors")
    ranges: dict[str, float] = {}
    stds = []
    bias_sum: dict[str, float] = {}
    bias_n: dict[str, int] = {}
    for item, r in shared.items():
        values = list(r.values())
        mean = sum(values) / len(values)
        ranges[item] = max(values) - min(values)
        stds.append(math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)))
        for rater, v in r.items():
            bias_sum[rater] = bias_sum.get(rater, 0.0) + (v - mean)
            bias_n[rater] = bias_n.get(rater, 0) + 1
    widest = tuple(sorted(ranges, key=lambda k: (-ranges[k], k))[:5])
    return Spread(
        interactions=len(shared),
        mean_range=sum(ranges.values()) / len(ranges),
        max_range=max(ranges.values()),
        mean_std=sum(stds) / len(stds),
        rater_bias={r: bias_sum[r] / bias_n[r] for r in sorted(bias_sum)},
        widest=widest,
    )


@dataclass(frozen=True, slots=True)
class ItemAgreement:
    item: str
    n: int  # interactions where both the machine and the inspector decided the item
    agreement: float
    kappa: float
    machine_fail_human_pass: int  # false alarms of the machine
    machine_pass_human_fail: int  # misses of the machine


def machine_human_agreement(
    machine: Mapping[str, Mapping[str, bool | None]],
    human: Mapping[str, Mapping[str, bool | None]],
) -> dict[str, ItemAgreement]:
    """Per scorecard item: agreement and kappa between machine and inspector decisions.

    `machine[interaction][item]` and `human[interaction][item]` are passed (True), failed (False) or
    undecided (None); only interactions where both decided an item count for it.
    """
    pairs: dict[str, list[tuple[bool, bool]]] = {}
    for interaction, items in human.items():
        m_items = machine.get(interaction, {})
        for item, h in items.items():
            m = m_items.get(item)
            if h is None or m is None:
                continue
            pairs.setdefault(item, []).append((bool(m), bool(h)))
    out = {}
    for item, p in sorted(pairs.items()):
        ms = [x for x, _ in p]
        hs = [y for _, y in p]
        out[item] = ItemAgreement(
            item=item,
            n=len(p),
            agreement=percent_agreement(ms, hs),
            kappa=cohen_kappa(ms, hs, labels=[False, True]),
            machine_fail_human_pass=sum(1 for x, y in p if not x and y),
            machine_pass_human_fail=sum(1 for x, y in p if x and not y),
        )
    return out
