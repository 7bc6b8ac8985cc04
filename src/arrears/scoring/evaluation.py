"""Model evaluation: AUC, KS, Brier, expected calibration error, lift by decile, and the report plot.

Pure functions on NumPy arrays (`y` is 0/1, `p` a score where higher means "more likely 1").
Definitions, so the figures can be checked by hand:

- AUC   probability that a random positive scores above a random negative, ties counting one half
        (the Mann–Whitney U statistic over n_pos × n_neg).
- KS    max over thresholds t of |F_pos(t) − F_neg(t)|, F the empirical CDFs of the scores, evaluated
        at every distinct score (ties move together).
- Brier mean of (p − y)².
- ECE   Σ_b (n_b / n) · |mean(p in b) − mean(y in b)| over `bins` equal-width probability bins
        [0, 1/bins), …, [1 − 1/bins, 1]; empty bins count nothing.
- Lift  rows sorted by score (highest first, stable), cut into `groups` groups whose sizes differ by
        at most one; per group the event rate, lift = rate / overall rate, and the cumulative share
        of all events captured up to that group.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


def _check(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64).ravel()
    p = np.asarray(p, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"labels ({y.size}) and scores ({p.size}) differ in length")
    if y.size == 0:
        raise ValueError("no rows to evaluate")
    return y, p


def _average_ranks(p: np.ndarray) -> np.ndarray:
    order = np.argsort(p, kind="mergesort")
    sorted_p = p[order]
    ranks = np.empty(p.size, dtype=np.float64)
    # ties share the mean of the ranks they span
    starts = np.flatnonzero(np.r_[True, sorted_p[1:] != sorted_p[:-1]])
    ends = np.r_[starts[1:], p.size]
    mean_rank = (starts + ends + 1) / 2.0  # 1-based ranks start+1 .. end
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def auc(y: np.ndarray, p: np.ndarray) -> float:
    y, p = _check(y, p)
    n_pos = float(y.sum())
    n_neg = float(y.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs both classes")
    ranks = _average_ranks(p)
    u = ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def ks(y: np.ndarray, p: np.ndarray) -> float:
    y, p = _check(y, p)
    n_pos = y.sum()
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("KS needs both classes")
    order = np.argsort(p, kind="mergesort")
    sp, sy = p[order], y[order]
    last_of_tie = np.r_[sp[1:] != sp[:-1], True]
    cdf_pos = np.cumsum(sy)[last_of_tie] / n_pos
    cdf_neg = np.cumsum(1 - sy)[last_of_tie] / n_neg
    return float(np.max(np.abs(cdf_pos - cdf_neg)))


def brier(y: np.ndarray, p: np.ndarray) -> float:
    y, p = _check(y, p)
    return float(np.mean((p - y) ** 2))


def log_loss(y: np.ndarray, p: np.ndarray, eps: float = 1e-15) -> float:
    y, p = _check(y, p)
    q = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))


@dataclass(frozen=True)
class ReliabilityBin:
    lower: float
    upper: float
    count: int
    mean_score: float | None
    event_rate: float | None


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[ReliabilityBin]:
    y, p = _check(y, p)
    idx = np.clip(np.floor(p * bins).astype(np.int64), 0, bins - 1)
    counts = np.bincount(idx, minlength=bins)
    sum_p = np.bincount(idx, weights=p, minlength=bins)
    sum_y = np.bincount(idx, weights=y, minlength=bins)
    out = []
    for b in range(bins):
        n = int(counts[b])
        out.append(
            ReliabilityBin(
                lower=b / bins,
                upper=(b + 1) / bins,
                count=n,
                mean_score=float(sum_p[b] / n) if n else None,
                event_rate=float(sum_y[b] / n) if n else None,
            )
        )
    return out


def ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    y, p = _check(y, p)
    total = 0.0
    for b in reliability(y, p, bins):
        if b.count:
            assert b.mean_score is not None and b.event_rate is not None
            total += b.count * abs(b.mean_score - b.event_rate)
    return total / y.size


@dataclass(frozen=True)
class LiftRow:
    group: int  # 1 = highest scores
    count: int
    events: int
    event_rate: float
    lift: float
    cumulative_capture: float  # share of all events in groups 1..group
    min_score: float
    max_score: float


def lift_table(y: np.ndarray, p: np.ndarray, groups: int = 10) -> list[LiftRow]:
    y, p = _check(y, p)
    if y.size < groups:
        raise ValueError(f"{y.size} rows cannot fill {groups} groups")
    order = np.argsort(-p, kind="mergesort")
    sy, sp = y[order], p[order]
    overall = y.mean()
    total_events = y.sum()
    rows = []
    captured = 0.0
    for g, part in enumerate(np.array_split(np.arange(y.size), groups), start=1):
        ev = float(sy[part].sum())
        captured += ev
        rate = ev / part.size
        rows.append(
            LiftRow(
                group=g,
                count=int(part.size),
                events=int(ev),
                event_rate=rate,
                lift=rate / overall if overall > 0 else float("nan"),
                cumulative_capture=captured / total_events if total_events > 0 else float("nan"),
                min_score=float(sp[part].min()),
                max_score=float(sp[part].max()),
            )
        )
    return rows


def roc_points(y: np.ndarray, p: np.ndarray, max_points: int = 200) -> tuple[list[float], list[float]]:
    """False- and true-positive rates at each distinct threshold, thinned to about `max_points`."""
    y, p = _check(y, p)
    order = np.argsort(-p, kind="mergesort")
    sp, sy = p[order], y[order]
    last_of_tie = np.r_[sp[1:] != sp[:-1], True]
    tpr = np.r_[0.0, np.cumsum(sy)[last_of_tie] / max(sy.sum(), 1)]
    fpr = np.r_[0.0, np.cumsum(1 - sy)[last_of_tie] / max((1 - sy).sum(), 1)]
    if fpr.size > max_points:
        keep = np.unique(np.r_[np.linspace(0, fpr.size - 1, max_points).astype(int), fpr.size - 1])
        fpr, tpr = fpr[keep], tpr[keep]
    return [round(float(v), 6) for v in fpr], [round(float(v), 6) for v in tpr]


def evaluate(y: np.ndarray, p: np.ndarray, *, bins: int = 10, groups: int = 10) -> dict[str, Any]:
    """Every figure of the report for one model on one split, JSON-ready."""
    y, p = _check(y, p)
    fpr, tpr = roc_points(y, p)
    return {
        "rows": int(y.size),
        "event_rate": float(y.mean()),
        "auc": auc(y, p),
        "ks": ks(y, p),
        "brier": brier(y, p),
        "log_loss": log_loss(y, p),
        "ece": ece(y, p, bins),
        "lift": [asdict(r) for r in lift_table(y, p, groups)] if y.size >= groups else [],
        "reliability": [asdict(b) for b in reliability(y, p, bins)],
        "roc": {"fpr": fpr, "tpr": tpr},
    }


# -------------------------------------------------------------------------------------------- report

_LABELS = {
    "auc": "AUC",
    "ks": "KS",
    "brier": "Brier 布里尔分数",
    "log_loss": "Log loss 对数损失",
    "ece": "ECE 校准误差",
}


def _fmt(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, float) else html.escape(str(v))


def render_report_html(report: dict[str, Any]) -> str:
    """A self-contained HTML page (Plotly's JavaScript inlined, nothing fetched when opened).

    `report` holds "title", "summary" (key → value) and "models": name → `evaluate(...)` output; the
    first model is the one the lift chart shows.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    models: dict[str, dict[str, Any]] = report["models"]
    fig = make_subplots(
        rows=2,
        cols=2,
        subplot_titles=(
            "ROC 曲线",
            "Calibration 校准 (reliability)",
            "Lift by decile 十分位提升",
            "Cumulative capture 累计捕获率",
        ),
    )
    grey = {"dash": "dot", "color": "#bbb"}
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=grey, name="chance / ideal"), 1, 1)
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=grey, showlegend=False), 1, 2)
    for i, (name, m) in enumerate(models.items()):
        style = {"line": {"color": _COLOURS[i % len(_COLOURS)]}, "legendgroup": name}
        fig.add_trace(
            go.Scatter(x=m["roc"]["fpr"], y=m["roc"]["tpr"], mode="lines", name=name, **style), 1, 1
        )
        pts = [b for b in m["reliability"] if b["count"]]
        fig.add_trace(
            go.Scatter(
                x=[b["mean_score"] for b in pts],
                y=[b["event_rate"] for b in pts],
                mode="lines+markers",
                name=f"{name} (ECE {m['ece']:.3f})",
                **style,
            ),
            1,
            2,
        )
        if m["lift"]:
            fig.add_trace(
                go.Scatter(
                    x=[0] + [r["group"] for r in m["lift"]],
                    y=[0.0] + [r["cumulative_capture"] for r in m["lift"]],
                    mode="lines+markers",
                    name=f"{name} capture",
                    showlegend=False,
                    **style,
                ),
                2,
                2,
            )
    first = next(iter(models.values()))
    if first["lift"]:
        fig.add_trace(
            go.Bar(x=[r["group"] for r in first["lift"]], y=[r["lift"] for r in first["lift"]], name="lift"),
            2,
            1,
        )
    fig.update_xaxes(title_text="false positive rate", row=1, col=1)
    fig.update_yaxes(title_text="true positive rate", row=1, col=1)
    fig.update_xaxes(title_text="mean predicted", range=[0, 1], row=1, col=2)
    fig.update_yaxes(title_text="observed rate", range=[0, 1], row=1, col=2)
    fig.update_xaxes(title_text="decile (1 = highest score)", row=2, col=1)
    fig.update_xaxes(title_text="decile", row=2, col=2)
    fig.update_layout(height=900, width=1200, title_text=report.get("title", "Model evaluation"))

    head = ["model", *_LABELS.values()]
    rows = "".join(
        "<tr><td>"
        + html.escape(name)
        + "</td>"
        + "".join(f"<td>{_fmt(m[k])}</td>" for k in _LABELS)
        + "</tr>"
        for name, m in models.items()
    )
    summary = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{_fmt(v)}</td></tr>"
        for k, v in report.get("summary", {}).items()
    )
    lift_rows = "".join(
        f"<tr><td>{r['group']}</td><td>{r['count']}</td><td>{r['events']}</td><td>{r['event_rate']:.4f}</td>"
        f"<td>{r['lift']:.2f}</td><td>{r['cumulative_capture']:.3f}</td></tr>"
        for r in first["lift"]
    )
    title = html.escape(str(report.get("title", "Model evaluation")))
    return (
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<title>{title}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{text-align:left}</style></head><body>"
        f"<h1>{title}</h1><h2>Summary 概要</h2><table>{summary}</table>"
        "<h2>Held-out metrics 留出集指标</h2><table><tr>"
        + "".join(f"<th>{html.escape(h)}</th>" for h in head)
        + f"</tr>{rows}</table>"
        "<h2>Lift by decile 十分位提升</h2><table><tr><th>decile</th><th>rows</th><th>events</th>"
        f"<th>event rate</th><th>lift</th><th>cumulative capture</th></tr>{lift_rows}</table>"
        + fig.to_html(full_html=False, include_plotlyjs=True)
        + "</body></html>"
    )


