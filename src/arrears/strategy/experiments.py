"""Champion/challenger results (R8): per arm recovered amount, contacts, cost, with confidence intervals.

Statistics are pure functions on per-account outcomes; `arm_results` reads them from the database
(treatment spells × ledger payments × planned contacts).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from arrears.strategy.definition import Strategy, dump_strategy, parse_strategy

# Default unit cost per planned contact, in minor units of the portfolio currency (a creditor's
# own figures replace these through `arm_results(unit_costs=…)`).
UNIT_COSTS = {"call": 150, "sms": 5, "email": 1, "letter": 300, "visit": 5000, "voicemail": 100}
Z95 = 1.959963984540054


@dataclass(frozen=True)
class ArmResult:
    segment: str
    arm: str
    accounts: int
    recovered: int  # minor units
    recovered_per_account: float
    ci95: tuple[float, float]
    recovery_rate: float  # share of accounts with any payment
    recovery_rate_ci95: tuple[float, float]
    contacts: int
    cost: int
    diff_vs_champion: float | None = None
    diff_ci95: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def mean_ci(values: Sequence[float]) -> tuple[float, tuple[float, float], float]:
    """Mean, its normal-approximation 95% interval, and the variance of the mean."""
    n = len(values)
    if n == 0:
        return 0.0, (0.0, 0.0), 0.0
    m = sum(values) / n
    var = sum((v - m) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    se2 = var / n
    h = Z95 * math.sqrt(se2)
    return m, (m - h, m + h), se2


def wilson(successes: int, n: int) -> tuple[float, float]:
    """Wilson score interval for a proportion (better than the normal one at small n or extreme p)."""
    if n == 0:
        return (0.0, 0.0)
    p = successes / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def summarise(
    segment: str, arm: str, recovered: Sequence[int], contacts: dict[str, int], unit_costs: dict[str, int]
) -> tuple[ArmResult, float]:
    m, ci, se2 = mean_ci([float(v) for v in recovered])
    paid = sum(1 for v in recovered if v > 0)
    n = len(recovered)
    cost = sum(unit_costs.get(ch, 0) * k for ch, k in contacts.items())
    return ArmResult(
        segment=segment,
        arm=arm,
        accounts=n,
        recovered=int(sum(recovered)),
        recovered_per_account=round(m, 2),
        ci95=(round(ci[0], 2), round(ci[1], 2)),
        recovery_rate=round(paid / n, 4) if n else 0.0,
        recovery_rate_ci95=tuple(round(x, 4) for x in wilson(paid, n)),  # type: ignore[arg-type]
        contacts=sum(contacts.values()),
        cost=cost,
    ), se2


def compare(results: list[tuple[ArmResult, float]], champion: str) -> list[ArmResult]:
    """Each arm's difference in recovered per account against the champion, with a Welch 95% interval."""
    base = next((r for r in results if r[0].arm == champion), None)
    out = []
    for r, se2 in results:
        if base is None or r.arm == champion:
            out.append(r)
            continue
        d = r.recovered_per_account - base[0].recovered_per_account
        h = Z95 * math.sqrt(se2 + base[1])
        out.append(
            ArmResult(
                **{
                    **asdict(r),
                    "ci95": r.ci95,
                    "recovery_rate_ci95": r.recovery_rate_ci95,
                    "diff_vs_champion": round(d, 2),
                    "diff_ci95": (round(d - h, 2), round(d + h, 2)),
                }
            )
        )
    return out


def arm_results(
    conn: Connection, strategy: Strategy, unit_costs: dict[str, int] | None = None
) -> list[ArmResult]:
    """Outcomes per segment and arm over each account's spells in that arm."""
    costs = unit_costs or UNIT_COSTS
    recovered: dict[tuple[str, str], dict[int, int]] = {}
    for seg, arm, account_id, amount in conn.execute(
        text(
            "SELECT t.segment, t.arm, t.account_id, COALESCE(SUM(CASE WHEN l.kind = 'payment' THEN l.amount "
            "WHEN l.kind = 'reversal' AND o.kind = 'payment' THEN -l.amount ELSE 0 END), 0) "
            "FROM treatment_spells t "
            "LEFT JOIN ledger_transactions l ON l.account_id = t.account_id AND l.kind IN ('payment', 'reversal') "
            "  AND l.effective_date >= t.entered_on AND (t.left_on IS NULL OR l.effective_date < t.left_on) "
            "LEFT JOIN ledger_transactions o ON o.id = l.reverses_id "
            "GROUP BY t.id, t.segment, t.arm, t.account_id"
        )
    ).all():
        bucket = recovered.setdefault((seg, arm), {})
        bucket[account_id] = bucket.get(account_id, 0) + int(amount)
    contacts: dict[tuple[str, str], dict[str, int]] = {}
    for seg, arm, channel, k in conn.execute(
        text(
            "SELECT segment, arm, channel, COUNT(*) FROM planned_contacts WHERE action = 'contact' AND allowed "
            "GROUP BY segment, arm, channel"
        )
    ).all():
        contacts.setdefault((seg, arm), {})[channel] = int(k)
    out: list[ArmResult] = []
    for seg in strategy.segments:
        arms = seg.resolved_arms()
        rows = [
            summarise(
                seg.id,
                a.id,
                list(recovered.get((seg.id, a.id), {}).values()),
                contacts.get((seg.id, a.id), {}),
                costs,
            )
            for a in arms
        ]
        out += compare(rows, arms[0].id)
    return out


def promote(strategy: Strategy, segment_id: str, arm_id: str, new_version: str) -> Strategy:
    """A new strategy version where the winning arm takes all of the segment's traffic."""
    raw = parse_strategy_dict(strategy)
    for seg in raw["segments"]:
        if seg["id"] == segment_id:
            arms = seg.get("arms") or [{"id": "champion", "share": 1.0, "path": seg.get("path")}]
            winner = next((a for a in arms if a["id"] == arm_id), None)
            if winner is None:
                raise KeyError(f"segment {segment_id} has no arm {arm_id}")
            seg.pop("arms", None)
            seg["path"] = winner["path"]
            break
    else:
        raise KeyError(f"no segment {segment_id}")
    raw["version"] = new_version
    return parse_strategy(raw, f"{strategy.name}@{new_version}")


def parse_strategy_dict(strategy: Strategy) -> dict[str, Any]:
    import yaml

    return yaml.safe_load(dump_strategy(strategy))
