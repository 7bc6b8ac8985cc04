"""Synthetic placement and payment files, as a creditor would send them to a collection agency (R1, R2).

Everything is drawn from numpy generators seeded from `seed`, so the same arguments give the same
rows and byte-identical files. Faker only fills small pools (companies, streets, user names) that
rows sample from; names, identity numbers, phones and amounts are built column-wise.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from arrears.core.errors import ValidationFailed
from arrears.simulation import people
from arrears.simulation import reference as ref
from arrears.simulation.balances import PENALTY_RATE_TEXT, PRODUCT_MIX, PRODUCTS, balances, days_past_due
from arrears.simulation.formats import (
    amount_text,
    date_series,
    date_text,
    gather,
    pick,
    rate_text,
    row_styles,
)

LOCALES: tuple[str, ...] = ("zh_CN", "en_US")
FORMATS: tuple[str, ...] = ("csv", "xlsx")
# A fixed default keeps files reproducible from the seed alone; payments (≤ 30 days later) stay in the past.
DEFAULT_PLACEMENT_DATE = date(2026, 10, 15)
PAYMENT_WINDOW_DAYS = 30
MAX_ACCOUNTS = 20_000_000
XLSX_MAX_ROWS = 1_048_575  # a worksheet's 1,048,576 rows less the header

# Canonical column names (the en_US headers) and the headers Chinese placement files use.
EN_PLACEMENT_HEADERS: tuple[str, ...] = (
    "account_ref", "debtor_name", "national_id", "debtor_ref", "phone", "email", "address", "employer",
    "product", "currency", "loan_amount", "contract_date", "term_months", "annual_rate",
    "daily_penalty_rate", "principal", "interest", "penalty", "fees", "days_past_due", "placement_date",
    "emergency_contact_1_name", "emergency_contact_1_relation", "emergency_contact_1_phone",
    "emergency_contact_2_name", "emergency_contact_2_relation", "emergency_contact_2_phone",
    "region", "timezone",
)  # fmt: skip
ZH_PLACEMENT_HEADERS: dict[str, str] = {
    "account_ref": "合同号",
    "debtor_name": "借款人姓名",
    "national_id": "身份证号",
    "phone": "手机号",
    "email": "电子邮箱",
    "address": "家庭住址",
    "employer": "工作单位",
    "product": "产品类型",
    "currency": "币种",
    "loan_amount": "贷款金额",
    "contract_date": "合同日期",
    "term_months": "期限(月)",
    "annual_rate": "年利率",
    "daily_penalty_rate": "日罚息率",
    "principal": "剩余本金",
    "interest": "利息",
    "penalty": "罚息",
    "fees": "费用",
    "days_past_due": "逾期天数",
    "placement_date": "委案日期",
    "emergency_contact_1_name": "紧急联系人1姓名",
    "emergency_contact_1_relation": "紧急联系人1关系",
    "emergency_contact_1_phone": "紧急联系人1电话",
    "emergency_contact_2_name": "紧急联系人2姓名",
    "emergency_contact_2_relation": "紧急联系人2关系",
    "emergency_contact_2_phone": "紧急联系人2电话",
    "region": "地区",
}
EN_PAYMENT_HEADERS: tuple[str, ...] = ("payment_ref", "account_ref", "amount", "paid_at")
ZH_PAYMENT_HEADERS: dict[str, str] = {
    "payment_ref": "还款流水号",
    "account_ref": "合同号",
    "amount": "还款金额",
    "paid_at": "还款日期",
}
AMOUNT_COLUMNS: tuple[str, ...] = ("loan_amount", "principal", "interest", "penalty", "fees")
DATE_COLUMNS: tuple[str, ...] = ("contract_date", "placement_date")
SHARED_DEBTOR_SHARE = 0.04  # accounts whose debtor also holds another account in the placement

_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class SimulatedPortfolio:
    """A generated placement. `placements` and `payments` hold the text exactly as the files carry it,
    under the locale's headers; `accounts` and `payment_truth` hold the same facts typed (canonical
    names, integer minor units, dates), to check an import against."""

    locale: str
    seed: int
    placement_date: date
    currency: str
    placements: pl.DataFrame
    payments: pl.DataFrame
    accounts: pl.DataFrame
    payment_truth: pl.DataFrame

    def placement_rows(self) -> list[dict[str, Any]]:
        return self.placements.to_dicts()

    def payment_rows(self) -> list[dict[str, Any]]:
        return self.payments.to_dicts()

    def summary(self) -> dict[str, Any]:
        """Counts and shares for a quick look: per bucket, per product, totals in minor units."""
        n = self.accounts.height
        buckets = dict(self.accounts.group_by("bucket").len().sort("bucket").iter_rows())
        products = dict(self.accounts.group_by("product").len().sort("product").iter_rows())
        balance = self.accounts.select(
            (pl.col("principal") + pl.col("interest") + pl.col("penalty") + pl.col("fees")).sum()
        ).item()
        paid = int(self.payment_truth["amount"].sum()) if self.payment_truth.height else 0
        return {
            "locale": self.locale,
            "seed": self.seed,
            "placement_date": self.placement_date.isoformat(),
            "currency": self.currency,
            "accounts": n,
            "debtors": self.accounts["debtor_ref"].n_unique(),
            "payments": self.payment_truth.height,
            "accounts_with_payments": self.payment_truth["account_ref"].n_unique(),
            "buckets": {b: buckets.get(b, 0) for b in ref.BUCKETS},
            "products": products,
            "balance_minor": int(balance or 0),
            "paid_minor": paid,
        }


# ---------------------------------------------------------------- generation


def _validate(n: int, seed: int, locale: str, payments_share: float) -> None:
    if locale not in LOCALES:
        raise ValidationFailed(f"locale must be one of {', '.join(LOCALES)}, not {locale!r}")
    if not 1 <= n <= MAX_ACCOUNTS:
        raise ValidationFailed(f"accounts must be between 1 and {MAX_ACCOUNTS:,}, not {n}")
    if seed < 0:
        raise ValidationFailed(f"seed must be a non-negative integer, not {seed}")
    if not 0.0 <= payments_share <= 1.0:
        raise ValidationFailed(f"payments share must be between 0 and 1, not {payments_share}")


def generate_portfolio(
    n: int,
    seed: int,
    locale: str = "zh_CN",
    placement_date: date | None = None,
    payments_share: float = 0.3,
    *,
    messy: bool = True,
) -> SimulatedPortfolio:
    """A placement of `n` accounts and the payments received within 30 days after it.

    `payments_share` is the share of accounts with at least one payment. With `messy` (the default),
    Chinese files mix amount, date and rate formats as real exports do; without it every cell is canonical.
    """
    _validate(n, seed, locale, payments_share)
    placed_on = placement_date or DEFAULT_PLACEMENT_DATE
    placed_days = (placed_on - _EPOCH).days
    cn = locale == "zh_CN"

    def stream(k: int) -> np.random.Generator:  # one independent stream per concern
        return np.random.default_rng([seed, k])

    pools = people.make_pools(locale, seed)
    batch = int(stream(0).integers(0, 10000))  # distinguishes references of different generated placements

    # Accounts: product, ageing, terms and balances.
    rng = stream(1)
    product = pick(rng, PRODUCT_MIX, n)
    dpd = days_past_due(rng, n)
    overdue_since = placed_days - dpd
    money = balances(rng, locale, product, dpd, overdue_since)

    # Debtors: a few hold two accounts (a card and a loan), so person columns go through `owner`.
    rng = stream(2)
    owner = np.arange(n)
    if n >= 20:
        second = np.flatnonzero(rng.random(n) < SHARED_DEBTOR_SHARE)
        is_second = np.zeros(n, dtype=bool)
        is_second[second] = True
        firsts = np.flatnonzero(~is_second)
        owner[second] = firsts[rng.integers(0, len(firsts), len(second))]
    distinct = np.unique(owner)
    male = rng.random(n) < (0.58 if cn else 0.5)
    births = people.birth_days(rng, placed_days, n)
    names, surname_idx, given = people.person_names(rng, locale, pools, male)

    rng = stream(3)
    if cn:
        region_w = [r.weight for r in ref.CN_REGIONS]
        home = pick(rng, region_w, n)
        born_in = np.where(rng.random(n) < 0.78, home, pick(rng, region_w, n))  # hukou vs residence
        national_id = people.national_ids(rng, born_in, births, male, distinct)
        phone = people.cn_mobile_numbers(rng, n)
        phone_text, phone_e164 = phone, people.e164("+86", phone)
        address, region = people.cn_addresses(rng, home)
        timezone = pl.repeat("Asia/Shanghai", n, eager=True, dtype=pl.Utf8)  # one legal time in China
    else:
        city_w = [c.weight for c in ref.US_CITIES]
        home = pick(rng, city_w, n)
        phone_city = np.where(rng.random(n) < 0.8, home, pick(rng, city_w, n))  # 20% kept an old number
        us_phone = people.us_phone_numbers(rng, phone_city)
        phone_text, phone_e164 = people.us_phone_text(rng, us_phone), people.e164("+1", us_phone)
        national_id = pl.repeat(None, n, eager=True, dtype=pl.Utf8)
        address, region = people.us_addresses(rng, home, pools.streets)
        timezone = gather([c.timezone for c in ref.US_CITIES], home)

    rng = stream(4)
    email = people.emails(rng, locale, pools, given, surname_idx)
    employed = pl.Series(rng.random(n) < 0.88)
    employer = gather(pools.companies, rng.integers(0, len(pools.companies), n))
    employer = pl.select(pl.when(pl.lit(employed)).then(pl.lit(employer))).to_series()

    rng = stream(5)
    rel1 = people.relations(rng, locale, n)
    rel2 = people.relations(rng, locale, n, avoid=rel1)
    has_second = pl.Series(rng.random(n) < 0.7)
    ec1_name, ec1_rel = people.contact_names(rng, locale, pools, rel1, male, surname_idx)
    ec2_name, ec2_rel = people.contact_names(rng, locale, pools, rel2, male, surname_idx)
    if cn:
        ec1_phone, ec2_phone = people.cn_mobile_numbers(rng, n), people.cn_mobile_numbers(rng, n)
        ec1_text, ec2_text = ec1_phone, ec2_phone
        ec1_e164, ec2_e164 = people.e164("+86", ec1_phone), people.e164("+86", ec2_phone)
    else:
        ec1_us, ec2_us = people.us_phone_numbers(rng, home), people.us_phone_numbers(rng, home)
        ec1_text, ec2_text = people.us_phone_text(rng, ec1_us), people.us_phone_text(rng, ec2_us)
        ec1_e164, ec2_e164 = people.e164("+1", ec1_us), people.e164("+1", ec2_us)

    def person(s: pl.Series, keep: pl.Series | None = None) -> pl.Series:
        """A person column for each account: the owner's value (null where `keep` is false)."""
        if keep is not None:
            s = pl.select(pl.when(pl.lit(keep)).then(pl.lit(s))).to_series()
        return s.gather(owner)

    account_ref = _references(
        gather(["XD", "XYK", "YS"] if cn else ["LN", "CC", "AR"], product),
        _years(money.contract_days),
        batch,
        np.arange(n),
    )
    debtor_ref = _references(pl.repeat("KH" if cn else "CUST", n, eager=True), None, batch, owner)
    buckets = gather(ref.BUCKETS, np.minimum((dpd - 1) // 30, 6))
    accounts = pl.DataFrame(
        {
            "account_ref": account_ref,
            "debtor_ref": debtor_ref,
            "debtor_name": person(names),
            "national_id": person(national_id),
            "gender": person(gather(["F", "M"], male.astype(np.int64))),
            "birth_date": person(date_series("birth_date", births)),
            "phone": person(phone_e164),
            "email": person(email),
            "address": person(address),
            "employer": person(employer),
            "product": gather(PRODUCTS, product),
            "currency": pl.repeat("CNY" if cn else "USD", n, eager=True, dtype=pl.Utf8),
            "loan_amount": money.loan_amount,
            "contract_date": date_series("contract_date", money.contract_days),
            "term_months": pl.Series(money.term_months, dtype=pl.Int64).replace(0, None),
            "annual_rate_bp": money.rate_bp,
            "daily_penalty_rate": gather(PENALTY_RATE_TEXT, money.penalty_idx),
            "principal": money.principal,
            "interest": money.interest,
            "penalty": money.penalty,
            "fees": money.fees,
            "days_past_due": dpd,
            "bucket": buckets,
            "overdue_since": date_series("overdue_since", overdue_since),
            "placement_date": date_series("placement_date", np.full(n, placed_days)),
            "emergency_contact_1_name": person(ec1_name),
            "emergency_contact_1_relation": person(ec1_rel),
            "emergency_contact_1_phone": person(ec1_e164),
            "emergency_contact_2_name": person(ec2_name, has_second),
            "emergency_contact_2_relation": person(ec2_rel, has_second),
            "emergency_contact_2_phone": person(ec2_e164, has_second),
            "region": person(region),
            "timezone": person(timezone),
        }
    )

    # The file as written: the same facts as text, Chinese rows in mixed styles.
    amount_style, date_style, percent = row_styles(stream(6), n, cn and messy)
    a_style = amount_style if cn else None
    d_style = date_style if cn else None
    text: dict[str, pl.Series] = {c: accounts[c] for c in EN_PLACEMENT_HEADERS if c in accounts.columns}
    text.update(
        {
            "phone": person(phone_text),
            "emergency_contact_1_phone": person(ec1_text),
            "emergency_contact_2_phone": person(ec2_text, has_second),
            "term_months": accounts["term_months"].cast(pl.Utf8),
            "days_past_due": accounts["days_past_due"].cast(pl.Utf8),
            "annual_rate": rate_text(money.rate_bp, percent if cn else None),
            "contract_date": date_text(money.contract_days, d_style),
            "placement_date": date_text(np.full(n, placed_days), d_style),
        }
    )
    if cn:
        text["product"] = gather([ref.CN_PRODUCT_LABELS[p] for p in PRODUCTS], product)
    for c in AMOUNT_COLUMNS:
        text[c] = amount_text(getattr(money, c), a_style)
    if cn:
        placements = pl.DataFrame({h: text[c] for c, h in ZH_PLACEMENT_HEADERS.items()})
    else:
        placements = pl.DataFrame({c: text[c] for c in EN_PLACEMENT_HEADERS})

    payment_truth, payments = _payments(stream(7), accounts, payments_share, placed_on, batch, locale, messy)
    return SimulatedPortfolio(
        locale=locale,
        seed=seed,
        placement_date=placed_on,
        currency="CNY" if cn else "USD",
        placements=placements,
        payments=payments,
        accounts=accounts,
        payment_truth=payment_truth,
    )


def _years(days: np.ndarray) -> pl.Series:
    d = (np.datetime64("1970-01-01", "D") + days.astype("timedelta64[D]")).astype("datetime64[Y]")
    return pl.Series(d.astype(np.int64) + 1970).cast(pl.Utf8)


def _references(prefix: pl.Series, middle: pl.Series | None, batch: int, number: np.ndarray) -> pl.Series:
    """ "XD" + "2025" + batch "0042" + "00001234": unique within a placement, distinct across batches."""
    parts = [pl.lit(prefix)]
    if middle is not None:
        parts.append(pl.lit(middle))
    parts += [pl.lit(f"{batch:04d}"), pl.lit(pl.Series(number)).cast(pl.Utf8).str.zfill(8)]
    return pl.select(pl.concat_str(parts)).to_series()


# ---------------------------------------------------------------- payments


PAYMENT_KINDS: tuple[str, ...] = ("partial", "payoff", "overpayment")
PAYMENT_KIND_MIX: tuple[float, ...] = (0.74, 0.21, 0.05)
# Propensity to pay by bucket: early-stage debtors pay far more often than charged-off ones.
PAY_PROPENSITY: tuple[float, ...] = (3.0, 2.0, 1.5, 1.0, 0.8, 0.7, 0.4)


def _payments(
    rng: np.random.Generator,
    accounts: pl.DataFrame,
    share: float,
    placed_on: date,
    batch: int,
    locale: str,
    messy: bool,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Payments in the 30 days after placement: partial payments in round amounts (sometimes two or three),
    payoffs of the placed balance, and a few overpayments by a small amount."""
    cn = locale == "zh_CN"
    n = accounts.height
    k = round(n * share)
    dpd = accounts["days_past_due"].to_numpy()
    weight = np.asarray(PAY_PROPENSITY)[np.minimum((dpd - 1) // 30, 6)]
    keys = np.log(rng.random(n)) / weight  # weighted sampling without replacement (Efraimidis–Spirakis)
    payers = np.sort(np.argpartition(-keys, k - 1)[:k]) if 0 < k < n else np.arange(n if k else 0)
    total = (
        accounts["principal"].to_numpy()
        + accounts["interest"].to_numpy()
        + accounts["penalty"].to_numpy()
        + accounts["fees"].to_numpy()
    )[payers]
    kind = pick(rng, PAYMENT_KIND_MIX, len(payers))
    count = np.where(kind == 0, 1 + pick(rng, [0.70, 0.22, 0.08], len(payers)), 1)
    fraction = 0.05 + 0.55 * rng.beta(1.3, 3.0, len(payers))

    row_payer = np.repeat(np.arange(len(payers)), count)
    row_kind = kind[row_payer]
    parts = rng.gamma(2.0, size=len(row_payer))
    parts = parts / np.bincount(row_payer, weights=parts)[row_payer]
    raw = total[row_payer] * fraction[row_payer] * parts
    unit = np.where(raw >= 100_000, 10_000, np.where(raw >= 10_000, 1_000, 100))
    exact = rng.random(len(raw)) < 0.15  # automatic debits take the exact amount available
    partial = np.maximum(np.where(exact, np.floor(raw), raw // unit * unit), 100).astype(np.int64)
    over_by = np.where(
        rng.random(len(raw)) < 0.5,
        (total[row_payer] // 1000 + 1) * 1000 - total[row_payer],  # rounded up to the next 10 units
        rng.integers(1, 5001, len(raw)),
    )
    amount = np.where(
        row_kind == 0, partial, np.where(row_kind == 1, total[row_payer], total[row_payer] + over_by)
    )
    offset = rng.integers(1, PAYMENT_WINDOW_DAYS + 1, len(row_payer))
    order = np.lexsort((row_payer, offset))
    row_payer, row_kind, amount, offset = row_payer[order], row_kind[order], amount[order], offset[order]
    placed_days = (placed_on - _EPOCH).days
    m = len(amount)
    prefix = "HK" if cn else "PMT"
    refs = pl.select(
        pl.concat_str(
            [
                pl.lit(f"{prefix}{batch:04d}"),
                pl.lit(pl.Series(np.arange(1, m + 1))).cast(pl.Utf8).str.zfill(9),
            ]
        )
    ).to_series()
    truth = pl.DataFrame(
        {
            "payment_ref": refs,
            "account_ref": accounts["account_ref"].gather(payers[row_payer]),
            "amount": pl.Series(amount, dtype=pl.Int64),
            "currency": pl.repeat(accounts["currency"][0], m, eager=True, dtype=pl.Utf8),
            "paid_on": date_series("paid_on", placed_days + offset),
            "kind": gather(PAYMENT_KINDS, row_kind),
        }
    )
    amount_style, date_style, _ = row_styles(rng, m, cn and messy)
    text = pl.DataFrame(
        {
            "payment_ref": truth["payment_ref"],
            "account_ref": truth["account_ref"],
            "amount": amount_text(amount, amount_style if cn else None),
            "paid_at": date_text(placed_days + offset, date_style if cn else None),
        }
    )
    if cn:
        text = text.rename(ZH_PAYMENT_HEADERS)
    return truth, text


# ---------------------------------------------------------------- files

_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_PLAIN_AMOUNT = re.compile(r"\d+\.\d{2}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def check_format(fmt: str, rows: int) -> None:
    """Refuse an unknown format, or more rows than one XLSX sheet holds (1,048,576 with the header)."""
    if fmt not in FORMATS:
        raise ValidationFailed(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if fmt == "xlsx" and rows > XLSX_MAX_ROWS:
        raise ValidationFailed(
            f"an XLSX sheet holds at most {XLSX_MAX_ROWS:,} accounts, not {rows:,}: use csv"
        )


def write_portfolio(p: SimulatedPortfolio, out_dir: str | Path, fmt: str = "csv") -> dict[str, Path]:
    """Write placements (CSV, or XLSX with `fmt="xlsx"`) and payments.csv into `out_dir`.

    Chinese files carry a UTF-8 byte-order mark and CRLF line ends, as Excel exports them."""
    check_format(fmt, p.placements.height)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cn = p.locale == "zh_CN"
    paths: dict[str, Path] = {}
    if fmt == "csv":
        paths["placements"] = out / "placements.csv"
        _write_csv(p.placements, paths["placements"], cn)
    else:
        paths["placements"] = out / "placements.xlsx"
        _write_xlsx(p.placements, paths["placements"], p, cn)
    paths["payments"] = out / "payments.csv"
    _write_csv(p.payments, paths["payments"], cn)
    return paths


def _write_csv(df: pl.DataFrame, path: Path, cn: bool) -> None:
    df.write_csv(path, include_bom=cn, line_terminator="\r\n" if cn else "\n", quote_style="necessary")


def _write_xlsx(df: pl.DataFrame, path: Path, p: SimulatedPortfolio, cn: bool) -> None:
    """As a spreadsheet user would have it: plain amounts and ISO dates as numbers and date cells, the
    rest (identity numbers, phones, styled amounts) as text so nothing is mangled."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("委案" if cn else "placements")
    headers = df.columns
    canon = list(ZH_PLACEMENT_HEADERS) if cn else list(EN_PLACEMENT_HEADERS)
    amounts = {i for i, c in enumerate(canon) if c in AMOUNT_COLUMNS}
    dates = {i for i, c in enumerate(canon) if c in DATE_COLUMNS}
    integers = {i for i, c in enumerate(canon) if c in ("term_months", "days_past_due")}
    ws.append(headers)
    for row in df.iter_rows():
        cells: list[Any] = []
        for i, v in enumerate(row):
            if v is None:
                cells.append(None)
            elif i in amounts and _PLAIN_AMOUNT.fullmatch(v):
                cells.append(float(v))
            elif i in dates and _ISO_DATE.fullmatch(v):
                cells.append(date.fromisoformat(v))
            elif i in integers:
                cells.append(int(v))
            else:
                cells.append(v)
        ws.append(cells)
    stamp = datetime(p.placement_date.year, p.placement_date.month, p.placement_date.day)
    wb.properties.created = stamp
    buffer = io.BytesIO()
    wb.save(buffer)
    _write_reproducible_zip(buffer.getvalue(), path, stamp)


def _write_reproducible_zip(data: bytes, path: Path, stamp: datetime) -> None:
    """Rewrite the workbook with fixed entry times and document dates so the same seed gives the same bytes."""
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>" + iso.encode() + rb"\g<2>",
                    body,
                )
            fixed = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, body)


__all__ = [
    "DEFAULT_PLACEMENT_DATE",
    "EN_PAYMENT_HEADERS",
    "EN_PLACEMENT_HEADERS",
    "LOCALES",
    "ZH_PAYMENT_HEADERS",
    "ZH_PLACEMENT_HEADERS",
    "SimulatedPortfolio",
    "check_format",
    "generate_portfolio",
    "write_portfolio",
]
