"""Local time of a contact point: its explicit zone, the zones of its phone number, or a default.

Contact-hour rules are local (CN-T1, US-T1): a phone number gives its zones through phonenumbers'
timezone data; an area code spanning several zones gives all of them, and the time must then be
allowed in every one (US-T1, 12 CFR 1006.6(b)(1)(i)). Vectorised helpers convert whole columns of
instants with the same zone database (zoneinfo) as the scalar path, so both agree to the microsecond.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat
from phonenumbers.timezone import UNKNOWN_TIMEZONE, time_zones_for_number

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US_PER_MIN = 60_000_000
_US_PER_DAY = 86_400_000_000
# Zone offsets change only at transitions, all of which fall on quarter hours: offsets are looked up
# once per (zone, quarter hour) and rows in a quarter hour holding a transition are converted one by one.
_BUCKET_US = 15 * _US_PER_MIN
_PHONE_CHARS = re.compile(r"^\+?[\d\s\-().]+$")


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
    zones = tuple(z for z in time_zones_for_number(num) if z != UNKNOWN_TIMEZONE and is_zone(z))
    return PhoneInfo(e164, zones)


def contact_kind(value: str) -> str:
    """phone, email or address, from the look of a contact value."""
    v = value.strip()
    if "@" in v:
        return "email"
    if _PHONE_CHARS.match(v) and sum(c.isdigit() for c in v) >= 5:
        return "phone"
    return "address"


@lru_cache(maxsize=1 << 18)
def normalize_contact(value: str, kind: str | None, region: str | None) -> str:
    """One spelling per contact point: E.164 for phones, lower case for e-mail, squeezed spaces else."""
    kind = kind or contact_kind(value)
    if kind == "phone":
        info = phone_info(value.strip(), region)
        return info.e164 or re.sub(r"[^\d+]", "", value)
    if kind == "email":
        return value.strip().lower()
    return " ".join(value.split()).lower()


def candidate_zones(
    value: str, kind: str, explicit: str | None, fallback: tuple[str, ...], region: str | None
) -> tuple[str, ...]:
    """Zones the contact may be in: the explicit zone, else the phone's zones, else `fallback`."""
    if explicit:
        zone(explicit)
        return (explicit,)
    if kind == "phone":
        zones = phone_info(value.strip(), region).zones
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


def _bucketed(z: ZoneInfo, t: np.ndarray, fn: Callable[[ZoneInfo, int], int]) -> np.ndarray:
    out = np.empty(len(t), dtype=np.int64)
    if len(t) == 0:
        return out
    buckets, inverse = np.unique(t // _BUCKET_US, return_inverse=True)
    first = np.array([fn(z, int(b) * _BUCKET_US) for b in buckets], dtype=np.int64)
    last = np.array([fn(z, (int(b) + 1) * _BUCKET_US - 1) for b in buckets], dtype=np.int64)
    out[:] = first[inverse]
    mixed = np.nonzero((first != last)[inverse])[0]
    for i in mixed:  # a transition inside this quarter hour: exact, one by one
        out[i] = fn(z, int(t[i]))
    return out


def local_minutes_and_days(zone_name: str, t_us: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local minute of the day and local day number (days since 1970-01-01) of each instant."""
    lt = np.asarray(t_us, dtype=np.int64) + utc_offsets_us(zone_name, t_us)
    return (lt // _US_PER_MIN) % 1440, lt // _US_PER_DAY
