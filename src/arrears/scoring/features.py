"""Features of the portfolio propensity-to-pay model (payment within 30 days), columnar (R6, R9).

`build_propensity_features` turns plain Polars frames — one row per account, plus optional event
tables — into one feature row per account. It reads no database: the nightly batch (or a test)
gathers the columns and calls it. Money is integer minor units throughout; ratios are floats.

Account frame (one row per account; `account_id` unique):

    account_id          any type, not null
    days_past_due       int ≥ 0, as of `as_of`
    bucket              str (C, M1 … M7+)
    principal, interest, penalty, fees
                        int minor units outstanding (penalty/fees may be absent → 0)
    loan_amount         int minor units, original amount (nullable)
    annual_rate         float, e.g. 0.18 (nullable)
    product             str (consumer_loan, credit_card, …; nullable)
    contract_date       date (nullable) — or `months_since_contract` directly
  optional, used as given when present (the batch may have aggregated them already):
    payments_30d_count, payments_30d_amount, payments_90d_count, payments_90d_amount,
    days_since_last_payment, contacts_30d, connected_contacts_30d, promises_kept, promises_broken,
    promises_pending

Event frames (optional; when a frame is given, its aggregates replace the account columns above):

    payments   account_id, paid_on (date), amount (int minor units, > 0)
    contacts   account_id, contacted_at (UTC-aware datetime) or contacted_on (date), connected (bool)
    promises   account_id, due_on (date), status ("kept" | "broken" | "pending")

Windows end on `as_of` inclusive: "last 30 days" is as_of − 29 … as_of. Events after `as_of` are
ignored, so a feature table built for a past date never sees that date's future (no label leakage).
When neither the event frame nor the aggregate column is there, the feature is null (unknown), not
0 — the model can tell "no payments" from "no payment data". Promises count all history up to as_of.

`paid_within_label` builds the matching label from the payments that follow `as_of`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import polars as pl

from arrears.scoring.tabular import TableError

REQUIRED_ACCOUNT_COLUMNS: tuple[str, ...] = ("account_id", "days_past_due", "bucket", "principal", "interest")
MONEY_COLUMNS: tuple[str, ...] = ("principal", "interest", "penalty", "fees", "loan_amount")
AGGREGATE_COLUMNS: tuple[str, ...] = (
    "payments_30d_count",
    "payments_30d_amount",
    "payments_90d_count",
    "payments_90d_amount",
    "days_since_last_payment",
    "contacts_30d",
    "connected_contacts_30d",
    "promises_kept",
    "promises_broken",
    "promises_pending",
)
FEATURE_COLUMNS: tuple[str, ...] = (
    "days_past_due",
    "bucket",
    "product",
    "principal",
    "interest",
    "penalty",
    "fees",
    "balance",
    "loan_amount",
    "annual_rate",
    "months_since_contract",
    "balance_to_loan",
    "charges_share",
    *AGGREGATE_COLUMNS,
    "paid_90d_to_balance",
    "connect_rate_30d",
    "promise_kept_rate",
)
PROMISE_STATUSES = ("kept", "broken", "pending")


def _require(df: pl.DataFrame, columns: Sequence[str], table: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise TableError(f"the {table} table needs this column", column=missing[0])


def _first_bad(df: pl.DataFrame, mask: pl.Expr, column: str, reason: str, table: str) -> None:
    bad = df.select(mask.fill_null(False).arg_true().first()).item()
    if bad is not None:
        value = df.get_column(column)[int(bad)]
        raise TableError(f"{table}: {value!r} {reason}", column=column, row=int(bad) + 1)


def _validate_accounts(accounts: pl.DataFrame) -> None:
    _require(accounts, REQUIRED_ACCOUNT_COLUMNS, "accounts")
    _first_bad(accounts, pl.col("account_id").is_null(), "account_id", "— account_id is missing", "accounts")
    _first_bad(
        accounts, pl.col("account_id").is_duplicated(), "account_id", "appears more than once", "accounts"
    )
    for col in ("days_past_due", *MONEY_COLUMNS):
        if col in accounts.columns:
            dtype = accounts.schema[col]
            if not (dtype.is_integer() or dtype == pl.Null):
                raise TableError(
                    f"accounts: expected whole numbers (minor units / days), found {dtype}", column=col
                )
            _first_bad(accounts, pl.col(col) < 0, col, "is negative", "accounts")


def _window_counts(day_col: str, as_of: date, days: int, prefix: str) -> list[pl.Expr]:
    start = as_of - timedelta(days=days - 1)
    inside = pl.col(day_col).is_between(pl.lit(start), pl.lit(as_of))
    return [
        inside.sum().cast(pl.Int64).alias(f"{prefix}_{days}d_count"),
        pl.when(inside)
        .then(pl.col("amount"))
        .otherwise(0)
        .sum()
        .cast(pl.Int64)
        .alias(f"{prefix}_{days}d_amount"),
    ]


def _payment_aggregates(payments: pl.DataFrame, as_of: date) -> pl.DataFrame:
    _require(payments, ("account_id", "paid_on", "amount"), "payments")
    if not payments.schema["amount"].is_integer():
        raise TableError("payments: amounts are whole minor units", column="amount")
    p = payments.filter(pl.col("paid_on") <= pl.lit(as_of))  # nothing from after as_of
    return p.group_by("account_id").agg(
        *_window_counts("paid_on", as_of, 30, "payments"),
        *_window_counts("paid_on", as_of, 90, "payments"),
        (pl.lit(as_of) - pl.col("paid_on").max())
        .dt.total_days()
        .cast(pl.Int64)
        .alias("days_since_last_payment"),
    )


def _contact_aggregates(contacts: pl.DataFrame, as_of: date) -> pl.DataFrame:
    if "contacted_on" in contacts.columns:
        day = pl.col("contacted_on")
    elif "contacted_at" in contacts.columns:
        dtype = contacts.schema["contacted_at"]
        if not isinstance(dtype, pl.Datetime) or dtype.time_zone is None:
            raise TableError("contacts: contacted_at must be a UTC-aware datetime", column="contacted_at")
        day = pl.col("contacted_at").dt.convert_time_zone("UTC").dt.date()
    else:
        raise TableError("the contacts table needs contacted_at or contacted_on", column="contacted_at")
    _require(contacts, ("account_id", "connected"), "contacts")
    c = contacts.select("account_id", day.alias("day"), pl.col("connected").cast(pl.Boolean))
    start = as_of - timedelta(days=29)
    c = c.filter(pl.col("day").is_between(pl.lit(start), pl.lit(as_of)))
    return c.group_by("account_id").agg(
        pl.len().cast(pl.Int64).alias("contacts_30d"),
        pl.col("connected").fill_null(False).sum().cast(pl.Int64).alias("connected_contacts_30d"),
    )


def _promise_aggregates(promises: pl.DataFrame, as_of: date) -> pl.DataFrame:
    _require(promises, ("account_id", "due_on", "status"), "promises")
    _first_bad(
        promises,
        ~pl.col("status").is_in(list(PROMISE_STATUSES)),
        "status",
        f"is not one of {', '.join(PROMISE_STATUSES)}",
        "promises",
    )
    p = promises.filter(pl.col("due_on") <= pl.lit(as_of))
    return p.group_by("account_id").agg(
        *((pl.col("status") == s).sum().cast(pl.Int64).alias(f"promises_{s}") for s in PROMISE_STATUSES)
    )


def _merge(base: pl.DataFrame, agg: pl.DataFrame | None, columns: Sequence[str]) -> pl.DataFrame:
    """Aggregates from an event table (0 for accounts without events); else the account's own column or null."""
    if agg is not None:
        base = base.drop([c for c in columns if c in base.columns])
        base = base.join(agg, on="account_id", how="left", maintain_order="left")
        return base.with_columns(pl.col(c).fill_null(0) for c in columns if c != "days_since_last_payment")
    return base.with_columns(pl.lit(None, dtype=pl.Int64).alias(c) for c in columns if c not in base.columns)


