"""Deterministic synthetic labelled tables whose signal is known, for the scoring tests."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl


def labelled_table(n: int = 3000, seed: int = 0, *, only_x1: bool = False) -> pl.DataFrame:
    """Text columns, as a CSV would give them.

    logit = -0.5 + 2·x1 (+ 0.9 if channel == "sms" + 0.6 if has_job, unless `only_x1`); everything else
    is noise. Columns: account (id), x1, noise (10% missing), channel (categorical, 5% missing),
    has_job (yes/no), opened (ISO date), and the label `paid`.
    """
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    noise = rng.normal(size=n)
    channel = rng.choice(["sms", "call", "letter"], size=n)
    has_job = rng.random(n) < 0.5
    opened = [date(2020, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 1500, size=n)]
    logit = -0.5 + 2.0 * x1
    if not only_x1:
        logit = logit + 0.9 * (channel == "sms") + 0.6 * has_job
    paid = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    noise_text = [None if rng.random() < 0.1 else f"{v:.4f}" for v in noise]
    channel_text = [None if rng.random() < 0.05 else c for c in channel]
    return pl.DataFrame(
        {
            "account": [f"A{i:05d}" for i in range(n)],
            "x1": [f"{v:.4f}" for v in x1],
            "noise": noise_text,
            "channel": channel_text,
            "has_job": ["yes" if h else "no" for h in has_job],
            "opened": [d.isoformat() for d in opened],
            "paid": [str(v) for v in paid],
        },
        schema={k: pl.String for k in ("account", "x1", "noise", "channel", "has_job", "opened", "paid")},
    )


def drifting_table(n: int = 4000, seed: int = 0) -> pl.DataFrame:
    """Rows in time order; the base rate drops sharply for the newest 36% (after the training rows)."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    month = np.arange(n) / n
    intercept = np.where(month < 0.64, 1.0, -1.6)
    paid = (rng.random(n) < 1 / (1 + np.exp(-(intercept + 1.5 * x1)))).astype(int)
    return pl.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "day": [(date(2024, 1, 1) + timedelta(days=int(m * 700))).isoformat() for m in month],
            "x1": x1,
            "paid": paid,
        }
    )
