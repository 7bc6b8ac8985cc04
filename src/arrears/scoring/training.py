"""Training: splits, LightGBM with early stopping, probability calibration, a logistic baseline.

LightGBM's defaults here (31 leaves, learning rate 0.1, 70% of features and 80% of rows per tree,
L2 10, at least 50 rows per leaf on large tables) were chosen on the public credit-card default
data (bench/RESULTS.md): over six splits a learning rate of 0.03 gained 0.0006 AUC (well inside
the 0.006 spread between splits) for 3.6 times as many trees, and every tree is paid for again
when the nightly batch scores a million accounts. The number of trees comes from early stopping
on the validation rows, after which the booster is retrained on train + validation with that many
trees (more rows, same capacity). The labelled rows are cut four ways (stratified at random, or by
time with `time_values`: oldest rows train, newest rows test):

    train (boosting) | validation (early stopping) | calibration | test (held out, reported)

Calibration maps the booster's raw margin to a probability on rows the booster never saw.
Two methods: Platt (a logistic curve, 2 parameters — stable on small samples, but it can only
stretch and shift the curve) and isotonic (any monotone step curve — fits any distortion, but
needs many rows and leaves ties). `auto` lets the data choose: 5-fold cross-validation of both on
the calibration rows, lowest Brier score wins (a tie goes to Platt, the simpler one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np

from arrears.scoring.evaluation import brier
from arrears.scoring.tabular import TableError

CALIBRATION_METHODS = ("auto", "platt", "isotonic", "none")


@dataclass(frozen=True)
class FitOptions:
    test_size: float = 0.2
    valid_fraction: float = 0.2  # of the rows left after the test split
    calibration_fraction: float = 0.2  # of the rows left after the test split
    seed: int = 0
    calibration: str = "auto"
    learning_rate: float = 0.1
    num_leaves: int = 31
    refit: bool = True  # after early stopping, retrain on train + validation with the best round count
    max_rounds: int = 2000
    early_stopping_rounds: int = 100
    threads: int | None = (
        None  # None: 1 below 100,000 training rows (thread start-up dominates), else all cores
    )

    def __post_init__(self) -> None:
        if not 0 < self.test_size < 0.9:
            raise ValueError(f"test size must be between 0 and 0.9, not {self.test_size}")
        if self.calibration not in CALIBRATION_METHODS:
            raise ValueError(f"calibration must be one of {', '.join(CALIBRATION_METHODS)}")
        if self.valid_fraction + self.calibration_fraction >= 0.8:
            raise ValueError("validation and calibration fractions leave too little to train on")


@dataclass(frozen=True)
class Splits:
    train: np.ndarray
    valid: np.ndarray
    calib: np.ndarray
    test: np.ndarray
    method: str  # "stratified" | "time"

    def sizes(self) -> dict[str, int]:
        return {k: int(getattr(self, k).size) for k in ("train", "valid", "calib", "test")}


def _cut(n: int, opts: FitOptions) -> tuple[int, int, int]:
    """Row counts of test, calibration and validation for a group of n rows."""
    n_test = round(n * opts.test_size)
    rest = n - n_test
    n_cal = round(rest * opts.calibration_fraction)
    n_val = round(rest * opts.valid_fraction)
    return n_test, n_cal, n_val


def make_splits(y: np.ndarray, opts: FitOptions, time_values: np.ndarray | None = None) -> Splits:
    """Deterministic for a given seed; every split must hold both classes."""
    n = y.size
    if time_values is None:
        rng = np.random.default_rng(opts.seed)
        parts: dict[str, list[np.ndarray]] = {"train": [], "valid": [], "calib": [], "test": []}
        for cls in (0, 1):
            idx = rng.permutation(np.flatnonzero(y == cls))
            n_test, n_cal, n_val = _cut(idx.size, opts)
            parts["test"].append(idx[:n_test])
            parts["calib"].append(idx[n_test : n_test + n_cal])
            parts["valid"].append(idx[n_test + n_cal : n_test + n_cal + n_val])
            parts["train"].append(idx[n_test + n_cal + n_val :])
        splits = Splits(**{k: np.sort(np.concatenate(v)) for k, v in parts.items()}, method="stratified")
    else:
        order = np.argsort(time_values, kind="mergesort")  # oldest first; equal times keep file order
        n_test, n_cal, n_val = _cut(n, opts)
        n_train = n - n_test - n_cal - n_val
        splits = Splits(
            train=np.sort(order[:n_train]),
            valid=np.sort(order[n_train : n_train + n_val]),
            calib=np.sort(order[n_train + n_val : n_train + n_val + n_cal]),
            test=np.sort(order[n_train + n_val + n_cal :]),
            method="time",
        )
    for name, idx in (
        ("train", splits.train),
        ("validation", splits.valid),
        ("calibration", splits.calib),
        ("test", splits.test),
    ):
        classes = np.unique(y[idx])
        if classes.size < 2:
            raise TableError(
                f"the {name} split ({idx.size} rows) holds only one class; the table has too few rows "
                f"({n}) or too few of the rarer class ({int(min(y.sum(), n - y.sum()))}) to train and evaluate"
            )
    return splits


# --------------------------------------------------------------------------------------- calibration


@dataclass(frozen=True)
class Calibrator:
    """Raw booster margin → probability. `platt`: sigmoid(a·m + b); `isotonic`: piecewise linear on knots."""

    method: str
    a: float = 1.0
    b: float = 0.0
    knots_x: tuple[float, ...] = ()
    knots_y: tuple[float, ...] = ()
    cv_brier: dict[str, float] = field(default_factory=dict)

    def apply(self, margin: np.ndarray) -> np.ndarray:
        m = np.asarray(margin, dtype=np.float64)
        if self.method == "isotonic":
            return np.interp(m, np.asarray(self.knots_x), np.asarray(self.knots_y))
        if self.method == "none":
            return _sigmoid(m)
        return _sigmoid(self.a * m + self.b)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "a": self.a,
            "b": self.b,
            "knots_x": list(self.knots_x),
            "knots_y": list(self.knots_y),
            "cv_brier": dict(self.cv_brier),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibrator:
        method = str(d["method"])
        if method not in ("platt", "isotonic", "none"):
            raise ValueError(f"unknown calibration method {method!r}")
        kx = tuple(float(v) for v in d.get("knots_x", []))
        ky = tuple(float(v) for v in d.get("knots_y", []))
        if method == "isotonic" and (len(kx) != len(ky) or not kx):
            raise ValueError("isotonic calibration needs matching, non-empty knots")
        return cls(
            method,
            float(d.get("a", 1.0)),
            float(d.get("b", 0.0)),
            kx,
            ky,
            {str(k): float(v) for k, v in d.get("cv_brier", {}).items()},
        )


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free logistic


def fit_platt(margin: np.ndarray, y: np.ndarray, max_iter: int = 100) -> Calibrator:
    """Platt scaling: Newton's method with backtracking line search (Lin, Lin & Weng 2007) on the log
    likelihood, with Platt's smoothed targets; plain Newton can overshoot and diverge."""
    m = np.asarray(margin, dtype=np.float64)
    n_pos = float(y.sum())
    n_neg = float(y.size - n_pos)
    t = np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))

    def nll(a: float, b: float) -> float:
        z = a * m + b
        return float(np.sum(t * np.logaddexp(0.0, -z) + (1 - t) * np.logaddexp(0.0, z)))

    a, b = 0.0, float(np.log((n_pos + 1) / (n_neg + 1)))
    f = nll(a, b)
    for _ in range(max_iter):
        q = _sigmoid(a * m + b)
        g_a, g_b = float(np.sum((q - t) * m)), float(np.sum(q - t))
        if abs(g_a) < 1e-8 * m.size and abs(g_b) < 1e-8 * m.size:
            break
        w = q * (1 - q)
        h_aa, h_ab, h_bb = float(np.sum(w * m * m)) + 1e-12, float(np.sum(w * m)), float(np.sum(w)) + 1e-12
        det = h_aa * h_bb - h_ab * h_ab
        if det <= 0:
            break
        da = -(h_bb * g_a - h_ab * g_b) / det
        db = -(h_aa * g_b - h_ab * g_a) / det
        slope = g_a * da + g_b * db
        step = 1.0
        while step >= 1e-10:
            na, nb = a + step * da, b + step * db
            nf = nll(na, nb)
            if nf < f + 1e-4 * step * slope:
                break
            step /= 2
        else:
            break  # no descent possible: at the optimum to numerical precision
        a, b, f = na, nb, nf
    return Calibrator("platt", a=a, b=b)


