"""Metric definitions checked on small hand-computed examples and against independent implementations."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp
from sklearn.metrics import brier_score_loss, roc_auc_score

from arrears.scoring import evaluation as ev

Y = np.array([0, 0, 1, 1])
P = np.array([0.1, 0.4, 0.35, 0.8])


def test_auc_counts_pairs_won_by_positives() -> None:
    # positives 0.35 and 0.8 against negatives 0.1 and 0.4: 0.35 beats 0.1 only, 0.8 beats both → 3 of 4
    assert ev.auc(Y, P) == pytest.approx(0.75)


def test_auc_counts_a_tie_as_half() -> None:
    assert ev.auc(np.array([0, 1]), np.array([0.5, 0.5])) == pytest.approx(0.5)
    # 0.2 (pos) ties 0.2 (neg) → ½; 0.9 (pos) beats 0.2 → 1; (½ + 1) / 2
    assert ev.auc(np.array([0, 1, 1]), np.array([0.2, 0.2, 0.9])) == pytest.approx(0.75)


def test_auc_needs_both_classes() -> None:
    with pytest.raises(ValueError):
        ev.auc(np.array([1, 1]), np.array([0.1, 0.2]))


def test_ks_is_the_largest_gap_between_class_cdfs() -> None:
    # thresholds 0.1, 0.35, 0.4, 0.8: F_neg = .5 .5 1 1, F_pos = 0 .5 .5 1 → max gap 0.5
    assert ev.ks(Y, P) == pytest.approx(0.5)
    assert ev.ks(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9])) == pytest.approx(1.0)


def test_ks_moves_ties_together() -> None:
    # all scores equal: no threshold separates anything
    assert ev.ks(np.array([0, 1, 0, 1]), np.full(4, 0.3)) == pytest.approx(0.0)


def test_brier() -> None:
    assert ev.brier(np.array([0, 1]), np.array([0.2, 0.7])) == pytest.approx((0.04 + 0.09) / 2)


def test_ece_weights_each_bin_by_its_rows() -> None:
    y = np.array([0, 1, 1, 0])
    p = np.array([0.05, 0.15, 0.15, 0.95])
    # bin 0: |0.05 − 0|·1, bin 1: |0.15 − 1|·2, bin 9: |0.95 − 0|·1 → (0.05 + 1.7 + 0.95) / 4
    assert ev.ece(y, p) == pytest.approx(0.675)
    # a score of exactly 1.0 falls in the last bin, not outside
    assert ev.ece(np.array([1]), np.array([1.0])) == pytest.approx(0.0)


def test_ece_is_zero_when_each_bin_matches_its_rate() -> None:
    y = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    p = np.array([0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75])
    assert ev.ece(y, p) == pytest.approx(0.0)


def test_lift_by_group_sorted_by_score() -> None:
    p = np.linspace(0.9, 0.0, 10)
    y = np.array([1, 1, 1, 0, 0, 1, 0, 0, 0, 0])  # overall rate 0.4
    rows = ev.lift_table(y, p, groups=5)
    assert [r.events for r in rows] == [2, 1, 1, 0, 0]
    assert [r.event_rate for r in rows] == pytest.approx([1.0, 0.5, 0.5, 0.0, 0.0])
    assert [r.lift for r in rows] == pytest.approx([2.5, 1.25, 1.25, 0.0, 0.0])
    assert [r.cumulative_capture for r in rows] == pytest.approx([0.5, 0.75, 1.0, 1.0, 1.0])
    assert rows[0].max_score == pytest.approx(0.9)


def test_lift_groups_differ_by_at_most_one_row() -> None:
    rows = ev.lift_table(np.array([0, 1] * 11 + [1]), np.arange(23, dtype=float), groups=10)
    assert sorted({r.count for r in rows}) == [2, 3]
    assert sum(r.count for r in rows) == 23


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 1), st.integers(0, 20)), min_size=2, max_size=60).filter(
        lambda rows: len({y for y, _ in rows}) == 2
    )
)
def test_auc_ks_brier_agree_with_independent_implementations(rows: list[tuple[int, int]]) -> None:
    y = np.array([r[0] for r in rows])
    p = np.array([r[1] for r in rows]) / 20.0  # coarse grid: many ties
    assert ev.auc(y, p) == pytest.approx(roc_auc_score(y, p))
    assert ev.brier(y, p) == pytest.approx(brier_score_loss(y, p))
    assert ev.ks(y, p) == pytest.approx(ks_2samp(p[y == 1], p[y == 0]).statistic)


def test_evaluate_bundles_figures_and_report_renders_offline() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 500)
    p = np.clip(0.5 * y + rng.random(500) * 0.5, 0, 1)
    m = ev.evaluate(y, p)
    assert m["auc"] == pytest.approx(ev.auc(y, p))
    assert len(m["lift"]) == 10 and len(m["reliability"]) == 10
    page = ev.render_report_html({"title": "t", "summary": {"rows": 500}, "models": {"a": m, "b": m}})
    assert "<script" in page and not re.search(
        r"<script[^>]*\bsrc=", page
    )  # JavaScript inlined, nothing fetched
    assert len(page) > 1_000_000  # plotly.js itself is in the page
    assert "ECE" in page and "十分位" in page
