"""Ageing rules: hand-computed DPD, buckets and accrual; the columnar path agrees with the scalar one."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.portfolio import ageing
from arrears.portfolio.ageing import Bucket, BucketConfigError
from arrears.portfolio.ageing import ScheduledInstalment as SI
from arrears.portfolio.ageing_columnar import age_portfolio


@pytest.mark.parametrize(
    ("dpd", "bucket"),
    [
        (0, "C"),
        (1, "M1"),
        (30, "M1"),
        (31, "M2"),
        (60, "M2"),
        (61, "M3"),
        (90, "M3"),
        (91, "M4"),
        (120, "M4"),
        (121, "M5"),
        (150, "M5"),
        (151, "M6"),
        (180, "M6"),
        (181, "M7+"),
        (5000, "M7+"),
    ],
)
def test_default_bucket_edges(dpd: int, bucket: str) -> None:
    assert ageing.bucket_for(dpd) == bucket


def test_buckets_are_configurable_and_validated() -> None:
    custom = ageing.parse_buckets("C:0,X1:1-15,X2:16-")
    assert [ageing.bucket_for(d, custom) for d in (0, 15, 16, 400)] == ["C", "X1", "X2", "X2"]
    with pytest.raises(BucketConfigError):
        ageing.validate_buckets([Bucket("C", 0, 0), Bucket("M1", 2, None)])  # gap at 1
    with pytest.raises(BucketConfigError):
        ageing.validate_buckets([Bucket("C", 0, 0), Bucket("M1", 1, 30)])  # last must be open-ended


def test_dpd_is_zero_on_the_missed_due_date_and_one_the_next_day() -> None:
    due = date(2026, 11, 1)
    assert ageing.days_past_due(due, total_balance=100, overdue_since=due) == 0
    assert ageing.days_past_due(due + timedelta(days=1), total_balance=100, overdue_since=due) == 1
    # 逾期天数 45 on 委案日期 2026-11-28 → overdue since 2026-10-14.
    assert ageing.overdue_since_from_dpd(date(2026, 11, 28), 45) == date(2026, 10, 14)


def test_cleared_account_has_no_dpd() -> None:
    assert ageing.days_past_due(date(2026, 11, 28), total_balance=0, overdue_since=date(2026, 1, 1)) == 0


def test_dpd_with_schedule_runs_from_the_oldest_unpaid_instalment() -> None:
    sched = [SI(date(2026, 8, 15), 100_00), SI(date(2026, 9, 15), 100_00), SI(date(2026, 10, 15), 100_00)]
    # 300.00 scheduled; 250.00 outstanding → the August instalment is half paid: oldest unpaid is 08-15.
    assert (
        ageing.days_past_due(
            date(2026, 11, 28), total_balance=1, principal_outstanding=250_00, schedule=sched
        )
        == (date(2026, 11, 28) - date(2026, 8, 15)).days
    )
    # 200.00 outstanding → August paid; September is the oldest unpaid: 74 days.
    assert (
        ageing.days_past_due(
            date(2026, 11, 28), total_balance=1, principal_outstanding=200_00, schedule=sched
        )
        == 74
    )
    # 50.00 outstanding → only part of October: 44 days.
    assert (
        ageing.days_past_due(date(2026, 11, 28), total_balance=1, principal_outstanding=50_00, schedule=sched)
        == 44
    )


def test_accrual_worked_example_flat() -> None:
    # 12,345.67 × 0.05% = 6.172835 → 6.17 a day (half-even to the fen); 2026-11-02..11-28 = 27 days.
    assert (
        ageing.accrue_penalty(
            date(2026, 11, 1),
            date(2026, 11, 28),
            principal_outstanding=1_234_567,
            daily_rate=Decimal("0.0005"),
        )
        == 27 * 617
    )


def test_accrual_rounds_half_even_each_day() -> None:
    # 1.25 fen a day rounds to 1 (half to even); 1.35 → 1.35 rounds to 1; 1.5 → 2; 2.5 → 2.
    assert ageing.daily_penalty(2500, Decimal("0.0005")) == 1  # 1.25
    assert ageing.daily_penalty(3000, Decimal("0.0005")) == 2  # 1.5
    assert ageing.daily_penalty(5000, Decimal("0.0005")) == 2  # 2.5
    assert ageing.daily_penalty(7000, Decimal("0.0005")) == 4  # 3.5
    assert (
        ageing.accrue_penalty(
            date(2026, 11, 1), date(2026, 11, 11), principal_outstanding=5000, daily_rate=Decimal("0.0005")
        )
        == 20
    )


def test_accrual_with_schedule_on_overdue_principal_only() -> None:
    sched = [
        SI(date(2026, 10, 15), 2000_00),
        SI(date(2026, 11, 15), 2000_00),
        SI(date(2026, 12, 15), 2000_00),
    ]
    # Outstanding 5,000.00 of 6,000.00. 11-02..11-15 (14 days): overdue 1,000.00 → 0.33 a day = 4.62;
    # 11-16..11-28 (13 days): overdue 3,000.00 → 0.99 a day = 12.87. Total 17.49.
    assert (
        ageing.accrue_penalty(
            date(2026, 11, 1),
            date(2026, 11, 28),
            principal_outstanding=5000_00,
            daily_rate=Decimal("0.00033"),
            schedule=sched,
        )
        == 1749
    )


def test_no_accrual_when_nothing_new() -> None:
    d = date(2026, 11, 28)
    assert ageing.accrue_penalty(d, d, principal_outstanding=10**6, daily_rate=Decimal("0.0005")) == 0
    assert (
        ageing.accrue_penalty(
            d, d - timedelta(days=3), principal_outstanding=10**6, daily_rate=Decimal("0.0005")
        )
        == 0
    )


account_st = st.fixed_dictionaries(
    {
        "principal": st.integers(0, 5_000_000),
        "penalty": st.integers(0, 10_000),
        "dpd_at_placement": st.integers(0, 400),
        "rate": st.sampled_from(["0", "0.0005", "0.00033", "0.001", "0.00012345"]),
        "days_since_accrual": st.integers(0, 90),
        "schedule": st.one_of(
            st.just([]),
            st.lists(
                st.tuples(st.integers(-200, 120), st.integers(1, 500_000)),
                min_size=1,
                max_size=8,
                unique_by=lambda t: t[0],
            ),
        ),
    }
)


@settings(max_examples=60, deadline=None)
@given(accounts=st.lists(account_st, min_size=1, max_size=25))
def test_columnar_agrees_with_scalar_reference(accounts) -> None:
    as_of = date(2026, 11, 28)
    rows, sched_rows, expected = [], [], {}
    for i, a in enumerate(accounts, start=1):
        placement = as_of - timedelta(days=a["days_since_accrual"])
        overdue_since = placement - timedelta(days=a["dpd_at_placement"])
        schedule = [SI(as_of + timedelta(days=off), p) for off, p in a["schedule"]]
        rows.append(
            {
                "id": i,
                "status": "active",
                "principal": a["principal"],
                "interest": 0,
                "penalty": a["penalty"],
                "fees": 0,
                "overdue_since": overdue_since,
                "placement_date": placement,
                "accrued_through": None,
                "daily_penalty_rate": a["rate"],
                "bucket": "M1",
            }
        )
        sched_rows += [
            {"account_id": i, "seq": k, "due_date": s.due_date, "principal_due": s.principal_due}
            for k, s in enumerate(sorted(schedule, key=lambda s: s.due_date), start=1)
        ]
        accrued = ageing.accrue_penalty(
            placement,
            as_of,
            principal_outstanding=a["principal"],
            daily_rate=Decimal(a["rate"]),
            schedule=schedule,
        )
        dpd = ageing.days_past_due(
            as_of,
            total_balance=a["principal"] + a["penalty"],
            overdue_since=overdue_since,
            principal_outstanding=a["principal"],
            schedule=schedule,
        )
        expected[i] = (accrued, dpd, ageing.bucket_for(dpd))
    sched = pa.Table.from_pylist(
        sched_rows,
        schema=pa.schema(
            [
                ("account_id", pa.int64()),
                ("seq", pa.int32()),
                ("due_date", pa.date32()),
                ("principal_due", pa.int64()),
            ]
        ),
    )
    out = age_portfolio(pa.Table.from_pylist(rows), sched, as_of).to_pylist()
    got = {r["id"]: (r["accrued"], r["days_past_due"], r["bucket"]) for r in out}
    assert got == expected


@pytest.mark.spark
@pytest.mark.xdist_group("spark")  # one JVM: every Spark test runs in the same worker
def test_spark_engine_agrees_with_duckdb_row_for_row() -> None:
    """One SQL definition, two engines: identical results on a generated portfolio with schedules."""
    from arrears.simulation.ageing_portfolio import synthetic

    accounts, schedule = synthetic(3000, seed=11)
    as_of = date(2026, 11, 28)
    duck = age_portfolio(accounts, schedule, as_of, engine="duckdb")
    spark = age_portfolio(accounts, schedule, as_of, engine="spark")
    assert duck.num_rows == 3000
    assert spark.sort_by("id").to_pylist() == duck.sort_by("id").to_pylist()
