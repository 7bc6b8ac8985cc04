"""Local time of a contact point: its explicit zone, the zones of its phone number, or a default.

Contact-hour rules are local (CN-T1, US-T1): a phone number gives its zones through phonenumbers'
timezone data; an area code spanning several zones gives all of them, and the time must then be
allowed in every one (US-T1, 12 CFR 1006.6(b)(1)(i)). Vectorised helpers convert whole columns of
instants with the same zone database (zoneinfo) as the scalar path, so both agree to the microsecond.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import phonenumbers
import polars as pl
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberFormat, PhoneNumberType
from phonenumbers.phonenumberutil import (
    _GEO_MOBILE_COUNTRIES,
    _MAX_LENGTH_FOR_NSN,
    _MIN_LENGTH_FOR_NSN,
    COUNTRY_CODE_TO_REGION_CODE,
    region_code_for_country_code,
)
from phonenumbers.timezone import UNKNOWN_TIMEZONE, time_zones_for_number
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

_NON_GEO_REGION = getattr(phonenumbers.phonenumberutil, "REGION_CODE_FOR_NON_GEO_ENTITY", "001")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US_PER_MIN = 60_000_000
_US_PER_DAY = 86_400_000_000
# Zone offsets change only at transitions, all of which fall on quarter hours: offsets are looked up
# once per (zone, quarter hour) and rows in a quarter hour holding a transition are converted one by one.
_BUCKET_US = 15 * _US_PER_MIN
# Contact values are classified with ASCII rules only, so the column engine classifies them identically.
_BLANKS = " \t\r\n"
_PHONE_CHARS = re.compile(r"^\+?[0-9 \t\-().]+$")
_MIN_PHONE_DIGITS = 5
_RUNS_OF_BLANKS = re.compile(r"[ \t\r\n]+")


@dataclass(frozen=True)
class PhoneInfo:
    e164: str | None
    zones: tuple[str, ...]  # empty when phonenumbers knows no zone for the number


@lru_cache(maxsize=16)
def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name; an unknown name is a ValueError naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def is_zone(name: str) -> bool:
    try:
        zone(name)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=1 << 18)
def phone_info(value: str, region: str | None) -> PhoneInfo:
    """E.164 form and time zones of a phone number (numbers without +country use `region`)."""
    try:
        num = phonenumbers.parse(value, region)
    except NumberParseException:
        return PhoneInfo(None, ())
    e164 = phonenumbers.format_number(num, PhoneNumberFormat.E164)
    return PhoneInfo(e164, _known(tuple(time_zones_for_number(num))))


# -- many numbers at once -------------------------------------------------------------------------------
#
# `phone_info` costs 60–120 µs a number (parsing and type detection in phonenumbers). For a log with
# hundreds of thousands of distinct numbers, `phone_infos` applies the same steps of phonenumbers —
# country code, national prefix, region, number type (the regular expressions of its metadata), then
# `time_zones_for_number` — to whole columns of numbers written in E.164 (`+` and digits). Anything it
# cannot mirror exactly (another spelling, a national prefix that might be stripped, non-geographic
# calling codes, patterns the column engine cannot compile) goes through `phone_info` itself. The
# property test in tests/compliance/test_guard_zones.py holds the two to the same answers.

_CANONICAL = r"^\+[1-9][0-9]{2,19}$"


def phone_infos(values: Iterable[str], region: str | None) -> pl.DataFrame:
    """`phone_info` of many contact values at once: columns value, e164, zones ("|"-joined, "" if none)."""
    uniq = _series(values).drop_nulls().unique()
    canonical = uniq.str.contains(_CANONICAL)
    parts: list[pl.DataFrame] = []
    slow = uniq.filter(~canonical).to_list()
    if canonical.any():
        fast, rest = _phone_infos_e164(uniq.filter(canonical))
        parts.append(fast)
        slow.extend(rest)
    infos = [phone_info(v.strip(), region) for v in slow]
    parts.append(
        pl.DataFrame(
            {"value": slow, "e164": [i.e164 for i in infos], "zones": ["|".join(i.zones) for i in infos]},
            schema={"value": pl.String, "e164": pl.String, "zones": pl.String},
        )
    )
    return pl.concat(parts)


def phone_info_map(values: Iterable[str], region: str | None) -> dict[str, PhoneInfo]:
    """`phone_infos` as a dict of PhoneInfo, for callers that want objects."""
    return {
        v: PhoneInfo(e, tuple(z.split("|")) if z else ())
        for v, e, z in phone_infos(values, region).iter_rows()
    }


def _phone_infos_e164(values: pl.Series) -> tuple[pl.DataFrame, list[str]]:
    digits = values.str.slice(1)
    cc = pl.repeat(None, len(values), dtype=pl.Int64, eager=True).alias("cc")
    for width in (3, 2, 1):  # the shortest known prefix wins, as in phonenumbers' _extract_country_code
        head = digits.str.slice(0, width).cast(pl.Int64)
        cc = pl.select(
            pl.when(head.is_in(list(COUNTRY_CODE_TO_REGION_CODE))).then(head).otherwise(cc)
        ).to_series()
    df = pl.DataFrame({"value": values, "digits": digits, "cc": cc})
    parts: list[pl.DataFrame] = []
    slow: list[str] = df.filter(pl.col("cc").is_null())["value"].to_list()
    for (code,), part in df.filter(pl.col("cc").is_not_null()).group_by("cc"):
        got, rest = _country_infos(int(code), part)
        if got is not None:
            parts.append(got)
        slow.extend(rest)
    empty = pl.DataFrame(schema={"value": pl.String, "e164": pl.String, "zones": pl.String})
    return pl.concat([empty, *parts]), slow


def _full(pattern: str) -> str:
    return f"^(?:{pattern})$"


def _matches_desc(nsn: pl.Series, rows: np.ndarray, desc: Any) -> np.ndarray:
    """phonenumbers' _is_number_matching_desc for the given rows of a column of national numbers."""
    out = np.zeros(len(nsn), dtype=bool)
    if desc is None or not desc.national_number_pattern or not len(rows):
        return out
    sub = nsn.gather(rows)
    ok = np.ones(len(rows), dtype=bool)
    if desc.possible_length:
        ok = sub.str.len_chars().is_in(list(desc.possible_length)).to_numpy()
        if not ok.any():
            return out
    if ok.all():
        out[rows] = sub.str.contains(_full(desc.national_number_pattern)).fill_null(False).to_numpy()
    else:
        keep = rows[ok]
        out[keep] = (
            sub.filter(pl.Series(ok))
            .str.contains(_full(desc.national_number_pattern))
            .fill_null(False)
            .to_numpy()
        )
    return out


