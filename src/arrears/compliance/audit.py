"""Audit mode: what the guard would have decided before every attempt of a contact log (R22, R27).

The log is decided columnar — sort once, then per-group window counts over the sorted rows — and
gives exactly the answers of replaying the scalar guard row by row (`audit_scalar`, the reference).
Attempts that happened count toward later caps even when they were themselves violations.

The same engine checks a day's planned contacts in the nightly batch (`check_planned`): each planned
contact is decided against the history alone, as the scalar guard would decide it.

Log columns: id, at, account, person, party, channel, contact, outcome, consent, kind, text, tz
(optional: scope, staff_count, ids_shown). `at` is ISO 8601 with an offset, or local time read in
`tz`; `kind` is `attempt` (default) or an event kind; `consent` is yes/no. For events, `scope` says
what a consent covers (call, recontact, time_of_day[:HH:MM-HH:MM]) or what an opt-out covers; without
it an opt-out covers the row's contact, else its channel, else every electronic channel of the person,
and a consent recorded on a call row is a call consent (US-F3), else a general one. Besides the
event kinds of the guard, `time_barred` marks an account whose debt is time-barred (US-B1).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import IO, Any

import numpy as np
import polars as pl

from arrears.compliance.guard import (
    Attempt,
    ContactHistory,
    ContactPoint,
    Decision,
    Event,
    Guard,
    ProposedContact,
    decision_from,
)
from arrears.compliance.packs import Pack, minutes
from arrears.compliance.rules import (
    CHANNELS,
    DAY_US,
    EVENT_KINDS,
    OUTCOMES,
    PARTIES,
    THIRD_PARTIES,
    UNKNOWN_OUTCOME,
    Reason,
    ScreenFn,
    TextChecker,
    consent_classes,
    reason,
    text_violations,
    time_consent_covers,
    valid_consent_scope,
)
from arrears.compliance.timezones import (
    contact_kind,
    contact_table,
    day_start,
    from_us,
    is_zone,
    local_minute,
    local_minutes_and_days,
    local_to_utc_us,
    to_us,
)
from arrears.core.errors import ValidationFailed

COLUMNS = (
    "id",
    "at",
    "account",
    "person",
    "party",
    "channel",
    "contact",
    "outcome",
    "consent",
    "kind",
    "text",
    "tz",
)
OPTIONAL = ("scope", "staff_count", "ids_shown")
REQUIRED = ("id", "at", "account", "person")
_YES = {"yes", "y", "true", "1", "是"}
_NO = {"no", "n", "false", "0", "否", ""}
_EPOCH_NAIVE = datetime(1970, 1, 1)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


class LogError(ValidationFailed):
    """A contact log that cannot be read: names the row, the field and the reason."""

    code = "log_invalid"


# ---------------------------------------------------------------------------------------------- reading


def read_log(source: str | Path | bytes | io.IOBase) -> pl.DataFrame:
    """Read and validate a contact log CSV into the normalised frame (`at_us` in UTC microseconds)."""
    name = str(source) if isinstance(source, str | Path) else "log"
    try:
        raw = pl.read_csv(source, infer_schema=False)  # type: ignore[arg-type]
    except FileNotFoundError:
        raise LogError(f"{name}: no such file") from None
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        raise LogError(f"{name}: not a readable CSV file ({type(exc).__name__}: {exc})") from None
    return normalise_log(raw, name)


def normalise_log(raw: pl.DataFrame, name: str = "log") -> pl.DataFrame:
    """Validate raw string columns (as read from CSV) and type them; the first bad row is reported."""
    cols = {c.strip().lower(): c for c in raw.columns}
    required = [c for c in REQUIRED if not (c == "at" and "at_us" in raw.columns)]
    missing = [c for c in required if c not in cols]
    if missing:
        raise LogError(f"{name}: missing column(s) {', '.join(missing)} (expected {','.join(COLUMNS)})")

    def column(c: str) -> pl.Expr:
        if c not in cols:
            return pl.lit(None, pl.String).alias(c)
        if c in _FEW_VALUES:  # few distinct values: tidy each distinct value once
            return pl.col(cols[c]).cast(pl.String).alias(c)
        e = pl.col(cols[c]).cast(pl.String).str.strip_chars()
        return pl.when(e == "").then(None).otherwise(e).alias(c)

    df = raw.select([column(c) for c in (*COLUMNS, *OPTIONAL)]).with_row_index("_row", offset=1)
    tidied = {c: _tidy(df[c], c, lower=c in _LOWER) for c in _FEW_VALUES}
    df = df.with_columns(tidy for tidy, _ in tidied.values() if tidy is not None)
    distinct = {c: values for c, (_, values) in tidied.items()}  # of each few-valued column, tidied
    df = df.with_columns(pl.col("kind").fill_null("attempt"))

    def fail(mask: pl.Expr, field: str, why: Callable[[dict[str, Any]], str]) -> None:
        bad = df.filter(mask)
        if bad.height:
            row = bad.row(0, named=True)
            ident = f" (id {row['id']})" if row.get("id") else ""
            more = f"; {bad.height - 1} more row(s) like it" if bad.height > 1 else ""
            raise LogError(f"{name}: row {row['_row']}{ident}: {field}: {why(row)}{more}")

    kinds = ["attempt", *EVENT_KINDS]
    att = pl.col("kind") == "attempt"
    zones = [z for z in distinct["tz"] if not is_zone(z)]
    scopes = df.filter(pl.col("kind") == "consent")["scope"].drop_nulls().unique().to_list()
    bad_scopes = [s for s in scopes if not valid_consent_scope(s)]
    staff = pl.col("staff_count").cast(pl.Int64, strict=False)
    yes_no = [*_YES, *_NO]
    checks: list[tuple[pl.Expr, str, Callable[[dict[str, Any]], str]]] = [
        *((pl.col(c).is_null(), c, lambda r: "is empty") for c in required),
        (
            pl.col("id").is_duplicated(),  # looked at only when the ids are not unique (below)
            "id",
            lambda r: f"{r['id']!r} appears more than once",
        ),
        (~pl.col("kind").is_in(kinds), "kind", lambda r: f"{r['kind']!r} is not one of {', '.join(kinds)}"),
        (att & pl.col("party").is_null(), "party", lambda r: "is empty for an attempt"),
        (
            pl.col("party").is_not_null() & ~pl.col("party").is_in(PARTIES),
            "party",
            lambda r: f"{r['party']!r} is not one of {', '.join(PARTIES)}",
        ),
        (att & pl.col("channel").is_null(), "channel", lambda r: "is empty for an attempt"),
        (
            pl.col("channel").is_not_null() & ~pl.col("channel").is_in(CHANNELS),
            "channel",
            lambda r: f"{r['channel']!r} is not one of {', '.join(CHANNELS)}",
        ),
        (att & pl.col("contact").is_null(), "contact", lambda r: "is empty for an attempt"),
        (
            pl.col("outcome").is_not_null() & ~pl.col("outcome").is_in(OUTCOMES),
            "outcome",
            lambda r: f"{r['outcome']!r} is not one of {', '.join(OUTCOMES)}",
        ),
        (
            pl.col("consent").is_not_null() & ~pl.col("consent").is_in(yes_no),
            "consent",
            lambda r: f"{r['consent']!r} is not yes or no",
        ),
        (pl.col("tz").is_in(zones), "tz", lambda r: f"{r['tz']!r} is not an IANA time zone"),
        (
            (pl.col("kind") == "consent") & pl.col("scope").is_in(bad_scopes),
            "scope",
            lambda r: f"{r['scope']!r} is not call, recontact or time_of_day[:HH:MM-HH:MM]",
        ),
        (
            pl.col("staff_count").is_not_null() & (staff.is_null() | (staff < 0)),
            "staff_count",
            lambda r: f"{r['staff_count']!r} is not a whole number",
        ),
        (
            pl.col("ids_shown").is_not_null() & ~pl.col("ids_shown").is_in(yes_no),
            "ids_shown",
            lambda r: f"{r['ids_shown']!r} is not yes or no",
        ),
    ]

    def outside(c: str, allowed: Any) -> bool:
        return any(v not in allowed for v in distinct[c])

    staff_values = pl.Series(sorted(distinct["staff_count"]), dtype=pl.String).cast(pl.Int64, strict=False)
    # checks that the distinct values (or null counts) answer need no pass over the rows
    known: list[bool | None] = [
        *(df[c].null_count() > 0 for c in required),
        None,
        outside("kind", kinds),
        None,
        outside("party", PARTIES),
        None,
        outside("channel", CHANNELS),
        None,
        outside("outcome", OUTCOMES),
        outside("consent", yes_no),
        bool(zones),
        bool(bad_scopes),
        bool(staff_values.is_null().any() or (staff_values < 0).any()),
        outside("ids_shown", yes_no),
    ]
    rows = [
        ((pl.col("id").n_unique() != pl.len()) if field == "id" and i == len(required) else m.any()).alias(
            f"c{i}"
        )
        for i, ((m, field, _), k) in enumerate(zip(checks, known, strict=True))
        if k is None
    ]
    scanned = iter(df.select(rows).row(0))  # one pass over the rows for the others
    failing = [next(scanned) if k is None else k for k in known]
    for bad, (mask, field, why) in zip(failing, checks, strict=True):
        if bad:  # the first failing check is then located and reported
            fail(mask, field, why)
    df = df.with_columns(
        pl.col("consent").is_in(list(_YES)).fill_null(False).alias("consent"),
        staff.alias("staff_count"),
        pl.col("ids_shown").is_in(list(_YES)).alias("ids_shown"),
    )
    if "at_us" in raw.columns:  # already parsed (planned contacts given as aware datetimes)
        df = df.with_columns(raw["at_us"].cast(pl.Int64).alias("at_us"))
    else:
        df = df.with_columns(_parse_at(df, fail))
    return _default_scopes(df.drop("at"))


_FEW_VALUES = ("party", "channel", "outcome", "consent", "kind", "tz", "scope", "staff_count", "ids_shown")
_LOWER = ("kind", "party", "channel", "outcome", "consent", "ids_shown")


def _tidy(col: pl.Series, name: str, lower: bool) -> tuple[pl.Expr | None, set[str]]:
    """Stripped (and lower-cased) spelling of each distinct value, empty → null (None if all are tidy),
    and the distinct values once tidied."""
    mapping: dict[str, str | None] = {}
    changed: list[str] = []
    for v in col.drop_nulls().unique().to_list():
        t = v.strip()
        t = t.lower() if lower else t
        mapping[v] = t or None
        if mapping[v] != v:
            changed.append(v)
    values = {t for t in mapping.values() if t is not None}
    if not changed:
        return None, values
    if all(mapping[v] is None for v in changed):  # usually only blanks to clear: no lookup per row
        return pl.when(pl.col(name).is_in(changed)).then(None).otherwise(pl.col(name)).alias(name), values
    return pl.col(name).replace_strict(mapping, default=None, return_dtype=pl.String), values


_AWARE = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z")
_NAIVE = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M")


_USUAL_AT = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:[0-5]\d[+-]\d\d:\d\d$"


def _usual_at(at: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """UTC microseconds of `at` read as YYYY-MM-DDTHH:MM:SS±HH:MM, and where that spelling holds (with a
    valid date, time and offset): there the answer is the one of the first format of `_AWARE`."""
    local = at.str.slice(0, 19).str.to_datetime("%Y-%m-%dT%H:%M:%S", strict=False, time_unit="us")
    hours = at.str.slice(20, 2).cast(pl.Int64, strict=False)
    mins = at.str.slice(23, 2).cast(pl.Int64, strict=False)
    sign = pl.when(at.str.slice(19, 1) == "-").then(-1).otherwise(1)
    us = local.dt.epoch("us") - sign * (hours * 60 + mins) * 60_000_000
    ok = at.str.contains(_USUAL_AT) & local.is_not_null() & (hours <= 23) & (mins <= 59)
    return us, ok.fill_null(False)


def _parse_at(df: pl.DataFrame, fail: Callable[..., None]) -> pl.Series:
    """`at` → UTC microseconds: ISO 8601 with an offset, or local time read in the row's `tz`."""
    n = df.height
    out = np.zeros(n, dtype=np.int64)
    aware = np.zeros(n, dtype=bool)
    naive = np.zeros(n, dtype=bool)
    # the usual spelling (YYYY-MM-DDTHH:MM:SS±HH:MM) is read in one pass; the rest goes through every step
    usual, is_usual = _usual_at(pl.col("at"))
    at_us, done = (s.to_numpy() for s in df.select(usual.fill_null(0).alias("us"), is_usual.alias("ok")))
    out[done], aware[done] = at_us[done], True
    todo = np.nonzero(~done)[0]
    rows = np.arange(len(todo))
    if len(todo):
        text = (
            df["at"].gather(todo).str.replace(" ", "T", literal=True).str.replace("Z", "+00:00", literal=True)
        )
    for fmt, flag in [*((f, aware) for f in _AWARE), *((f, naive) for f in _NAIVE)]:
        if not len(rows):
            break
        got = text.gather(rows).str.to_datetime(fmt, strict=False, time_unit="us").dt.epoch("us")
        ok = got.is_not_null().to_numpy()
        out[todo[rows[ok]]] = got.filter(pl.Series(ok)).to_numpy()
        flag[todo[rows[ok]]] = True
        rows = rows[~ok]
    todo = todo[rows]
    at_text = df["at"]
    for i in todo.tolist():  # other ISO 8601 spellings
        try:
            t = datetime.fromisoformat(at_text[i])
        except ValueError:
            fail(pl.col("_row") == i + 1, "at", lambda r: f"{r['at']!r} is not an ISO 8601 time")
            raise AssertionError("unreachable") from None
        if t.tzinfo is not None:
            out[i], aware[i] = to_us(t), True
        else:
            out[i], naive[i] = (t - _EPOCH_NAIVE) // timedelta(microseconds=1), True
    if naive.any():
        tz = df["tz"]
        no_zone = naive & tz.is_null().to_numpy()
        if no_zone.any():
            first_row = int(np.nonzero(no_zone)[0][0]) + 1
            fail(
                pl.col("_row") == first_row, "at", lambda r: f"{r['at']!r} has no UTC offset and tz is empty"
            )
        rows = np.nonzero(naive)[0]
        zones = tz.gather(rows)
        for z in zones.unique().to_list():
            sel = rows[(zones == z).to_numpy()]
            out[sel] = local_to_utc_us(z, out[sel])
    return pl.Series("at_us", out, dtype=pl.Int64)


