"""Reading and validating import files — pure: bytes in, typed columns and row errors out; no database.

Row numbers are the row a user sees in a spreadsheet: the header is row 1, so the first data row is
row 2 (a CSV record spanning several lines is still one row). Rows that are entirely blank are
skipped and not counted. Every check is a Polars expression over the whole file (vectorised);
values with few distinct spellings (dates, rates, currencies, products) are read once per distinct
value by the scalar functions below, which are also the reference the tests compare against.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import polars as pl
from phonenumbers import timezone as phone_timezone

from arrears.core.money import MINOR_UNITS
from arrears.portfolio import identity
from arrears.portfolio.ageing import DEFAULT_BUCKETS, Bucket
from arrears.portfolio.columns import (
    BALANCE_COLUMNS,
    EMERGENCY_SLOTS,
    KINDS,
    HeaderMap,
    missing_required,
)
from arrears.portfolio.models import PRODUCTS
from arrears.security.masking import mask

ROW = "_row"
HEADER_ROW = 1
FIRST_DATA_ROW = 2

# Limits of the columns the values end up in (portfolio.models).
MAX_REF = 80
MAX_NAME = 200
MAX_PAYMENT_REF = 120
MAX_SHORT = 64
MAX_RELATION = 40
MAX_AMOUNT_DIGITS = 15
MAX_TERM_MONTHS = 600
MAX_DPD = 36_500
MAX_ANNUAL_RATE = Decimal(1)  # 100 % a year
MAX_DAILY_RATE = Decimal("0.01")  # 1 % a day
RATE_PLACES = Decimal("0.00000001")  # Numeric(12, 8)
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)
EXCEL_EPOCH = date(1899, 12, 30)  # 1900 date system; serials from 61 on are exact
CN_TIMEZONE = "Asia/Shanghai"

# Phone region from the currency (R1: creditors in several countries); others fall back to the creditor's.
CURRENCY_REGION: dict[str, str] = {
    "CNY": "CN", "USD": "US", "HKD": "HK", "MOP": "MO", "TWD": "TW", "GBP": "GB", "SGD": "SG", "JPY": "JP",
    "KRW": "KR", "AUD": "AU", "CAD": "CA", "NZD": "NZ", "INR": "IN", "MYR": "MY", "THB": "TH", "PHP": "PH",
    "IDR": "ID", "VND": "VN", "MXN": "MX", "BRL": "BR", "ZAR": "ZA", "SEK": "SE", "NOK": "NO", "DKK": "DK",
    "PLN": "PL", "CHF": "CH",
}  # fmt: skip
CURRENCY_NAMES: dict[str, str] = {
    "人民币": "CNY", "RMB": "CNY", "元": "CNY", "¥": "CNY", "￥": "CNY", "美元": "USD", "US$": "USD", "$": "USD",
    "港币": "HKD", "港元": "HKD", "澳门元": "MOP", "新台币": "TWD", "欧元": "EUR", "€": "EUR", "英镑": "GBP",
    "£": "GBP", "日元": "JPY", "韩元": "KRW", "新加坡元": "SGD",
}  # fmt: skip
CHINESE_SPEAKING = frozenset({"CNY", "HKD", "MOP", "TWD"})
PRODUCT_NAMES: dict[str, str] = {
    "消费贷": "consumer_loan", "消费贷款": "consumer_loan", "个人消费贷款": "consumer_loan", "现金贷": "consumer_loan",
    "信用贷": "consumer_loan", "信用卡": "credit_card", "贷记卡": "credit_card", "经营贷": "business_receivable",
    "经营贷款": "business_receivable", "企业应收": "business_receivable", "应收账款": "business_receivable",
    "房贷": "mortgage", "住房贷款": "mortgage", "按揭": "mortgage", "车贷": "auto_loan", "汽车贷款": "auto_loan",
    "小额贷款": "microloan", "小贷": "microloan", "网贷": "microloan", "其他": "other",
    "loan": "consumer_loan", "card": "credit_card", "receivable": "business_receivable",
}  # fmt: skip
LANGUAGE_NAMES: dict[str, str] = {
    "中文": "zh", "汉语": "zh", "普通话": "zh", "简体中文": "zh", "chinese": "zh", "zh-cn": "zh", "zh_cn": "zh",
    "英文": "en", "英语": "en", "english": "en", "en-us": "en", "en_us": "en", "en-gb": "en",
}  # fmt: skip

# PII never echoed in full in an error message (R21, CN-D1).
_PII_KIND = {"national_id": "national_id", "phone": "phone", "phone_2": "phone", "email": "email",
             "address": "address", "debtor_name": "name"}  # fmt: skip
for _k in EMERGENCY_SLOTS:
    _PII_KIND[f"emergency_contact_{_k}_phone"] = "phone"
    _PII_KIND[f"emergency_contact_{_k}_name"] = "name"


class FileError(ValueError):
    """A file that cannot be read at all (wrong encoding, not a spreadsheet, ragged rows)."""


# --- messages -------------------------------------------------------------------------------------

MESSAGES: dict[str, tuple[str, str]] = {
    "required": ("{column} is required", "{column}为必填项"),
    "too_long": ("{column} is longer than {limit} characters", "{column}超过{limit}个字符"),
    "amount_invalid": ("not an amount: {value}", "无法识别的金额：{value}"),
    "amount_negative": ("amount must not be negative: {value}", "金额不能为负数：{value}"),
    "amount_not_positive": ("amount must be greater than zero: {value}", "金额必须大于零：{value}"),
    "amount_too_large": ("amount too large: {value}", "金额过大：{value}"),
    "amount_precision": ("{value} has more decimals than {currency} allows", "{value}的小数位数超过{currency}允许的位数"),
    "date_invalid": (
        "not a date: {value} (write 2026-11-28, 2026/11/28, 20261128 or 2026年11月28日)",
        "无法识别的日期：{value}（请写作2026-11-28、2026/11/28、20261128或2026年11月28日）",
    ),
    "date_range": ("date out of range (1900–2199): {value}", "日期超出范围（1900–2199）：{value}"),
    "after_placement": ("{value} is after the placement date {placement_date}", "{value}晚于委案日期{placement_date}"),
    "overdue_before_contract": (
        "overdue since {value}, before the contract date {contract_date}",
        "逾期起始日{value}早于合同日期{contract_date}",
    ),
    "placement_future": ("placement date {value} is after today ({today})", "委案日期{value}晚于今天（{today}）"),
    "paid_future": ("payment date {value} is after today ({today})", "还款日期{value}晚于今天（{today}）"),
    "int_invalid": ("not a whole number: {value}", "不是整数：{value}"),
    "term_range": ("term must be 1 to 600 months: {value}", "期限应为1至600个月：{value}"),
    "dpd_range": ("days past due must be 0 to 36500: {value}", "逾期天数应在0至36500之间：{value}"),
    "seq_range": ("instalment number must be 1 to 600: {value}", "期数应在1至600之间：{value}"),
    "rate_invalid": ("cannot read the rate {value}", "无法识别的利率：{value}"),
    "annual_rate_range": ("annual rate must be between 0% and 100%: {value}", "年利率应在0%至100%之间：{value}"),
    "daily_rate_range": (
        "daily penalty rate must be between 0 and 1% a day: {value} (write 0.05%, 0.0005 or 万分之五)",
        "日罚息率应在0至1%之间：{value}（可写作0.05%、0.0005或万分之五）",
    ),
    "currency_unknown": ("unknown currency {value}", "未知币种：{value}"),
    "phone_invalid": ("not a valid phone number (region {region}): {value}", "电话号码无效（地区{region}）：{value}"),
    "email_invalid": ("not an email address: {value}", "电子邮箱格式错误：{value}"),
    "nid_shape": (
        "national ID must be 18 characters, 17 digits and a check character: {value}",
        "身份证号应为18位（17位数字加校验位）：{value}",
    ),
    "nid_region": ("national ID has an unknown province code: {value}", "身份证号的省份代码无效：{value}"),
    "nid_birth": ("national ID has an impossible birth date: {value}", "身份证号中的出生日期无效：{value}"),
    "nid_check": ("national ID check character is wrong: {value}", "身份证号校验位错误：{value}"),
    "missing_balance": (
        "no balance: give principal or the component balances",
        "缺少欠款金额：请填写本金或各项余额",
    ),
    "missing_overdue": (
        "give overdue_since, or days_past_due (with the placement date)",
        "缺少逾期信息：请填写逾期起始日，或逾期天数（及委案日期）",
    ),
    "duplicate_ref": ("{column} {value} repeats row {first_row}", "{column} {value} 与第{first_row}行重复"),
    "debtor_conflict": (
        "debtor_ref {debtor_ref} has a different national ID on row {first_row}",
        "客户号{debtor_ref}在第{first_row}行的身份证号不同",
    ),
    "timezone_unknown": ("unknown time zone {value}", "未知时区：{value}"),
    "language_invalid": ("unknown language {value}", "未知语言：{value}"),
    "missing_column": ("{reason}", "{reason}"),
    "unknown_account": ("no account {value} for this creditor", "该委托方下不存在合同号{value}"),
    "ref_conflict": (
        "payment_ref {value} was already used for a different payment",
        "还款流水号{value}已用于另一笔还款",
    ),
    "currency_mismatch": (
        "currency {value} differs from the account's {account_currency}",
        "币种{value}与账户币种{account_currency}不一致",
    ),
    "account_not_payable": ("{reason}", "{reason}"),
    "restate_after_payment": (
        "account {value} has payments after the placement date {placement_date} (last {last_paid}); "
        "restating its balances would undo them",
        "合同{value}在委案日期{placement_date}之后已有还款（最近{last_paid}），按本文件重置余额会抵消这些还款",
    ),
    "duplicate_seq": ("instalment {value} of {account_ref} repeats row {first_row}", "{account_ref}的第{value}期与第{first_row}行重复"),
}  # fmt: skip


@dataclass(frozen=True)
class RowError:
    """One problem with one cell: the spreadsheet row, the canonical column, the header as written."""

    row: int
    column: str
    reason: str
    reason_zh: str = ""
    header: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "header": self.header, "reason": self.reason,
                "reason_zh": self.reason_zh}  # fmt: skip


def _shown(column: str, value: str | None) -> str:
    if value is None:
        return ""
    kind = _PII_KIND.get(column)
    if kind == "name":
        return value[:1] + "*" * min(len(value) - 1, 4) if len(value) > 1 else "*"
    shown = mask(kind, value) if kind else value
    return shown if len(shown) <= 60 else shown[:57] + "..."


def make_error(row: int, column: str, code: str, *, value: str | None = None, header: str = "",
               **params: Any) -> RowError:  # fmt: skip
    """Format an error code (with `|key=value` parameters) into its English and Chinese reasons."""
    code, *extra = code.split("|")
    for part in extra:
        k, _, v = part.partition("=")
        params[k] = v
    en, zh = MESSAGES[code]
    fields = {"column": column, "value": _shown(column, value), **params}
    return RowError(
        row, column, en.format_map(_Missing(fields)), zh.format_map(_Missing(fields)), header or column
    )


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


# --- reading files --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceTable:
    """A file's cells as text: `c0..cN` by position plus `_row`, blank cells null, blank rows gone."""

    headers: tuple[str, ...]
    frame: pl.DataFrame
    encoding: str

    @property
    def rows(self) -> int:
        return self.frame.height


