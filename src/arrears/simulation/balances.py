"""Ageing and balances of synthetic accounts: DPD at placement, contract terms, amounts owed (R1, R2).

Vectorised with numpy; amounts are integer minor units, rounded half-even (np.rint) where computed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arrears.simulation import reference as ref
from arrears.simulation.formats import minus_months, pick

PRODUCTS: tuple[str, ...] = ("consumer_loan", "credit_card", "business_receivable")
PRODUCT_MIX: tuple[float, ...] = (0.60, 0.37, 0.03)  # R1: a few business receivables


@dataclass(frozen=True)
class Balances:
    loan_amount: np.ndarray  # loan amount, credit limit or invoice amount
    principal: np.ndarray
    interest: np.ndarray
    penalty: np.ndarray
    fees: np.ndarray
    term_months: np.ndarray  # 0 = revolving, no term
    rate_bp: np.ndarray  # annual rate in basis points
    penalty_idx: np.ndarray  # index into PENALTY_RATE_TEXT
    contract_days: np.ndarray  # contract (or card opening, invoice) date, days since 1970


def days_past_due(rng: np.random.Generator, n: int) -> np.ndarray:
    """DPD at placement: bucket from the calibrated placement mix, day within the bucket uniform, the
    M7+ tail geometric in months (reference.ROLL_RATES and friends)."""
    category = pick(rng, ref.placement_mix(), n)
    within = rng.integers(0, 30, size=n)
    rolled_extra = np.minimum(rng.geometric(1.0 - ref.M7_PERSISTENCE, size=n) - 1, ref.M7_MAX_EXTRA_MONTHS)
    charged_extra = np.minimum(
        rng.geometric(1.0 - ref.CHARGED_OFF_PERSISTENCE, size=n) - 1, ref.CHARGED_OFF_MAX_EXTRA_MONTHS
    )
    months = np.where(category < 6, category, np.where(category == 6, 6 + rolled_extra, 6 + charged_extra))
    return (1 + 30 * months + within).astype(np.int64)


@dataclass(frozen=True)
class _ProductTerms:
    median: float  # loan amount / limit / invoice, major units
    sigma: float
    low: float
    high: float
    round_to: int  # minor units


_TERMS: dict[str, dict[str, _ProductTerms]] = {
    "zh_CN": {
        "consumer_loan": _ProductTerms(20_000, 0.75, 2_000, 300_000, 10_000),
        "credit_card": _ProductTerms(15_000, 0.6, 5_000, 50_000, 100_000),
        "business_receivable": _ProductTerms(400_000, 0.7, 50_000, 5_000_000, 100),
    },
    "en_US": {
        "consumer_loan": _ProductTerms(8_000, 0.7, 1_000, 50_000, 10_000),
        "credit_card": _ProductTerms(4_000, 0.7, 500, 25_000, 10_000),
        "business_receivable": _ProductTerms(60_000, 0.8, 10_000, 1_000_000, 100),
    },
}
PENALTY_RATE_TEXT: tuple[str, ...] = ("0", "0.0003", "0.0005", "0.0007")
_PENALTY_RATE = np.array([0.0, 0.0003, 0.0005, 0.0007])


def _lognormal_amount(rng: np.random.Generator, t: _ProductTerms, n: int) -> np.ndarray:
    major = np.clip(rng.lognormal(np.log(t.median), t.sigma, size=n), t.low, t.high)
    minor = np.rint(major * 100).astype(np.int64)
    return np.maximum(minor // t.round_to * t.round_to, t.round_to)


def balances(
    rng: np.random.Generator, locale: str, product: np.ndarray, dpd: np.ndarray, overdue_since: np.ndarray
) -> Balances:
    """Contract terms and balances at placement, in minor units, consistent with each account's DPD (R2)."""
    n = len(product)
    loan = np.zeros(n, np.int64)
    principal = np.zeros(n, np.int64)
    term = np.zeros(n, np.int64)  # 0 = no term (revolving)
    rate_bp = np.zeros(n, np.int64)
    penalty_idx = np.zeros(n, np.int64)
    contract = np.zeros(n, np.int64)
    overdue_amount = np.zeros(n, np.float64)
    fees = np.zeros(n, np.int64)
    months_missed = dpd // 30 + 1
    cn = locale == "zh_CN"
    terms = _TERMS[locale]

    # Consumer loans: equal monthly instalments; k ≥ 1 paid, instalment k+1 is the missed one.
    i = np.flatnonzero(product == 0)
    m = len(i)
    loan[i] = _lognormal_amount(rng, terms["consumer_loan"], m)
    term[i] = np.array([6, 12, 24, 36] if cn else [12, 24, 36, 48, 60])[
        pick(rng, [0.15, 0.40, 0.30, 0.15] if cn else [0.15, 0.25, 0.35, 0.15, 0.10], m)
    ]
    if cn:  # banks 7.2–12%, consumer-finance companies up to the 24% ceiling courts enforce
        bank = rng.random(m) < 0.4
        rate_bp[i] = np.where(bank, rng.integers(72, 121, m), rng.integers(120, 241, m)) * 10
        penalty_idx[i] = pick(rng, [0, 0.25, 0.6, 0.15], m)
    else:
        rate_bp[i] = rng.integers(90, 360, m) * 10 - 1
    paid = np.minimum(rng.integers(1, term[i]), term[i] - 1)
    r = rate_bp[i] / 10000 / 12
    growth_n, growth_k = (1 + r) ** term[i], (1 + r) ** paid
    remaining = loan[i] * (growth_n - growth_k) / (growth_n - 1)
    principal[i] = np.clip(np.rint(remaining).astype(np.int64), 1, loan[i] - 1)
    instalment = loan[i] * r * growth_n / (growth_n - 1)
    overdue_amount[i] = np.minimum(principal[i], instalment * months_missed[i])
    contract[i] = minus_months(overdue_since[i], paid + 1)
    if cn:
        fees[i] = np.where(
            rng.random(m) < 0.4, np.array([3000, 5000, 10000, 20000])[rng.integers(0, 4, m)], 0
        )

    # Credit cards: revolving; the balance is accelerated once written to collections.
    i = np.flatnonzero(product == 1)
    m = len(i)
    loan[i] = _lognormal_amount(rng, terms["credit_card"], m)
    principal[i] = np.rint(loan[i] * rng.uniform(0.55, 0.98, m)).astype(np.int64)
    if cn:  # 日息万分之五 = 18.25% a year, the long-standing card rate
        rate_bp[i] = np.where(rng.random(m) < 0.9, 1825, np.array([1500, 1650])[rng.integers(0, 2, m)])
        penalty_idx[i] = 2
        fees[i] = np.where(
            rng.random(m) < 0.3, np.array([10000, 20000, 30000, 60000])[rng.integers(0, 4, m)], 0
        )
    else:
        rate_bp[i] = rng.integers(2199, 3000, m)
    # Penalty runs on the unpaid minimum payments (10% of the balance a statement), not the whole balance.
    overdue_amount[i] = np.minimum(principal[i], 0.1 * principal[i] * months_missed[i])
    contract[i] = overdue_since[i] - rng.integers(180, 2900, m)

    # Business receivables: invoices on payment terms, partly paid, little or no contractual interest.
    i = np.flatnonzero(product == 2)
    m = len(i)
    loan[i] = _lognormal_amount(rng, terms["business_receivable"], m)
    principal[i] = np.maximum(np.rint(loan[i] * rng.uniform(0.3, 0.95, m)).astype(np.int64), 1)
    term[i] = np.array([1, 2, 3, 6])[pick(rng, [0.4, 0.3, 0.2, 0.1], m)]
    rate_bp[i] = np.where(rng.random(m) < 0.6, 0, np.array([435, 475, 600])[rng.integers(0, 3, m)])
    if cn:
        penalty_idx[i] = np.where(rng.random(m) < 0.5, 1, 2)
        fees[i] = np.where(rng.random(m) < 0.2, rng.integers(500, 5001, m) * 100, 0)
    overdue_amount[i] = principal[i]
    contract[i] = minus_months(overdue_since[i], term[i])

    # Interest accrues at the contract rate while overdue, frozen after 180 days (停息挂账 / charge-off).
    interest = np.rint(principal * (rate_bp / 10000) * np.minimum(dpd, 180) / 365).astype(np.int64)
    penalty = np.rint(overdue_amount * _PENALTY_RATE[penalty_idx] * np.minimum(dpd, 360)).astype(np.int64)
    if not cn:  # US lenders charge flat late fees instead of penalty interest
        late_fee = np.array([2500, 3000, 3500, 3900])[rng.integers(0, 4, n)]
        fees = np.where(product == 2, 0, late_fee * np.minimum(months_missed, 6))
    return Balances(loan, principal, interest, penalty, fees, term, rate_bp, penalty_idx, contract)