# ------------------------------------------------------------------------------------------- preparing


_KINDS = ("address", "email", "phone")
_PHONE = 2


@dataclass(frozen=True)
class _Contacts:
    """The frame with integer codes from one lookup table of its distinct contact values: `_ckind`
    (index into _KINDS), `_cnorm` (normalised spelling; opt-out scopes in `_snorm` share its codes) and
    `_czone` (index into `zones`: a phone's zones "|"-joined, "" for none); -1 where there is none."""

    df: pl.DataFrame
    zones: list[str]


def with_contacts(df: pl.DataFrame, pack: Pack) -> _Contacts:
    is_opt = pl.col("kind") == "opt_out"
    distinct = df.select(
        pl.col("contact").drop_nulls().unique().implode().alias("contact"),
        pl.col("scope").filter(is_opt).drop_nulls().unique().implode().alias("scope"),
    ).row(0)
    values = pl.Series("value", distinct[0], dtype=pl.String)
    values = pl.concat([values, pl.Series("value", distinct[1], dtype=pl.String)]).unique()
    # each distinct value is looked at once; rows get its codes through the value's index
    table = pl.DataFrame({"value": values}).join(
        contact_table(values, pack.default_region), on="value", how="left", maintain_order="left"
    )
    zones = table["zones"].unique().sort()
    kind_code = table["kind"].replace_strict(_KINDS, range(len(_KINDS)), return_dtype=pl.Int64).to_numpy()
    norm_code = _codes(table["norm"])
    zone_code = table["zones"].replace_strict(zones, range(len(zones)), return_dtype=pl.Int64).to_numpy()
    c_idx = _codes(df["contact"], values)
    opt_rows = np.nonzero((df["kind"] == "opt_out").fill_null(False).to_numpy())[0]
    s_idx = np.full(df.height, -1, dtype=np.int64)
    s_idx[opt_rows] = _codes(df["scope"].gather(opt_rows), values)

    def per_row(codes: np.ndarray, at: np.ndarray) -> pl.Series:
        return pl.Series(np.append(codes.astype(np.int64), -1)[at], dtype=pl.Int64)  # -1 → the trailing -1

    out = df.with_columns(
        per_row(kind_code, c_idx).alias("_ckind"),
        per_row(norm_code, c_idx).alias("_cnorm"),
        per_row(zone_code, c_idx).alias("_czone"),
        per_row(norm_code, s_idx).alias("_snorm"),
    )
    return _Contacts(out, zones.to_list())