def detect_encoding(data: bytes) -> str:
    """`utf-8-sig` (BOM), `utf-16` (BOM), `utf-8`, or `gb18030` (which also reads GBK and GB2312)."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    try:
        data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise FileError("the file is neither UTF-8 nor GB18030/GBK text") from exc
    return "gb18030"


def _sniff_separator(data: bytes) -> str:
    first = data[: data.find(b"\n")] if b"\n" in data[:65536] else data[:65536]
    counts = {sep: first.count(sep.encode()) for sep in (",", "\t", ";", "|")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] > 0 else ","


def _polars_csv(data: bytes, sep: str) -> pl.DataFrame:
    return pl.read_csv(
        io.BytesIO(data), has_header=False, infer_schema=False, separator=sep, quote_char='"',
        raise_if_empty=False,
    )  # fmt: skip


def _ragged_row(text: str, sep: str) -> str:
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    width = None
    for i, rec in enumerate(reader, start=1):
        if width is None:
            width = len(rec)
        elif len(rec) > width:
            return f"row {i} has {len(rec)} fields but the header has {width}"
    return "a row has more fields than the header"


def read_csv_bytes(data: bytes) -> SourceTable:
    """A CSV file (UTF-8 with or without BOM, GB18030/GBK, UTF-16 with BOM; comma, tab or semicolon)."""
    encoding = "utf-8"
    if data.startswith(codecs.BOM_UTF8):
        data, encoding = data[len(codecs.BOM_UTF8) :], "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        data, encoding = data.decode("utf-16").encode("utf-8"), "utf-16"
    sep = _sniff_separator(data)
    try:
        raw = _polars_csv(data, sep)
    except pl.exceptions.ComputeError as exc:
        msg = str(exc)
        if "utf-8" in msg or "utf8" in msg:
            if encoding != "utf-8":
                raise FileError("the file is not valid UTF-8 text") from exc
            try:
                data = data.decode("gb18030").encode("utf-8")
            except UnicodeDecodeError as err:
                raise FileError("the file is neither UTF-8 nor GB18030/GBK text") from err
            encoding = "gb18030"
            try:
                raw = _polars_csv(data, sep)
            except pl.exceptions.ComputeError as err:
                raise FileError(_ragged_row(data.decode("utf-8"), sep)) from err
        elif "fields" in msg:
            raise FileError(_ragged_row(data.decode("utf-8", errors="replace"), sep)) from exc
        else:
            raise FileError(f"cannot read the CSV file: {msg.splitlines()[0]}") from exc
    except pl.exceptions.NoDataError as exc:
        raise FileError("the file is empty") from exc
    if raw.height == 0:
        raise FileError("the file is empty: no header row")
    header_cells = raw.row(0)
    headers = tuple(
        unicodedata.normalize("NFC", str(h)).strip() if h is not None else "" for h in header_cells
    )
    body = raw.slice(1)
    body.columns = [f"c{i}" for i in range(len(headers))]
    return _finish(headers, body, encoding)


def _cell_text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, datetime):
        return v.date().isoformat() if v.time() == time(0) else v.isoformat(sep=" ")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e16:
            return str(int(v))
        return format(Decimal(repr(v)), "f")
    return str(v)


def read_xlsx_bytes(data: bytes) -> SourceTable:
    """The first worksheet of an XLSX workbook (real date cells become ISO dates; numbers stay exact)."""
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise FileError(f"not a readable XLSX workbook: {exc}") from exc
    try:
        ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        first = next(rows, None)
        if first is None:
            raise FileError("the workbook's first sheet is empty: no header row")
        headers = tuple("" if h is None else unicodedata.normalize("NFC", str(h)).strip() for h in first)
        while headers and headers[-1] == "":
            headers = headers[:-1]
        width = len(headers)
        cols: list[list[str | None]] = [[] for _ in range(width)]
        for values in rows:
            for i in range(width):
                cols[i].append(_cell_text(values[i]) if i < len(values) else None)
    finally:
        wb.close()
    body = pl.DataFrame({f"c{i}": pl.Series(col, dtype=pl.String) for i, col in enumerate(cols)})
    return _finish(headers, body, "xlsx")


def read_source(data: bytes, *, name: str) -> SourceTable:
    """Read by content: XLSX (a zip archive) or CSV text, whatever the file is called."""
    if data[:4] == b"PK\x03\x04" or name.lower().endswith((".xlsx", ".xlsm")):
        return read_xlsx_bytes(data)
    if name.lower().endswith(".xls") and data[:8] == bytes.fromhex("d0cf11e0a1b11ae1"):
        raise FileError("legacy .xls workbooks are not supported: save the sheet as .xlsx or CSV")
    return read_csv_bytes(data)


_BLANKS = " \t\r\n\u3000\xa0\ufeff\u200b"


def _clean_column(s: pl.Series) -> pl.Series:
    """Trim blanks (also full-width), undo Excel's `="…"` and leading-apostrophe text tricks; "" → null.
    The rarer fixes run only on the columns that need them."""
    e = s.str.strip_chars(_BLANKS)
    if e.str.starts_with('="').any():
        e = pl.select(
            pl.when(e.str.starts_with('="') & e.str.ends_with('"'))
            .then(e.str.slice(2).str.strip_suffix('"'))
            .otherwise(e)
        ).to_series()
    if e.str.starts_with("'").any():
        e = e.str.strip_prefix("'").str.strip_chars(_BLANKS)
    return pl.select(pl.when(e == "").then(None).otherwise(e)).to_series().alias(s.name)


_FULL_WIDTH = "[\u3000\uff01-\uff5e]"


def _half_width(body: pl.DataFrame) -> pl.DataFrame:
    """Full-width digits, letters and punctuation (１２３, ＡＢ, （）) → ASCII, in the columns that have any."""
    wide = [c for c in body.columns if body[c].str.contains(_FULL_WIDTH).any()]
    return body.with_columns(pl.col(c).str.normalize("NFKC") for c in wide) if wide else body


def _finish(headers: tuple[str, ...], body: pl.DataFrame, encoding: str) -> SourceTable:
    names = [f"c{i}" for i in range(len(headers))]
    body = _half_width(body.select(pl.col(c).cast(pl.String) for c in names))
    body = pl.DataFrame([_clean_column(body[c]) for c in names]) if names else body
    body = body.with_row_index(ROW, offset=FIRST_DATA_ROW)
    body = body.with_columns(pl.col(ROW).cast(pl.Int64))
    if names:
        body = body.filter(pl.any_horizontal([pl.col(c).is_not_null() for c in names]))
    return SourceTable(headers, body, encoding)


def file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- scalar readers (also the reference for the vectorised paths) ------------------------------------

_DATE_YMD = re.compile(r"^([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?(?:[\sT].*)?$")
_DATE_COMPACT = re.compile(r"^([0-9]{4})([0-9]{2})([0-9]{2})(?:[\sT].*)?$")
_EXCEL_SERIAL = re.compile(r"^[0-9]{2,7}(?:\.[0-9]+)?$")


def parse_date(text: str) -> date:
    """`2026-11-28`, `2026/11/28`, `20261128`, `2026年11月28日`, `2026.11.28` (a time part is ignored),
    or an Excel serial number (1900 date system)."""
    t = unicodedata.normalize("NFKC", text).strip()
    m = _DATE_YMD.match(t) or _DATE_COMPACT.match(t)
    try:
        if m:
            d = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        elif _EXCEL_SERIAL.match(t) and 61 <= float(t) < 2_958_466:
            d = EXCEL_EPOCH + timedelta(days=int(float(t)))
        else:
            raise ValueError(f"not a date: {text!r}")
    except ValueError as exc:
        raise ValueError(f"not a date: {text!r}") from exc
    return d


_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


def _chinese_number(text: str) -> Decimal:
    """Small Chinese numerals as rates use them: 五, 十五, 二十, 三点五, 零点五; digits pass through."""
    t = text.strip()
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", t):
        return Decimal(t)
    whole, _, frac = t.partition("点")
    value = 0
    if whole:
        if "十" in whole:
            tens, _, ones = whole.partition("十")
            value = (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)
        elif len(whole) == 1:
            value = _CN_DIGITS[whole]
        else:
            raise KeyError(whole)
    out = Decimal(value)
    if frac:
        out += Decimal("0." + "".join(str(_CN_DIGITS[c]) for c in frac))
    return out


_FRACTION_WORDS = (("万分之", Decimal("0.0001")), ("千分之", Decimal("0.001")), ("百分之", Decimal("0.01")))


def parse_rate(text: str, *, daily: bool = False, percent: bool = False) -> Decimal:
    """A rate as a fraction: `18%`, `18.00%`, `0.18`, `18` (an annual rate above 1 is read as percent),
    `0.05%`, `0.0005`, `万分之五`, `日万分之五`, `千分之一`, `0.5‰`, `5‱`. `percent` = the header said (%).
    Raises ValueError with the reason code (`rate_invalid`, `annual_rate_range`, `daily_rate_range`)."""
    t = unicodedata.normalize("NFKC", text).strip().replace(" ", "").replace(",", "")
    for prefix in ("日", "年", "月", "daily", "annual"):
        if t.lower().startswith(prefix) and t[len(prefix) :][:1] in set(
            "0123456789.万千百零一二两三四五六七八九十"
        ):
            t = t[len(prefix) :]
    try:
        for word, unit in _FRACTION_WORDS:
            if t.startswith(word):
                value = _chinese_number(t[len(word) :]) * unit
                break
        else:
            if t.endswith("%"):
                value = Decimal(t[:-1]) / 100
            elif t.endswith("‰"):
                value = Decimal(t[:-1]) / 1000
            elif t.endswith("‱"):
                value = Decimal(t[:-1]) / 10000
            else:
                value = Decimal(t)
                if not value.is_finite():
                    raise ValueError("rate_invalid")
                if percent:
                    value /= 100
                elif not daily and value > 1:
                    value /= 100  # an annual rate written as 18 means 18 %
    except (InvalidOperation, KeyError, ValueError) as exc:
        raise ValueError("rate_invalid") from exc
    if value < 0 or value > (MAX_DAILY_RATE if daily else MAX_ANNUAL_RATE):
        raise ValueError("daily_rate_range" if daily else "annual_rate_range")
    return value.quantize(RATE_PLACES, rounding=ROUND_HALF_EVEN)


class PhoneError(ValueError):
    pass


def normalise_phone(text: str, region: str) -> tuple[str, str | None]:
    """A phone number → (E.164, its time zone when phonenumbers knows exactly one, else None)."""
    raw = unicodedata.normalize("NFKC", text).strip()
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        number = phonenumbers.parse(raw, region or None)
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(str(exc)) from exc
    if not phonenumbers.is_valid_number(number):
        raise PhoneError("not a valid number")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    zones = [z for z in phone_timezone.time_zones_for_number(number) if z != "Etc/Unknown"]
    return e164, zones[0] if len(zones) == 1 else None


def normalise_currency(text: str) -> str:
    t = unicodedata.normalize("NFKC", text).strip()
    return CURRENCY_NAMES.get(t, CURRENCY_NAMES.get(t.upper(), t.upper()))


def normalise_product(text: str) -> tuple[str, bool]:
    """(product, recognised): a known product code or Chinese name, else `other`."""
    t = unicodedata.normalize("NFKC", text).strip()
    low = t.lower().replace(" ", "_").replace("-", "_")
    if low in PRODUCTS:
        return low, True
    if t in PRODUCT_NAMES or low in PRODUCT_NAMES:
        return PRODUCT_NAMES.get(t) or PRODUCT_NAMES[low], True
    for name, code in PRODUCT_NAMES.items():
        if len(name) > 1 and name in t:
            return code, True
    return "other", False


def normalise_language(text: str) -> str | None:
    t = unicodedata.normalize("NFKC", text).strip().lower()
    t = LANGUAGE_NAMES.get(t, t)
    return t if re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,4})?", t) else None


def valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


# --- vectorised readers ---------------------------------------------------------------------------

_AMOUNT_NOISE = r"(?i)[\s,，_]|元|圆|人民币|RMB|CNY|USD|EUR|GBP|HKD|HK\$|US\$|[¥￥$€£]"
_AMOUNT_SHAPE = r"^(?P<open>\()?(?P<neg>-)?(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]+))?(?P<close>\))?$"
_POW10 = {k: 10**k for k in range(19)}


def add_amounts(
    df: pl.DataFrame, columns: Sequence[str], places: str, *, positive: bool = False
) -> pl.DataFrame:
    """For each column `c` add `__c` (minor units) and `__c__err` (error code) for amounts written like
    `1,234.50`, `¥1,234.50`, `1234.5元`: the reading of core.money.parse_amount, vectorised. Negative
    amounts (and zero, if `positive`) are errors. Built in stages so each regex runs once per value."""
    if not columns:
        return df

    def t(c: str, part: str) -> str:
        return f"__{c}__{part}"

    parts = ("open", "neg", "int", "frac", "close")
    lf = df.lazy().with_columns(
        pl.col(c).str.replace_all(_AMOUNT_NOISE, "").str.extract_groups(_AMOUNT_SHAPE).alias(t(c, "m"))
        for c in columns
    )
    lf = lf.with_columns(
        pl.col(t(c, "m")).struct.field(f).alias(t(c, f)) for c in columns for f in parts
    ).drop([t(c, "m") for c in columns])
    lf = lf.with_columns(
        e
        for c in columns
        for e in (
            pl.col(t(c, "int")).str.strip_chars_start("0").alias(t(c, "digits")),
            pl.col(t(c, "frac")).fill_null("").str.strip_chars_end("0").alias(t(c, "fract")),
            (
                pl.col(t(c, "int")).is_not_null()
                & (pl.col(t(c, "open")).is_null() == pl.col(t(c, "close")).is_null())
                & ((pl.col(t(c, "int")).str.len_chars() > 0) | pl.col(t(c, "frac")).is_not_null())
            ).alias(t(c, "shape")),
            (pl.col(t(c, "neg")).is_not_null() | pl.col(t(c, "open")).is_not_null()).alias(t(c, "negative")),
        )
    )
    p = pl.col(places)
    lf = lf.with_columns(
        e
        for c in columns
        for e in (
            pl.col(t(c, "fract")).str.len_chars().cast(pl.Int64).alias(t(c, "flen")),
            (pl.col(t(c, "digits")).str.len_chars() > MAX_AMOUNT_DIGITS).alias(t(c, "big")),
        )
    )
    lf = lf.with_columns(
        (
            pl.when(pl.col(t(c, "digits")).str.len_chars() == 0)
            .then(pl.lit(0, pl.Int64))
            .otherwise(pl.col(t(c, "digits")).cast(pl.Int64, strict=False))
            * p.replace_strict(_POW10, return_dtype=pl.Int64)
            + pl.when(pl.col(t(c, "flen")) == 0)
            .then(pl.lit(0, pl.Int64))
            .otherwise(
                pl.col(t(c, "fract")).cast(pl.Int64, strict=False)
                * (p - pl.col(t(c, "flen"))).clip(lower_bound=0).replace_strict(_POW10, return_dtype=pl.Int64)
            )
        ).alias(t(c, "value"))
        for c in columns
    )
    lf = lf.with_columns(
        e
        for c in columns
        for e in (
            pl.when(pl.col(c).is_null()).then(None)
            .when(~pl.col(t(c, "shape"))).then(pl.lit("amount_invalid"))
            .when(pl.col(t(c, "negative"))).then(pl.lit("amount_negative"))
            .when(pl.col(t(c, "big"))).then(pl.lit("amount_too_large"))
            .when(pl.col(t(c, "flen")) > p).then(pl.lit("amount_precision"))
            .when(pl.lit(positive) & (pl.col(t(c, "value")) == 0)).then(pl.lit("amount_not_positive"))
            .otherwise(None)
            .alias(t(c, "err")),
        )
    )  # fmt: skip
    lf = lf.with_columns(
        pl.when(pl.col(t(c, "err")).is_null()).then(pl.col(t(c, "value"))).otherwise(None).alias(f"__{c}")
        for c in columns
    )
    temp = [
        t(c, x)
        for c in columns
        for x in (*parts, "digits", "fract", "shape", "negative", "flen", "big", "value")
    ]
    return lf.drop(temp).collect()


_INT_SHAPE = r"(?i)^([0-9]{1,9})(?:\.0+)?\s*(?:个月|月|期|天|日|days?|months?)?$"


def int_exprs(col: pl.Expr, low: int, high: int, range_code: str) -> tuple[pl.Expr, pl.Expr]:
    """(value, error code) for whole numbers like `12`, `12.0`, `12个月`, `30天`."""
    v = col.str.extract(_INT_SHAPE, 1).cast(pl.Int64, strict=False)
    err = (
        pl.when(col.is_null()).then(None)
        .when(v.is_null()).then(pl.lit("int_invalid"))
        .when((v < low) | (v > high)).then(pl.lit(range_code))
        .otherwise(None)
    )  # fmt: skip
    return pl.when(err.is_null()).then(v).otherwise(None), err


def date_series(s: pl.Series) -> pl.Series:
    """Dates by `parse_date` — ISO strings vectorised, every other spelling once per distinct value."""
    fast = s.str.extract(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[ T].*)?$", 1).str.to_date(
        "%Y-%m-%d", strict=False
    )
    rest = s.filter(fast.is_null() & s.is_not_null()).unique()
    if rest.len() == 0:
        return fast
    mapping: dict[str, date | None] = {}
    for v in rest.to_list():
        try:
            mapping[v] = parse_date(v)
        except ValueError:
            mapping[v] = None
    slow = s.replace_strict(mapping, default=None, return_dtype=pl.Date)
    return pl.select(pl.coalesce(fast, slow)).to_series().alias(s.name)


def date_error(raw: pl.Expr, parsed: pl.Expr) -> pl.Expr:
    return (
        pl.when(raw.is_null()).then(None)
        .when(parsed.is_null()).then(pl.lit("date_invalid"))
        .when((parsed < EARLIEST_DATE) | (parsed > LATEST_DATE)).then(pl.lit("date_range"))
        .otherwise(None)
    )  # fmt: skip


def map_distinct(s: pl.Series, fn: Callable[[str], Any], dtype: Any) -> pl.Series:
    """Apply a scalar reader once per distinct value (currencies, products, rates …)."""
    values = s.drop_nulls().unique().to_list()
    mapping = {v: fn(v) for v in values}
    return s.replace_strict(mapping, default=None, return_dtype=dtype)


def _rate_or_code(text: str, *, daily: bool, percent: bool) -> str:
    try:
        return format(parse_rate(text, daily=daily, percent=percent), "f")
    except ValueError as exc:
        return "!" + str(exc)


_CN_MOBILE = r"^(?:\+86|0086|86)?(1[3-9][0-9]{9})$"
_PHONE_NOISE = r"[\s\-().（）]"


def national_id_ok_exprs(v: pl.Expr, as_of: pl.Expr) -> pl.Expr:
    """Error code for a normalised 18-character ID, the same rules as identity.is_valid_cn_national_id."""
    shape = v.str.contains(r"^[0-9]{17}[0-9X]$")
    region = v.str.slice(0, 2).is_in(sorted(identity.PROVINCE_CODES))
    born = v.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    born_ok = born.is_not_null() & (born.dt.year() >= identity.EARLIEST_BIRTH_YEAR) & (born <= as_of)
    total = pl.sum_horizontal(
        [v.str.slice(i, 1).cast(pl.Int64, strict=False) * w for i, w in enumerate(identity.CHECK_WEIGHTS)]
    )
    check = (total % 11).replace_strict(dict(enumerate(identity.CHECK_CHARS)), return_dtype=pl.String)
    return (
        pl.when(v.is_null()).then(None)
        .when(~shape).then(pl.lit("nid_shape"))
        .when(~region).then(pl.lit("nid_region"))
        .when(~born_ok).then(pl.lit("nid_birth"))
        .when(check != v.str.slice(17, 1)).then(pl.lit("nid_check"))
        .otherwise(None)
    )  # fmt: skip


def national_ids_valid(values: Sequence[str | None], as_of: date) -> list[bool | None]:
    """Vectorised validity of raw national IDs (None for a blank); the tests hold it to identity.py."""
    frame = pl.DataFrame({"v": pl.Series(values, dtype=pl.String)})
    v = pl.col("v").str.replace_all(r"\s", "").str.to_uppercase()
    out = frame.select(national_id_ok_exprs(v, pl.lit(as_of)).alias("e"), pl.col("v").is_null().alias("n"))
    return [None if n else e is None for e, n in zip(out["e"], out["n"], strict=True)]


def _upgrade_15(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Legacy 15-digit IDs (before 1999) are upgraded to their 18-character form first."""
    old = frame.filter(pl.col(column).str.contains(r"^[0-9]{15}$"))[column].unique().to_list()
    if not old:
        return frame
    mapping = {}
    for v in old:
        try:
            mapping[v] = identity.cn_id_from_15(v)
        except ValueError:
            mapping[v] = v
    return frame.with_columns(pl.col(column).replace(mapping))


