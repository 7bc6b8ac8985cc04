"""The model artifact: one JSON file — LightGBM's own text model plus everything needed to score.

Why JSON and not pickle/joblib: loading a pickle runs whatever code the file names, so a model file
from elsewhere would be a program. Here loading parses JSON and hands LightGBM its text model
format, which is data (trees and thresholds); the calibration is a few numbers and the category
maps are lists of strings. Fields:

    format, format_version       "arrears-scoring-model", 1
    created_at                   UTC ISO timestamp
    arrears_version, lightgbm_version
    target, id_column, time_column, positive_class
    spec                         the columns: kind, category list, date format; dropped columns and why
    feature_names                the model matrix columns, in order
    calibration                  method + parameters (Platt a, b or isotonic knots) + CV Brier scores
    booster                      LightGBM text model, trimmed to the best iteration
    training                     data_sha256, rows, split sizes and method, seed, parameters,
                                 best_iteration, feature importance (gain)
    metrics                      held-out summary per model (LightGBM calibrated/raw, logistic baseline)
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl

from arrears.core.errors import ValidationFailed
from arrears.scoring.tabular import EncodeReport, TableError, TableSpec, encode, require_columns
from arrears.scoring.training import Calibrator

FORMAT = "arrears-scoring-model"
FORMAT_VERSION = 1


class ModelFileError(ValidationFailed):
    code = "bad_model_file"


@dataclass
class ScoringModel:
    booster: lgb.Booster
    spec: TableSpec
    calibrator: Calibrator
    meta: dict[str, Any]

    @property
    def feature_names(self) -> list[str]:
        return self.spec.feature_names

    @property
    def id_column(self) -> str | None:
        value = self.meta.get("id_column")
        return str(value) if value else None

    @property
    def target(self) -> str:
        return str(self.meta.get("target", ""))

    # -------------------------------------------------------------------------------- scoring

    def margin(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(
            self.booster.predict(X, raw_score=True, num_threads=_threads(len(X))), dtype=np.float64
        )

    def probability(self, X: np.ndarray) -> np.ndarray:
        """Calibrated probability of the positive class (the propensity model: payment within 30 days)."""
        return self.calibrator.apply(self.margin(X))

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """SHAP values per feature (log-odds of the raw model), without the bias column."""
        contrib = np.asarray(
            self.booster.predict(X, pred_contrib=True, num_threads=_threads(len(X) * 100)), dtype=np.float64
        )
        return contrib[:, :-1]

    def reasons(self, X: np.ndarray, k: int) -> tuple[list[list[str | None]], np.ndarray]:
        """Top-k features by |contribution|: names[i][row] is the (i+1)-th reason of a row (None when the
        feature contributes nothing), values[row, i] its signed contribution in log-odds."""
        contrib = self.contributions(X)
        k = min(k, contrib.shape[1])
        order = np.argsort(-np.abs(contrib), axis=1, kind="stable")[:, :k]
        values = np.take_along_axis(contrib, order, axis=1)
        names_arr = np.asarray(self.feature_names, dtype=object)[order]
        names_arr[values == 0.0] = None
        return [names_arr[:, i].tolist() for i in range(k)], values

    def score_frame(
        self, df: pl.DataFrame, *, reasons: int = 0, id_column: str | None = None
    ) -> tuple[pl.DataFrame, EncodeReport]:
        """`id, score` (+ reason_i, reason_i_contribution for i ≤ reasons) for every row of `df`."""
        id_col = id_column or self.id_column
        if id_col is not None:
            require_columns(df, [id_col], what="the id")
        X, report = encode(df, self.spec)
        score = self.probability(X)
        ids = df.get_column(id_col) if id_col else pl.Series(np.arange(1, df.height + 1, dtype=np.int64))
        out = pl.DataFrame({"id": ids, "score": score})
        if reasons > 0:
            names, values = self.reasons(X, reasons)
            cols = []
            for i, (n, v) in enumerate(zip(names, values.T, strict=True), start=1):
                cols.append(pl.Series(f"reason_{i}", n, dtype=pl.String))
                cols.append(pl.Series(f"reason_{i}_contribution", v, dtype=pl.Float64))
            out = out.with_columns(cols)
        return out, report

    # -------------------------------------------------------------------------------- storage

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            **self.meta,
            "spec": self.spec.to_dict(),
            "feature_names": self.feature_names,
            "calibration": self.calibrator.to_dict(),
            "booster": self.booster.model_to_string(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ScoringModel:
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ModelFileError("not an arrears scoring model (the 'format' field is missing or different)")
        version = d.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ModelFileError(f"model format version {version!r} is newer than this program reads")
        try:
            spec = TableSpec.from_dict(d["spec"])
            calibrator = Calibrator.from_dict(d["calibration"])
            booster_text = d["booster"]
            if not isinstance(booster_text, str):
                raise TypeError("booster is not text")
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"model file is incomplete or damaged: {exc}") from None
        try:
            booster = lgb.Booster(model_str=booster_text)
        except lgb.basic.LightGBMError as exc:
            raise ModelFileError(f"model file holds a damaged LightGBM model: {exc}") from None
        if booster.num_feature() != len(spec.feature_names):
            raise ModelFileError(
                f"model file is inconsistent: the booster has {booster.num_feature()} features, "
                f"the spec {len(spec.feature_names)}"
            )
        meta = {k: v for k, v in d.items() if k not in ("spec", "feature_names", "calibration", "booster")}
        return cls(booster=booster, spec=spec, calibrator=calibrator, meta=meta)


def _threads(work_rows: int) -> int:
    """One thread for small batches (a single account from the web app): starting OpenMP threads costs
    more than the prediction; all cores (0) for batches."""
    return 1 if work_rows < 20_000 else 0


def dumps(model: ScoringModel) -> str:
    return json.dumps(model.to_dict(), ensure_ascii=False)


def save_model(model: ScoringModel, path: Path) -> None:
    """Write atomically: a reader never sees half a model."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8") as fh:
            fh.write(dumps(model))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_model(path: Path) -> ScoringModel:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelFileError(f"model file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"cannot read model file {path}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelFileError(
            f"{path} is not a model file (not JSON: {exc.msg} at line {exc.lineno})"
        ) from None
    return ScoringModel.from_dict(data)


__all__ = ["ModelFileError", "ScoringModel", "TableError", "dumps", "load_model", "save_model"]