def fit_isotonic(margin: np.ndarray, y: np.ndarray) -> Calibrator:
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    iso.fit(np.asarray(margin, dtype=np.float64), y.astype(np.float64))
    return Calibrator(
        "isotonic",
        knots_x=tuple(float(v) for v in iso.X_thresholds_),
        knots_y=tuple(float(v) for v in iso.y_thresholds_),
    )


def fit_calibrator(margin: np.ndarray, y: np.ndarray, method: str, seed: int = 0) -> Calibrator:
    if method == "platt":
        return fit_platt(margin, y)
    if method == "isotonic":
        return fit_isotonic(margin, y)
    if method == "none":
        return Calibrator("none")
    # auto: 5-fold cross-validated Brier score of both on the calibration rows
    rng = np.random.default_rng(seed)
    folds = np.array_split(rng.permutation(y.size), 5)
    scores: dict[str, list[float]] = {"platt": [], "isotonic": []}
    for k in range(len(folds)):
        held = folds[k]
        fit_idx = np.concatenate([folds[j] for j in range(len(folds)) if j != k])
        for name, fitter in (("platt", fit_platt), ("isotonic", fit_isotonic)):
            cal = fitter(margin[fit_idx], y[fit_idx])
            scores[name].append(brier(y[held], cal.apply(margin[held])))
    cv = {k: float(np.mean(v)) for k, v in scores.items()}
    chosen = "isotonic" if cv["isotonic"] < cv["platt"] else "platt"
    cal = fit_calibrator(margin, y, chosen)
    return Calibrator(cal.method, cal.a, cal.b, cal.knots_x, cal.knots_y, cv)


