"""Synthetic debtors and their emergency contacts: names, identity numbers, phones, emails, addresses.

Column-wise: small pools (Faker's name lists, a few hundred companies and streets) are sampled with
numpy indices and assembled with Polars string expressions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import polars as pl
from faker import Faker

from arrears.simulation import reference as ref
from arrears.simulation.formats import gather, pick, weights
from arrears.simulation.ids import cn_id_parts, cn_id_text, cn_mobiles, us_numbers

NameTable = tuple[list[str], np.ndarray]


@dataclass(frozen=True)
class Pools:
    companies: list[str]
    streets: list[str]
    user_names: list[str]
    names: dict[str, NameTable]


def make_pools(locale: str, seed: int) -> Pools:
    """Small seeded pools from Faker, plus its name lists with their frequency weights."""
    fk = Faker(locale)
    fk.seed_instance(seed)
    companies = sorted({fk.company() for _ in range(600)})
    if locale == "zh_CN":
        from faker.providers.person.zh_CN import Provider as ZhPerson

        def uniform(names: list[str]) -> NameTable:
            return names, weights(np.ones(len(names)))

        last = dict(ZhPerson.last_names)
        male, female = list(ZhPerson.first_names_male), list(ZhPerson.first_names_female)
        names = {
            "last": (list(last), weights(list(last.values()))),
            "male": uniform([x for x in male if len(x) == 1]),
            "female": uniform([x for x in female if len(x) == 1]),
            "male2": uniform([x for x in male if len(x) == 2]),
            "female2": uniform([x for x in female if len(x) == 2]),
        }
        return Pools(companies, [], sorted({fk.user_name() for _ in range(1500)}), names)

    from faker.providers.person.en_US import Provider as EnPerson

    def table(d: object) -> NameTable:
        items = dict(d)  # type: ignore[call-overload]
        return list(items), weights(list(items.values()))

    names = {
        "last": table(EnPerson.last_names),
        "male": table(EnPerson.first_names_male),
        "female": table(EnPerson.first_names_female),
    }
    return Pools(companies, sorted({fk.street_name() for _ in range(1500)}), [], names)


def _draw(rng: np.random.Generator, t: NameTable, n: int) -> np.ndarray:
    return rng.choice(len(t[0]), size=n, p=t[1])


def _by_gender(male: pl.Series, if_male: pl.Series, if_female: pl.Series) -> pl.Expr:
    return pl.when(pl.lit(male)).then(pl.lit(if_male)).otherwise(pl.lit(if_female))


def person_names(
    rng: np.random.Generator,
    locale: str,
    pools: Pools,
    male: np.ndarray,
    surname_idx: np.ndarray | None = None,
) -> tuple[pl.Series, np.ndarray, pl.Series]:
    """Full names matching each gender; returns the names, the surname indices and the given names."""
    n = len(male)
    t = pools.names
    if surname_idx is None:
        surname_idx = _draw(rng, t["last"], n)
    last = gather(t["last"][0], surname_idx)
    is_male = pl.Series(male)
    first = _by_gender(
        is_male,
        gather(t["male"][0], _draw(rng, t["male"], n)),
        gather(t["female"][0], _draw(rng, t["female"], n)),
    )
    if locale == "zh_CN":
        # Given names: one character (25%), two single characters (60%), or a common two-character name.
        second = _by_gender(
            is_male,
            gather(t["male"][0], _draw(rng, t["male"], n)),
            gather(t["female"][0], _draw(rng, t["female"], n)),
        )
        whole = _by_gender(
            is_male,
            gather(t["male2"][0], _draw(rng, t["male2"], n)),
            gather(t["female2"][0], _draw(rng, t["female2"], n)),
        )
        form = pl.lit(pl.Series(pick(rng, [0.25, 0.60, 0.15], n)))
        given = (
            pl.when(form == 0)
            .then(first)
            .when(form == 1)
            .then(pl.concat_str([first, second]))
            .otherwise(whole)
        )
        parts = pl.select(full=pl.concat_str([pl.lit(last), given]), given=given)
        return parts["full"], surname_idx, parts["given"]
    initials = [f"{chr(ord('A') + i)}. " for i in range(26)] + [""]
    middle = np.where(rng.random(n) < 0.15, rng.integers(0, 26, n), 26)
    full = pl.concat_str([first, pl.lit(" "), pl.lit(gather(initials, middle)), pl.lit(last)])
    parts = pl.select(full=full, given=first)
    return parts["full"], surname_idx, parts["given"]


def birth_days(rng: np.random.Generator, placed_days: int, n: int) -> np.ndarray:
    """Birth dates (days since 1970) for ages 20–65 at placement, skewed to the late twenties and thirties
    as consumer-credit borrowers are."""
    age = np.minimum(20 + np.floor(46 * rng.beta(2.2, 4.5, n)), 65)
    return placed_days - np.floor((age + rng.uniform(0.02, 0.97, n)) * 365.2425).astype(np.int64)


def national_ids(
    rng: np.random.Generator,
    region_idx: np.ndarray,
    births: np.ndarray,
    male: np.ndarray,
    distinct: np.ndarray,
) -> pl.Series:
    """Valid identity numbers; the rows in `distinct` (different people) never share one."""
    codes = np.array([int(r.code) for r in ref.CN_REGIONS], dtype=np.int64)[region_idx]
    first17, remainder = cn_id_parts(codes, births, male, rng)
    for _ in range(20):
        _, first_seen = np.unique(first17[distinct], return_index=True)
        repeated = np.ones(len(distinct), dtype=bool)
        repeated[first_seen] = False
        clash = distinct[repeated]
        if len(clash) == 0:
            return cn_id_text(first17, remainder)
        first17[clash], remainder[clash] = cn_id_parts(codes[clash], births[clash], male[clash], rng)
    raise RuntimeError("could not draw distinct identity numbers")  # pragma: no cover - needs ~10^8 people


def cn_mobile_numbers(rng: np.random.Generator, n: int) -> pl.Series:
    prefixes = np.array([int(p) for p, _ in ref.CN_MOBILE_PREFIXES], dtype=np.int64)
    return cn_mobiles(prefixes[pick(rng, [w for _, w in ref.CN_MOBILE_PREFIXES], n)], rng)


def us_phone_numbers(rng: np.random.Generator, city_idx: np.ndarray) -> np.ndarray:
    """Numbers (10-digit integers) with one of the city's real area codes."""
    first = np.array([int(c.area_codes[0]) for c in ref.US_CITIES], dtype=np.int64)[city_idx]
    last = np.array([int(c.area_codes[-1]) for c in ref.US_CITIES], dtype=np.int64)[city_idx]
    return us_numbers(np.where(rng.random(len(city_idx)) < 0.5, first, last), rng)