def build_propensity_features(
    accounts: pl.DataFrame,
    as_of: date,
    *,
    payments: pl.DataFrame | None = None,
    contacts: pl.DataFrame | None = None,
    promises: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per account: `account_id` then FEATURE_COLUMNS, in that order (see the module docstring)."""
    _validate_accounts(accounts)
    base = accounts.with_columns(
        pl.col(c).cast(pl.Int64) for c in ("days_past_due", "principal", "interest")
    ).with_columns(
        (pl.col(c).cast(pl.Int64).fill_null(0) if c in accounts.columns else pl.lit(0, dtype=pl.Int64)).alias(
            c
        )
        for c in ("penalty", "fees")
    )
    for col, dtype in (("loan_amount", pl.Int64), ("annual_rate", pl.Float64), ("product", pl.String)):
        base = base.with_columns(
            pl.col(col).cast(dtype) if col in base.columns else pl.lit(None, dtype=dtype).alias(col)
        )
    if "months_since_contract" in base.columns:
        months = pl.col("months_since_contract").cast(pl.Float64)
    elif "contract_date" in base.columns:
        months = (pl.lit(as_of) - pl.col("contract_date").cast(pl.Date)).dt.total_days() / 30.4375
    else:
        months = pl.lit(None, dtype=pl.Float64)
    base = base.with_columns(months.alias("months_since_contract"))

    pay_cols = AGGREGATE_COLUMNS[:5]
    contact_cols = AGGREGATE_COLUMNS[5:7]
    promise_cols = AGGREGATE_COLUMNS[7:]
    base = _merge(base, _payment_aggregates(payments, as_of) if payments is not None else None, pay_cols)
    base = _merge(base, _contact_aggregates(contacts, as_of) if contacts is not None else None, contact_cols)
    base = _merge(base, _promise_aggregates(promises, as_of) if promises is not None else None, promise_cols)

    balance = pl.col("principal") + pl.col("interest") + pl.col("penalty") + pl.col("fees")
    base = base.with_columns(balance.alias("balance"))
    base = base.with_columns(
        _ratio(pl.col("balance"), pl.col("loan_amount")).alias("balance_to_loan"),
        _ratio(pl.col("interest") + pl.col("penalty") + pl.col("fees"), pl.col("balance")).alias(
            "charges_share"
        ),
        _ratio(pl.col("payments_90d_amount"), pl.col("balance")).alias("paid_90d_to_balance"),
        _ratio(pl.col("connected_contacts_30d"), pl.col("contacts_30d")).alias("connect_rate_30d"),
        _ratio(pl.col("promises_kept"), pl.col("promises_kept") + pl.col("promises_broken")).alias(
            "promise_kept_rate"
        ),
    )
    return base.select("account_id", *FEATURE_COLUMNS)


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """num / den as a float; null when the denominator is 0 or unknown (no made-up infinities)."""
    return pl.when(den > 0).then(num.cast(pl.Float64) / den.cast(pl.Float64)).otherwise(None)


def paid_within_label(
    account_ids: pl.Series, payments: pl.DataFrame, as_of: date, days: int = 30, name: str = "paid_within_30d"
) -> pl.DataFrame:
    """1 when the account received a payment in as_of + 1 … as_of + days, else 0 — the propensity label."""
    _require(payments, ("account_id", "paid_on", "amount"), "payments")
    window = payments.filter(
        pl.col("paid_on").is_between(pl.lit(as_of + timedelta(days=1)), pl.lit(as_of + timedelta(days=days)))
        & (pl.col("amount") > 0)
    )
    payers = window.select(pl.col("account_id").unique())
    ids = pl.DataFrame({"account_id": account_ids})
    return ids.with_columns(
        pl.col("account_id").is_in(payers.get_column("account_id").implode()).cast(pl.Int8).alias(name)
    )
