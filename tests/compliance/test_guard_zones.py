"""Local time of a contact point: phone zones (several for a split area code), explicit zones, defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import parse
from phonenumbers.timezone import time_zones_for_number

from arrears.compliance.timezones import (
    candidate_zones,
    contact_kind,
    day_start,
    from_us,
    local_minutes_and_days,
    local_to_utc_us,
    normalize_contact,
    phone_info,
    to_us,
    utc_offsets_us,
    zone,
)

FALLBACK = ("America/New_York",)


def test_a_split_area_code_gives_every_zone() -> None:
    # phonenumbers' own data: 208 (Idaho) spans Mountain and Pacific time
    assert set(time_zones_for_number(parse("+12085550123"))) == {"America/Boise", "America/Los_Angeles"}
    zones = candidate_zones("+12085550123", "phone", None, FALLBACK, "US")
    assert set(zones) == {"America/Boise", "America/Los_Angeles"}
    assert candidate_zones("(208) 555-0123", "phone", None, FALLBACK, "US") == zones


def test_zone_sources_in_order() -> None:
    assert candidate_zones("+12085550123", "phone", "America/Chicago", FALLBACK, "US") == ("America/Chicago",)
    assert candidate_zones("+8613800138000", "phone", None, FALLBACK, "US") == ("Asia/Shanghai",)
    assert candidate_zones("c@example.com", "email", None, FALLBACK, "US") == FALLBACK
    assert candidate_zones("not a number", "phone", None, FALLBACK, "US") == FALLBACK
    assert candidate_zones("+1555", "phone", None, FALLBACK, "US") == FALLBACK  # no zone known


def test_contact_kinds_and_spellings() -> None:
    assert contact_kind("+1 (212) 555-0123") == "phone"
    assert contact_kind("C1@Example.com") == "email"
    assert contact_kind("1 Main St, Springfield") == "address"
    assert normalize_contact("138 0013 8000", None, "CN") == "+8613800138000"
    assert normalize_contact("+86-138-0013-8000", "phone", "CN") == "+8613800138000"
    assert normalize_contact(" C1@Example.com ", None, "US") == "c1@example.com"
    assert phone_info("+12125550123", None).e164 == "+12125550123"


def test_day_start_is_local_midnight() -> None:
    assert day_start("Asia/Shanghai", datetime(2026, 5, 11).date()) == datetime(2026, 5, 10, 16, tzinfo=UTC)
    assert day_start("America/New_York", datetime(2026, 3, 8).date()) == datetime(2026, 3, 8, 5, tzinfo=UTC)


ZONES = ["America/New_York", "America/Boise", "America/Los_Angeles", "Asia/Shanghai", "Australia/Lord_Howe"]
START = to_us(datetime(2025, 1, 1, tzinfo=UTC))
SPAN = to_us(datetime(2027, 1, 1, tzinfo=UTC)) - START


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(ZONES), st.lists(st.integers(0, SPAN), min_size=1, max_size=50))
def test_vectorised_offsets_equal_zoneinfo(zone_name: str, offsets: list[int]) -> None:
    t = np.array([START + o for o in offsets], dtype=np.int64)
    got = utc_offsets_us(zone_name, t)
    mins, days = local_minutes_and_days(zone_name, t)
    for i, us in enumerate(t.tolist()):
        local = from_us(us).astimezone(zone(zone_name))
        off = local.utcoffset()
        assert off is not None
        assert got[i] == off // timedelta(microseconds=1)
        assert mins[i] == local.hour * 60 + local.minute
        assert days[i] == (local.date() - datetime(1970, 1, 1).date()).days


def test_vectorised_offsets_across_transitions() -> None:
    # every minute around New York's spring and autumn changes and Lord Howe's half-hour change
    for zone_name, moment in (
        ("America/New_York", datetime(2026, 3, 8, 7, tzinfo=UTC)),
        ("America/New_York", datetime(2026, 11, 1, 6, tzinfo=UTC)),
        ("Australia/Lord_Howe", datetime(2026, 4, 4, 15, tzinfo=UTC)),
    ):
        t = np.arange(to_us(moment) - 3_600_000_000, to_us(moment) + 3_600_000_000, 60_000_000 + 7)
        got = utc_offsets_us(zone_name, t)
        want = [_offset_us(us, zone_name) for us in t.tolist()]
        assert got.tolist() == want


def _offset_us(us: int, zone_name: str) -> int:
    off = from_us(us).astimezone(zone(zone_name)).utcoffset()
    assert off is not None
    return off // timedelta(microseconds=1)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(ZONES), st.lists(st.integers(0, SPAN), min_size=1, max_size=50))
def test_local_times_read_like_datetime_replace(zone_name: str, offsets: list[int]) -> None:
    local = np.array([START + o for o in offsets], dtype=np.int64)
    got = local_to_utc_us(zone_name, local)
    for i, us in enumerate(local.tolist()):
        naive = datetime(1970, 1, 1) + timedelta(microseconds=us)
        assert got[i] == to_us(naive.replace(tzinfo=zone(zone_name)))