_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")


def render_summary_svg(report: dict[str, Any], width: int = 1080, height: int = 340) -> str:
    """The same curves as a small static SVG (ROC, reliability, lift): viewable anywhere, no JavaScript.

    Plotly's static export needs kaleido, which is not a dependency; this draws the three panels
    directly from the figures in `report` (the structure `render_report_html` takes).
    """
    models: dict[str, dict[str, Any]] = report["models"]
    pw, ph, top, left = width / 3, height - 110, 40, 50
    inner = pw - left - 20
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' font-family='sans-serif' font-size='11'>",
        f"<rect width='{width}' height='{height}' fill='white'/>",
    ]

    def panel(
        i: int, title: str, xlabel: str, ylabel: str, ymax: float, xticks: Sequence[str] = ("0", "0.5", "1")
    ) -> tuple[float, float, float]:
        x0 = i * pw + left
        parts.append(
            f"<text x='{x0 + inner / 2:.1f}' y='22' text-anchor='middle' font-size='13'>"
            f"{html.escape(title)}</text>"
        )
        parts.append(
            f"<rect x='{x0:.1f}' y='{top}' width='{inner:.1f}' height='{ph}' fill='none' stroke='#999'/>"
        )
        for frac, tick in zip((0.0, 0.5, 1.0), xticks, strict=True):
            parts.append(
                f"<text x='{x0 + frac * inner:.1f}' y='{top + ph + 14}' text-anchor='middle'>{tick}</text>"
            )
            parts.append(
                f"<text x='{x0 - 4:.1f}' y='{top + ph - frac * ph + 4:.1f}' text-anchor='end'>"
                f"{frac * ymax:g}</text>"
            )
        parts.append(
            f"<text x='{x0 + inner / 2:.1f}' y='{top + ph + 30}' text-anchor='middle'>"
            f"{html.escape(xlabel)}</text>"
        )
        parts.append(
            f"<text x='{x0 - 34:.1f}' y='{top + ph / 2:.1f}' text-anchor='middle' "
            f"transform='rotate(-90 {x0 - 34:.1f} {top + ph / 2:.1f})'>{html.escape(ylabel)}</text>"
        )
        return x0, inner, ymax

    def line(
        x0: float, w: float, ymax: float, xs: list[float], ys: list[float], colour: str, dash: bool = False
    ) -> None:
        pts = " ".join(
            f"{x0 + x * w:.1f},{top + ph - min(y, ymax) / ymax * ph:.1f}" for x, y in zip(xs, ys, strict=True)
        )
        extra = " stroke-dasharray='4 3'" if dash else ""
        parts.append(f"<polyline points='{pts}' fill='none' stroke='{colour}' stroke-width='1.6'{extra}/>")

    x0, w, ym = panel(0, "ROC 曲线", "false positive rate", "true positive rate", 1.0)
    line(x0, w, ym, [0, 1], [0, 1], "#bbb", dash=True)
    for m, colour in zip(models.values(), _COLOURS, strict=False):
        line(x0, w, ym, m["roc"]["fpr"], m["roc"]["tpr"], colour)
    x0, w, ym = panel(1, "Calibration 校准", "mean predicted", "observed rate", 1.0)
    line(x0, w, ym, [0, 1], [0, 1], "#bbb", dash=True)
    for m, colour in zip(models.values(), _COLOURS, strict=False):
        pts = [b for b in m["reliability"] if b["count"]]
        line(x0, w, ym, [b["mean_score"] for b in pts], [b["event_rate"] for b in pts], colour)
    first_name, first = next(iter(models.items()))
    lift = first["lift"]
    ymax = max([2.0, *(float(np.ceil(r["lift"])) for r in lift)]) if lift else 1.0
    x0, w, ym = panel(
        2,
        f"Lift by decile 十分位提升 ({first_name})",
        "decile (1 = highest score)",
        "lift",
        ymax,
        ("", "", ""),
    )
    for r in lift:
        bw = w / len(lift)
        parts.append(
            f"<text x='{x0 + (r['group'] - 0.5) * bw:.1f}' y='{top + ph + 14}' text-anchor='middle'>{r['group']}</text>"
        )
    for r in lift:
        bw = w / len(lift)
        bh = r["lift"] / ym * ph
        parts.append(
            f"<rect x='{x0 + (r['group'] - 1) * bw + 2:.1f}' y='{top + ph - bh:.1f}' "
            f"width='{bw - 4:.1f}' height='{bh:.1f}' fill='{_COLOURS[0]}'/>"
        )
    line(x0, w, ym, [0, 1], [1, 1], "#bbb", dash=True)
    legend_y = height - 6
    for i, ((name, m), colour) in enumerate(zip(models.items(), _COLOURS, strict=False)):
        lx = 20 + i * 340
        parts.append(f"<rect x='{lx}' y='{legend_y - 9}' width='12' height='4' fill='{colour}'/>")
        parts.append(
            f"<text x='{lx + 16}' y='{legend_y - 4}'>{html.escape(name)}: AUC {m['auc']:.3f}, "
            f"KS {m['ks']:.3f}, ECE {m['ece']:.3f}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)
