"""Scoring use cases: fit a model from a labelled table, score a table; the versions are kept in
`arrears.scoring.registry` (its names are re-exported here).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl

from arrears.core.clock import Clock, utc_now
from arrears.core.errors import NotFound, ValidationFailed
from arrears.scoring import evaluation
from arrears.scoring.model_io import ScoringModel, save_model
from arrears.scoring.registry import (
    MODEL_LABELS,
    ModelRegistry,
    atomic_write,
    atomic_write_bytes,
)
from arrears.scoring.tabular import (
    EncodeReport,
    TableError,
    encode,
    infer_spec,
    parse_target,
    require_columns,
)
from arrears.scoring.training import (
    Calibrator,
    FitOptions,
    Splits,
    fit_calibrator,
    make_splits,
    train_booster,
    train_logistic_baseline,
)

MIN_ROWS = 50


def _arrears_version() -> str:
    try:
        return version("arrears")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"


# ---------------------------------------------------------------------------------------- reading


def read_table(path: Path) -> tuple[pl.DataFrame, str]:
    """A CSV as text columns (types are decided later, the same way at fit and at scoring) and its SHA-256.

    UTF-8 (with or without BOM) is expected; GB18030 (GBK) files, common from Chinese spreadsheet
    exports, are recognised and converted.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"data file not found: {path}") from None
    except OSError as exc:
        raise ValidationFailed(f"cannot read {path}: {exc.strerror or exc}") from None
    digest = hashlib.sha256(raw).hexdigest()
    data = raw.removeprefix(b"\xef\xbb\xbf")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            data = data.decode("gb18030").encode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed(f"{path} is neither UTF-8 nor GB18030 text") from None
    if not data.strip():
        raise ValidationFailed(f"{path} is empty")
    try:
        df = pl.read_csv(io.BytesIO(data), infer_schema=False)
    except (pl.exceptions.PolarsError, ValueError) as exc:
        where = _first_ragged_row(data)
        if where is not None:
            row, fields, expected = where
            raise TableError(
                f"{path}: {fields} fields where the header has {expected} (a comma or quote out of place?)",
                row=row,
            ) from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValidationFailed(f"{path} is not a readable CSV table: {first}") from None
    df = df.rename({c: c.strip() for c in df.columns})
    if df.height == 0:
        raise ValidationFailed(f"{path} has a header but no rows")
    return df, digest


def _first_ragged_row(data: bytes) -> tuple[int, int, int] | None:
    """(1-based data row, its field count, the header's) of the first row that does not fit the header."""
    reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline=""))
    try:
        header = next(reader)
        for i, record in enumerate(reader, start=1):
            if record and len(record) != len(header):
                return i, len(record), len(header)
    except csv.Error:
        return None
    return None


def frame_sha256(df: pl.DataFrame) -> str:
    return hashlib.sha256(df.write_csv().encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------- fitting


@dataclass
class FitResult:
    model: ScoringModel
    report: dict[str, Any]  # title, summary, models: label → evaluation.evaluate(...)
    splits: Splits
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, dict[str, float]]:
        keys = ("auc", "ks", "brier", "ece", "log_loss")
        return {name: {k: m[k] for k in keys} for name, m in self.report["models"].items()}


def _time_order(df: pl.DataFrame, time_column: str) -> np.ndarray:
    """Sortable numbers for the time column (dates → days, numbers as they are); missing is an error."""
    try:
        spec = infer_spec(df.select(time_column))
    except TableError:
        raise TableError("the time column is empty or holds one value only", column=time_column) from None
    column = spec.columns[0]
    if column.kind not in ("date", "numeric"):
        raise TableError("the time column must hold dates or numbers", column=time_column)
    X, _ = encode(df.select(time_column), spec)
    values = X[:, 0]
    missing = np.flatnonzero(np.isnan(values))
    if missing.size:
        raise TableError("the time column is missing a value", column=time_column, row=int(missing[0]) + 1)
    return values