def person_zones_of(c: _Contacts) -> dict[str, str]:
    """A default zone per person: the zone of the person's first row (in time order) that shows one —
    its `tz`, else the first zone of its phone number."""
    first_zone = [z.split("|")[0] or None for z in c.zones]
    has_zone = np.array([bool(z) for z in c.zones] + [False], dtype=bool)  # code -1 → False
    df = c.df
    phone = (df["_ckind"].to_numpy() == _PHONE) & has_zone[df["_czone"].to_numpy()]
    rows = df.select("person", "tz", "_czone").filter(pl.col("tz").is_not_null() | pl.Series(phone))
    first = rows.unique(subset=["person"], keep="first", maintain_order=True)
    return {person: tz or first_zone[code] for person, tz, code in first.iter_rows()}


def _codes(s: pl.Series, distinct: pl.Series | None = None) -> np.ndarray:
    """Index of each value of a string column among `distinct` (its distinct non-null values, found here
    if not given): equal values, equal codes; null → -1."""
    if distinct is None:
        distinct = s.drop_nulls().unique()
    if len(distinct) <= _FEW:
        return s.to_frame("v").select(_code_expr("v", distinct)).to_series().to_numpy()
    # many values: a join (an Enum of them would be copied into every expression that names it)
    index = pl.DataFrame({"v": distinct}).with_row_index("_i")
    found = s.to_frame("v").join(index, on="v", how="left", maintain_order="left")["_i"]
    return found.cast(pl.Int64).fill_null(-1).to_numpy()


_FEW = 4096


def _code_expr(name: str, distinct: pl.Series) -> pl.Expr:
    """Index of each value of a string column among `distinct` (its distinct non-null values); null → -1."""
    return pl.col(name).cast(pl.Enum(distinct)).to_physical().cast(pl.Int64).fill_null(-1).alias(name)