def phone_frame(frame: pl.DataFrame, column: str, region: str) -> pl.DataFrame:
    """Add `{column}__e164`, `{column}__tz` and `{column}__err` for a phone column.

    Mainland mobiles (`1[3-9]` and 9 digits, optionally +86/0086/86) are normalised vectorised;
    everything else goes through phonenumbers once per distinct (number, region).
    """
    p = pl.col(column).str.replace_all(_PHONE_NOISE, "")
    mobile = p.str.extract(_CN_MOBILE, 1)
    explicit_cn = p.str.starts_with("+86") | p.str.starts_with("0086") | p.str.contains(r"^861[3-9][0-9]{9}$")
    fast = mobile.is_not_null() & ((pl.col(region) == "CN") | explicit_cn)
    frame = frame.with_columns(
        pl.when(fast).then(pl.lit("+86") + mobile).otherwise(None).alias(f"{column}__e164"),
        pl.when(fast).then(pl.lit(CN_TIMEZONE)).otherwise(None).alias(f"{column}__tz"),
        pl.lit(None, pl.String).alias(f"{column}__err"),
    )
    slow = frame.filter(pl.col(column).is_not_null() & pl.col(f"{column}__e164").is_null())
    if slow.height == 0:
        return frame
    pairs = slow.select(column, region).unique()
    e164s: list[str | None] = []
    tzs: list[str | None] = []
    errs: list[str | None] = []
    for value, reg in pairs.iter_rows():
        try:
            e, tz = normalise_phone(value, reg)
            e164s.append(e)
            tzs.append(tz)
            errs.append(None)
        except PhoneError:
            e164s.append(None)
            tzs.append(None)
            errs.append(f"phone_invalid|region={reg}")
    looked = pairs.with_columns(
        pl.Series("__e", e164s, dtype=pl.String), pl.Series("__t", tzs, dtype=pl.String),
        pl.Series("__x", errs, dtype=pl.String),
    )  # fmt: skip
    frame = frame.join(looked, on=[column, region], how="left", nulls_equal=False, maintain_order="left")
    return frame.with_columns(
        pl.coalesce(f"{column}__e164", "__e").alias(f"{column}__e164"),
        pl.coalesce(f"{column}__tz", "__t").alias(f"{column}__tz"),
        pl.col("__x").alias(f"{column}__err"),
    ).drop("__e", "__t", "__x")