def fit_table(
    df: pl.DataFrame,
    *,
    target: str,
    id_column: str | None = None,
    time_column: str | None = None,
    categorical: Sequence[str] = (),
    options: FitOptions | None = None,
    data_sha256: str | None = None,
    clock: Clock = utc_now,
) -> FitResult:
    """Train, calibrate and evaluate on any labelled table (R9). Nothing is written."""
    opts = options or FitOptions()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if df.height < MIN_ROWS:
        raise TableError(
            f"the table has {df.height} rows; at least {MIN_ROWS} are needed to train and evaluate"
        )
    y = parse_target(df, target)
    for name, what in ((id_column, "the id"), (time_column, "the time split")):
        if name is not None:
            require_columns(df, [name], what=what)
    exclude = {target} | {c for c in (id_column, time_column) if c}
    spec = infer_spec(df, exclude=exclude, categorical=[c for c in categorical if c not in exclude])
    X, _ = encode(df, spec)
    order = _time_order(df, time_column) if time_column else None
    splits = make_splits(y, opts, order)
    timings["prepare_s"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    booster, best = train_booster(X, y, splits, spec.feature_names, spec.categorical_features, opts)
    timings["lightgbm_fit_s"] = time.perf_counter() - t1
    margin_cal = np.asarray(booster.predict(X[splits.calib], raw_score=True), dtype=np.float64)
    calibrator = fit_calibrator(margin_cal, y[splits.calib], opts.calibration, seed=opts.seed)

    t2 = time.perf_counter()
    baseline_rows = np.sort(np.concatenate([splits.train, splits.valid]))
    baseline = train_logistic_baseline(X, y, baseline_rows, spec.categorical_features, opts.seed)
    timings["logistic_fit_s"] = time.perf_counter() - t2

    y_test = y[splits.test]
    margin_test = np.asarray(booster.predict(X[splits.test], raw_score=True), dtype=np.float64)
    p_cal = calibrator.apply(margin_test)
    p_raw = Calibrator("none").apply(margin_test)
    p_lr = baseline.predict_proba(X[splits.test])[:, 1]
    models = {
        MODEL_LABELS[0]: evaluation.evaluate(y_test, p_cal),
        MODEL_LABELS[1]: evaluation.evaluate(y_test, p_raw),
        MODEL_LABELS[2]: evaluation.evaluate(y_test, p_lr),
    }
    gain = booster.feature_importance(importance_type="gain")
    ranked = sorted(zip(spec.feature_names, (float(g) for g in gain), strict=True), key=lambda fg: -fg[1])
    importance: list[dict[str, Any]] = [{"feature": f, "gain": g} for f, g in ranked]
    created = clock().isoformat()
    meta: dict[str, Any] = {
        "created_at": created,
        "arrears_version": _arrears_version(),
        "lightgbm_version": lgb.__version__,
        "target": target,
        "id_column": id_column,
        "time_column": time_column,
        "positive_class": f"{target} = 1",
        "training": {
            "data_sha256": data_sha256 or frame_sha256(df),
            "rows": df.height,
            "event_rate": float(y.mean()),
            "split_method": splits.method,
            "split_sizes": splits.sizes(),
            "seed": opts.seed,
            "options": asdict(opts),
            "best_iteration": best,
            "feature_importance": importance,
        },
        "metrics": {
            name: {k: m[k] for k in ("auc", "ks", "brier", "ece", "log_loss")} for name, m in models.items()
        },
    }
    model = ScoringModel(booster=booster, spec=spec, calibrator=calibrator, meta=meta)
    timings["total_s"] = time.perf_counter() - t0
    report = {
        "title": f"Model evaluation 模型评估 — {target}",
        "summary": {
            "created_at": created,
            "target": target,
            "rows": df.height,
            "event rate": float(y.mean()),
            "split": f"{splits.method}: " + ", ".join(f"{k} {v}" for k, v in splits.sizes().items()),
            "features": len(spec.feature_names),
            "dropped columns": ", ".join(f"{k} ({v})" for k, v in spec.dropped.items()) or "none",
            "best iteration": best,
            "calibration": calibrator.method
            + (
                " (CV Brier " + ", ".join(f"{k} {v:.5f}" for k, v in calibrator.cv_brier.items()) + ")"
                if calibrator.cv_brier
                else ""
            ),
            "top features": ", ".join(f for f, _ in ranked[:5]),
            "data sha256": meta["training"]["data_sha256"],
        },
        "models": models,
    }
    return FitResult(model=model, report=report, splits=splits, timings=timings)


def report_paths(model_path: Path) -> tuple[Path, Path, Path]:
    """`<model>.report.html` (interactive plot), `.report.svg` (static plot), `.report.json` (figures)."""
    stem = model_path.name.removesuffix(".json")
    return (
        model_path.with_name(f"{stem}.report.html"),
        model_path.with_name(f"{stem}.report.svg"),
        model_path.with_name(f"{stem}.report.json"),
    )


def write_outputs(result: FitResult, model_path: Path) -> tuple[Path, Path]:
    """The model file and, next to it, the report: HTML with the Plotly plot, a static SVG, JSON figures."""
    save_model(result.model, model_path)
    html_path, svg_path, json_path = report_paths(model_path)
    atomic_write(html_path, evaluation.render_report_html(result.report))
    atomic_write(svg_path, evaluation.render_summary_svg(result.report))
    atomic_write(json_path, json.dumps(result.report, ensure_ascii=False, indent=1, default=str))
    return html_path, json_path


def fit_csv(
    data: Path,
    out: Path,
    *,
    target: str,
    id_column: str | None = None,
    time_column: str | None = None,
    categorical: Sequence[str] = (),
    options: FitOptions | None = None,
    clock: Clock = utc_now,
) -> tuple[FitResult, Path, Path]:
    df, digest = read_table(data)
    result = fit_table(
        df,
        target=target,
        id_column=id_column,
        time_column=time_column,
        categorical=categorical,
        options=options,
        data_sha256=digest,
        clock=clock,
    )
    html_path, json_path = write_outputs(result, out)
    return result, html_path, json_path


# ---------------------------------------------------------------------------------------- scoring


@dataclass
class ScoreResult:
    rows: int
    out: Path
    encode: EncodeReport


def score_csv(
    model: ScoringModel, data: Path, out: Path, *, reasons: int = 0, id_column: str | None = None
) -> ScoreResult:
    df, _ = read_table(data)
    scored, report = model.score_frame(df, reasons=reasons, id_column=id_column)
    out.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    scored.write_csv(buf, float_precision=6)
    atomic_write_bytes(out, buf.getvalue())
    return ScoreResult(rows=scored.height, out=out, encode=report)


def score_with_live_model(
    features: pl.DataFrame, registry_root: Path, *, id_column: str = "account_id", reasons: int = 0
) -> tuple[pl.DataFrame, str] | None:
    """Scores of the registry's live model for a feature table (e.g. `build_propensity_features`):
    (`id, score[, reasons]`, "model:<version>"), or None when no version is live — the caller keeps
    its own prior then (R9)."""
    registry = ModelRegistry(registry_root)
    version = registry.live_version()
    if version is None:
        return None
    scored, _ = registry.load(version).score_frame(features, reasons=reasons, id_column=id_column)
    return scored, f"model:{version}"