class _Grouping:
    """Rows ordered once by (group, position): "before this row in its group" queries are then O(n).

    Positions are the rows' places in the frame sorted by time; a row's group is an integer code
    (-1: no group, never matched).
    """

    def __init__(self, group: np.ndarray) -> None:
        n = len(group)
        self.n = n
        self.group = group
        bits = max(n.bit_length(), 1)
        if int(group.max(initial=-1)) + 1 < 1 << (62 - bits):
            # one sort of (group, position) packed into an integer: keys ascend with the slots and
            # `keys - order + lo` is the key of position `lo` in the same group
            self.keys = ((group.astype(np.int64) + 1) << bits) | np.arange(n, dtype=np.int64)
            self.keys.sort()
            self.order = self.keys & ((1 << bits) - 1)
            g_sorted = self.keys >> bits
        else:  # codes too large to pack: their ranks (same order) keep `keys` within int64
            dense = np.unique(group, return_inverse=True)[1].reshape(-1).astype(np.int64)
            self.order = np.argsort(dense, kind="stable")
            g_sorted = dense[self.order]
            self.keys = g_sorted * n + self.order
        self.rank = np.empty(n, dtype=np.int64)
        self.rank[self.order] = np.arange(n)
        first = np.ones(n, dtype=bool)
        first[1:] = g_sorted[1:] != g_sorted[:-1]
        self.start = np.maximum.accumulate(np.where(first, np.arange(n), 0))  # per sorted slot
        self.valid = group >= 0

    def last_prior(self, qual: np.ndarray) -> np.ndarray:
        """Position of the last qualifying row before each row in its group; -1 if none."""
        n = self.n
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        marks = np.where(qual[self.order], np.arange(n), -1)
        upto = np.maximum.accumulate(marks)
        prev = np.empty(n, dtype=np.int64)
        prev[0] = -1
        prev[1:] = upto[:-1]
        ok = prev >= self.start
        found = np.where(ok, self.order[np.clip(prev, 0, None)], -1)[self.rank]
        return np.where(self.valid, found, -1)

    def count_prior(self, qual: np.ndarray, lo: np.ndarray | None = None) -> np.ndarray:
        """Qualifying rows before each row in its group (only those at positions >= lo, if given)."""
        n = self.n
        cum = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(qual[self.order], out=cum[1:])
        slots = np.arange(n)
        if lo is None:
            lo_slot = self.start
        else:  # queries in slot order are (nearly) sorted, which keeps the search cache-friendly
            lo_slot = np.minimum(np.searchsorted(self.keys, self.keys - self.order + lo[self.order]), slots)
        counts = (cum[slots] - cum[lo_slot])[self.rank]
        return np.where(self.valid, counts, 0)


class _Coded:
    """A column of few distinct strings as integer codes: equality and membership become table lookups."""

    def __init__(self, s: pl.Series) -> None:
        distinct = s.drop_nulls().unique()
        self.values: list[str] = distinct.to_list()
        self.codes = _codes(s, distinct)  # -1 for null

    def isin(self, values: Any, null: bool = False) -> np.ndarray:
        """Whether each row's value is one of `values` (a null row: `null`)."""
        want = set(values)
        return np.array([v in want for v in self.values] + [null], dtype=bool)[self.codes]

    def eq(self, value: str) -> np.ndarray:
        return self.isin((value,))

    def index_in(self, table: Sequence[str]) -> np.ndarray:
        """Each row's index in `table`; -1 for null or a value not in it."""
        where = {v: i for i, v in enumerate(table)}
        return np.array([where.get(v, -1) for v in self.values] + [-1], dtype=np.int64)[self.codes]


# --------------------------------------------------------------------------------------------- deciding


@dataclass
class _Verdicts:
    """Per sorted row: bit masks over `pack.check_order` (blocking / warning), and text findings."""

    viol: np.ndarray
    warn: np.ndarray
    text_index: np.ndarray  # -1, or an index into text_found / text_warn
    text_found: list[dict[tuple[str, str], Reason]]
    text_warn: list[dict[tuple[str, str], Reason]]