_TYPE_DESCS = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)


def _number_types(nsn: pl.Series, rows: np.ndarray, meta: Any) -> np.ndarray:
    """phonenumbers' _number_type_helper for the given rows (PhoneNumberType values; others UNKNOWN)."""
    out = np.full(len(nsn), PhoneNumberType.UNKNOWN, dtype=np.int64)
    todo = _matches_desc(nsn, rows, meta.general_desc)
    for name, kind in _TYPE_DESCS:
        hit = _matches_desc(nsn, np.nonzero(todo)[0], getattr(meta, name))
        out[hit] = kind
        todo &= ~hit
    fixed = _matches_desc(nsn, np.nonzero(todo)[0], meta.fixed_line)
    if meta.same_mobile_and_fixed_line_pattern:
        out[fixed] = PhoneNumberType.FIXED_LINE_OR_MOBILE
        return out
    mobile = _matches_desc(nsn, np.nonzero(todo)[0], meta.mobile)
    out[fixed & mobile] = PhoneNumberType.FIXED_LINE_OR_MOBILE
    out[fixed & ~mobile] = PhoneNumberType.FIXED_LINE
    out[todo & ~fixed & mobile] = PhoneNumberType.MOBILE
    return out


def _country_infos(code: int, part: pl.DataFrame) -> tuple[pl.DataFrame | None, list[str]]:
    main = region_code_for_country_code(code)
    meta_main = PhoneMetadata.metadata_for_region_or_calling_code(code, main)
    if main == _NON_GEO_REGION or meta_main is None:
        return None, part["value"].to_list()
    all_values = part["value"]
    nsn_all = part["digits"].str.slice(len(str(code)))
    mirror = nsn_all.str.len_chars().is_between(_MIN_LENGTH_FOR_NSN, _MAX_LENGTH_FOR_NSN)
    npp = meta_main.national_prefix_for_parsing
    try:
        if npp:  # a national prefix might be stripped: leave those to phonenumbers itself
            mirror = mirror & ~nsn_all.str.contains(f"^(?:{npp})")
        part = part.filter(mirror)
        nsn = nsn_all.filter(mirror)
        everyone = np.arange(len(nsn))
        regions = COUNTRY_CODE_TO_REGION_CODE[code]
        if len(regions) == 1:
            meta = PhoneMetadata.metadata_for_region_or_calling_code(code, regions[0])
            types = (
                _number_types(nsn, everyone, meta)
                if meta is not None
                else np.full(len(nsn), PhoneNumberType.UNKNOWN, dtype=np.int64)
            )
        else:  # _region_code_for_number_from_list: the first region claiming the number decides
            types = np.full(len(nsn), PhoneNumberType.UNKNOWN, dtype=np.int64)
            open_ = np.ones(len(nsn), dtype=bool)
            for rc in regions:
                meta = PhoneMetadata.metadata_for_region(rc.upper(), None)
                rows = np.nonzero(open_)[0]
                if meta is None or not len(rows):
                    continue
                if meta.leading_digits is not None:
                    sub = nsn.gather(rows).str.contains(f"^(?:{meta.leading_digits})").fill_null(False)
                    claimed = rows[sub.to_numpy()]
                    t = _number_types(nsn, claimed, meta)
                else:
                    t = _number_types(nsn, rows, meta)
                    claimed = rows[t[rows] != PhoneNumberType.UNKNOWN]
                types[claimed] = t[claimed]
                open_[claimed] = False
    except pl.exceptions.ComputeError:  # a pattern the column engine cannot compile
        return None, all_values.to_list()
    geographic = (types == PhoneNumberType.FIXED_LINE) | (types == PhoneNumberType.FIXED_LINE_OR_MOBILE)
    if code in _GEO_MOBILE_COUNTRIES:
        geographic |= types == PhoneNumberType.MOBILE
    unknown = types == PhoneNumberType.UNKNOWN
    zones = pl.select(
        pl.when(pl.Series(unknown))
        .then(pl.lit(UNKNOWN_TIMEZONE))
        .when(pl.Series(geographic))
        .then(_prefix_zones(part["digits"]))
        .otherwise(pl.lit("|".join(_country_zones(code))))
    ).to_series()
    known = {z: "|".join(_known(tuple(z.split("|")))) for z in zones.unique().to_list()}
    got = pl.DataFrame(
        {
            "value": part["value"],
            "e164": part["value"],  # no national prefix was stripped: E.164 is the input itself
            "zones": zones.replace_strict(known, return_dtype=pl.String),
        }
    )
    return got, all_values.filter(~mirror).to_list()


