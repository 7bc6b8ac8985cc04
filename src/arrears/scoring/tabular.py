"""Any labelled table → typed columns → a numeric model matrix. Pure: Polars frames in, NumPy out (R9).

A table arrives as text (a CSV read with every column as a string) or already typed (a Polars frame
built by the nightly batch). `infer_spec` decides once, at fit time, what each column is:

- numeric      every non-missing value is a number (``12``, ``-3.5``, ``1.00E+05``)
- boolean      every value is one of true/false, yes/no, t/f, y/n, 是/否
- date         every value parses with one date or date-time format (ISO ``2025-03-31``,
               ``2025/03/31``, ``2025-03-31 14:05:00``, ``2025-03-31T14:05:00+08:00`` …);
               it becomes three numeric features: days since 1970-01-01, month, weekday
- categorical  anything else; the most frequent values get codes, rare ones share an "other" code

`encode` then turns any table with those columns into the same matrix, at fit and at scoring time:
missing values become NaN (LightGBM routes them), an unseen category becomes "other" when the
training table had one and missing otherwise, and a column the model needs but the table lacks is
an error naming it. Bad values are errors naming the row (1-based data row; the file line is one
more because of the header), the column and the value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from arrears.core.errors import ValidationFailed

NULL_TOKENS: tuple[str, ...] = ("", "NA", "N/A", "n/a", "#N/A", "NaN", "nan", "null", "NULL", "None", "none")
TRUE_TOKENS = frozenset({"true", "yes", "t", "y", "是"})
FALSE_TOKENS = frozenset({"false", "no", "f", "n", "否"})
DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%z",
)
MAX_CATEGORIES = 200
# A column this close to numeric (or to one date format) is almost surely a typo, not a category.
NEAR_KIND_SHARE = 0.95
NEAR_KIND_MIN_VALUES = 20

KINDS = ("numeric", "boolean", "categorical", "date")


class TableError(ValidationFailed):
    """Bad input table: names the column and, where there is one, the 1-based data row."""

    code = "bad_table"

    def __init__(self, message: str, *, column: str | None = None, row: int | None = None) -> None:
        where = []
        if row is not None:
            where.append(f"row {row} (line {row + 1})")
        if column is not None:
            where.append(f"column {column!r}")
        prefix = (", ".join(where) + ": ") if where else ""
        super().__init__(prefix + message, details={"column": column, "row": row})
        self.column = column
        self.row = row


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: str  # one of KINDS
    categories: tuple[str, ...] = ()  # categorical: code i ↔ categories[i]
    has_other: bool = False  # categorical: rare values at fit time share code len(categories)
    date_format: str | None = None  # date given as text: the one format that parsed all of it

    def feature_names(self) -> list[str]:
        if self.kind == "date":
            return [f"{self.name}__days", f"{self.name}__month", f"{self.name}__weekday"]
        return [self.name]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "categories": list(self.categories),
            "has_other": self.has_other,
            "date_format": self.date_format,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ColumnSpec:
        kind = str(d["kind"])
        if kind not in KINDS:
            raise ValueError(f"unknown column kind {kind!r}")
        return cls(
            name=str(d["name"]),
            kind=kind,
            categories=tuple(str(c) for c in d.get("categories", [])),
            has_other=bool(d.get("has_other", False)),
            date_format=d.get("date_format"),
        )


@dataclass(frozen=True)
class TableSpec:
    columns: tuple[ColumnSpec, ...]
    dropped: dict[str, str] = field(default_factory=dict)  # column → why it is not a feature

    @property
    def feature_names(self) -> list[str]:
        return [f for c in self.columns for f in c.feature_names()]

    @property
    def categorical_features(self) -> list[int]:
        """Matrix column indices holding category codes (for LightGBM's categorical_feature)."""
        out, i = [], 0
        for c in self.columns:
            if c.kind == "categorical":
                out.append(i)
            i += len(c.feature_names())
        return out

    def source_of(self, feature: str) -> str:
        for c in self.columns:
            if feature in c.feature_names():
                return c.name
        raise KeyError(feature)

    def to_dict(self) -> dict[str, Any]:
        return {"columns": [c.to_dict() for c in self.columns], "dropped": dict(self.dropped)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TableSpec:
        return cls(
            columns=tuple(ColumnSpec.from_dict(c) for c in d["columns"]),
            dropped={str(k): str(v) for k, v in d.get("dropped", {}).items()},
        )


@dataclass
class EncodeReport:
    rows: int
    unseen_categories: dict[str, int] = field(default_factory=dict)  # column → values not seen at fit


# ---------------------------------------------------------------------------------------------- text


def clean_text(df: pl.DataFrame) -> pl.DataFrame:
    """Strip text cells and turn the usual spellings of "missing" into nulls; other columns untouched."""
    exprs = []
    for name, dtype in df.schema.items():
        if dtype == pl.String:
            s = pl.col(name).str.strip_chars()
            exprs.append(pl.when(s.is_in(list(NULL_TOKENS))).then(None).otherwise(s).alias(name))
    return df.with_columns(exprs) if exprs else df


def _first_bad_row(mask: pl.Series) -> int | None:
    idx = mask.arg_true()
    return int(idx[0]) + 1 if len(idx) else None


def _bool_expr(col: pl.Expr) -> pl.Expr:
    low = col.str.to_lowercase()
    return (
        pl.when(low.is_in(list(TRUE_TOKENS)))
        .then(pl.lit(1.0))
        .when(low.is_in(list(FALSE_TOKENS)))
        .then(pl.lit(0.0))
        .otherwise(None)
    )


def _parse_datetime(col: pl.Expr, fmt: str) -> pl.Expr:
    parsed = col.str.to_datetime(fmt, strict=False, time_unit="us")
    if "%z" in fmt:
        parsed = parsed.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return parsed


def _numeric_text(series: pl.Series) -> pl.Series:
    return series.cast(pl.Float64, strict=False)


# ------------------------------------------------------------------------------------------ inference


def infer_spec(
    df: pl.DataFrame,
    *,
    exclude: Iterable[str] = (),
    categorical: Iterable[str] = (),
    max_categories: int = MAX_CATEGORIES,
) -> TableSpec:
    """Decide each column's kind from the training table (see the module docstring)."""
    excluded = set(exclude)
    forced = set(categorical)
    unknown = forced - set(df.columns)
    if unknown:
        raise TableError("asked to treat as categorical but not in the table", column=sorted(unknown)[0])
    df = clean_text(df)
    n = df.height
    columns: list[ColumnSpec] = []
    dropped: dict[str, str] = {}
    for name in df.columns:
        if name in excluded:
            continue
        s = df.get_column(name)
        nonnull = s.drop_nulls()
        if nonnull.len() == 0:
            dropped[name] = "empty"
            continue
        if nonnull.n_unique() == 1 and nonnull.len() == n:
            dropped[name] = "constant"
            continue
        if name in forced:
            spec = _categorical_spec(name, s.cast(pl.String), max_categories)
        else:
            spec = _infer_one(name, s, max_categories)
        if spec is None:
            dropped[name] = f"looks like an identifier ({nonnull.n_unique()} distinct text values)"
            continue
        columns.append(spec)
    if not columns:
        raise TableError("no usable feature columns (every column is empty, constant or an identifier)")
    return TableSpec(columns=tuple(columns), dropped=dropped)


def _infer_one(name: str, s: pl.Series, max_categories: int) -> ColumnSpec | None:
    dtype = s.dtype
    if dtype == pl.Boolean:
        return ColumnSpec(name, "boolean")
    if dtype.is_numeric():
        return ColumnSpec(name, "numeric")
    if dtype in (pl.Date, pl.Datetime) or isinstance(dtype, pl.Datetime):
        return ColumnSpec(name, "date")
    text = s.cast(pl.String)
    present = text.is_not_null()
    values = text.drop_nulls()
    total = values.len()

    as_num = _numeric_text(text)
    bad_num = present & as_num.is_null()
    n_bad = int(bad_num.sum())
    if n_bad == 0:
        return ColumnSpec(name, "numeric")
    if total >= NEAR_KIND_MIN_VALUES and n_bad <= (1 - NEAR_KIND_SHARE) * total:
        row = _first_bad_row(bad_num)
        value = text[row - 1] if row else None
        raise TableError(
            f"{value!r} is not a number, but {total - n_bad} of {total} values are; fix the value "
            "or declare the column categorical (--categorical)",
            column=name,
            row=row,
        )

    as_bool = pl.select(_bool_expr(pl.lit(values))).to_series()
    if as_bool.null_count() == 0:
        return ColumnSpec(name, "boolean")

    for fmt in DATE_FORMATS:
        parsed = pl.select(_parse_datetime(pl.lit(text), fmt)).to_series()
        bad = present & parsed.is_null()
        n_bad_date = int(bad.sum())
        if n_bad_date == 0:
            return ColumnSpec(name, "date", date_format=fmt)
        if total >= NEAR_KIND_MIN_VALUES and n_bad_date <= (1 - NEAR_KIND_SHARE) * total:
            row = _first_bad_row(bad)
            value = text[row - 1] if row else None
            raise TableError(
                f"{value!r} is not a date in the form {fmt}, but nearly every other value is; fix the "
                "value or declare the column categorical (--categorical)",
                column=name,
                row=row,
            )

    return _categorical_spec(name, text, max_categories)


def _categorical_spec(name: str, text: pl.Series, max_categories: int) -> ColumnSpec | None:
    counts = (
        text.drop_nulls()
        .value_counts(name="n")
        .rename({text.name: "value"})
        .sort(["n", "value"], descending=[True, False])
    )
    distinct = counts.height
    nonnull = int(counts["n"].sum())
    # free text and keys: nearly one value per row carries no pattern a model can reuse
    if distinct > max(50, nonnull // 2):
        return None
    kept = counts.head(max_categories)
    return ColumnSpec(
        name,
        "categorical",
        categories=tuple(str(v) for v in kept["value"].to_list()),
        has_other=distinct > max_categories,
    )


# ------------------------------------------------------------------------------------------- encoding


def require_columns(df: pl.DataFrame, names: Sequence[str], what: str = "the model") -> None:
    missing = [c for c in names if c not in df.columns]
    if missing:
        raise TableError(
            f"{what} needs this column but the table does not have it "
            f"({len(missing)} missing: {', '.join(missing[:10])})",
            column=missing[0],
        )


def encode(df: pl.DataFrame, spec: TableSpec) -> tuple[np.ndarray, EncodeReport]:
    """The model matrix (float64, rows × spec.feature_names) and what had to be tolerated."""
    require_columns(df, [c.name for c in spec.columns])
    df = clean_text(df.select([c.name for c in spec.columns]))
    report = EncodeReport(rows=df.height)
    exprs: list[pl.Expr] = []
    checks: list[tuple[ColumnSpec, pl.Expr, str]] = []
    for c in spec.columns:
        dtype = df.schema[c.name]
        col = pl.col(c.name)
        if c.kind == "numeric":
            if dtype == pl.String:
                val = col.cast(pl.Float64, strict=False)
                checks.append((c, col.is_not_null() & val.is_null(), "is not a number"))
            elif dtype.is_numeric() or dtype == pl.Boolean:
                val = col.cast(pl.Float64)
            else:
                raise TableError(f"expected numbers, the table holds {dtype}", column=c.name)
            checks.append((c, val.is_infinite(), "is not a finite number"))
            exprs.append(val.alias(c.name))
        elif c.kind == "boolean":
            if dtype == pl.String:
                val = _bool_expr(col)
                checks.append((c, col.is_not_null() & val.is_null(), "is not true/false (yes/no, 是/否)"))
            elif dtype == pl.Boolean:
                val = col.cast(pl.Float64)
            elif dtype.is_numeric():
                val = col.cast(pl.Float64)
                checks.append((c, val.is_not_null() & ~val.is_in([0.0, 1.0]), "is not 0/1"))
            else:
                raise TableError(f"expected true/false, the table holds {dtype}", column=c.name)
            exprs.append(val.alias(c.name))
        elif c.kind == "categorical":
            text = col.cast(pl.String)
            mapping = {v: float(i) for i, v in enumerate(c.categories)}
            other = float(len(c.categories)) if c.has_other else None
            val = text.replace_strict(mapping, default=other, return_dtype=pl.Float64)
            exprs.append(val.alias(c.name))
            exprs.append(
                (text.is_not_null() & ~text.is_in(list(c.categories))).sum().alias(f"__unseen__{c.name}")
            )
        else:  # date
            if dtype == pl.String:
                fmt = c.date_format or DATE_FORMATS[0]
                when = _parse_datetime(col, fmt)
                checks.append((c, col.is_not_null() & when.is_null(), f"is not a date in the form {fmt}"))
            elif dtype == pl.Date or isinstance(dtype, pl.Datetime):
                when = col.cast(pl.Datetime("us"))
                if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
                    when = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None).cast(pl.Datetime("us"))
            else:
                raise TableError(f"expected dates, the table holds {dtype}", column=c.name)
            days = when.dt.epoch("us").cast(pl.Float64) / 86_400_000_000.0
            exprs.append(days.alias(f"{c.name}__days"))
            exprs.append(when.dt.month().cast(pl.Float64).alias(f"{c.name}__month"))
            exprs.append(when.dt.weekday().cast(pl.Float64).alias(f"{c.name}__weekday"))

    if checks:
        flags = df.select([e.fill_null(False).alias(f"__bad{i}") for i, (_, e, _) in enumerate(checks)])
        for i, (c, _, reason) in enumerate(checks):
            flag = flags.get_column(f"__bad{i}")
            if flag.any():
                row = _first_bad_row(flag)
                assert row is not None
                raise TableError(f"{df.get_column(c.name)[row - 1]!r} {reason}", column=c.name, row=row)

    out = df.select(exprs)
    unseen_cols = [c for c in out.columns if c.startswith("__unseen__")]
    if unseen_cols:
        counts = out.select(unseen_cols).row(0)
        report.unseen_categories = {
            name.removeprefix("__unseen__"): int(v) for name, v in zip(unseen_cols, counts, strict=True) if v
        }
        out = out.drop(unseen_cols)
    if out.width != len(spec.feature_names):  # pragma: no cover - a programming error, not bad input
        raise AssertionError("encoded width does not match the spec")
    return out.to_numpy().astype(np.float64, copy=False), report


def parse_target(df: pl.DataFrame, target: str) -> np.ndarray:
    """The label as 0/1 (accepts 0/1, 0.0/1.0, true/false, yes/no, 是/否); anything else is an error."""
    require_columns(df, [target], what="the target")
    s = clean_text(df.select(target)).get_column(target)
    if s.dtype == pl.Boolean or s.dtype.is_numeric():
        val = s.cast(pl.Float64)
    else:
        num = s.cast(pl.Float64, strict=False)
        boo = pl.select(_bool_expr(pl.lit(s))).to_series()
        val = num.fill_null(boo)
    ok = val.is_in([0.0, 1.0]).fill_null(False)
    if not bool(ok.all()):
        row = _first_bad_row(~ok)
        assert row is not None
        raw = s[row - 1]
        reason = "is missing" if raw is None else f"{raw!r} is not a 0/1 label"
        raise TableError(f"the target {reason}", column=target, row=row)
    y = val.to_numpy().astype(np.int8)
    if y.min() == y.max():
        raise TableError(f"the target has only one class ({int(y[0])}); a model needs both", column=target)
    return y