def us_phone_text(rng: np.random.Generator, numbers: np.ndarray) -> pl.Series:
    """10-digit numbers → "312-555-0147" (60%), "(312) 555-0147" (30%) or "+1 312 555 0147" (10%)."""
    style = pick(rng, [0.6, 0.3, 0.1], len(numbers))
    frame = pl.DataFrame({"a": numbers // 10**7, "b": numbers // 10**4 % 1000, "c": numbers % 10**4})
    a, b = pl.col("a").cast(pl.Utf8), pl.col("b").cast(pl.Utf8)
    c = pl.col("c").cast(pl.Utf8).str.zfill(4)
    out = frame.select(pl.concat_str([a, pl.lit("-"), b, pl.lit("-"), c])).to_series()
    others = {
        1: pl.concat_str([pl.lit("("), a, pl.lit(") "), b, pl.lit("-"), c]),
        2: pl.concat_str([pl.lit("+1 "), a, pl.lit(" "), b, pl.lit(" "), c]),
    }
    for k, expr in others.items():
        idx = np.flatnonzero(style == k)
        if len(idx):
            out = out.scatter(idx, frame[idx].select(expr).to_series())
    return out


def e164(country_code: str, digits: pl.Series | np.ndarray) -> pl.Series:
    text = digits if isinstance(digits, pl.Series) else pl.Series(digits).cast(pl.Utf8)
    return pl.select(pl.concat_str([pl.lit(country_code), pl.lit(text)])).to_series()


def cn_addresses(rng: np.random.Generator, home: np.ndarray) -> tuple[pl.Series, pl.Series]:
    """ "广东省深圳市南山区学府路88号阳光花园3栋2单元1203室" and the region "广东省深圳市"."""
    n = len(home)

    def region_name(r: ref.CnRegion) -> str:
        return r.province + (r.city if r.city != r.province else "")

    frame = pl.DataFrame(
        {
            "loc": gather([region_name(r) + r.district for r in ref.CN_REGIONS], home),
            "street": gather(ref.CN_STREETS, rng.integers(0, len(ref.CN_STREETS), n)),
            "num": rng.integers(1, 400, n),
            "compound": gather(ref.CN_COMPOUNDS, rng.integers(0, len(ref.CN_COMPOUNDS), n)),
            "has_flat": rng.random(n) < 0.75,
            "building": rng.integers(1, 30, n),
            "unit": rng.integers(1, 5, n),
            "room": rng.integers(1, 33, n) * 100 + rng.integers(1, 7, n),
        }
    )
    flat = pl.concat_str(
        [
            pl.col("compound"),
            pl.col("building").cast(pl.Utf8),
            pl.lit("栋"),
            pl.col("unit").cast(pl.Utf8),
            pl.lit("单元"),
            pl.col("room").cast(pl.Utf8),
            pl.lit("室"),
        ]
    )
    address = frame.select(
        pl.concat_str(
            [
                pl.col("loc"),
                pl.col("street"),
                pl.col("num").cast(pl.Utf8),
                pl.lit("号"),
                pl.when(pl.col("has_flat")).then(flat).otherwise(pl.lit("")),
            ]
        )
    ).to_series()
    return address, gather([region_name(r) for r in ref.CN_REGIONS], home)


def us_addresses(
    rng: np.random.Generator, home: np.ndarray, streets: list[str]
) -> tuple[pl.Series, pl.Series]:
    """ "4821 Heather Grove, Apt 12, Chicago, IL 60614" with the city's real ZIP codes; and the state."""
    n = len(home)
    cities = ref.US_CITIES
    zip_slot = home * 3 + rng.integers(0, 3, n)
    frame = pl.DataFrame(
        {
            "num": rng.integers(1, 9900, n),
            "street": gather(streets, rng.integers(0, len(streets), n)),
            "apt": rng.integers(1, 40, n),
            "has_apt": rng.random(n) < 0.3,
            "city": gather([f"{c.city}, {c.state}" for c in cities], home),
            "zip": gather([c.zips[k % len(c.zips)] for c in cities for k in range(3)], zip_slot),
        }
    )
    apt = pl.concat_str([pl.lit(", Apt "), pl.col("apt").cast(pl.Utf8)])
    address = frame.select(
        pl.concat_str(
            [
                pl.col("num").cast(pl.Utf8),
                pl.lit(" "),
                pl.col("street"),
                pl.when(pl.col("has_apt")).then(apt).otherwise(pl.lit("")),
                pl.lit(", "),
                pl.col("city"),
                pl.lit(" "),
                pl.col("zip"),
            ]
        )
    ).to_series()
    return address, gather([c.state for c in cities], home)


def emails(
    rng: np.random.Generator, locale: str, pools: Pools, given: pl.Series, surname_idx: np.ndarray
) -> pl.Series:
    """Chinese: QQ numbers or pinyin user names at 163/126/…; US: built from the person's name. Some
    debtors have none (null)."""
    n = len(given)
    number = pl.lit(pl.Series(rng.integers(0, 10000, n))).cast(pl.Utf8)
    with_number = pl.lit(pl.Series(rng.random(n) < 0.6))
    if locale == "zh_CN":
        has = rng.random(n) < 0.65
        qq = pl.lit(pl.Series(rng.integers(10**5, 3 * 10**9, n))).cast(pl.Utf8)
        is_qq = pl.lit(pl.Series(rng.random(n) < 0.4))
        user = pl.lit(gather(pools.user_names, rng.integers(0, len(pools.user_names), n)))
        domains = ref.CN_EMAIL_DOMAINS
        domain = pl.lit(gather([d for d, _ in domains], pick(rng, [w for _, w in domains], n)))
        local = pl.when(with_number).then(pl.concat_str([user, number])).otherwise(user)
        email = (
            pl.when(is_qq)
            .then(pl.concat_str([qq, pl.lit("@qq.com")]))
            .otherwise(pl.concat_str([local, pl.lit("@"), domain]))
        )
    else:
        has = rng.random(n) < 0.75
        domains = ref.US_EMAIL_DOMAINS
        domain = pl.lit(gather([d for d, _ in domains], pick(rng, [w for _, w in domains], n)))
        style = pl.lit(pl.Series(rng.integers(0, 3, n)))
        last_pool = [re.sub(r"[^a-z]", "", x.lower()) for x in pools.names["last"][0]]
        first = pl.lit(given).str.to_lowercase().str.replace_all(r"[^a-z]", "")
        last = pl.lit(gather(last_pool, surname_idx))
        local = (
            pl.when(style == 0)
            .then(pl.concat_str([first, pl.lit("."), last]))
            .when(style == 1)
            .then(pl.concat_str([first.str.slice(0, 1), last]))
            .otherwise(pl.concat_str([first, last]))
        )
        local = pl.when(with_number).then(pl.concat_str([local, number])).otherwise(local)
        email = pl.concat_str([local, pl.lit("@"), domain])
    return pl.select(pl.when(pl.lit(pl.Series(has))).then(email)).to_series()


# Gender rule codes for contacts: 0 any, 1 male, 2 female, 3 opposite of the debtor (spouse).
_GENDER_RULE = {"": 0, "M": 1, "F": 2, "spouse": 3}


def relations(rng: np.random.Generator, locale: str, n: int, avoid: np.ndarray | None = None) -> np.ndarray:
    """Relation of an emergency contact; a second contact never repeats the first's relation."""
    table = ref.CN_RELATIONS if locale == "zh_CN" else ref.US_RELATIONS
    w = [t[3] for t in table]
    idx = pick(rng, w, n)
    if avoid is not None:
        for _ in range(8):
            clash = np.flatnonzero(idx == avoid)
            if len(clash) == 0:
                break
            idx[clash] = pick(rng, w, len(clash))
        clash = np.flatnonzero(idx == avoid)
        idx[clash] = (avoid[clash] + 1) % len(table)
    return idx


def contact_names(
    rng: np.random.Generator,
    locale: str,
    pools: Pools,
    rel_idx: np.ndarray,
    debtor_male: np.ndarray,
    debtor_surname: np.ndarray,
) -> tuple[pl.Series, pl.Series]:
    """Name and relation label of one emergency contact per debtor (third parties, CN-P2 / US-P2): a
    father is a man with the debtor's surname, a spouse the other gender, and so on."""
    table = ref.CN_RELATIONS if locale == "zh_CN" else ref.US_RELATIONS
    n = len(rel_idx)
    rule = np.array([_GENDER_RULE[t[1]] for t in table])[rel_idx]
    shares = np.array([t[2] for t in table])[rel_idx]
    if locale != "zh_CN":
        shares &= rng.random(n) < 0.85
    coin = rng.random(n) < 0.5
    male = np.select([rule == 1, rule == 2, rule == 3], [True, False, ~debtor_male], default=coin)
    surname = np.where(shares, debtor_surname, _draw(rng, pools.names["last"], n))
    names, _, _ = person_names(rng, locale, pools, male, surname)
    return names, gather([t[0] for t in table], rel_idx)