_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"


def bucket_expr(dpd: pl.Expr, buckets: Sequence[Bucket] = DEFAULT_BUCKETS) -> pl.Expr:
    """ageing.bucket_for, vectorised."""
    out: Any = pl
    for b in buckets:
        cond = dpd >= b.min_dpd if b.max_dpd is None else (dpd >= b.min_dpd) & (dpd <= b.max_dpd)
        out = out.when(cond).then(pl.lit(b.label))
    return out.otherwise(None)


# --- validation -----------------------------------------------------------------------------------


@dataclass
class Validation:
    """A file read and checked: the valid rows typed and ready to write, and every problem found."""

    kind: str
    rows: int  # data rows (blank rows excluded)
    clean: pl.DataFrame  # valid rows only
    errors: list[RowError]
    warnings: list[str]
    file_errors: list[RowError] = field(default_factory=list)  # the file cannot be imported at all

    @property
    def rejected_rows(self) -> list[int]:
        return sorted({e.row for e in self.errors})

    @property
    def ok(self) -> bool:
        return not self.errors and not self.file_errors


def canonical_frame(table: SourceTable, hmap: HeaderMap, kind: str, *, keep_extra: bool) -> pl.DataFrame:
    """Rename positions to canonical columns (absent ones null); unknown columns become one JSON text."""
    columns = KINDS[kind][0]
    exprs: list[pl.Expr] = [pl.col(ROW)]
    for col in columns:
        i = hmap.position_of(col)
        exprs.append(pl.col(f"c{i}").alias(col) if i is not None else pl.lit(None, pl.String).alias(col))
    extra = hmap.extra_positions
    if keep_extra and extra:
        names: dict[str, int] = {}
        fields = []
        for i in extra:
            name = hmap.headers[i] or f"column_{i + 1}"
            if name in names:
                name = f"{name}_{i + 1}"
            names[name] = i
            fields.append(pl.col(f"c{i}").alias(name))
        exprs.append(pl.struct(fields).struct.json_encode().alias("__extra"))
    else:
        exprs.append(pl.lit(None, pl.String).alias("__extra"))
    return table.frame.select(exprs)


