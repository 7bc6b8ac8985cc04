"""Splits, calibration and the end-to-end fit on tables whose signal is known."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from arrears.scoring import evaluation as ev
from arrears.scoring.service import MODEL_LABELS, fit_table
from arrears.scoring.tabular import TableError
from arrears.scoring.training import (
    Calibrator,
    FitOptions,
    fit_calibrator,
    fit_isotonic,
    fit_platt,
    make_splits,
)

from .synth import drifting_table, labelled_table


def test_stratified_splits_partition_rows_and_keep_the_class_balance() -> None:
    y = np.array([1] * 200 + [0] * 800)
    s = make_splits(y, FitOptions(seed=3))
    parts = [s.train, s.valid, s.calib, s.test]
    allrows = np.concatenate(parts)
    assert allrows.size == y.size and np.unique(allrows).size == y.size
    assert s.sizes() == {"train": 480, "valid": 160, "calib": 160, "test": 200}
    for part in parts:
        assert y[part].mean() == pytest.approx(0.2)


def test_splits_are_deterministic_per_seed() -> None:
    y = np.random.default_rng(0).integers(0, 2, 500)
    a, b, c = (make_splits(y, FitOptions(seed=s)) for s in (7, 7, 8))
    np.testing.assert_array_equal(a.test, b.test)
    assert not np.array_equal(a.test, c.test)


def test_time_split_puts_the_newest_rows_in_test() -> None:
    y = np.tile([0, 1], 250)
    t = np.random.default_rng(1).permutation(500).astype(float)
    s = make_splits(y, FitOptions(), time_values=t)
    assert s.method == "time"
    assert t[s.train].max() < t[s.valid].min() <= t[s.valid].max() < t[s.calib].min()
    assert t[s.calib].max() < t[s.test].min()
    assert s.test.size == 100


def test_a_split_without_both_classes_is_a_clear_error() -> None:
    y = np.array([1] * 3 + [0] * 97)
    with pytest.raises(TableError, match="only one class"):
        make_splits(y, FitOptions())


def _miscalibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw margins m whose true probability is sigmoid(0.4·m − 1): sigmoid(m) is badly overconfident."""
    rng = np.random.default_rng(seed)
    m = rng.normal(scale=4.0, size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.4 * m - 1.0)))).astype(np.int8)
    return m, y


@pytest.mark.parametrize("method", ["platt", "isotonic", "auto"])
def test_calibration_reduces_expected_calibration_error(method: str) -> None:
    m_fit, y_fit = _miscalibrated(5000, 1)
    m_new, y_new = _miscalibrated(5000, 2)
    raw = Calibrator("none").apply(m_new)
    cal = fit_calibrator(m_fit, y_fit, method).apply(m_new)
    assert ev.ece(y_new, raw) > 0.1
    assert ev.ece(y_new, cal) < 0.03
    assert ev.brier(y_new, cal) < ev.brier(y_new, raw)


def test_platt_recovers_the_true_curve() -> None:
    m, y = _miscalibrated(20000, 3)
    cal = fit_platt(m, y)
    assert cal.a == pytest.approx(0.4, abs=0.03) and cal.b == pytest.approx(-1.0, abs=0.08)


def test_auto_chooses_isotonic_when_the_distortion_is_not_logistic() -> None:
    rng = np.random.default_rng(4)
    m = rng.normal(scale=2.0, size=6000)
    true_p = np.where(m > 0, 0.9, 0.1)  # a step: no sigmoid of m fits it
    y = (rng.random(m.size) < true_p).astype(np.int8)
    cal = fit_calibrator(m, y, "auto")
    assert cal.method == "isotonic"
    assert cal.cv_brier["isotonic"] < cal.cv_brier["platt"]


def test_isotonic_is_monotone_and_bounded() -> None:
    m, y = _miscalibrated(2000, 5)
    cal = fit_isotonic(m, y)
    grid = np.linspace(-20, 20, 401)
    p = cal.apply(grid)
    assert (np.diff(p) >= 0).all() and p.min() >= 0 and p.max() <= 1


def test_calibration_fixes_a_model_trained_before_the_base_rate_dropped() -> None:
    # time split: training rows have a high pay rate, the calibration and test rows a low one
    df = drifting_table(4000, seed=0)
    result = fit_table(
        df, target="paid", id_column="id", time_column="day", options=FitOptions(seed=0, calibration="platt")
    )
    models = result.report["models"]
    assert result.splits.method == "time"
    assert models["LightGBM raw"]["ece"] > 0.3
    assert models["LightGBM calibrated"]["ece"] < min(0.08, models["LightGBM raw"]["ece"] / 4)
    assert models["LightGBM calibrated"]["auc"] == pytest.approx(
        models["LightGBM raw"]["auc"]
    )  # Platt is monotone


def test_fit_finds_the_signal_and_beats_chance_on_held_out_rows() -> None:
    result = fit_table(
        labelled_table(3000, seed=1), target="paid", id_column="account", options=FitOptions(seed=1)
    )
    m = result.summary()
    assert m[MODEL_LABELS[0]]["auc"] > 0.8
    assert m[MODEL_LABELS[2]]["auc"] > 0.7  # the logistic baseline is trained and reported too
    importance = result.model.meta["training"]["feature_importance"]
    assert importance[0]["feature"] == "x1"
    assert result.model.spec.dropped == {}
    assert "account" not in result.model.feature_names and "paid" not in result.model.feature_names


def test_fit_rejects_a_tiny_table() -> None:
    with pytest.raises(TableError, match="at least"):
        fit_table(labelled_table(30), target="paid")


def test_fit_names_a_missing_target_or_id() -> None:
    df = labelled_table(200)
    with pytest.raises(TableError) as err:
        fit_table(df, target="repaid")
    assert err.value.column == "repaid"
    with pytest.raises(TableError) as err:
        fit_table(df, target="paid", id_column="acct")
    assert err.value.column == "acct"


def test_fit_is_deterministic_for_a_seed() -> None:
    df = labelled_table(1500, seed=2)
    a = fit_table(df, target="paid", id_column="account", options=FitOptions(seed=5))
    b = fit_table(df, target="paid", id_column="account", options=FitOptions(seed=5))
    c = fit_table(df, target="paid", id_column="account", options=FitOptions(seed=6))
    assert a.model.booster.model_to_string() == b.model.booster.model_to_string()
    assert a.summary() == b.summary()
    assert a.model.booster.model_to_string() != c.model.booster.model_to_string()


def test_typed_frame_fits_like_text() -> None:
    text = labelled_table(1200, seed=3)
    typed = text.with_columns(pl.col("x1").cast(pl.Float64), pl.col("paid").cast(pl.Int64))
    a = fit_table(text, target="paid", id_column="account", options=FitOptions(seed=1))
    b = fit_table(typed, target="paid", id_column="account", options=FitOptions(seed=1))
    assert a.summary() == b.summary()


def test_time_column_errors_are_named() -> None:
    df = labelled_table(300, seed=4)
    with pytest.raises(TableError) as err:
        fit_table(df.with_columns(pl.lit("2025-01-01").alias("opened")), target="paid", time_column="opened")
    assert err.value.column == "opened"
    holes = df.with_columns(
        pl.when(pl.int_range(pl.len()) == 4).then(None).otherwise(pl.col("opened")).alias("opened")
    )
    with pytest.raises(TableError) as err:
        fit_table(holes, target="paid", time_column="opened")
    assert (err.value.column, err.value.row) == ("opened", 5)
    with pytest.raises(TableError, match="dates or numbers"):
        fit_table(df, target="paid", time_column="channel")
