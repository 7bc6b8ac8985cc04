"""The nightly batch scores with the registry's live propensity model when there is one (R9)."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
from sqlalchemy import select
from tests import factories

from arrears.core.db import transaction
from arrears.portfolio.models import Case
from arrears.scoring.features import FEATURE_COLUMNS
from arrears.scoring.model_io import save_model
from arrears.scoring.service import ModelRegistry, fit_table
from arrears.strategy.batch import run_batch


def _train(tmp_path):
    """A small model on synthetic feature rows where the chance of paying falls with DPD."""
    rng = np.random.default_rng(5)
    n = 1500
    dpd = rng.integers(0, 300, n)
    data = {c: np.zeros(n) for c in FEATURE_COLUMNS if c not in ("bucket", "product")}
    data["days_past_due"] = dpd
    data["principal"] = rng.integers(10_000, 2_000_000, n)
    df = pl.DataFrame(data).with_columns(
        pl.lit("M1").alias("bucket"),
        pl.lit("consumer_loan").alias("product"),
        pl.Series("paid", (rng.random(n) < 1 / (1 + np.exp(-(1.5 - dpd / 40)))).astype(int)),
        pl.Series("account_id", np.arange(n)),
    )
    result = fit_table(df, target="paid", id_column="account_id", categorical=["bucket", "product"])
    path = tmp_path / "m.json"
    save_model(result.model, path)
    registry = ModelRegistry(tmp_path / "models")
    entry = registry.register(path)
    registry.promote(entry.version)
    return tmp_path / "models", entry.version


def test_batch_uses_the_live_model(ctx, tmp_path) -> None:
    root, version = _train(tmp_path)
    with transaction(ctx.sessions) as s:
        young = factories.account(s, ctx, "S-1", dpd=3)
        old = factories.account(s, ctx, "S-2", dpd=250)
        ids = (young.id, old.id)
    ctx.settings = ctx.settings.model_copy(update={"model_registry": root})
    summary = run_batch(ctx, date(2026, 11, 28))
    assert summary.score_source == f"model:{version}"
    with transaction(ctx.sessions) as s:
        scores = {
            c.account_id: float(c.score) for c in s.scalars(select(Case).where(Case.account_id.in_(ids)))
        }
    assert 0 < scores[ids[1]] < scores[ids[0]] < 1


def test_without_a_live_model_the_batch_uses_its_prior(ctx, tmp_path) -> None:
    with transaction(ctx.sessions) as s:
        factories.account(s, ctx, "S-3", dpd=3)
    ctx.settings = ctx.settings.model_copy(update={"model_registry": tmp_path / "none"})
    assert run_batch(ctx, date(2026, 11, 28)).score_source == "prior:dpd-logistic"