def _required(col: str) -> pl.Expr:
    return pl.when(pl.col(col).is_null()).then(pl.lit("required")).otherwise(None)


def _too_long(col: str, limit: int) -> pl.Expr:
    return (
        pl.when(pl.col(col).str.len_chars() > limit).then(pl.lit(f"too_long|limit={limit}")).otherwise(None)
    )


def _first_row_of(key: str | list[str]) -> pl.Expr:
    keys = [key] if isinstance(key, str) else key
    return pl.col(ROW).min().over(keys)


def collect_errors(
    frame: pl.DataFrame, checks: Sequence[tuple[str, pl.Expr]], hmap: HeaderMap, raw: pl.DataFrame
) -> list[RowError]:
    """Evaluate every check on every row; only rows with a problem are turned into messages."""
    if not checks:
        return []
    names = [f"__chk{i}" for i in range(len(checks))]
    wide = (
        frame.lazy()
        .select(
            pl.col(ROW), *[expr.cast(pl.String).alias(n) for n, (_, expr) in zip(names, checks, strict=True)]
        )
        .collect()
    )
    bad = wide.filter(pl.any_horizontal([pl.col(n).is_not_null() for n in names]))
    if bad.height == 0:
        return []
    long = (
        bad.unpivot(index=ROW, on=names, variable_name="chk", value_name="code")
        .drop_nulls("code")
        .with_columns(pl.col("chk").str.slice(5).cast(pl.Int64).alias("chk"))
        .sort(ROW, "chk")
    )
    wanted = long[ROW].unique().to_list()
    raw_rows = {r[ROW]: r for r in raw.filter(pl.col(ROW).is_in(wanted)).iter_rows(named=True)}
    out = []
    for row, chk, code in long.iter_rows():
        column = checks[chk][0]
        value = raw_rows.get(row, {}).get(column)
        out.append(make_error(row, column, code, value=value, header=hmap.header_of(column)))
    return out