# ------------------------------------------------------------------------------------------ LightGBM


def lightgbm_params(opts: FitOptions, n_train: int) -> dict[str, Any]:
    leaf = int(min(50, max(5, n_train // 100)))  # small tables still get splits; large ones regularise
    return {
        "objective": "binary",
        "learning_rate": opts.learning_rate,
        "num_leaves": opts.num_leaves,
        "min_data_in_leaf": leaf,
        "min_data_per_group": leaf,
        "cat_smooth": 10.0,
        "feature_fraction": 0.7,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 10.0,
        "seed": opts.seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": opts.threads if opts.threads is not None else (1 if n_train < 100_000 else 0),
        "verbose": -1,
    }


def train_booster(
    X: np.ndarray,
    y: np.ndarray,
    splits: Splits,
    feature_names: Sequence[str],
    categorical: Sequence[int],
    opts: FitOptions,
) -> tuple[lgb.Booster, int]:
    params = lightgbm_params(opts, splits.train.size)
    names = booster_feature_names(feature_names)
    train = lgb.Dataset(
        X[splits.train],
        y[splits.train],
        feature_name=names,
        categorical_feature=list(categorical),
        free_raw_data=True,
    )
    valid = lgb.Dataset(X[splits.valid], y[splits.valid], reference=train)
    booster = lgb.train(
        params,
        train,
        num_boost_round=opts.max_rounds,
        valid_sets=[valid],
        valid_names=["validation"],
        callbacks=[lgb.early_stopping(opts.early_stopping_rounds, verbose=False)],
    )
    best = int(booster.best_iteration) or booster.current_iteration()
    if opts.refit:
        rows = np.sort(np.concatenate([splits.train, splits.valid]))
        full = lgb.Dataset(X[rows], y[rows], feature_name=names, categorical_feature=list(categorical))
        return lgb.train(params, full, num_boost_round=best), best
    # keep only the trees up to the best round, so the saved model is exactly what was validated
    return lgb.Booster(model_str=booster.model_to_string(num_iteration=best)), best


def booster_feature_names(feature_names: Sequence[str]) -> list[str]:
    """Names LightGBM accepts (no JSON specials or spaces), unique; the spec keeps the real names."""
    out: list[str] = []
    seen: set[str] = set()
    for i, name in enumerate(feature_names):
        safe = "".join("_" if ch in '[]{}":,' or ch.isspace() else ch for ch in name) or f"f{i}"
        if safe in seen:
            safe = f"{safe}_{i}"
        seen.add(safe)
        out.append(safe)
    return out


# ------------------------------------------------------------------------------------ logistic baseline


def train_logistic_baseline(
    X: np.ndarray, y: np.ndarray, rows: np.ndarray, categorical: Sequence[int], seed: int
) -> Any:
    """Median-imputed, standardised numbers (with missing flags) + one-hot categories → logistic regression."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    cats = list(categorical)
    nums = [i for i in range(X.shape[1]) if i not in set(cats)]
    transformers: list[tuple[str, Any, list[int]]] = []
    if nums:
        transformers.append(
            (
                "num",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                    StandardScaler(),
                ),
                nums,
            )
        )
    if cats:
        transformers.append(
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value=-1.0, keep_empty_features=True),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                cats,
            )
        )
    model = Pipeline(
        [
            ("prep", ColumnTransformer(transformers)),
            ("lr", LogisticRegression(max_iter=2000, random_state=seed)),
        ]
    )
    model.fit(X[rows], y[rows])
    return model
