"""Propensity / default model on the public UCI credit-card default data, and scoring throughput.

    python -m bench.bench_scoring [--data PATH] [--seeds 5] [--score-rows 1000000]
                                  [--reasons-rows 20000] [--row-sample 2000] [--report-dir DIR]

The data file is not part of the repository: `--data`, else $ARREARS_UCI_CREDIT_CSV, else
../shared/data/uci_taiwan_credit_card.csv next to the checkout. Without it the script prints
{"skipped": …} and exits 0.

Prints JSON:
- `evaluation`: `fit_table` (the code behind `arrears model fit`) on stratified random splits
  (train 48% / validation 16% / calibration 16% / test 20%) for several seeds; held-out AUC, KS,
  Brier, ECE and log loss of LightGBM (calibrated and raw) and the logistic baseline, mean and
  standard deviation over seeds, plus the lift table of the first seed;
- `training`: rows per second of the LightGBM fit (early stopping + refit) and of the logistic fit;
- `scoring`: the batch path (`ScoringModel.score_frame` on a typed frame: encode, predict,
  calibrate) on `--score-rows` rows (the data tiled), with reason codes on `--reasons-rows`, against
  row-at-a-time scoring (one `score_frame` call per account, and one bare booster call per row)
  timed on `--row-sample` rows in the same run; and the CSV command path end to end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from arrears.scoring import service
from arrears.scoring.model_io import load_model
from arrears.scoring.tabular import encode
from arrears.scoring.training import FitOptions

TARGET = "default.payment.next.month"
ID = "ID"
PUBLISHED_AUC = 0.78  # gradient boosting on this data in published work (data README)
METRICS = ("auc", "ks", "brier", "ece", "log_loss")


def default_data_path() -> Path:
    env = os.environ.get("ARREARS_UCI_CREDIT_CSV")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data" / "uci_taiwan_credit_card.csv"


def evaluate(df: pl.DataFrame, digest: str, seeds: int, report_dir: Path) -> tuple[dict[str, Any], Path]:
    per_seed: list[dict[str, Any]] = []
    first: service.FitResult | None = None
    train_rates: dict[str, list[float]] = {"lightgbm": [], "logistic": []}
    for seed in range(seeds):
        result = service.fit_table(
            df, target=TARGET, id_column=ID, options=FitOptions(seed=seed), data_sha256=digest
        )
        sizes = result.splits.sizes()
        fit_rows = sizes["train"] + sizes["valid"]
        train_rates["lightgbm"].append(fit_rows / result.timings["lightgbm_fit_s"])
        train_rates["logistic"].append(fit_rows / result.timings["logistic_fit_s"])
        per_seed.append(
            {
                "seed": seed,
                "metrics": result.summary(),
                "calibration": result.model.calibrator.method,
                "cv_brier": result.model.calibrator.cv_brier,
                "best_iteration": result.model.meta["training"]["best_iteration"],
                "lightgbm_fit_s": round(result.timings["lightgbm_fit_s"], 3),
            }
        )
        if first is None:
            first = result
    assert first is not None
    model_path = report_dir / "uci_credit_default.json"
    html_path, _ = service.write_outputs(first, model_path)
    summary: dict[str, Any] = {}
    for label in service.MODEL_LABELS:
        summary[label] = {}
        for k in METRICS:
            values = [s["metrics"][label][k] for s in per_seed]
            summary[label][k] = {
                "mean": round(statistics.fmean(values), 4),
                "sd": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
                "min": round(min(values), 4),
                "max": round(max(values), 4),
            }
    lift = [
        {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}
        for row in first.report["models"][service.MODEL_LABELS[0]]["lift"]
    ]
    return (
        {
            "split": "stratified random: train 48% / validation 16% / calibration 16% / test 20%",
            "seeds": seeds,
            "summary": summary,
            "per_seed": per_seed,
            "lift_seed0": lift,
            "published_auc_reference": PUBLISHED_AUC,
            "report_html": str(html_path),
            "training_rows_per_s": {k: round(statistics.fmean(v)) for k, v in train_rates.items()},
        },
        model_path,
    )


def scoring(
    df: pl.DataFrame, model_path: Path, data_path: Path, score_rows: int, reasons_rows: int, row_sample: int
) -> dict[str, Any]:
    model = load_model(model_path)
    typed = df.drop(TARGET).with_columns(pl.exclude(ID).cast(pl.Float64), pl.col(ID).cast(pl.Int64))
    reps = -(-score_rows // typed.height)
    big = pl.concat([typed] * reps).head(score_rows).with_columns(pl.int_range(pl.len()).alias(ID))

    t = time.perf_counter()
    scored, _ = model.score_frame(big)
    batch_s = time.perf_counter() - t
    assert scored.height == score_rows

    part = big.head(reasons_rows)
    t = time.perf_counter()
    with_reasons, _ = model.score_frame(part, reasons=3)
    reasons_s = time.perf_counter() - t
    assert with_reasons.width == 8

    sample = big.head(row_sample)
    t = time.perf_counter()
    row_scores = [model.score_frame(sample.slice(i, 1))[0]["score"][0] for i in range(row_sample)]
    row_s = time.perf_counter() - t
    # same numbers either way: the baseline is a fair comparison, not a different model
    np.testing.assert_allclose(row_scores, scored["score"].head(row_sample).to_numpy(), rtol=1e-9)

    X, _ = encode(sample, model.spec)
    t = time.perf_counter()
    for i in range(row_sample):  # one thread: the fastest way to score a single row
        model.booster.predict(X[i : i + 1], raw_score=True, num_threads=1)
    raw_row_s = time.perf_counter() - t
    t = time.perf_counter()
    model.booster.predict(X, raw_score=True, num_threads=1)
    raw_batch_s = time.perf_counter() - t

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "scores.csv"
        t = time.perf_counter()
        res = service.score_csv(model, data_path, out)
        csv_s = time.perf_counter() - t

    batch_rps = score_rows / batch_s
    row_rps = row_sample / row_s
    return {
        "batch_rows": score_rows,
        "batch_s": round(batch_s, 3),
        "batch_rows_per_s": round(batch_rps),
        "reasons_k3_rows": reasons_rows,
        "reasons_k3_s": round(reasons_s, 3),
        "reasons_k3_rows_per_s": round(reasons_rows / reasons_s),
        "row_at_a_time_rows": row_sample,
        "row_at_a_time_rows_per_s": round(row_rps),
        "bare_booster_1thread_row_at_a_time_rows_per_s": round(row_sample / raw_row_s),
        "bare_booster_1thread_batch_rows_per_s": round(row_sample / raw_batch_s),
        "speedup_batch_vs_row_at_a_time": round(batch_rps / row_rps, 1),
        "csv_end_to_end_rows": res.rows,
        "csv_end_to_end_s": round(csv_s, 3),
        "csv_end_to_end_rows_per_s": round(res.rows / csv_s),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--score-rows", type=int, default=1_000_000)
    ap.add_argument("--reasons-rows", type=int, default=20_000)
    ap.add_argument("--row-sample", type=int, default=2_000)
    ap.add_argument("--report-dir", type=Path, default=None, help="Keep the seed-0 model and report here.")
    args = ap.parse_args(argv)

    data_path = args.data or default_data_path()
    if not data_path.exists():
        print(json.dumps({"skipped": f"data file not found: {data_path}"}))
        return 0
    df, digest = service.read_table(data_path)
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        report_dir = args.report_dir or Path(tmp)
        t = time.perf_counter()
        ev, model_path = evaluate(df, digest, args.seeds, report_dir)
        ev["wall_s"] = round(time.perf_counter() - t, 1)
        sc = scoring(df, model_path, data_path, args.score_rows, args.reasons_rows, args.row_sample)
    result = {
        "dataset": {"file": data_path.name, "rows": df.height, "sha256": digest},
        "evaluation": ev,
        "scoring": sc,
        # other work on the machine slows every figure; ratios within the run stay comparable
        "machine": {"cpu_count": os.cpu_count(), "loadavg_start": load_start, "loadavg_end": os.getloadavg()},
    }
    json.dump(result, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