def header_errors(hmap: HeaderMap, kind: str) -> list[RowError]:
    return [
        make_error(HEADER_ROW, col, "missing_column", reason=reason, header=col)
        for col, reason in missing_required(hmap.present, kind)
    ]


def validate_placements(
    table: SourceTable,
    hmap: HeaderMap,
    *,
    today: date,
    placement_date: date,
    default_currency: str,
    default_region: str,
    buckets: Sequence[Bucket] = DEFAULT_BUCKETS,
) -> Validation:
    """Every placement row checked (R2, R3, CN-D1); valid rows come back typed, in minor units."""
    warnings = hmap.warnings()
    file_errors = header_errors(hmap, "placements")
    raw = canonical_frame(table, hmap, "placements", keep_extra=True)
    if file_errors:
        return Validation("placements", raw.height, raw.clear(), [], warnings, file_errors)
    df = raw
    # Distinct-value readers: currency, product, language, time zone, rates, dates.
    cur = df["currency"].fill_null(default_currency)
    df = df.with_columns(
        map_distinct(cur, normalise_currency, pl.String).alias("currency"),
        map_distinct(df["product"], lambda v: normalise_product(v)[0], pl.String).alias("__product"),
        map_distinct(df["product"], lambda v: normalise_product(v)[1], pl.Boolean).alias("__product_known"),
        map_distinct(df["language"], lambda v: normalise_language(v) or "!", pl.String).alias("__language"),
        map_distinct(df["timezone"], valid_timezone, pl.Boolean).alias("__tz_ok"),
        map_distinct(
            df["annual_rate"],
            lambda v: _rate_or_code(v, daily=False, percent="annual_rate" in hmap.percent),
            pl.String,
        ).alias("__annual_rate"),
        map_distinct(
            df["daily_penalty_rate"],
            lambda v: _rate_or_code(v, daily=True, percent="daily_penalty_rate" in hmap.percent),
            pl.String,
        ).alias("__daily_rate"),
        *(date_series(df[c]).alias(f"__{c}") for c in ("contract_date", "overdue_since", "placement_date")),
    )
    known = sorted(MINOR_UNITS)
    df = df.with_columns(
        pl.col("currency").is_in(known).alias("__currency_ok"),
        pl.col("currency").replace_strict(MINOR_UNITS, default=2, return_dtype=pl.Int64).alias("__places"),
        pl.col("currency")
        .replace_strict(CURRENCY_REGION, default=default_region, return_dtype=pl.String)
        .alias("__region"),
        pl.coalesce(pl.col("__placement_date"), pl.lit(placement_date)).alias("__pdate"),
        pl.col("national_id").str.replace_all(r"\s", "").str.to_uppercase().alias("__nid"),
        pl.col("email").str.to_lowercase().alias("__email"),
    )
    df = _upgrade_15(df, "__nid")
    # Amounts, whole numbers, phones.
    amount_cols = ("principal", "interest", "penalty", "fees", "loan_amount", "monthly_income")
    df = add_amounts(df, amount_cols, "__places")
    new_cols = []
    term, term_err = int_exprs(pl.col("term_months"), 1, MAX_TERM_MONTHS, "term_range")
    dpd, dpd_err = int_exprs(pl.col("days_past_due"), 0, MAX_DPD, "dpd_range")
    new_cols += [
        term.alias("__term"),
        term_err.alias("__term__err"),
        dpd.alias("__dpd"),
        dpd_err.alias("__dpd__err"),
    ]
    df = df.lazy().with_columns(new_cols).collect()  # lazy: shared sub-expressions are computed once
    phone_cols = ["phone", "phone_2", *(f"emergency_contact_{k}_phone" for k in EMERGENCY_SLOTS)]
    for c in phone_cols:
        df = phone_frame(df, c, "__region")
    # Derived dates: overdue_since from DPD and the placement date, or DPD from overdue_since.
    df = df.with_columns(
        pl.coalesce(pl.col("__overdue_since"), pl.col("__pdate") - pl.duration(days=pl.col("__dpd"))).alias(
            "__since"
        ),
    )
    df = df.with_columns(
        pl.coalesce(pl.col("__dpd"), (pl.col("__pdate") - pl.col("__since")).dt.total_days()).alias("__days"),
    )

    def amount_err(c: str) -> pl.Expr:
        e = pl.col(f"__{c}__err")
        return (
            pl.when(e.str.starts_with("amount_precision"))
            .then(pl.lit("amount_precision|currency=") + pl.col("currency"))
            .otherwise(e)
        )

    def after_placement(c: str) -> pl.Expr:
        return (
            pl.when(pl.col(f"__{c}") > pl.col("__pdate"))
            .then(pl.lit("after_placement|placement_date=") + pl.col("__pdate").cast(pl.String))
            .otherwise(None)
        )

    nid_err = national_id_ok_exprs(pl.col("__nid"), pl.col("__pdate"))
    annual_bad = pl.col("__annual_rate").str.starts_with("!")
    daily_bad = pl.col("__daily_rate").str.starts_with("!")
    balance_missing = pl.all_horizontal([pl.col(c).is_null() for c in BALANCE_COLUMNS])
    first_ref = _first_row_of("account_ref")
    has_nid = pl.col("__nid").is_not_null()
    first_nid = pl.col("__nid").filter(has_nid).first().over("debtor_ref")
    first_nid_row = pl.col(ROW).filter(has_nid).min().over("debtor_ref")
    checks: list[tuple[str, pl.Expr]] = [
        ("account_ref", _required("account_ref")),
        ("account_ref", _too_long("account_ref", MAX_REF)),
        ("account_ref", pl.when(pl.col("account_ref").is_not_null() & (pl.col(ROW) != first_ref))
            .then(pl.lit("duplicate_ref|first_row=") + first_ref.cast(pl.String)).otherwise(None)),
        ("debtor_ref", _too_long("debtor_ref", MAX_REF)),
        ("debtor_name", _required("debtor_name")),
        ("debtor_name", _too_long("debtor_name", MAX_NAME)),
        ("national_id", nid_err),
        ("national_id", pl.when(pl.col("debtor_ref").is_not_null() & pl.col("__nid").is_not_null()
            & first_nid.is_not_null() & (pl.col("__nid") != first_nid))
            .then(pl.lit("debtor_conflict|first_row=") + first_nid_row.cast(pl.String)
                  + pl.lit("|debtor_ref=") + pl.col("debtor_ref")).otherwise(None)),
        *((c, pl.col(f"{c}__err")) for c in phone_cols),
        ("email", pl.when(pl.col("__email").is_not_null() & ~pl.col("__email").str.contains(_EMAIL))
            .then(pl.lit("email_invalid")).otherwise(None)),
        ("employer", _too_long("employer", MAX_NAME)),
        ("currency", pl.when(~pl.col("__currency_ok")).then(pl.lit("currency_unknown")).otherwise(None)),
        *((c, amount_err(c)) for c in amount_cols),
        ("principal", pl.when(balance_missing).then(pl.lit("missing_balance")).otherwise(None)),
        ("contract_date", date_error(pl.col("contract_date"), pl.col("__contract_date"))),
        ("contract_date", after_placement("contract_date")),
        ("overdue_since", date_error(pl.col("overdue_since"), pl.col("__overdue_since"))),
        ("overdue_since", after_placement("overdue_since")),
        ("overdue_since", pl.when(pl.col("__overdue_since") < pl.col("__contract_date"))
            .then(pl.lit("overdue_before_contract|contract_date=") + pl.col("__contract_date").cast(pl.String))
            .otherwise(None)),
        ("overdue_since", pl.when(pl.col("overdue_since").is_null() & pl.col("days_past_due").is_null())
            .then(pl.lit("missing_overdue")).otherwise(None)),
        ("placement_date", date_error(pl.col("placement_date"), pl.col("__placement_date"))),
        ("placement_date", pl.when(pl.col("__placement_date") > today)
            .then(pl.lit(f"placement_future|today={today.isoformat()}")).otherwise(None)),
        ("term_months", pl.col("__term__err")),
        ("days_past_due", pl.col("__dpd__err")),
        ("annual_rate", pl.when(annual_bad).then(pl.col("__annual_rate").str.slice(1)).otherwise(None)),
        ("daily_penalty_rate", pl.when(daily_bad).then(pl.col("__daily_rate").str.slice(1)).otherwise(None)),
        ("timezone", pl.when(pl.col("__tz_ok").not_()).then(pl.lit("timezone_unknown")).otherwise(None)),
        ("language", pl.when(pl.col("__language") == "!").then(pl.lit("language_invalid")).otherwise(None)),
        ("region", _too_long("region", MAX_SHORT)),
        ("agency_code", _too_long("agency_code", MAX_SHORT)),
        *((f"emergency_contact_{k}_relation", _too_long(f"emergency_contact_{k}_relation", MAX_RELATION))
          for k in EMERGENCY_SLOTS),
    ]  # fmt: skip
    errors = collect_errors(df, checks, hmap, raw)
    bad_rows = sorted({e.row for e in errors})
    good = df.filter(~pl.col(ROW).is_in(bad_rows)) if bad_rows else df
    nid_ok = pl.col("__nid").is_not_null()
    clean = good.select(
        pl.col(ROW),
        pl.col("account_ref"),
        pl.col("debtor_ref"),
        pl.col("debtor_name"),
        pl.col("__nid").alias("national_id"),
        pl.when(nid_ok)
        .then(pl.col("__nid").str.slice(6, 8).str.to_date("%Y%m%d", strict=False))
        .alias("birth_date"),
        pl.when(nid_ok)
        .then(
            pl.when(pl.col("__nid").str.slice(16, 1).cast(pl.Int64, strict=False) % 2 == 1)
            .then(pl.lit("M"))
            .otherwise(pl.lit("F"))
        )
        .alias("gender"),
        *(pl.col(f"{c}__e164").alias(c) for c in phone_cols),
        *(pl.col(f"{c}__tz").alias(f"{c}_tz") for c in phone_cols),
        pl.col("__email").alias("email"),
        pl.col("address"),
        pl.col("employer"),
        pl.col("__monthly_income").alias("monthly_income"),
        pl.col("__product").alias("product"),
        pl.when(pl.col("__product_known").not_())
        .then(pl.col("product"))
        .otherwise(None)
        .alias("product_name"),
        pl.col("currency"),
        pl.col("__loan_amount").alias("loan_amount"),
        pl.col("__contract_date").alias("contract_date"),
        pl.col("__term").cast(pl.Int64).alias("term_months"),
        pl.col("__annual_rate").alias("annual_rate"),
        pl.col("__daily_rate").alias("daily_penalty_rate"),
        *(pl.col(f"__{c}").fill_null(0).alias(c) for c in BALANCE_COLUMNS),
        pl.col("__since").alias("overdue_since"),
        pl.col("__days").cast(pl.Int64).alias("days_past_due"),
        bucket_expr(pl.col("__days"), buckets).alias("bucket"),
        pl.col("__pdate").alias("placement_date"),
        pl.col("region"),
        pl.col("timezone"),
        pl.col("agency_code"),
        pl.col("__language").alias("language"),  # null when the file does not say: the writer defaults it
        *(pl.col(f"emergency_contact_{k}_{f}") for k in EMERGENCY_SLOTS for f in ("name", "relation")),
        pl.col("__extra").alias("extra"),
    )
    return Validation("placements", df.height, clean, errors, warnings, [])


