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
    contact_table,
    day_start,
    from_us,
    local_minutes_and_days,
    local_to_utc_us,
    normalize_contact,
    phone_info,
    phone_info_map,
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


COUNTRY_CODES = [
    "1",
    "7",
    "20",
    "33",
    "34",
    "39",
    "44",
    "49",
    "52",
    "54",
    "55",
    "61",
    "81",
    "86",
    "91",
    "234",
    "262",
    "353",
    "358",
    "599",
    "800",
    "852",
    "886",
    "971",
    "979",
]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(COUNTRY_CODES), st.text("0123456789", min_size=2, max_size=13)),
        min_size=1,
        max_size=300,
    ),
    st.sampled_from(["CN", "US", None]),
)
def test_column_phone_lookup_equals_phonenumbers(numbers: list[tuple[str, str]], region: str | None) -> None:
    values = [f"+{cc}{rest}" for cc, rest in numbers] + [
        "138 0013 8000",
        "(208) 555-0123",
        "garbage",
        "+0123",
    ]
    table = phone_info_map(values, region)
    for v in values:
        assert table[v] == phone_info(v, region), v


def test_column_phone_lookup_on_real_looking_numbers() -> None:
    rnd = np.random.default_rng(3)
    us = [
        f"+1{a}{rnd.integers(2, 10)}{rnd.integers(0, 10**6):06d}"
        for a in ("208", "605", "212", "907", "808")
        for _ in range(200)
    ]
    cn = [
        f"+86{p}{rnd.integers(0, 10**8):08d}"
        for p in ("138", "139", "150", "186", "10", "21")
        for _ in range(200)
    ]
    table = phone_info_map(us + cn, "US")
    assert all(table[v] == phone_info(v, "US") for v in us + cn)
    # most 208 numbers keep both of Idaho's zones (a few exchanges are listed more precisely)
    both = sum(set(table[v].zones) == {"America/Boise", "America/Los_Angeles"} for v in us[:200])
    assert both > 100


def test_contact_table_agrees_with_the_scalar_helpers() -> None:
    values = [
        "+12085550123",
        " (212) 555-0123 ",
        "C1@Example.com",
        "1 Main St,  Springfield",
        "12-34",
        "+1555",
    ]
    table = {v: (k, n, z) for v, k, n, z in contact_table(values, "US").iter_rows()}
    for v in values:
        kind, norm, zones = table[v]
        assert kind == contact_kind(v)
        assert norm == normalize_contact(v, None, "US")
        assert zones == ("|".join(phone_info(v.strip(), "US").zones) if kind == "phone" else "")