def _prefix_zones(digits: pl.Series) -> pl.Series:
    """time_zones_for_geographical_number: the longest prefix of the E.164 digits in the zone table."""
    names, table = _zone_table()
    found = pl.repeat(None, len(digits), dtype=pl.Int64, eager=True)
    for width in range(1, TIMEZONE_LONGEST_PREFIX + 1):  # longer prefixes override shorter ones
        keys = table.get(width)
        if keys:
            hit = digits.str.slice(0, width).replace_strict(keys, default=None, return_dtype=pl.Int64)
            found = hit.fill_null(found)  # zones as indexes into `names` until the end
    return names.gather(found).fill_null(UNKNOWN_TIMEZONE)


@lru_cache(maxsize=1)
def _zone_table() -> tuple[pl.Series, dict[int, dict[str, int]]]:
    """Distinct "|"-joined zone lists, and per prefix length: prefix → index of its zone list."""
    names: dict[str, int] = {}
    table: dict[int, dict[str, int]] = {}
    for prefix, zones in TIMEZONE_DATA.items():
        joined = "|".join(zones)
        table.setdefault(len(prefix), {})[prefix] = names.setdefault(joined, len(names))
    return pl.Series("zones", list(names), dtype=pl.String), table


@lru_cache(maxsize=512)
def _country_zones(code: int) -> tuple[str, ...]:
    cc = str(code)
    for width in range(
        TIMEZONE_LONGEST_PREFIX, 0, -1
    ):  # as phonenumbers' _country_level_time_zones_for_number
        zones = TIMEZONE_DATA.get(cc[: 1 + width])
        if zones is not None:
            return tuple(zones)
    return (UNKNOWN_TIMEZONE,)


