"""The model file: a JSON round trip that scores identically, refuses what is not a model, explains scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from arrears.scoring.model_io import ModelFileError, ScoringModel, load_model, save_model
from arrears.scoring.service import FitResult, fit_table
from arrears.scoring.tabular import TableError
from arrears.scoring.training import FitOptions

from .synth import labelled_table


@pytest.fixture(scope="module")
def fitted() -> FitResult:
    return fit_table(
        labelled_table(2500, seed=7), target="paid", id_column="account", options=FitOptions(seed=7)
    )


@pytest.fixture(scope="module")
def only_x1() -> FitResult:
    return fit_table(
        labelled_table(3000, seed=8, only_x1=True),
        target="paid",
        id_column="account",
        options=FitOptions(seed=8),
    )


def test_round_trip_scores_identically(fitted: FitResult, tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    save_model(fitted.model, path)
    loaded = load_model(path)
    df = labelled_table(300, seed=99)
    a, _ = fitted.model.score_frame(df)
    b, _ = loaded.score_frame(df)
    assert a.equals(b)
    assert loaded.spec == fitted.model.spec and loaded.calibrator == fitted.model.calibrator
    assert loaded.meta["training"]["data_sha256"] == fitted.model.meta["training"]["data_sha256"]


def test_file_is_plain_json_with_the_documented_fields(fitted: FitResult, tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    save_model(fitted.model, path)
    data = json.loads(path.read_text(encoding="utf-8"))
    for key in (
        "format",
        "format_version",
        "created_at",
        "lightgbm_version",
        "target",
        "spec",
        "feature_names",
        "calibration",
        "booster",
        "training",
        "metrics",
    ):
        assert key in data
    assert data["booster"].startswith("tree\n")  # LightGBM's text format, not a pickle
    assert data["feature_names"] == [
        "x1",
        "noise",
        "channel",
        "has_job",
        "opened__days",
        "opened__month",
        "opened__weekday",
    ]


def test_scores_are_probabilities_and_ids_come_from_the_id_column(fitted: FitResult) -> None:
    df = labelled_table(200, seed=11)
    out, _ = fitted.model.score_frame(df)
    assert out.columns == ["id", "score"]
    assert out["id"].to_list() == df["account"].to_list()
    assert out["score"].min() >= 0.0 and out["score"].max() <= 1.0  # type: ignore[operator]


def test_higher_x1_scores_higher(fitted: FitResult) -> None:
    base = labelled_table(1, seed=0)
    rows = pl.concat([base.with_columns(pl.lit(v).alias("x1")) for v in ("-2", "0", "2")])
    out, _ = fitted.model.score_frame(rows)
    s = out["score"].to_list()
    assert s[0] < s[1] < s[2]


def test_reason_codes_name_the_informative_feature(only_x1: FitResult) -> None:
    df = labelled_table(500, seed=12, only_x1=True)
    out, _ = only_x1.model.score_frame(df, reasons=2)
    assert out.columns == [
        "id",
        "score",
        "reason_1",
        "reason_1_contribution",
        "reason_2",
        "reason_2_contribution",
    ]
    top = out["reason_1"].to_list()
    assert top.count("x1") / len(top) > 0.8
    # contributions are ranked by size, and the sign follows x1 (more x1 → more likely to pay)
    assert (out["reason_1_contribution"].abs() >= out["reason_2_contribution"].abs()).all()
    x1 = df["x1"].cast(pl.Float64).to_numpy()
    mask = np.array(top) == "x1"
    contrib = out["reason_1_contribution"].to_numpy()
    assert np.corrcoef(x1[mask], contrib[mask])[0, 1] > 0.9


def test_contributions_add_up_to_the_raw_margin(fitted: FitResult) -> None:
    from arrears.scoring.tabular import encode

    X, _ = encode(labelled_table(50, seed=13), fitted.model.spec)
    full = fitted.model.booster.predict(X, pred_contrib=True)
    np.testing.assert_allclose(full.sum(axis=1), fitted.model.margin(X), rtol=1e-6, atol=1e-6)


def test_missing_column_at_scoring_is_named(fitted: FitResult) -> None:
    with pytest.raises(TableError) as err:
        fitted.model.score_frame(labelled_table(20).drop("channel"))
    assert err.value.column == "channel"
    with pytest.raises(TableError) as err:
        fitted.model.score_frame(labelled_table(20).drop("account"))
    assert err.value.column == "account"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json at all", "not JSON"),
        ('{"format": "something-else"}', "not an arrears scoring model"),
        ('{"format": "arrears-scoring-model", "format_version": 99}', "newer"),
        ('{"format": "arrears-scoring-model", "format_version": 1}', "incomplete"),
    ],
)
def test_refuses_files_that_are_not_models(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_refuses_a_damaged_booster(fitted: FitResult) -> None:
    data = fitted.model.to_dict()
    data["booster"] = "tree\nversion=v4\nnum_class=1\n" + "garbage"
    with pytest.raises(ModelFileError):
        ScoringModel.from_dict(data)


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "nope.json")