def _evaluate(c: _Contacts, pack: Pack, checker: TextChecker, person_zones: Mapping[str, str]) -> _Verdicts:
    """Decide every candidate row (`_cand`) of the frame sorted by (time, order) from the rows before it
    that are history (`_hist`), on two threads (NumPy and Polars do their work outside the GIL)."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="audit") as pool:
        return _decide(c, pack, checker, person_zones, pool)


def _decide(
    c: _Contacts, pack: Pack, checker: TextChecker, person_zones: Mapping[str, str], pool: ThreadPoolExecutor
) -> _Verdicts:
    """Decide every candidate row (`_cand`) of the frame sorted by (time, order) from the rows before it
    that are history (`_hist`). Each rule below mirrors its scalar twin in guard.py."""
    df = c.df
    n = df.height
    order = list(pack.check_order)
    if len(order) > 64:
        raise ValueError(
            "a pack with more than 64 (rule, reason) pairs is not supported by the columnar engine"
        )
    bit = {k: np.uint64(1) << np.uint64(i) for i, k in enumerate(order)}
    viol = np.zeros(n, dtype=np.uint64)
    warn = np.zeros(n, dtype=np.uint64)

    at = df["at_us"].to_numpy().astype(np.int64)
    hist = df["_hist"].to_numpy()
    cand = df["_cand"].to_numpy()
    people = df["person"].drop_nulls().unique()
    coding = [pool.submit(_codes, df["person"], people), pool.submit(_codes, df["account"])]
    kind, party, channel, outcome = (_Coded(df[c]) for c in ("kind", "party", "channel", "outcome"))
    scope = df["scope"]
    hatt = hist & kind.eq("attempt")
    consent = df["consent"].fill_null(False).to_numpy()
    person_code, account_code = (f.result() for f in coding)
    pa_code = (person_code + 1) * (int(account_code.max(initial=0)) + 2) + account_code + 1
    contact_code = df["_cnorm"].to_numpy()
    # the four sorts run two at a time while the zones are worked out (NumPy sorts outside the GIL)
    sorting = [pool.submit(_Grouping, g) for g in (person_code, account_code, pa_code, contact_code)]
    utc_day = at // DAY_US

    def active(rid: str) -> np.ndarray:
        r = pack.get(rid)
        if r is None:
            return np.zeros(n, dtype=bool)
        return cand & (utc_day >= r.effective_from.toordinal() - _EPOCH_ORDINAL)

    pending: list[tuple[tuple[str, str], np.ndarray, np.ndarray | None]] = []

    def mark(key: tuple[str, str], mask: np.ndarray, into: np.ndarray | None = None) -> None:
        pending.append((key, mask, into))  # applied once every rule has run (list.append is atomic)

    def lo_of(ws: np.ndarray) -> np.ndarray:
        return np.searchsorted(at, ws, side="left").astype(np.int64)

    def ev(k: str) -> np.ndarray:
        return hist & kind.eq(k)

    # -- contacts: normalised codes (contacts of attempts and opt-out scopes share one code space)
    scope_code = df["_snorm"].to_numpy()
    is_phone = df["_ckind"].to_numpy() == _PHONE

    # -- zones of every candidate (explicit tz, else phone zones, else the person's or the pack's),
    # as indexes into one small list of zone names ("|"-joined tuples)
    names: dict[str, int] = {}

    def ids(values: Sequence[str | None]) -> np.ndarray:
        return np.array([names.setdefault(v, len(names)) if v else -1 for v in values] + [-1], dtype=np.int64)

    phone_id = ids(c.zones)[df["_czone"].to_numpy()]  # -1 → the trailing -1
    tz_values = df["tz"].drop_nulls().unique()
    tz_id = ids(tz_values.to_list())[_codes(df["tz"], tz_values)]  # -1 (no tz) → the trailing -1
    pz_id = ids([person_zones.get(p) for p in people.to_list()])[person_code]
    default_id = names.setdefault("|".join(pack.default_timezones), len(names))
    zone_id = np.where(
        tz_id >= 0,
        tz_id,
        np.where(is_phone & (phone_id >= 0), phone_id, np.where(pz_id >= 0, pz_id, default_id)),
    )
    zone_id = np.where(cand, zone_id, -1)
    tuples = {i: tuple(name.split("|")) for name, i in list(names.items())}
    first_of = np.array([names.setdefault(tuples[i][0], len(names)) for i in range(len(tuples))] + [-1])
    day_zone_id = np.where(pz_id >= 0, pz_id, first_of[zone_id])
    day_zone_id = np.where(cand, day_zone_id, -1)
    cand_idx = np.nonzero(cand)[0]
    zone_names = {i: name for name, i in names.items()}
    day_zone_names = {int(i): zone_names[int(i)] for i in np.unique(day_zone_id[cand_idx])}

    # local day of each candidate in its day zone; day starts (UTC µs) k days before it
    local_dayno = np.zeros(n, dtype=np.int64)
    zone_rows = {zid: cand_idx[day_zone_id[cand_idx] == zid] for zid in day_zone_names}
    for zid, sel in zone_rows.items():
        _, local_dayno[sel] = local_minutes_and_days(day_zone_names[zid], at[sel])

    def day_starts(back: int) -> np.ndarray:
        out = np.zeros(n, dtype=np.int64)
        for zid, sel in zone_rows.items():
            if not len(sel):
                continue
            days = local_dayno[sel] - back
            first = int(days.min())
            span = np.array(
                [
                    to_us(day_start(day_zone_names[zid], _date(first + d)))
                    for d in range(int(days.max()) - first + 1)
                ],
                dtype=np.int64,
            )
            out[sel] = span[days - first]
        return out

    def outside_window(rows: np.ndarray, lo_min: int, hi_min: int) -> np.ndarray:
        out = np.zeros(n, dtype=bool)
        ids = zone_id[rows]
        for tid in np.flatnonzero(np.bincount(ids, minlength=1)).tolist() if len(ids) else []:
            sel = rows[ids == tid]
            for z in tuples[tid]:
                mins, _ = local_minutes_and_days(z, at[sel])
                if lo_min < hi_min:
                    inside = (mins >= lo_min) & (mins < hi_min)
                else:
                    inside = (mins >= lo_min) | (mins < hi_min)
                out[sel] |= ~inside
        return out

    by_person, by_account, by_pa, by_contact = (f.result() for f in sorting)
    is_consent = ev("consent")
    consent_scope = _Coded(scope.filter(pl.Series(is_consent)))  # scopes of consents only
    consent_cls: dict[str, np.ndarray] = {}
    for cls in ("call", "recontact", "time"):
        covered = _scopes_of(consent_scope.values, cls)
        consent_cls[cls] = np.zeros(n, dtype=bool)
        consent_cls[cls][is_consent] = consent_scope.isin(covered, null=cls in consent_classes(None))
    last_time_consent = by_pa.last_prior(consent_cls["time"])
    today0 = day_starts(0)

    # -- the rules, two groups at a time; each mirrors its scalar twin in guard.py
    def holds() -> None:
        groupings = {"person": by_person, "account": by_account, "person_account": by_pa}
        for hold in pack.holds:
            if hold.rule not in pack:
                continue
            applies = active(hold.rule) & ~party.isin(hold.except_parties)
            hit = np.zeros(n, dtype=bool)
            for match in hold.match:
                if match == "opt_out":
                    hit |= _opt_out_hits(
                        hold, ev(hold.kind), channel, scope, by_person, contact_code, scope_code
                    )
                    continue
                g = groupings[match]
                last = g.last_prior(ev(hold.kind))
                on = last >= 0
                if hold.lifted_by:  # US-V1: until a later verification
                    on &= g.last_prior(ev(hold.lifted_by)) < last
                if hold.channels:
                    on &= channel.isin(hold.channels)
                hit |= on
            mark((hold.rule, hold.code), applies & hit)

    def hours() -> None:  # CN-T1 / US-T1
        for rid, code in (("CN-T1", "night"), ("US-T1", "hours")):
            r = pack.get(rid)
            if r is None:
                continue
            applies = active(rid) & channel.isin(r["channels"])
            out = outside_window(
                np.nonzero(applies)[0], minutes(r["allowed_from"]), minutes(r["allowed_until"])
            )
            if r["consent_lifts"]:
                out &= ~consent
                for i in np.nonzero(out & (last_time_consent >= 0))[0].tolist():
                    when = from_us(int(at[i]))
                    local = [local_minute(when, z) for z in tuples[int(zone_id[i])]]
                    if time_consent_covers(scope[int(last_time_consent[i])], local):
                        out[i] = False
            mark((rid, code), applies & out)

    def day_caps() -> None:
        # -- CN-F1: connected calls per person per local day
        if "CN-F1" in pack:
            r = pack.rule("CN-F1")
            calls = channel.isin(r["call_channels"])
            q = hatt & calls & outcome.isin(r["connected_outcomes"])
            cnt = by_person.count_prior(q, lo_of(today0))
            mark(("CN-F1", "cap"), active("CN-F1") & calls & (cnt >= r["max_connected_calls_per_day"]))

        # -- CN-F2: unanswered attempts per phone number per local day
        if "CN-F2" in pack:
            r = pack.rule("CN-F2")
            calls = channel.isin(r["call_channels"])
            unanswered = r["unanswered_outcomes"]
            q = hatt & calls & outcome.isin(unanswered, null=UNKNOWN_OUTCOME in unanswered)
            cnt = by_contact.count_prior(q, lo_of(today0))
            mark(
                ("CN-F2", "cap"),
                active("CN-F2") & calls & is_phone & (cnt >= r["max_unanswered_per_number_per_day"]),
            )

    def third_parties() -> None:
        # -- CN-P2 / US-P2: third parties
        third = party.isin(THIRD_PARTIES)
        debtor = party.eq("debtor")
        for rid in ("CN-P2", "US-P2"):
            r = pack.get(rid)
            if r is None:
                continue
            applies = active(rid) & third
            q_att = hatt & debtor & channel.isin(r["unreachable_channels"])
            q_reached = q_att & outcome.isin(r["reached_outcomes"])
            lo = lo_of(at - r["unreachable_days"] * DAY_US)
            n_att = by_account.count_prior(q_att, lo)
            n_reached = by_account.count_prior(q_reached, lo)
            unreachable = (n_reached == 0) & (n_att >= r["unreachable_min_attempts"])
            mark((rid, "reachable"), applies & ~unreachable)
            if "max_contacts_per_person" in r.parameters:  # US-P2 (1692b(3)): once unless asked
                spoke = hatt & third & ~outcome.isin(r["not_communicated_outcomes"])
                cnt = by_person.count_prior(spoke)
                asked = consent | (by_person.last_prior(consent_cls["recontact"]) >= 0)
                mark((rid, "repeat"), applies & (cnt >= r["max_contacts_per_person"]) & ~asked)

    def call_frequency() -> None:
        # -- US-F1 / US-F2 with the US-F3 exclusions
        if "US-F1" in pack or "US-F2" in pack:
            f3 = pack.get("US-F3")
            f3_on = active("US-F3") if f3 is not None else np.zeros(n, dtype=bool)
            last_cc = by_pa.last_prior(consent_cls["call"])
            consent_us = f3["consent_days"] * DAY_US if f3 else 0
            recent_consent = (last_cc >= 0) & (at - at[np.clip(last_cc, 0, None)] <= consent_us)
            exempt = f3_on & (consent | recent_consent)
            if "US-F1" in pack:
                r = pack.rule("US-F1")
                calls = channel.isin(r["call_channels"])
                excluded = consent | recent_consent
                if f3 is not None:
                    excluded |= outcome.isin(f3["not_connected_outcomes"])
                lo = lo_of(day_starts(r["window_days"] - 1))
                cnt = by_pa.count_prior(hatt & calls & ~excluded, lo)
                if (cand & ~f3_on).any():
                    cnt = np.where(f3_on, cnt, by_pa.count_prior(hatt & calls, lo))
                mark(("US-F1", "cap"), active("US-F1") & calls & ~exempt & (cnt >= r["max_calls"]))
            if "US-F2" in pack:
                r = pack.rule("US-F2")
                calls = channel.isin(r["call_channels"])
                conv = hatt & calls & outcome.eq("conversation")
                last_conv = by_pa.last_prior(conv)
                ws = day_starts(r["window_days"] - 1)
                recent = (last_conv >= 0) & (at[np.clip(last_conv, 0, None)] >= ws)
                mark(("US-F2", "after_conversation"), active("US-F2") & calls & ~exempt & recent)

    def visits() -> None:
        # -- CN-V1: field visits
        if "CN-V1" in pack:
            r = pack.rule("CN-V1")
            visit = active("CN-V1") & channel.eq("visit")
            staff = df["staff_count"]
            short = (staff.is_null() | (staff < r["min_staff"])).fill_null(True).to_numpy()
            mark(("CN-V1", "staff"), visit & short)
            shown = df["ids_shown"]
            mark(("CN-V1", "ids"), visit & (shown == False).fill_null(False).to_numpy())  # noqa: E712
            mark(("CN-V1", "ids_unknown"), visit & shown.is_null().to_numpy(), warn)

    text_found: list[dict[tuple[str, str], Reason]] = []
    text_warn: list[dict[tuple[str, str], Reason]] = []
    text_index = np.full(n, -1, dtype=np.int64)

    def texts() -> None:
        # -- message text (screening, third-party wording, letters, opt-out line, voicemail, time-barred)
        text_rows = np.nonzero(cand & df["text"].is_not_null().to_numpy())[0]
        barred = by_account.last_prior(ev("time_barred")) >= 0
        sub = df.select("text", "channel", "party")[text_rows].with_columns(
            pl.Series("barred", barred[text_rows]), pl.Series("day", utc_day[text_rows])
        )
        keys = sub.unique(maintain_order=True)  # each distinct (text, context) is judged once
        checker.prepare(keys.select("text", "channel").unique(maintain_order=True).iter_rows())
        interned: dict[tuple[Any, ...], int] = {}
        slots = []
        for text, chan, who, is_barred, day in keys.iter_rows():
            findings = checker.findings(text, chan)
            found, warnings = text_violations(
                pack, findings, who, chan, is_barred, partial(_in, pack, day=_date(day))
            )
            content = (tuple(found.items()), tuple(warnings.items()))
            slot = interned.get(content, -1)
            if slot < 0:
                slot = interned[content] = len(text_found)
                text_found.append(found)
                text_warn.append(warnings)
            slots.append(slot)
        which = sub.join(
            keys.with_row_index("_k"), on=keys.columns, how="left", nulls_equal=True, maintain_order="left"
        )
        text_index[text_rows] = np.array(slots, dtype=np.int64)[which["_k"].to_numpy()]

    for task in [
        pool.submit(t) for t in (texts, holds, hours, day_caps, third_parties, call_frequency, visits)
    ]:
        task.result()
    for key, mask, into in pending:
        target = viol if into is None else into
        target[mask] |= bit[key]
    return _Verdicts(viol=viol, warn=warn, text_index=text_index, text_found=text_found, text_warn=text_warn)


def _date(day_number: int) -> date:
    """The date `day_number` days after 1970-01-01."""
    return date.fromordinal(_EPOCH_ORDINAL + day_number)


def _in(pack: Pack, rid: str, *, day: date) -> bool:
    r = pack.get(rid)
    return r is not None and r.effective_from <= day


def _scopes_of(values: list[str], cls: str) -> list[str]:
    """The scope values whose consent covers `cls`."""
    return [v for v in values if cls in consent_classes(v)]


def _opt_out_hits(
    hold: Any,
    is_opt: np.ndarray,
    channel: _Coded,
    scope: pl.Series,
    by_person: _Grouping,
    contact_code: np.ndarray,
    scope_code: np.ndarray,
) -> np.ndarray:
    """US-E1 (1006.6(e)): opted out for the person (all hold channels), a channel, or an address."""
    n = len(is_opt)
    pos = np.arange(n, dtype=np.int64)
    in_channels = channel.isin(hold.channels)
    opt_scope = _Coded(scope.filter(pl.Series(is_opt)))  # scopes of opt-outs only
    ch_of_scope = np.full(n, -1, dtype=np.int64)
    ch_of_scope[is_opt] = opt_scope.index_in(CHANNELS)
    scope_null = np.zeros(n, dtype=bool)
    scope_null[is_opt] = opt_scope.codes < 0
    scope_is_channel = ch_of_scope >= 0
    # person-wide
    hit = in_channels & (by_person.last_prior(is_opt & scope_null) >= 0)
    # one channel of the person
    ch_of_row = channel.index_in(CHANNELS)
    person_code = by_person.group
    g_scope = np.where(ch_of_scope >= 0, person_code * len(CHANNELS) + ch_of_scope, -1)
    g_row = np.where(ch_of_row >= 0, person_code * len(CHANNELS) + ch_of_row, -1)
    hit |= _exists_before(g_scope, is_opt & scope_is_channel, g_row, pos, n)
    # one address or number, whoever it belongs to
    by_value = is_opt & ~scope_null & ~scope_is_channel
    hit |= in_channels & _exists_before(scope_code, by_value, contact_code, pos, n)
    return hit


def _exists_before(
    source_group: np.ndarray, qual: np.ndarray, row_group: np.ndarray, pos: np.ndarray, n: int
) -> np.ndarray:
    """Per row i: whether some j < i has source_group[j] == row_group[i] and qual[j]."""
    idx = np.nonzero(qual & (source_group >= 0))[0]
    if len(idx) == 0:
        return np.zeros(n, dtype=bool)
    keys = np.sort(source_group[idx] * n + idx)
    k = np.searchsorted(keys, row_group * n + pos) - 1
    kk = np.clip(k, 0, None)
    return (k >= 0) & (keys[kk] // n == row_group) & (row_group >= 0)


# ---------------------------------------------------------------------------------------------- results


def _assemble(df: pl.DataFrame, v: _Verdicts, pack: Pack) -> pl.DataFrame:
    """Output rows (id, allowed, rules, reasons, warnings) for the candidate rows, in `_out` order."""
    ids, answers, which = _answers(df, v, pack)
    return pl.concat([ids.to_frame(), answers[which]], how="horizontal")


def _answers(df: pl.DataFrame, v: _Verdicts, pack: Pack) -> tuple[pl.Series, pl.DataFrame, pl.Series]:
    """The candidates' ids in `_out` order, each distinct answer (allowed, rules, reasons, warnings) once,
    and the index of each candidate's answer: rows are grouped by their signature (masks + text findings).
    """
    rows = np.nonzero(df["_cand"].to_numpy())[0]
    out_at = df["_out"].to_numpy()[rows]
    if len(out_at) > 1 and not (out_at[1:] > out_at[:-1]).all():
        rows = rows[np.argsort(out_at, kind="stable")]
    order = list(pack.check_order)
    sigs = pl.DataFrame(
        {"v": v.viol[rows].astype(np.int64), "w": v.warn[rows].astype(np.int64), "t": v.text_index[rows]}
    )
    uniq = sigs.unique(maintain_order=True)
    lines = []
    for viol, warn, tix in uniq.iter_rows():
        found = {k: reason(pack, *k) for i, k in enumerate(order) if (viol >> i) & 1}
        warned = {k: reason(pack, *k) for i, k in enumerate(order) if (warn >> i) & 1}
        if tix >= 0:
            found.update(v.text_found[tix])
            warned.update(v.text_warn[tix])
        lines.append(json.dumps(_answer(decision_from(pack, found, warned)), ensure_ascii=False))
    reason_t = pl.List(pl.Struct({"rule": pl.String, "zh": pl.String, "en": pl.String}))
    answer_t = pl.Struct(
        {"allowed": pl.Boolean, "rules": pl.List(pl.String), "reasons": reason_t, "warnings": reason_t}
    )
    answers = pl.Series("a", lines, dtype=pl.String).str.json_decode(answer_t).struct.unnest()
    which = sigs.join(uniq.with_row_index("_u"), on=["v", "w", "t"], how="left", maintain_order="left")["_u"]
    return df["id"].gather(rows), answers, which


def audit_columnar(log: pl.DataFrame, pack: Pack, screen: ScreenFn | None = None) -> pl.DataFrame:
    """The guard's decision before every attempt of a normalised log, computed columnar.

    Returns id, allowed, rules, reasons, warnings per attempt, in the log's order.
    """
    c = with_contacts(_audit_frame(log), pack)
    verdicts = _evaluate(c, pack, TextChecker(pack, screen), person_zones_of(c))
    return _assemble(c.df, verdicts, pack)


def audit_ndjson(log: pl.DataFrame, pack: Pack, out: IO[bytes], screen: ScreenFn | None = None) -> int:
    """`audit_columnar(log, pack, screen).write_ndjson(out)`, byte for byte, without building the nested
    answer columns row by row: each distinct answer is encoded once and joined to each row's id.
    Returns the number of lines written."""
    c = with_contacts(_audit_frame(log), pack)
    verdicts = _evaluate(c, pack, TextChecker(pack, screen), person_zones_of(c))
    ids, answers, which = _answers(c.df, verdicts, pack)
    if not len(ids):
        return 0
    encoded = answers.select(pl.struct(pl.all()).struct.json_encode()).to_series()
    rest = encoded.str.strip_prefix("{").gather(which).alias("rest")
    lines = pl.DataFrame([ids, rest]).select(
        pl.concat_str(  # {"id":…} and {"allowed":…} become {"id":…,"allowed":…}
            pl.struct("id").struct.json_encode().str.strip_suffix("}"), pl.lit(","), pl.col("rest")
        )
    )
    lines.write_csv(out, include_header=False, quote_style="never")
    return len(ids)


def _audit_frame(log: pl.DataFrame) -> pl.DataFrame:
    df = log.with_row_index("_idx")
    if not df["at_us"].is_sorted():  # logs are usually written in time order already
        df = df.sort(["at_us", "_idx"], maintain_order=True)
    is_att = pl.col("kind") == "attempt"
    return df.with_columns(
        pl.lit(True).alias("_hist"),
        is_att.alias("_cand"),
        pl.when(is_att).then(pl.col("_idx")).otherwise(-1).alias("_out"),
    )


def audit_scalar(
    log: pl.DataFrame, pack: Pack, screen: ScreenFn | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Reference: replay the log row by row through the scalar guard (optionally the first `limit` rows)."""
    df = _audit_frame(log)
    zones = person_zones_of(with_contacts(df, pack))
    if limit is not None:
        df = df.head(limit)
    guard = Guard(pack, screen)
    history = ContactHistory(person_zones=zones)
    answers: list[tuple[int, dict[str, Any]]] = []
    for row in df.iter_rows(named=True):
        at = from_us(row["at_us"])
        if row["kind"] != "attempt":
            history.add(Event(at, row["account"], row["person"], row["kind"], row["scope"]))
            continue
        p = _proposed(row, at)
        d = guard.decide(p, history)
        answers.append((row["_idx"], {"id": row["id"], **_answer(d)}))
        history.add(
            Attempt(
                at,
                row["account"],
                row["person"],
                row["party"],
                row["channel"],
                row["contact"],
                row["outcome"],
                row["consent"],
            )
        )
    answers.sort(key=lambda a: a[0])
    return [a for _, a in answers]


