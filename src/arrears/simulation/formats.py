"""How placement files write amounts, dates and rates: column-wise text from integers and day numbers."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

EPOCH64 = np.datetime64("1970-01-01", "D")

# How Chinese files write amounts and dates, one style per row (rows typed or merged by hand).
ZH_AMOUNT_STYLES: tuple[tuple[str, float], ...] = (
    ("plain", 0.80),  # 12345.67
    ("yen_grouped", 0.10),  # ¥12,345.67
    ("yuan_suffix", 0.07),  # 12345.67元
    ("grouped", 0.03),  # 12,345.67
)
ZH_DATE_STYLES: tuple[tuple[str, float], ...] = (
    ("%Y-%m-%d", 0.65),
    ("%Y/%m/%d", 0.15),
    ("%Y%m%d", 0.10),
    ("%Y年%m月%d日", 0.10),
)
ZH_PERCENT_RATE_SHARE = 0.2  # 年利率 as "18.25%" instead of "0.1825", as percentage-formatted cells export


def weights(values: Any) -> np.ndarray:
    p = np.asarray(values, dtype=np.float64)
    return p / p.sum()


def pick(rng: np.random.Generator, w: Any, size: int) -> np.ndarray:
    """Indices 0..len(w)-1 drawn with weights w."""
    return rng.choice(len(w), size=size, p=weights(w))


def gather(pool: Any, idx: np.ndarray) -> pl.Series:
    """Strings from a small pool by index, without building numpy unicode arrays."""
    return pl.Series(values=list(pool), dtype=pl.Utf8).gather(idx)


def date_series(name: str, days: np.ndarray) -> pl.Series:
    """Days since 1970-01-01 → a Date series."""
    return pl.Series(name, EPOCH64 + np.asarray(days, dtype=np.int64).astype("timedelta64[D]"), dtype=pl.Date)


def minus_months(days: np.ndarray, months: np.ndarray) -> np.ndarray:
    """The same day of the month `months` earlier (clamped to that month's last day), in days since 1970."""
    d = EPOCH64 + np.asarray(days, dtype=np.int64).astype("timedelta64[D]")
    m = d.astype("datetime64[M]")
    day_index = (d - m.astype("datetime64[D]")).astype(np.int64)
    target = m - np.asarray(months, dtype=np.int64).astype("timedelta64[M]")
    next_month = (target + np.timedelta64(1, "M")).astype("datetime64[D]")
    month_len = (next_month - target.astype("datetime64[D]")).astype(np.int64)
    start = (target.astype("datetime64[D]") - EPOCH64).astype(np.int64)
    return start + np.minimum(day_index, month_len - 1)


def _grouped(major: np.ndarray) -> pl.Series:
    """Whole units → "12,345" (thousands separated with commas), each row formatted by its magnitude."""
    frame = pl.DataFrame({"m": major})
    m = pl.col("m")

    def z3(x: pl.Expr) -> pl.Expr:
        return x.cast(pl.Utf8).str.zfill(3)

    comma = pl.lit(",")
    out = frame.select((m % 1000).cast(pl.Utf8)).to_series()
    groups = [
        (1000, 10**6, [(m // 1000).cast(pl.Utf8), comma, z3(m % 1000)]),
        (10**6, 10**9, [(m // 10**6).cast(pl.Utf8), comma, z3(m // 1000 % 1000), comma, z3(m % 1000)]),
        (10**9, None, [(m // 10**9).cast(pl.Utf8), comma, z3(m // 10**6 % 1000), comma, z3(m // 1000 % 1000),
                       comma, z3(m % 1000)]),
    ]  # fmt: skip
    for low, high, parts in groups:
        idx = np.flatnonzero((major >= low) & (major < high) if high else major >= low)
        if len(idx):
            out = out.scatter(idx, frame[idx].select(pl.concat_str(parts)).to_series())
    return out


def _cents(values: np.ndarray) -> pl.Series:
    return pl.Series(values % 100).cast(pl.Utf8).str.zfill(2)


def amount_text(values: np.ndarray, style: np.ndarray | None) -> pl.Series:
    """Minor units as a file writes them. `style` indexes ZH_AMOUNT_STYLES per row; None = "1,234.50"
    everywhere (US files). The rare styles are formatted only on their own rows."""
    v = np.asarray(values, dtype=np.int64)
    if style is None:
        return pl.select(
            pl.concat_str([pl.lit(_grouped(v // 100)), pl.lit("."), pl.lit(_cents(v))])
        ).to_series()
    plain = pl.select(
        pl.concat_str([pl.lit(pl.Series(v // 100)).cast(pl.Utf8), pl.lit("."), pl.lit(_cents(v))])
    ).to_series()
    out = plain
    for k in (1, 2, 3):
        idx = np.flatnonzero(style == k)
        if not len(idx):
            continue
        sub = v[idx]
        if k == 2:  # 12345.67元
            text = pl.select(pl.concat_str([pl.lit(plain.gather(idx)), pl.lit("元")])).to_series()
        else:  # ¥12,345.67 or 12,345.67
            prefix = "¥" if k == 1 else ""
            grouped = pl.concat_str(
                [pl.lit(prefix), pl.lit(_grouped(sub // 100)), pl.lit("."), pl.lit(_cents(sub))]
            )
            text = pl.select(grouped).to_series()
        out = out.scatter(idx, text)
    return out


def date_text(days: np.ndarray, style: np.ndarray | None) -> pl.Series:
    """Dates as a file writes them: ISO, or per row a style from ZH_DATE_STYLES."""
    frame = pl.DataFrame({"d": date_series("d", days)})
    out = frame.select(pl.col("d").dt.strftime(ZH_DATE_STYLES[0][0])).to_series()
    if style is None:
        return out
    for k, (fmt, _) in enumerate(ZH_DATE_STYLES[1:], start=1):
        idx = np.flatnonzero(style == k)
        if len(idx):
            out = out.scatter(idx, frame[idx].select(pl.col("d").dt.strftime(fmt)).to_series())
    return out


def rate_text(bp: np.ndarray, percent: np.ndarray | None) -> pl.Series:
    """Basis points → "0.1825", or "18.25%" on rows flagged `percent`."""
    frame = pl.DataFrame({"bp": np.asarray(bp, dtype=np.int64)})
    b = pl.col("bp")
    out = frame.select(
        pl.concat_str([(b // 10000).cast(pl.Utf8), pl.lit("."), (b % 10000).cast(pl.Utf8).str.zfill(4)])
    ).to_series()
    if percent is not None:
        idx = np.flatnonzero(percent)
        if len(idx):
            pct = pl.concat_str(
                [(b // 100).cast(pl.Utf8), pl.lit("."), (b % 100).cast(pl.Utf8).str.zfill(2), pl.lit("%")]
            )
            out = out.scatter(idx, frame[idx].select(pct).to_series())
    return out


def row_styles(rng: np.random.Generator, n: int, messy: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-row amount style, date style and percent-rate flag; all canonical when not `messy`."""
    amount_style = pick(rng, [w for _, w in ZH_AMOUNT_STYLES], n)
    date_style = pick(rng, [w for _, w in ZH_DATE_STYLES], n)
    percent = rng.random(n) < ZH_PERCENT_RATE_SHARE
    if not messy:
        return np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, bool)
    return amount_style, date_style, percent