def validate_payments(
    table: SourceTable, hmap: HeaderMap, *, today: date, default_currency: str
) -> Validation:
    """Payment rows checked without the database: refs, positive amounts, dates, currency."""
    warnings = [w.replace("kept as extra data", "ignored") for w in hmap.warnings()]
    file_errors = header_errors(hmap, "payments")
    raw = canonical_frame(table, hmap, "payments", keep_extra=False)
    if file_errors:
        return Validation("payments", raw.height, raw.clear(), [], warnings, file_errors)
    df = raw.with_columns(
        map_distinct(raw["currency"], normalise_currency, pl.String).alias("__currency"),
        date_series(raw["paid_at"]).alias("__paid"),
    )
    df = df.with_columns(
        pl.coalesce("__currency", pl.lit(default_currency))
        .replace_strict(MINOR_UNITS, default=2, return_dtype=pl.Int64)
        .alias("__places"),
    )
    df = add_amounts(df, ["amount"], "__places", positive=True)
    first_ref = _first_row_of("payment_ref")
    first_amount = pl.col("__amount").first().over("payment_ref", order_by=ROW)
    first_account = pl.col("account_ref").first().over("payment_ref", order_by=ROW)
    same_as_first = (pl.col("__amount") == first_amount) & (pl.col("account_ref") == first_account)
    checks: list[tuple[str, pl.Expr]] = [
        ("payment_ref", _required("payment_ref")),
        ("payment_ref", _too_long("payment_ref", MAX_PAYMENT_REF)),
        ("payment_ref", pl.when(pl.col("payment_ref").is_not_null() & (pl.col(ROW) != first_ref) & ~same_as_first)
            .then(pl.lit("ref_conflict")).otherwise(None)),
        ("account_ref", _required("account_ref")),
        ("account_ref", _too_long("account_ref", MAX_REF)),
        ("amount", _required("amount")),
        ("amount", pl.when(pl.col("__amount__err").str.starts_with("amount_precision"))
            .then(pl.lit("amount_precision|currency=") + pl.coalesce("__currency", pl.lit(default_currency)))
            .otherwise(pl.col("__amount__err"))),
        ("paid_at", _required("paid_at")),
        ("paid_at", date_error(pl.col("paid_at"), pl.col("__paid"))),
        ("paid_at", pl.when(pl.col("__paid") > today).then(pl.lit(f"paid_future|today={today.isoformat()}"))
            .otherwise(None)),
        ("currency", pl.when(pl.col("__currency").is_not_null() & ~pl.col("__currency").is_in(sorted(MINOR_UNITS)))
            .then(pl.lit("currency_unknown")).otherwise(None)),
    ]  # fmt: skip
    errors = collect_errors(df, checks, hmap, raw)
    bad_rows = sorted({e.row for e in errors})
    good = df.filter(~pl.col(ROW).is_in(bad_rows)) if bad_rows else df
    clean = good.select(
        pl.col(ROW), "payment_ref", "account_ref", pl.col("__amount").alias("amount"),
        pl.col("__paid").alias("paid_on"), pl.col("__currency").alias("currency"),
        (pl.col(ROW) != first_ref).alias("repeat_in_file"),
    )  # fmt: skip
    return Validation("payments", df.height, clean, errors, warnings, [])


