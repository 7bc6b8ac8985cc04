"""Synthetic debtors look real: valid identity numbers and phones, consistent families, real places."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import phonenumbers
import polars as pl
from phonenumbers import PhoneNumberType, number_type
from phonenumbers import timezone as phone_timezone

from arrears.portfolio.identity import (
    PROVINCE_CODES,
    birth_date_from_cn_id,
    cn_id_check_digit,
    gender_from_cn_id,
    is_valid_cn_national_id,
)
from arrears.simulation import reference as ref
from arrears.simulation.ids import cn_id_parts, cn_id_text, us_exchanges
from arrears.simulation.portfolio import SimulatedPortfolio


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def test_every_national_id_is_valid_and_agrees_with_birth_date_and_gender(
    zh_portfolio: SimulatedPortfolio,
) -> None:
    a = zh_portfolio.accounts
    for nid, born, gender in a.select("national_id", "birth_date", "gender").iter_rows():
        assert is_valid_cn_national_id(nid, as_of=zh_portfolio.placement_date), nid
        assert birth_date_from_cn_id(nid) == born
        assert gender_from_cn_id(nid) == gender
        assert 20 <= _age(born, zh_portfolio.placement_date) <= 65
        assert nid[:6] in {r.code for r in ref.CN_REGIONS}


def test_ages_are_skewed_to_young_adults(zh_portfolio: SimulatedPortfolio) -> None:
    placed = zh_portfolio.placement_date
    ages = np.array([_age(b, placed) for b in zh_portfolio.accounts["birth_date"].to_list()])
    assert 28 <= np.median(ages) <= 38
    assert (ages < 30).mean() > 0.2 and (ages >= 55).mean() < 0.1


def test_different_debtors_never_share_an_identity_number(zh_portfolio: SimulatedPortfolio) -> None:
    people = zh_portfolio.accounts.select("debtor_ref", "national_id").unique()
    assert people["national_id"].n_unique() == people["debtor_ref"].n_unique() == people.height


def test_a_debtor_with_two_accounts_is_the_same_person_on_both(any_portfolio: SimulatedPortfolio) -> None:
    a = any_portfolio.accounts
    person = [
        "debtor_name",
        "national_id",
        "phone",
        "email",
        "address",
        "birth_date",
        "emergency_contact_1_name",
    ]
    shared = a.filter(pl.col("debtor_ref").is_duplicated())
    assert 0.02 < shared.height / a.height < 0.12
    per_debtor = shared.group_by("debtor_ref").agg([pl.col(c).n_unique().alias(c) for c in person])
    for c in person:
        assert per_debtor[c].max() == 1, c


def test_chinese_mobiles_are_valid_mobile_numbers(zh_portfolio: SimulatedPortfolio) -> None:
    a = zh_portfolio.accounts
    text = zh_portfolio.placements
    prefixes = {p for p, _ in ref.CN_MOBILE_PREFIXES}
    numbers = a["phone"].to_list() + a["emergency_contact_1_phone"].to_list()
    numbers += a["emergency_contact_2_phone"].drop_nulls().to_list()
    for e164 in numbers[:8000]:
        parsed = phonenumbers.parse(e164, None)
        assert phonenumbers.is_valid_number(parsed) and number_type(parsed) == PhoneNumberType.MOBILE, e164
        assert e164[3:6] in prefixes
    for raw in text["手机号"].to_list()[:2000]:
        assert len(raw) == 11 and phonenumbers.is_valid_number(phonenumbers.parse(raw, "CN")), raw


def test_us_numbers_are_valid_and_written_as_americans_write_them(en_portfolio: SimulatedPortfolio) -> None:
    raw = en_portfolio.placements["phone"].to_list()
    for e164, written in list(zip(en_portfolio.accounts["phone"].to_list(), raw, strict=True))[:5000]:
        parsed = phonenumbers.parse(written, "US")
        assert phonenumbers.is_valid_number(parsed), written
        assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == e164
    shapes = pl.Series(raw).str.replace_all(r"\d", "9").unique().to_list()
    assert set(shapes) == {"999-999-9999", "(999) 999-9999", "+9 999 999 9999"}
    assert all(r.startswith("+1 ") for r in raw if r.startswith("+"))


def test_us_phones_mostly_match_the_address_time_zone(en_portfolio: SimulatedPortfolio) -> None:
    a = en_portfolio.accounts.head(3000)
    winter = datetime(2026, 1, 15, 17, tzinfo=UTC)
    same = 0
    for e164, tz in a.select("phone", "timezone").iter_rows():
        zones = phone_timezone.time_zones_for_number(phonenumbers.parse(e164))
        offset = winter.astimezone(ZoneInfo(tz)).utcoffset()
        same += any(winter.astimezone(ZoneInfo(z)).utcoffset() == offset for z in zones)
    assert 0.75 < same / a.height < 0.95  # 80% kept a local number; some moved within a zone


def test_us_city_table_is_consistent_with_area_code_zones() -> None:
    instants = (datetime(2026, 1, 15, 17, tzinfo=UTC), datetime(2026, 7, 15, 17, tzinfo=UTC))
    for city in ref.US_CITIES:
        assert all(len(z) == 5 and z.isdigit() for z in city.zips)
        for area in city.area_codes:
            parsed = phonenumbers.parse(f"+1{area}2345678")
            assert phonenumbers.is_valid_number(parsed), (city.city, area)
            zones = phone_timezone.time_zones_for_number(parsed)
            for at in instants:  # the same wall clock, even where the zone names differ (Detroit, Boise)
                want = at.astimezone(ZoneInfo(city.timezone)).utcoffset()
                assert any(at.astimezone(ZoneInfo(z)).utcoffset() == want for z in zones), (city.city, area)


def test_us_exchanges_exclude_service_and_fictional_codes() -> None:
    ex = set(us_exchanges().tolist())
    assert not ex & {211, 311, 411, 511, 611, 711, 811, 911, 555, 976}
    assert min(ex) == 200 and max(ex) == 999


def test_cn_region_table_uses_real_provinces() -> None:
    by_prefix: dict[str, set[str]] = {}
    for r in ref.CN_REGIONS:
        assert len(r.code) == 6 and r.code.isdigit() and r.code[:2] in PROVINCE_CODES
        by_prefix.setdefault(r.code[:2], set()).add(r.province)
    assert all(len(names) == 1 for names in by_prefix.values())  # one province per 2-digit prefix
    assert by_prefix["44"] == {"广东省"} and by_prefix["11"] == {"北京市"}


def test_addresses_name_the_region_and_regions_follow_population(zh_portfolio: SimulatedPortfolio) -> None:
    a = zh_portfolio.accounts
    assert a.select((pl.col("address").str.starts_with(pl.col("region"))).all()).item()
    assert a.select(pl.col("address").str.contains(r"号").all()).item()
    shares = a["region"].value_counts(normalize=True)
    top = dict(zip(shares["region"].to_list(), shares["proportion"].to_list(), strict=True))
    assert top["广东省深圳市"] > top["西藏自治区拉萨市"] * 5


def test_us_addresses_carry_city_state_zip_and_zone(en_portfolio: SimulatedPortfolio) -> None:
    a = en_portfolio.accounts
    pattern = r"^\d+ [^,]+(, Apt \d+)?, [A-Za-z. ]+, [A-Z]{2} \d{5}$"
    assert a.select(pl.col("address").str.contains(pattern).all()).item()
    assert a.select((pl.col("address").str.contains(pl.concat_str([pl.lit(", "), pl.col("region"), pl.lit(" ")])))
                    .all()).item()  # fmt: skip
    zones = set(a["timezone"].unique().to_list())
    assert {"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"} <= zones
    for z in zones:
        ZoneInfo(z)


def test_emergency_contacts_fit_their_relation(zh_portfolio: SimulatedPortfolio) -> None:
    a = zh_portfolio.accounts
    fathers = a.filter(pl.col("emergency_contact_1_relation") == "父亲")
    assert fathers.height > 500
    assert (
        fathers.select(
            pl.col("emergency_contact_1_name").str.slice(0, 1) == pl.col("debtor_name").str.slice(0, 1)
        )
        .to_series()
        .all()
    )
    two = a.filter(pl.col("emergency_contact_2_relation").is_not_null())
    assert 0.6 < two.height / a.height < 0.8
    assert (two["emergency_contact_1_relation"] != two["emergency_contact_2_relation"]).all()
    assert (a["emergency_contact_1_phone"] != a["phone"]).all()


def test_chinese_names_are_two_to_four_characters(zh_portfolio: SimulatedPortfolio) -> None:
    lengths = zh_portfolio.accounts["debtor_name"].str.len_chars()
    assert lengths.min() >= 2 and lengths.max() <= 4
    assert 0.5 < (lengths == 3).mean() < 0.9


def test_vectorised_ids_agree_with_the_scalar_rules() -> None:
    rng = np.random.default_rng(5)
    n = 2000
    codes = np.array([int(r.code) for r in ref.CN_REGIONS])[rng.integers(0, len(ref.CN_REGIONS), n)]
    births = rng.integers(-20000, 12000, n)  # 1915 … 2002
    male = rng.random(n) < 0.5
    first17, remainder = cn_id_parts(codes, births, male, rng)
    ids = cn_id_text(first17, remainder).to_list()
    for nid, m in zip(ids, male, strict=True):
        assert cn_id_check_digit(nid[:17]) == nid[17]
        assert gender_from_cn_id(nid) == ("M" if m else "F")