@lru_cache(maxsize=4096)
def _known(zones: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(z for z in zones if z != UNKNOWN_TIMEZONE and is_zone(z))


def _series(values: Iterable[str]) -> pl.Series:
    if isinstance(values, pl.Series):
        return values.cast(pl.String).alias("value")
    return pl.Series("value", list(values), dtype=pl.String)


def contact_kind(value: str) -> str:
    """phone, email or address, from the look of a contact value."""
    v = value.strip(_BLANKS)
    if "@" in v:
        return "email"
    if _PHONE_CHARS.match(v) and sum("0" <= c <= "9" for c in v) >= _MIN_PHONE_DIGITS:
        return "phone"
    return "address"


@lru_cache(maxsize=1 << 18)
def normalize_contact(value: str, kind: str | None, region: str | None) -> str:
    """One spelling per contact point: E.164 for phones, lower case for e-mail, squeezed spaces else."""
    kind = kind or contact_kind(value)
    if kind == "phone":
        info = phone_info(value.strip(_BLANKS), region)
        return info.e164 or re.sub(r"[^0-9+]", "", value)
    if kind == "email":
        return value.strip(_BLANKS).lower()
    return _RUNS_OF_BLANKS.sub(" ", value).strip(" ").lower()


def contact_table(values: Iterable[str], region: str | None) -> pl.DataFrame:
    """For each distinct contact value: kind, normalised spelling and phone zones ("|"-joined, "" if
    none) — `contact_kind`, `normalize_contact` and `phone_info(...).zones` for a whole column."""
    frame = pl.DataFrame({"value": _series(values)}).drop_nulls().unique()
    v = pl.col("value").str.strip_chars(_BLANKS)
    frame = frame.with_columns(
        pl.when(v.str.contains("@", literal=True))
        .then(pl.lit("email"))
        .when(v.str.contains(_PHONE_CHARS.pattern) & (v.str.count_matches("[0-9]") >= _MIN_PHONE_DIGITS))
        .then(pl.lit("phone"))
        .otherwise(pl.lit("address"))
        .alias("kind"),
        v.alias("stripped"),
    )
    kinds = {k: frame.filter(pl.col("kind") == k) for k in ("phone", "email", "address")}
    phones = kinds["phone"]  # each kind's spelling is worked out on its own values only
    info = phone_infos(phones["stripped"], region).rename({"value": "stripped"})
    phones = phones.join(info, on="stripped", how="left").select(
        "value",
        "kind",
        pl.coalesce(pl.col("e164"), pl.col("value").str.replace_all("[^0-9+]", "")).alias("norm"),
        pl.col("zones").fill_null(""),
    )
    emails = kinds["email"].select(
        "value", "kind", pl.col("stripped").str.to_lowercase().alias("norm"), pl.lit("").alias("zones")
    )
    addresses = kinds["address"].select(
        "value",
        "kind",
        pl.col("value")
        .str.replace_all(_RUNS_OF_BLANKS.pattern, " ")
        .str.strip_chars(" ")
        .str.to_lowercase()
        .alias("norm"),
        pl.lit("").alias("zones"),
    )
    return pl.concat([phones, emails, addresses])


def candidate_zones(
    value: str, kind: str, explicit: str | None, fallback: tuple[str, ...], region: str | None
) -> tuple[str, ...]:
    """Zones the contact may be in: the explicit zone, else the phone's zones, else `fallback`."""
    if explicit:
        zone(explicit)
        return (explicit,)
    if kind == "phone":
        zones = phone_info(value.strip(_BLANKS), region).zones
        if zones:
            return zones
    return fallback


# ----------------------------------------------------------------------------------------------- scalar


@lru_cache(maxsize=1 << 16)
def day_start(zone_name: str, day: date) -> datetime:
    """The UTC instant of local midnight starting `day` in the zone (first instant of that day)."""
    return datetime.combine(day, time(0), tzinfo=zone(zone_name)).astimezone(UTC)


def local(at: datetime, zone_name: str) -> datetime:
    return at.astimezone(zone(zone_name))


def local_minute(at: datetime, zone_name: str) -> int:
    t = at.astimezone(zone(zone_name))
    return t.hour * 60 + t.minute


def local_day(at: datetime, zone_name: str) -> date:
    return at.astimezone(zone(zone_name)).date()


def to_us(at: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    d = at - EPOCH
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(us))


# ------------------------------------------------------------------------------------------- vectorised


def _offset_at_us(z: ZoneInfo, us: int) -> int:
    off = from_us(us).astimezone(z).utcoffset()
    assert off is not None
    return (off.days * 86_400 + off.seconds) * 1_000_000 + off.microseconds


def _naive(us: int) -> datetime:
    return datetime(1970, 1, 1) + timedelta(microseconds=int(us))


def _local_offset_us(z: ZoneInfo, local_us: int) -> int:
    off = _naive(local_us).replace(tzinfo=z).utcoffset()  # fold=0, as datetime.replace(tzinfo=…) does
    assert off is not None
    return (off.days * 86_400 + off.seconds) * 1_000_000 + off.microseconds


def utc_offsets_us(zone_name: str, t_us: np.ndarray) -> np.ndarray:
    """UTC offset (µs) in the zone at each instant (µs since the epoch, UTC)."""
    return _bucketed(zone(zone_name), np.asarray(t_us, dtype=np.int64), _offset_at_us)


def local_to_utc_us(zone_name: str, local_us: np.ndarray) -> np.ndarray:
    """Instants (µs, UTC) of naive local times in the zone, read as `datetime.replace(tzinfo=zone)`."""
    local_us = np.asarray(local_us, dtype=np.int64)
    return local_us - _bucketed(zone(zone_name), local_us, _local_offset_us)


_BUCKETS_PER_DAY = 96


def _bucketed(z: ZoneInfo, t: np.ndarray, fn: Callable[[ZoneInfo, int], int]) -> np.ndarray:
    """`fn(z, t)` for every t: per quarter hour the answers at its first and last microsecond (worked
    out once per zone and day for the process), exact one by one where those two differ."""
    out = np.empty(len(t), dtype=np.int64)
    if len(t) == 0:
        return out
    b = t // _BUCKET_US
    day = b // _BUCKETS_PER_DAY
    low, high = int(day.min()), int(day.max())
    if high - low <= 20_000:  # a contiguous table of days: no sort needed
        days = np.arange(low, high + 1, dtype=np.int64)
        used = np.zeros(len(days), dtype=bool)
        used[day - low] = True
        days = days[used]
    else:
        days = np.unique(day)
    tables = [_day_offsets(z, fn, d) for d in days.tolist()]
    first = np.concatenate([f for f, _ in tables])
    last = np.concatenate([la for _, la in tables])
    slot = np.searchsorted(days, day) * _BUCKETS_PER_DAY + (b - day * _BUCKETS_PER_DAY)
    out[:] = first[slot]
    mixed = np.nonzero(first[slot] != last[slot])[0]
    for i in mixed:  # a transition inside this quarter hour: exact, one by one
        out[i] = fn(z, int(t[i]))
    return out


@lru_cache(maxsize=8192)
def _day_offsets(z: ZoneInfo, fn: Callable[[ZoneInfo, int], int], day: int) -> tuple[np.ndarray, np.ndarray]:
    """`fn` at the first and the last microsecond of each quarter hour of a day (days since the epoch)."""
    first = np.empty(_BUCKETS_PER_DAY, dtype=np.int64)
    last = np.empty(_BUCKETS_PER_DAY, dtype=np.int64)
    for k in range(_BUCKETS_PER_DAY):
        start = (day * _BUCKETS_PER_DAY + k) * _BUCKET_US
        try:
            first[k] = fn(z, start)
            last[k] = fn(z, start + _BUCKET_US - 1)
        except OverflowError:  # at the ends of the datetime range: left to the exact path
            first[k], last[k] = 0, 1
    first.setflags(write=False)
    last.setflags(write=False)
    return first, last


def local_minutes_and_days(zone_name: str, t_us: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local minute of the day and local day number (days since 1970-01-01) of each instant."""
    lt = np.asarray(t_us, dtype=np.int64) + utc_offsets_us(zone_name, t_us)
    return (lt // _US_PER_MIN) % 1440, lt // _US_PER_DAY