def _answer(d: Decision) -> dict[str, Any]:
    return {
        "allowed": d.allowed,
        "rules": list(d.rules),
        "reasons": [r.to_dict() for r in d.reasons],
        "warnings": [r.to_dict() for r in d.warnings],
    }


def _proposed(row: Mapping[str, Any], at: datetime) -> ProposedContact:
    contact = row["contact"]
    return ProposedContact(
        at=at,
        account=row["account"],
        person=row["person"],
        party=row["party"],
        channel=row["channel"],
        contact=ContactPoint(contact, contact_kind(contact), row["tz"]),
        text=row["text"],
        consent=bool(row["consent"]),
        staff_count=row["staff_count"],
        ids_shown=row["ids_shown"],
    )


def _default_scopes(log: pl.DataFrame) -> pl.DataFrame:
    """An opt-out without a scope covers the row's contact, else its channel, else the person; a consent
    without a scope given on a call is a call consent (US-F3), else a general consent."""
    opt = (pl.col("kind") == "opt_out") & pl.col("scope").is_null()
    call_consent = (
        (pl.col("kind") == "consent")
        & pl.col("scope").is_null()
        & pl.col("channel").is_in(["call", "voicemail"])
    )
    return log.with_columns(
        pl.when(opt)
        .then(pl.coalesce("contact", "channel"))
        .when(call_consent)
        .then(pl.lit("call"))
        .otherwise(pl.col("scope"))
        .alias("scope")
    )