def validate_schedule(table: SourceTable, hmap: HeaderMap, *, default_currency: str) -> Validation:
    """Instalment schedule rows: account, instalment number, due date, principal and interest due."""
    warnings = [w.replace("kept as extra data", "ignored") for w in hmap.warnings()]
    file_errors = header_errors(hmap, "schedule")
    raw = canonical_frame(table, hmap, "schedule", keep_extra=False)
    if file_errors:
        return Validation("schedule", raw.height, raw.clear(), [], warnings, file_errors)
    df = raw.with_columns(
        date_series(raw["due_date"]).alias("__due"),
        pl.lit(MINOR_UNITS.get(default_currency, 2)).alias("__places"),
    )
    seq, seq_err = int_exprs(pl.col("seq"), 1, MAX_TERM_MONTHS, "seq_range")
    df = add_amounts(df, ["principal", "interest"], "__places")
    df = df.with_columns(
        seq.alias("__seq"), seq_err.alias("__seq__err"),
        pl.col("__principal").alias("__p"), pl.col("__principal__err").alias("__p__err"),
        pl.col("__interest").alias("__i"), pl.col("__interest__err").alias("__i__err"),
    )  # fmt: skip
    first = _first_row_of(["account_ref", "__seq"])

    def money_err(c: str) -> pl.Expr:
        e = pl.col(c)
        return (
            pl.when(e.str.starts_with("amount_precision"))
            .then(pl.lit(f"amount_precision|currency={default_currency}"))
            .otherwise(e)
        )

    checks: list[tuple[str, pl.Expr]] = [
        ("account_ref", _required("account_ref")),
        ("seq", _required("seq")),
        ("seq", pl.col("__seq__err")),
        ("seq", pl.when(pl.col("__seq").is_not_null() & pl.col("account_ref").is_not_null() & (pl.col(ROW) != first))
            .then(pl.lit("duplicate_seq|first_row=") + first.cast(pl.String) + pl.lit("|account_ref=")
                  + pl.col("account_ref")).otherwise(None)),
        ("due_date", _required("due_date")),
        ("due_date", date_error(pl.col("due_date"), pl.col("__due"))),
        ("principal", _required("principal")),
        ("principal", money_err("__p__err")),
        ("interest", money_err("__i__err")),
    ]  # fmt: skip
    errors = collect_errors(df, checks, hmap, raw)
    bad_rows = sorted({e.row for e in errors})
    good = df.filter(~pl.col(ROW).is_in(bad_rows)) if bad_rows else df
    clean = good.select(
        pl.col(ROW), "account_ref", pl.col("__seq").alias("seq"), pl.col("__due").alias("due_date"),
        pl.col("__p").alias("principal_due"), pl.col("__i").fill_null(0).alias("interest_due"),
    )  # fmt: skip
    return Validation("schedule", df.height, clean, errors, warnings, [])


def rejects_frame(table: SourceTable, errors: Iterable[RowError]) -> pl.DataFrame:
    """The rejected rows with their original columns, plus `_row`, `_column` and `_reason` (one line per row,
    several problems joined with "; ")."""
    by_row: dict[int, list[RowError]] = {}
    for e in errors:
        by_row.setdefault(e.row, []).append(e)
    rows = sorted(by_row)
    reasons = pl.DataFrame(
        {
            ROW: pl.Series(rows, dtype=pl.Int64),
            "_column": [", ".join(dict.fromkeys(e.header or e.column for e in by_row[r])) for r in rows],
            "_reason": ["; ".join(e.reason for e in by_row[r]) for r in rows],
        }
    )
    names = _unique_headers(table.headers)
    original = table.frame.filter(pl.col(ROW).is_in(rows)).select(
        [pl.col(f"c{i}").alias(n) for i, n in enumerate(names)] + [pl.col(ROW)]
    )
    return original.join(reasons, on=ROW, how="left").sort(ROW)


def _unique_headers(headers: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(headers):
        name = h or f"column_{i + 1}"
        if name in seen or name in (ROW, "_column", "_reason"):
            name = f"{name}_{i + 1}"
        seen[name] = i
        out.append(name)
    return out


def header_lookup(hmap: HeaderMap) -> Mapping[str, str]:
    return {t: h for h, t in zip(hmap.headers, hmap.targets, strict=True) if t}
