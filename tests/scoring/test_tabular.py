"""Column kinds, encoding and bad-input errors of the generic table encoder."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import polars as pl
import pytest

from arrears.scoring.tabular import TableError, encode, infer_spec, parse_target

from .synth import labelled_table


def _kinds(df: pl.DataFrame, **kw: object) -> dict[str, str]:
    return {c.name: c.kind for c in infer_spec(df, **kw).columns}  # type: ignore[arg-type]


def test_kinds_are_inferred_from_text() -> None:
    df = labelled_table(200)
    assert _kinds(df, exclude=["account", "paid"]) == {
        "x1": "numeric",
        "noise": "numeric",
        "channel": "categorical",
        "has_job": "boolean",
        "opened": "date",
    }


def test_kinds_from_a_typed_frame() -> None:
    df = pl.DataFrame(
        {
            "n": [1, 2, 3],
            "b": [True, False, None],
            "d": [date(2025, 1, 1), date(2025, 2, 1), None],
            "s": ["a", "b", "a"],
        }
    )
    assert _kinds(df) == {"n": "numeric", "b": "boolean", "d": "date", "s": "categorical"}


def test_scientific_notation_and_missing_tokens_are_numbers() -> None:
    df = pl.DataFrame({"amt": ["1.00E+05", " 3 ", "NA", "", "null", "-2.5"]})
    spec = infer_spec(df)
    X, _ = encode(df, spec)
    assert spec.columns[0].kind == "numeric"
    np.testing.assert_array_equal(np.isnan(X[:, 0]), [False, False, True, True, True, False])
    assert X[0, 0] == 100000.0 and X[5, 0] == -2.5


def test_date_becomes_days_month_weekday() -> None:
    df = pl.DataFrame({"d": ["1970-01-02", "2025-03-31", None]})
    spec = infer_spec(df)
    assert spec.feature_names == ["d__days", "d__month", "d__weekday"]
    X, _ = encode(df, spec)
    assert X[0].tolist() == [1.0, 1.0, 5.0]  # 1970-01-02 was a Friday (ISO weekday 5)
    assert X[1, 1] == 3.0 and X[1, 2] == 1.0  # 2025-03-31 is a Monday
    assert np.isnan(X[2]).all()


def test_aware_datetimes_are_taken_in_utc() -> None:
    text = pl.DataFrame({"t": ["2025-03-31T23:30:00+08:00", "2025-04-01T00:00:00+00:00"]})
    spec = infer_spec(text)
    assert spec.columns[0].date_format == "%Y-%m-%dT%H:%M:%S%z"
    X, _ = encode(text, spec)
    assert X[1, 0] - X[0, 0] == pytest.approx(8.5 / 24)
    typed = pl.DataFrame({"t": [datetime(2025, 3, 31, 15, 30, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC)]})
    Xt, _ = encode(typed, spec)
    np.testing.assert_allclose(Xt[:, 0], X[:, 0])


def test_booleans_in_english_and_chinese() -> None:
    df = pl.DataFrame({"f": ["是", "否", "Yes", "FALSE", None]})
    spec = infer_spec(df)
    X, _ = encode(df, spec)
    assert spec.columns[0].kind == "boolean"
    assert X[:4, 0].tolist() == [1.0, 0.0, 1.0, 0.0] and np.isnan(X[4, 0])


def test_categories_rank_by_frequency_and_unseen_values_are_missing() -> None:
    train = pl.DataFrame({"c": ["b", "a", "b", "c", "b", "a"]})
    spec = infer_spec(train)
    assert spec.columns[0].categories == ("b", "a", "c")
    assert spec.categorical_features == [0]
    X, report = encode(pl.DataFrame({"c": ["a", "zzz", None, "zzz"]}), spec)
    assert X[0, 0] == 1.0 and np.isnan(X[1:, 0]).all()
    assert report.unseen_categories == {"c": 2}


def test_rare_categories_share_an_other_code_that_unseen_values_join() -> None:
    values = [f"v{i % 5}" for i in range(100)] + ["rare1", "rare2"]
    spec = infer_spec(pl.DataFrame({"c": values}), max_categories=5)
    col = spec.columns[0]
    assert col.has_other and len(col.categories) == 5
    X, report = encode(pl.DataFrame({"c": ["v0", "rare1", "never-seen"]}), spec)
    assert X[:, 0].tolist() == [float(col.categories.index("v0")), 5.0, 5.0]
    assert report.unseen_categories == {"c": 2}


def test_identifier_like_empty_and_constant_columns_are_not_features() -> None:
    n = 120
    df = pl.DataFrame(
        {
            "ref": [f"R{i}" for i in range(n)],
            "blank": [None] * n,
            "same": ["x"] * n,
            "x": [str(i % 7) for i in range(n)],
        },
        schema={"ref": pl.String, "blank": pl.String, "same": pl.String, "x": pl.String},
    )
    spec = infer_spec(df)
    assert [c.name for c in spec.columns] == ["x"]
    assert set(spec.dropped) == {"ref", "blank", "same"}
    assert "identifier" in spec.dropped["ref"]


def test_forced_categorical_keeps_numeric_codes_as_categories() -> None:
    df = pl.DataFrame({"zone": ["1", "2", "3", "1"]})
    assert _kinds(df, categorical=["zone"]) == {"zone": "categorical"}


def test_a_typo_in_a_numeric_column_is_an_error_naming_row_and_column() -> None:
    values = [str(i) for i in range(40)]
    values[17] = "12,5"
    with pytest.raises(TableError) as err:
        infer_spec(pl.DataFrame({"amount": values}))
    assert err.value.column == "amount" and err.value.row == 18
    assert "'12,5'" in err.value.message and "row 18 (line 19)" in err.value.message


def test_scoring_a_bad_number_names_row_and_column() -> None:
    spec = infer_spec(pl.DataFrame({"amount": ["1", "2", "3"]}))
    with pytest.raises(TableError) as err:
        encode(pl.DataFrame({"amount": ["4", "5", "five"]}), spec)
    assert (err.value.column, err.value.row) == ("amount", 3)
    with pytest.raises(TableError, match="finite"):
        encode(pl.DataFrame({"amount": ["inf"]}), spec)


def test_scoring_a_bad_date_or_boolean_names_the_row() -> None:
    spec = infer_spec(pl.DataFrame({"d": ["2025-01-01", "2025-01-02"], "f": ["yes", "no"]}))
    with pytest.raises(TableError) as err:
        encode(pl.DataFrame({"d": ["2025-01-03", "31/01/2025"], "f": ["no", "no"]}), spec)
    assert (err.value.column, err.value.row) == ("d", 2)
    with pytest.raises(TableError) as err:
        encode(pl.DataFrame({"d": ["2025-01-03"], "f": ["maybe"]}), spec)
    assert (err.value.column, err.value.row) == ("f", 1)


def test_missing_column_at_scoring_is_named() -> None:
    spec = infer_spec(pl.DataFrame({"a": ["1", "2"], "b": ["x", "y"]}))
    with pytest.raises(TableError) as err:
        encode(pl.DataFrame({"a": ["1"]}), spec)
    assert err.value.column == "b" and "'b'" in err.value.message


def test_extra_columns_at_scoring_are_ignored_and_order_does_not_matter() -> None:
    train = pl.DataFrame({"a": ["1", "2"], "b": ["x", "y"]})
    spec = infer_spec(train)
    X1, _ = encode(train, spec)
    X2, _ = encode(train.select("b", "a").with_columns(pl.lit("junk").alias("extra")), spec)
    np.testing.assert_array_equal(X1, X2)


def test_target_accepts_usual_spellings_and_rejects_others() -> None:
    y = parse_target(pl.DataFrame({"t": ["1", "0", "true", "no", "1.0", "是"]}), "t")
    assert y.tolist() == [1, 0, 1, 0, 1, 1]
    with pytest.raises(TableError) as err:
        parse_target(pl.DataFrame({"t": ["1", "0", "2"]}), "t")
    assert err.value.row == 3 and "'2'" in err.value.message
    with pytest.raises(TableError, match="missing"):
        parse_target(pl.DataFrame({"t": ["1", None, "0"]}), "t")
    with pytest.raises(TableError, match="one class"):
        parse_target(pl.DataFrame({"t": ["1", "1"]}), "t")
    with pytest.raises(TableError) as err:
        parse_target(pl.DataFrame({"x": ["1"]}), "t")
    assert err.value.column == "t"