# ---------------------------------------------------------------------------------------- planned contacts


def check_planned(
    planned: pl.DataFrame | Any,
    history: ContactHistory | pl.DataFrame | None,
    pack: Pack,
    *,
    screen: ScreenFn | None = None,
    person_zones: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """Decide a batch of planned contacts at once (the nightly batch), columnar.

    `planned` (Polars DataFrame or pyarrow Table) has at (aware datetime or ISO text), account, person,
    party, channel, contact and optionally id, tz, text, consent, staff_count, ids_shown. Each planned
    contact is decided against `history` alone — a ContactHistory, or a contact log frame — exactly as
    `Guard.decide` would decide it; the contact kind is read from the value. Returns the planned rows
    with allowed, rules, reasons and warnings added.
    """
    frame = planned if isinstance(planned, pl.DataFrame) else pl.from_arrow(planned)
    assert isinstance(frame, pl.DataFrame)
    plan = _planned_frame(frame)
    if isinstance(history, ContactHistory):
        hist = history_frame(history)
        zones = dict(person_zones if person_zones is not None else history.person_zones)
    else:
        hist = history if history is not None else _empty_log()
        if "at_us" not in hist.columns or hist.schema.get("consent") != pl.Boolean:
            hist = normalise_log(hist.select(pl.all().cast(pl.String)), "history")
        zones = dict(person_zones or {})
    cols = [c for c in plan.columns if c not in ("_row",)]
    both = pl.concat(
        [
            hist.select(cols).with_columns(
                pl.lit(0).alias("_src"), pl.lit(True).alias("_hist"), pl.lit(False).alias("_cand")
            ),
            plan.select(cols).with_columns(
                pl.lit(1).alias("_src"), pl.lit(False).alias("_hist"), pl.lit(True).alias("_cand")
            ),
        ],
        how="vertical_relaxed",
    )
    both = both.with_row_index("_idx").sort(["at_us", "_src", "_idx"], maintain_order=True)
    n_hist = hist.height
    both = both.with_columns(
        pl.when(pl.col("_cand")).then(pl.col("_idx").cast(pl.Int64) - n_hist).otherwise(-1).alias("_out")
    )
    c = with_contacts(both, pack)
    verdicts = _evaluate(c, pack, TextChecker(pack, screen), zones)
    both = c.df
    answers = _assemble(both, verdicts, pack)
    return frame.with_columns(answers.select("allowed", "rules", "reasons", "warnings"))


def _planned_frame(frame: pl.DataFrame) -> pl.DataFrame:
    at = frame.schema.get("at")
    raw = frame
    if isinstance(at, pl.Datetime):
        if at.time_zone is None:
            raise LogError("planned contacts: `at` must be timezone-aware")
        raw = frame.with_columns(pl.col("at").dt.epoch("us").alias("at_us")).drop("at")
    if "id" not in raw.columns:
        raw = raw.with_row_index("id", offset=1)
    raw = raw.with_columns(pl.lit("attempt").alias("kind"))
    strings = raw.select([pl.col(c).cast(pl.String) for c in raw.columns if c != "at_us"])
    if "at_us" in raw.columns:
        strings = strings.with_columns(raw["at_us"])
    return normalise_log(strings, "planned contacts")


def _empty_log() -> pl.DataFrame:
    return normalise_log(pl.DataFrame({c: [] for c in REQUIRED}, schema={c: pl.String for c in REQUIRED}))


def history_frame(history: ContactHistory) -> pl.DataFrame:
    """A ContactHistory as a normalised log frame (in its own order: time, then order of adding)."""
    rows: dict[str, list[Any]] = {
        c: []
        for c in (
            "id",
            "at_us",
            "account",
            "person",
            "party",
            "channel",
            "contact",
            "outcome",
            "consent",
            "kind",
            "scope",
        )
    }
    for i, item in enumerate(history):
        rows["id"].append(f"h{i}")
        rows["at_us"].append(to_us(item.at))
        rows["account"].append(item.account)
        rows["person"].append(item.person)
        if isinstance(item, Attempt):
            vals: tuple[Any, ...] = (
                item.party,
                item.channel,
                item.contact,
                item.outcome,
                "yes" if item.consent else "no",
                "attempt",
                None,
            )
        else:
            vals = (None, None, None, None, "no", item.kind, item.scope)
        for c, val in zip(
            ("party", "channel", "contact", "outcome", "consent", "kind", "scope"), vals, strict=True
        ):
            rows[c].append(val)
    raw = pl.DataFrame(rows, schema={c: (pl.Int64 if c == "at_us" else pl.String) for c in rows})
    return normalise_log(raw, "history")
