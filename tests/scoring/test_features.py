"""Propensity features from plain frames: windows, leakage guard, unknown vs zero, validation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from arrears.scoring.features import FEATURE_COLUMNS, build_propensity_features, paid_within_label
from arrears.scoring.service import fit_table
from arrears.scoring.tabular import TableError
from arrears.scoring.training import FitOptions

AS_OF = date(2025, 11, 30)


def _accounts() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "account_id": [1, 2, 3],
            "days_past_due": [5, 40, 0],
            "bucket": ["M1", "M2", "C"],
            "principal": [10_000, 50_000, 0],
            "interest": [100, 2_000, 0],
            "penalty": [0, 500, 0],
            "loan_amount": [20_000, None, 1_000],
            "annual_rate": [0.18, 0.24, None],
            "product": ["credit_card", "consumer_loan", "credit_card"],
            "contract_date": [date(2023, 11, 30), date(2025, 6, 1), None],
        }
    )


def _payments() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "account_id": [1, 1, 1, 1, 2],
            "paid_on": [AS_OF, date(2025, 11, 1), date(2025, 9, 2), date(2025, 9, 1), date(2025, 12, 5)],
            "amount": [500, 300, 200, 999, 700],
        }
    )


def _row(df: pl.DataFrame, account_id: int) -> dict[str, object]:
    return df.filter(pl.col("account_id") == account_id).row(0, named=True)


def test_payment_windows_include_as_of_and_exclude_the_future() -> None:
    f = build_propensity_features(_accounts(), AS_OF, payments=_payments())
    a1 = _row(f, 1)
    # 30 days = Nov 1 … Nov 30: the payments of Nov 30 and Nov 1
    assert (a1["payments_30d_count"], a1["payments_30d_amount"]) == (2, 800)
    # 90 days = Sep 2 … Nov 30: Sep 1 is one day too old
    assert (a1["payments_90d_count"], a1["payments_90d_amount"]) == (3, 1000)
    assert a1["days_since_last_payment"] == 0
    a2 = _row(f, 2)  # its only payment is after as_of: invisible
    assert (a2["payments_30d_count"], a2["payments_90d_amount"], a2["days_since_last_payment"]) == (
        0,
        0,
        None,
    )


def test_balances_and_ratios() -> None:
    f = build_propensity_features(_accounts(), AS_OF, payments=_payments())
    a1, a2, a3 = (_row(f, i) for i in (1, 2, 3))
    assert a1["balance"] == 10_100 and a1["fees"] == 0  # fees column absent → 0
    assert a1["balance_to_loan"] == pytest.approx(10_100 / 20_000)
    assert a1["charges_share"] == pytest.approx(100 / 10_100)
    assert a1["paid_90d_to_balance"] == pytest.approx(1000 / 10_100)
    assert a1["months_since_contract"] == pytest.approx(731 / 30.4375)
    assert a2["balance_to_loan"] is None  # unknown loan amount: unknown, not infinite
    assert a3["charges_share"] is None and a3["months_since_contract"] is None


def test_contacts_and_promises() -> None:
    contacts = pl.DataFrame(
        {
            "account_id": [1, 1, 1, 2],
            "contacted_at": [
                datetime(2025, 11, 30, 15, 59, tzinfo=UTC),  # 23:59 in Shanghai, still Nov 30 in UTC
                datetime(2025, 11, 1, 0, 0, tzinfo=UTC),
                datetime(2025, 10, 31, 23, 59, tzinfo=UTC),  # 31 days back: outside the window
                datetime(2025, 12, 1, 1, 0, tzinfo=UTC),  # after as_of
            ],
            "connected": [True, False, True, True],
        }
    )
    promises = pl.DataFrame(
        {
            "account_id": [1, 1, 1, 3, 3],
            "due_on": [date(2025, 10, 1), date(2025, 11, 10), date(2025, 11, 29), AS_OF, date(2025, 12, 3)],
            "status": ["kept", "broken", "broken", "pending", "pending"],
        }
    )
    f = build_propensity_features(_accounts(), AS_OF, contacts=contacts, promises=promises)
    a1, a2, a3 = (_row(f, i) for i in (1, 2, 3))
    assert (a1["contacts_30d"], a1["connected_contacts_30d"], a1["connect_rate_30d"]) == (2, 1, 0.5)
    assert (a2["contacts_30d"], a2["connect_rate_30d"]) == (0, None)
    assert (a1["promises_kept"], a1["promises_broken"], a1["promise_kept_rate"]) == (
        1,
        2,
        pytest.approx(1 / 3),
    )
    assert (a3["promises_pending"], a3["promise_kept_rate"]) == (1, None)
    assert a1["payments_30d_count"] is None  # no payments table and no aggregate column: unknown


def test_aggregates_given_on_the_account_frame_are_used() -> None:
    acc = _accounts().with_columns(
        pl.Series("payments_30d_count", [4, 0, 1]), pl.Series("contacts_30d", [9, 2, 0])
    )
    f = build_propensity_features(acc, AS_OF)
    assert f["payments_30d_count"].to_list() == [4, 0, 1]
    assert f["contacts_30d"].to_list() == [9, 2, 0]
    assert f["promises_kept"].to_list() == [None, None, None]


def test_output_columns_and_order_are_stable() -> None:
    f = build_propensity_features(_accounts(), AS_OF)
    assert f.columns == ["account_id", *FEATURE_COLUMNS]
    assert f["account_id"].to_list() == [1, 2, 3]


@pytest.mark.parametrize(
    ("change", "column", "row"),
    [
        (lambda a: a.drop("bucket"), "bucket", None),
        (lambda a: a.with_columns(pl.Series("account_id", [1, 2, 1])), "account_id", 1),
        (lambda a: a.with_columns(pl.Series("principal", [10, -5, 0])), "principal", 2),
        (lambda a: a.with_columns(pl.col("principal").cast(pl.Float64)), "principal", None),
    ],
)
def test_bad_accounts_are_named(change, column: str, row: int | None) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TableError) as err:
        build_propensity_features(change(_accounts()), AS_OF)
    assert err.value.column == column and err.value.row == row


def test_bad_promise_status_is_named() -> None:
    promises = pl.DataFrame({"account_id": [1, 2], "due_on": [AS_OF, AS_OF], "status": ["kept", "maybe"]})
    with pytest.raises(TableError) as err:
        build_propensity_features(_accounts(), AS_OF, promises=promises)
    assert (err.value.column, err.value.row) == ("status", 2)


def test_naive_contact_times_are_refused() -> None:
    contacts = pl.DataFrame(
        {"account_id": [1], "contacted_at": [datetime(2025, 11, 30, 9)], "connected": [True]}
    )
    with pytest.raises(TableError, match="UTC-aware"):
        build_propensity_features(_accounts(), AS_OF, contacts=contacts)


def test_label_counts_payments_in_the_next_30_days_only() -> None:
    pay = pl.DataFrame(
        {
            "account_id": [1, 2, 3],
            "paid_on": [AS_OF, AS_OF + timedelta(days=30), AS_OF + timedelta(days=31)],
            "amount": [100, 100, 100],
        }
    )
    label = paid_within_label(pl.Series("account_id", [1, 2, 3, 4]), pay, AS_OF)
    assert label["paid_within_30d"].to_list() == [0, 1, 0, 0]


def test_features_feed_the_generic_fitter() -> None:
    # a simulated portfolio where recent payers and connected contacts pay again
    rng = np.random.default_rng(0)
    n = 3000
    ids = np.arange(n)
    dpd = rng.integers(1, 180, n)
    accounts = pl.DataFrame(
        {
            "account_id": ids,
            "days_past_due": dpd,
            "bucket": np.where(dpd <= 30, "M1", np.where(dpd <= 90, "M2-M3", "M4+")),
            "principal": rng.integers(1_000, 500_000, n),
            "interest": rng.integers(0, 20_000, n),
            "product": rng.choice(["credit_card", "consumer_loan"], n),
        }
    )
    payer = rng.random(n) < 0.3
    payments = pl.DataFrame(
        {
            "account_id": ids[payer],
            "paid_on": [AS_OF - timedelta(days=int(d)) for d in rng.integers(0, 60, payer.sum())],
            "amount": rng.integers(100, 5_000, payer.sum()),
        }
    )
    features = build_propensity_features(accounts, AS_OF, payments=payments)
    logit = -1.0 + 2.5 * payer - 0.015 * dpd
    paid = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    table = features.with_columns(pl.Series("paid_within_30d", paid))
    result = fit_table(table, target="paid_within_30d", id_column="account_id", options=FitOptions(seed=0))
    assert result.summary()["LightGBM calibrated"]["auc"] > 0.75
    dropped = result.model.spec.dropped
    assert "contacts_30d" in dropped and dropped["contacts_30d"] == "empty"  # no contact data yet
    top = {r["feature"] for r in result.model.meta["training"]["feature_importance"][:4]}
    assert top & {
        "payments_90d_count",
        "payments_90d_amount",
        "days_since_last_payment",
        "paid_90d_to_balance",
    }
    assert "days_past_due" in top


def test_live_model_scores_a_feature_table(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from arrears.scoring.model_io import save_model
    from arrears.scoring.service import ModelRegistry, score_with_live_model

    rng = np.random.default_rng(1)
    n = 1500
    dpd = rng.integers(1, 120, n)
    accounts = pl.DataFrame(
        {
            "account_id": np.arange(n),
            "days_past_due": dpd,
            "bucket": np.where(dpd <= 30, "M1", "M2+"),
            "principal": rng.integers(1_000, 100_000, n),
            "interest": rng.integers(0, 5_000, n),
        }
    )
    features = build_propensity_features(accounts, AS_OF)
    paid = (rng.random(n) < 1 / (1 + np.exp(-(1.0 - 0.03 * dpd)))).astype(int)
    result = fit_table(
        features.with_columns(pl.Series("paid", paid)),
        target="paid",
        id_column="account_id",
        options=FitOptions(),
    )
    registry = ModelRegistry(tmp_path / "models")
    assert (
        score_with_live_model(features, registry.root) is None
    )  # nothing live yet: the caller keeps its prior
    save_model(result.model, tmp_path / "m.json")
    registry.promote(registry.register(tmp_path / "m.json").version)
    live = score_with_live_model(features.head(10), registry.root)
    assert live is not None
    scores, source = live
    assert source == "model:v1"
    assert scores.columns == ["id", "score"] and scores["id"].to_list() == list(range(10))
