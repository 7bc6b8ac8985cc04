"""Synthetic accounts: ageing mix, product mix, contract terms and balances that hang together (R1, R2)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from arrears.portfolio.ageing import bucket_for
from arrears.simulation.balances import PRODUCT_MIX, PRODUCTS
from arrears.simulation.formats import minus_months
from arrears.simulation.portfolio import SimulatedPortfolio
from arrears.simulation.reference import BUCKETS, bucket_shares, placement_mix


def test_bucket_shares_are_a_distribution_with_most_accounts_early() -> None:
    shares = bucket_shares()
    assert len(shares) == len(BUCKETS) and len(placement_mix()) == 8
    assert sum(shares) == pytest.approx(1.0)
    assert sum(shares[:3]) > 0.6  # many in M1–M3
    assert shares[-1] > shares[3] > shares[4] > shares[5]  # a long tail that collects in M7+
    assert list(shares[:6]) == sorted(shares[:6], reverse=True)


def test_buckets_follow_the_calibrated_shares(any_portfolio: SimulatedPortfolio) -> None:
    a = any_portfolio.accounts
    counts = dict(a["bucket"].value_counts().iter_rows())
    for label, share in zip(BUCKETS, bucket_shares(), strict=True):
        assert counts.get(label, 0) / a.height == pytest.approx(share, abs=0.012), label


def test_bucket_labels_agree_with_the_ageing_rules(any_portfolio: SimulatedPortfolio) -> None:
    a = any_portfolio.accounts
    for dpd, bucket in a.select("days_past_due", "bucket").unique().iter_rows():
        assert bucket_for(dpd) == bucket


def test_dpd_tail_reaches_years_but_stays_bounded(any_portfolio: SimulatedPortfolio) -> None:
    dpd = any_portfolio.accounts["days_past_due"]
    assert dpd.min() >= 1
    assert dpd.quantile(0.99) > 365
    assert dpd.max() <= 181 + 30 * 54 + 29


def test_overdue_since_is_placement_minus_dpd(any_portfolio: SimulatedPortfolio) -> None:
    a = any_portfolio.accounts
    expected = a.select(pl.col("placement_date") - pl.duration(days=pl.col("days_past_due"))).to_series()
    assert (a["overdue_since"] == expected).all()
    assert (a["contract_date"] < a["overdue_since"]).all()


def test_product_mix(any_portfolio: SimulatedPortfolio) -> None:
    shares = dict(any_portfolio.accounts["product"].value_counts(normalize=True).iter_rows())
    for product, share in zip(PRODUCTS, PRODUCT_MIX, strict=True):
        assert shares[product] == pytest.approx(share, abs=0.015), product


def test_balances_are_non_negative_and_principal_below_the_loan(any_portfolio: SimulatedPortfolio) -> None:
    a = any_portfolio.accounts
    for c in ("principal", "interest", "penalty", "fees"):
        assert a[c].min() >= 0, c
    assert (a["principal"] >= 1).all()
    assert (a["principal"] < a["loan_amount"]).all()


def test_no_interest_without_a_rate_and_more_interest_with_more_dpd(
    any_portfolio: SimulatedPortfolio,
) -> None:
    a = any_portfolio.accounts
    assert a.filter(pl.col("annual_rate_bp") == 0)["interest"].max() == 0
    loans = a.filter(pl.col("product") == "consumer_loan").with_columns(
        ratio=pl.col("interest") / pl.col("principal")
    )
    early = loans.filter(pl.col("days_past_due") <= 30)["ratio"].mean()
    late = loans.filter(pl.col("days_past_due") > 180)["ratio"].mean()
    assert late > 3 * early


def test_consumer_loan_interest_matches_rate_and_days(zh_portfolio: SimulatedPortfolio) -> None:
    a = zh_portfolio.accounts.head(2000)
    for principal, bp, dpd, interest in a.select(
        "principal", "annual_rate_bp", "days_past_due", "interest"
    ).iter_rows():
        expected = principal * bp / 10000 * min(dpd, 180) / 365
        assert abs(interest - expected) <= 1


def test_chinese_terms(zh_portfolio: SimulatedPortfolio) -> None:
    a = zh_portfolio.accounts
    loans = a.filter(pl.col("product") == "consumer_loan")
    assert loans["annual_rate_bp"].min() >= 720 and loans["annual_rate_bp"].max() <= 2400
    median_major = loans["loan_amount"].median() / 100
    assert 15_000 <= median_major <= 25_000
    cards = a.filter(pl.col("product") == "credit_card")
    assert (cards["annual_rate_bp"] == 1825).mean() > 0.8
    assert cards["loan_amount"].min() >= 500_000 and cards["loan_amount"].max() <= 5_000_000
    assert cards["term_months"].null_count() == cards.height
    business = a.filter(pl.col("product") == "business_receivable")
    assert business["loan_amount"].median() > 10 * loans["loan_amount"].median()
    rates = dict(a["daily_penalty_rate"].value_counts(normalize=True).iter_rows())
    assert max(rates, key=lambda k: rates[k]) == "0.0005"  # 万分之五
    assert a.select((pl.col("penalty") > 0).mean()).item() > 0.9
    retail = a.filter(pl.col("product") != "business_receivable")
    assert retail["fees"].max() <= 60_000 and business["fees"].max() <= 500_000  # fees are small


def test_us_terms(en_portfolio: SimulatedPortfolio) -> None:
    a = en_portfolio.accounts
    assert a["currency"].unique().to_list() == ["USD"]
    assert a["penalty"].max() == 0 and a["daily_penalty_rate"].unique().to_list() == ["0"]
    cards = a.filter(pl.col("product") == "credit_card")
    assert cards["annual_rate_bp"].min() >= 2199
    late_fees = a.filter(pl.col("product") != "business_receivable")["fees"]
    assert late_fees.min() >= 2500 and late_fees.max() <= 6 * 3900


def test_consumer_loans_missed_the_instalment_after_those_paid(zh_portfolio: SimulatedPortfolio) -> None:
    """contract date + k months = the missed due date (overdue_since), for some k within the term."""
    loans = zh_portfolio.accounts.filter(pl.col("product") == "consumer_loan").head(3000)
    epoch = pl.date(1970, 1, 1)
    days = loans.select((pl.col("overdue_since") - epoch).dt.total_days()).to_series().to_numpy()
    contract = loans.select((pl.col("contract_date") - epoch).dt.total_days()).to_series().to_numpy()
    terms = loans["term_months"].to_numpy()
    for k in range(2, 37):
        hit = minus_months(days, np.full(len(days), k)) == contract
        days_ok = hit & (k <= terms)
        contract = np.where(days_ok, -1, contract)
    assert (contract == -1).all()


def test_placement_date_and_window(any_portfolio: SimulatedPortfolio) -> None:
    a = any_portfolio.accounts
    assert a["placement_date"].unique().to_list() == [any_portfolio.placement_date]
    p = any_portfolio.payment_truth
    assert p["paid_on"].min() > any_portfolio.placement_date
    assert p["paid_on"].max() <= any_portfolio.placement_date + timedelta(days=30)
