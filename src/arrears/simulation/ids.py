"""Vectorised generators for identity numbers and phone numbers: integers in numpy, text via Polars."""

from __future__ import annotations

import numpy as np
import polars as pl

from arrears.portfolio.identity import CHECK_CHARS, CHECK_WEIGHTS

_EPOCH = np.datetime64("1970-01-01", "D")


def date_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Days since 1970-01-01 → (year, month, day) integer arrays."""
    d = _EPOCH + np.asarray(days, dtype=np.int64).astype("timedelta64[D]")
    months = d.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def _weighted_digits(values: np.ndarray, weights: tuple[int, ...]) -> np.ndarray:
    """Σ digit × weight over the len(weights) decimal digits of each value (most significant first)."""
    total = np.zeros(len(values), dtype=np.int64)
    rest = np.asarray(values, dtype=np.int64).copy()
    for w in reversed(weights):
        total += (rest % 10) * w
        rest //= 10
    return total


def cn_id_parts(
    region_codes: np.ndarray, birth_days: np.ndarray, male: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The first 17 digits of identity numbers as integers, and their check remainders (0–10).

    Region code, birth date YYYYMMDD, then a sequence code whose parity gives the gender (odd = male);
    the remainder is Σ digit × weight mod 11 (ISO 7064 MOD 11-2, GB 11643-1999)."""
    n = len(region_codes)
    region = np.asarray(region_codes, dtype=np.int64)
    year, month, day = date_parts(birth_days)
    birth = year * 10000 + month * 100 + day
    odd = 2 * rng.integers(0, 500, size=n) + 1  # 001–999
    even = 2 * rng.integers(1, 500, size=n)  # 002–998
    seq = np.where(male, odd, even)
    w = CHECK_WEIGHTS
    remainder = (
        _weighted_digits(region, w[0:6]) + _weighted_digits(birth, w[6:14]) + _weighted_digits(seq, w[14:17])
    ) % 11
    first17 = region * 10**11 + birth * 1000 + seq
    return first17, remainder


def cn_id_text(first17: np.ndarray, remainder: np.ndarray) -> pl.Series:
    """17 digits (no leading zero: region codes start at 11) and the check character, as text."""
    body = pl.Series(np.asarray(first17, dtype=np.int64)).cast(pl.Utf8)
    check = pl.Series(list(CHECK_CHARS), dtype=pl.Utf8).gather(np.asarray(remainder, dtype=np.int64))
    return pl.select(pl.concat_str([pl.lit(body), pl.lit(check)])).to_series()


def cn_mobiles(prefixes: np.ndarray, rng: np.random.Generator) -> pl.Series:
    """11-digit mainland mobile numbers: a 3-digit carrier prefix (1xx) and 8 random digits."""
    number = np.asarray(prefixes, dtype=np.int64) * 10**8 + rng.integers(0, 10**8, size=len(prefixes))
    return pl.Series(number).cast(pl.Utf8)


def us_exchanges() -> np.ndarray:
    """Central-office codes a real subscriber number can have: NXX with N = 2–9, no N11 service codes,
    not 555 (directory/fiction) nor 950/958/959/976 (special use)."""
    codes = np.arange(200, 1000)
    bad = (codes % 100 == 11) | np.isin(codes, [555, 950, 958, 959, 976])
    return codes[~bad]


def us_numbers(area_codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """10-digit NANP numbers (area code, exchange, line) as integers."""
    n = len(area_codes)
    exchanges = us_exchanges()
    ex = exchanges[rng.integers(0, len(exchanges), size=n)]
    return np.asarray(area_codes, dtype=np.int64) * 10**7 + ex * 10**4 + rng.integers(0, 10000, size=n)
