"""Reading and validating import files, on plain values (no database)."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

import phonenumbers
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.core.money import MoneyError, parse_amount
from arrears.portfolio import identity, parsing
from arrears.portfolio.columns import (
    MappingFileError,
    normalise_header,
    parse_mapping,
    resolve_headers,
)
from arrears.portfolio.parsing import (
    add_amounts,
    date_series,
    national_ids_valid,
    parse_date,
    parse_rate,
    read_csv_bytes,
    read_source,
    read_xlsx_bytes,
    validate_placements,
)

TODAY = date(2026, 11, 28)


def nid(first17: str) -> str:
    return first17 + identity.cn_id_check_digit(first17)


ID_A = nid("11010519900307123")  # Beijing, born 1990-03-07
ID_B = nid("31010419851111002")  # Shanghai, 1985-11-11, even sequence digit: female


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    for r in rows:
        buf.write(",".join(f'"{c}"' if ("," in c or "\n" in c) else c for c in r) + "\r\n")
    return buf.getvalue().encode(encoding)


def validate(
    rows: list[list[str]], *, placement_date: date = TODAY, currency: str = "CNY", region: str = "CN"
):
    table = read_csv_bytes(csv_bytes(rows))
    hmap = resolve_headers(table.headers)
    return validate_placements(
        table,
        hmap,
        today=TODAY,
        placement_date=placement_date,
        default_currency=currency,
        default_region=region,
    )


ZH_HEADER = ["合同号", "姓名", "身份证号", "手机号", "本金", "逾期天数"]


# --- headers ----------------------------------------------------------------------------------------

BRIEF_ALIASES = {
    "account_ref": ["合同号", "借据号", "账号", "贷款账号"],
    "debtor_ref": ["客户号"],
    "debtor_name": ["姓名", "借款人姓名", "客户姓名"],
    "national_id": ["身份证号", "证件号码", "身份证号码"],
    "phone": ["手机号", "联系电话", "手机号码"],
    "email": ["电子邮箱", "邮箱"],
    "address": ["家庭住址", "住址", "地址"],
    "employer": ["工作单位", "单位名称"],
    "monthly_income": ["月收入"],
    "product": ["产品类型", "产品"],
    "currency": ["币种"],
    "loan_amount": ["贷款金额", "合同金额", "授信额度"],
    "contract_date": ["合同日期", "放款日期"],
    "term_months": ["期限", "期限(月)", "贷款期限"],
    "annual_rate": ["年利率", "年化利率"],
    "daily_penalty_rate": ["日罚息率", "罚息利率"],
    "principal": ["本金", "剩余本金", "欠款本金"],
    "interest": ["利息", "欠款利息"],
    "penalty": ["罚息"],
    "fees": ["费用", "滞纳金"],
    "overdue_since": ["逾期起始日", "首次逾期日期", "逾期日期"],
    "days_past_due": ["逾期天数"],
    "placement_date": ["委案日期"],
    "region": ["地区", "所属地区"],
    "agency_code": ["委外机构", "催收机构"],
    "emergency_contact_1_name": ["紧急联系人1姓名", "联系人1姓名", "紧急联系人姓名"],
    "emergency_contact_1_relation": ["紧急联系人1关系"],
    "emergency_contact_1_phone": ["紧急联系人1电话"],
    "emergency_contact_2_name": ["紧急联系人2姓名"],
    "emergency_contact_3_phone": ["紧急联系人3电话"],
}


@pytest.mark.parametrize(("canonical", "header"), [(c, h) for c, hs in BRIEF_ALIASES.items() for h in hs])
def test_chinese_headers_real_files_use_are_recognised(canonical: str, header: str) -> None:
    assert resolve_headers([header]).targets == (canonical,)


def test_canonical_english_names_and_their_spellings() -> None:
    hmap = resolve_headers(["account_ref", "Account Ref", "DEBTOR-NAME", "days past due"])
    assert hmap.targets[0] == "account_ref"
    assert hmap.targets[1] is None and 1 in hmap.duplicates  # the same column twice: the second is extra
    assert hmap.targets[2:] == ("debtor_name", "days_past_due")


def test_full_width_padded_and_starred_headers() -> None:
    hmap = resolve_headers(
        ["　合同号　", "＊姓名", "期限（月）", "本金（元）", "ＡＣＣＯＵＮＴ＿ＮＯ", "逾期天数(天)"]
    )
    assert hmap.targets == ("account_ref", "debtor_name", "term_months", "principal", None, "days_past_due")
    assert normalise_header("ＡＣＣＯＵＮＴ＿ＮＯ") == "accountno"


def test_unknown_columns_are_kept_and_warned_about() -> None:
    hmap = resolve_headers(["合同号", "备注", "客户经理"])
    assert hmap.extra_positions == (1, 2)
    assert hmap.warnings() == [
        "unknown column '备注' kept as extra data",
        "unknown column '客户经理' kept as extra data",
    ]


def test_mapping_file_yaml_and_csv_take_precedence() -> None:
    yaml_map = parse_mapping(
        "columns:\n  借款合同编号: account_ref\n  手机: phone_2\n  内部备注: _ignore\n", suffix=".yaml"
    )
    hmap = resolve_headers(["借款合同编号", "手机", "内部备注", "姓名"], mapping=yaml_map)
    assert hmap.targets == ("account_ref", "phone_2", None, "debtor_name")
    assert hmap.ignored == frozenset({2}) and hmap.warnings() == []
    csv_map = parse_mapping("source,canonical\nLoan No,account_ref\nＣｕｓｔ,debtor_name\n", suffix=".csv")
    assert resolve_headers(["loan no", "Cust"], mapping=csv_map).targets == ("account_ref", "debtor_name")


def test_mapping_file_naming_an_unknown_column_is_refused() -> None:
    with pytest.raises(MappingFileError, match="unknown column"):
        parse_mapping("合同号: contract\n", suffix=".yml")


def test_payment_and_schedule_headers() -> None:
    assert resolve_headers(["还款流水号", "借据号", "交易金额", "还款时间"], "payments").targets == (
        "payment_ref", "account_ref", "amount", "paid_at",
    )  # fmt: skip
    assert resolve_headers(["合同号", "期数", "应还日期", "应还本金", "应还利息"], "schedule").targets == (
        "account_ref", "seq", "due_date", "principal", "interest",
    )  # fmt: skip


# --- amounts, dates, rates --------------------------------------------------------------------------


def amounts(values: list[str | None], currency: str = "CNY") -> list[tuple[int | None, str | None]]:
    places = 0 if currency == "JPY" else 2
    frame = pl.DataFrame({"a": pl.Series(values, dtype=pl.String), "p": [places] * len(values)})
    out = add_amounts(frame, ["a"], "p")
    assert out.columns == ["a", "p", "__a__err", "__a"]  # nothing else left behind
    return list(zip(out["__a"].to_list(), out["__a__err"].to_list(), strict=True))


@pytest.mark.parametrize(
    ("text", "minor"),
    [("1,234.50", 123450), ("¥1,234.50", 123450), ("￥1,234.50", 123450), ("1234.5元", 123450), ("1234", 123400),
     ("0.05", 5), (".5", 50), ("人民币 1 234.50", 123450), ("1,234.500", 123450), ("RMB1234.50", 123450),
     ("0", 0)],
)  # fmt: skip
def test_amount_formats(text: str, minor: int) -> None:
    assert amounts([text]) == [(minor, None)]
    assert parse_amount(text, "CNY") == minor  # the same reading as core.money


@pytest.mark.parametrize(
    ("text", "code"),
    [("-5", "amount_negative"), ("(12.00)", "amount_negative"), ("12.345", "amount_precision"),
     ("abc", "amount_invalid"), ("1.2.3", "amount_invalid"), ("12.", "amount_invalid"),
     ("1" * 16, "amount_too_large")],
)  # fmt: skip
def test_bad_amounts_are_named(text: str, code: str) -> None:
    assert amounts([text]) == [(None, code)]


def test_amounts_respect_the_currency_minor_units() -> None:
    assert amounts(["1,234", "12.5"], "JPY") == [(1234, None), (None, "amount_precision")]
    assert amounts([None]) == [(None, None)]


_amount_text = st.builds(
    lambda sym, whole, frac, suffix: f"{sym}{whole:,}{frac}{suffix}",
    st.sampled_from(["", "¥", "￥", "$", "RMB"]),
    st.integers(min_value=0, max_value=10**12),
    st.sampled_from(["", ".0", ".5", ".25", ".50", ".123", ".100"]),
    st.sampled_from(["", "元", " "]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_amount_text, min_size=1, max_size=20))
def test_vectorised_amounts_agree_with_core_money(texts: list[str]) -> None:
    for text, (minor, err) in zip(texts, amounts(texts), strict=True):
        try:
            expected = parse_amount(text, "CNY")
        except MoneyError:
            assert minor is None and err is not None
        else:
            assert (minor, err) == (expected, None)


@pytest.mark.parametrize(
    "text",
    ["2026-11-28", "2026/11/28", "20261128", "2026年11月28日", "2026.11.28", "2026-11-28 14:03:00",
     "2026/11/28 9:05", "２０２６年１１月２８日", "46354", "46354.5", "2026-11-28T10:00:00+08:00"],
)  # fmt: skip
def test_date_formats(text: str) -> None:
    assert parse_date(text) == date(2026, 11, 28)
    assert date_series(pl.Series([text])).to_list() == [date(2026, 11, 28)]


def test_full_width_and_other_unicode_digits() -> None:
    table = read_csv_bytes(csv_bytes([["合同号", "本金"], ["Ａ１", "１，２３４．５０"], ["A2", "١٢٣"]]))
    assert table.frame.select("c0", "c1").rows() == [("A1", "1,234.50"), ("A2", "١٢٣")]
    assert amounts(["١٢٣"]) == [(None, "amount_invalid")]  # Arabic-Indic digits are not read as numbers


def test_single_digit_months_and_days() -> None:
    assert parse_date("2026/1/5") == date(2026, 1, 5)
    assert parse_date("2026年1月5日") == date(2026, 1, 5)


@pytest.mark.parametrize("text", ["2026-02-30", "28/11/2026", "yesterday", "2026-13-01", "20261332", "12"])
def test_impossible_or_unknown_dates_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_date(text)
    assert date_series(pl.Series([text])).to_list() == [None]


@pytest.mark.parametrize(
    ("text", "daily", "expected"),
    [("18%", False, "0.18"), ("18.00%", False, "0.18"), ("0.18", False, "0.18"), ("18", False, "0.18"),
     ("24.333%", False, "0.24333"), ("0.05%", True, "0.0005"), ("0.0005", True, "0.0005"),
     ("万分之五", True, "0.0005"), ("日万分之五", True, "0.0005"), ("万分之2.5", True, "0.00025"),
     ("万分之三点五", True, "0.00035"), ("千分之一", True, "0.001"), ("0.5‰", True, "0.0005"),
     ("5‱", True, "0.0005"), ("0", True, "0")],
)  # fmt: skip
def test_rates(text: str, daily: bool, expected: str) -> None:
    assert parse_rate(text, daily=daily) == Decimal(expected)


def test_rate_ranges_and_junk() -> None:
    with pytest.raises(ValueError, match="daily_rate_range"):
        parse_rate("0.05", daily=True)  # 5 % a day: surely meant 0.05 %
    with pytest.raises(ValueError, match="annual_rate_range"):
        parse_rate("180%")
    with pytest.raises(ValueError, match="rate_invalid"):
        parse_rate("about 18")
    assert parse_rate("0.5", percent=True) == Decimal("0.005")  # the header said (%)


# --- encodings and workbooks ------------------------------------------------------------------------


ROWS = [ZH_HEADER, ["HT001", "张三", ID_A, "13812345678", "1,000.00", "30"]]


@pytest.mark.parametrize(("encoding", "expected"), [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"),
                                                    ("gbk", "gb18030"), ("gb18030", "gb18030")])  # fmt: skip
def test_encodings_are_detected(encoding: str, expected: str) -> None:
    table = read_csv_bytes(csv_bytes(ROWS, encoding))
    assert table.encoding == expected
    assert table.headers == tuple(ZH_HEADER)
    assert table.frame.row(0) == (2, "HT001", "张三", ID_A, "13812345678", "1,000.00", "30")


def test_gb18030_only_characters() -> None:
    rows = [ZH_HEADER, ["HT001", "王䶮", ID_A, "13812345678", "100", "3"]]  # 䶮 is in GB18030, not GBK
    data = csv_bytes(rows, "gb18030")
    with pytest.raises(UnicodeEncodeError):
        csv_bytes(rows, "gbk")
    assert parsing.detect_encoding(data) == "gb18030"
    assert read_csv_bytes(data).frame["c1"].to_list() == ["王䶮"]


def test_tab_separated_and_blank_rows() -> None:
    data = "合同号\t姓名\nA1\t张三\n\t\n\nA2\t李四\n".encode()
    table = read_csv_bytes(data)
    assert table.frame.select("c0", parsing.ROW).rows() == [
        ("A1", 2),
        ("A2", 5),
    ]  # blank rows skipped, rows kept


def test_cells_are_trimmed_and_excel_text_tricks_undone() -> None:
    data = csv_bytes([["合同号", "身份证号"], ["　A1 ", f'="{ID_A}"'], ["A2", f"'{ID_B}"]])
    assert read_csv_bytes(data).frame.select("c0", "c1").rows() == [("A1", ID_A), ("A2", ID_B)]


def test_ragged_rows_are_reported_with_their_row() -> None:
    with pytest.raises(parsing.FileError, match="row 3 has 3 fields"):
        read_csv_bytes(b"a,b\n1,2\n1,2,3\n")


def test_not_text_at_all() -> None:
    with pytest.raises(parsing.FileError, match="neither UTF-8 nor GB18030"):
        read_csv_bytes(b"a,b\n\x81\x30\x81\xff,2\n")


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_real_date_cells_serial_numbers_and_numbers() -> None:
    data = xlsx_bytes([
        ["合同号", "姓名", "身份证号", "本金", "日罚息率", "合同日期", "委案日期", "逾期天数"],
        ["A1", "张三", ID_A, 1234.5, 0.0005, datetime(2025, 1, 15), 46354, 30],
        ["A2", "李四", ID_B, 800, 0.00005, date(2025, 2, 1), "2026/11/28", 45.0],
    ])  # fmt: skip
    table = read_source(data, name="placements.xlsx")
    assert table.encoding == "xlsx"
    assert table.frame.select("c3", "c4", "c5", "c6", "c7").rows() == [
        ("1234.5", "0.0005", "2025-01-15", "46354", "30"),
        ("800", "0.00005", "2025-02-01", "2026/11/28", "45"),
    ]
    v = validate_placements(table, resolve_headers(table.headers), today=TODAY, placement_date=TODAY,
                            default_currency="CNY", default_region="CN")  # fmt: skip
    assert v.errors == []
    got = v.clean.select("principal", "daily_penalty_rate", "contract_date", "placement_date").rows()
    assert got == [
        (123450, "0.00050000", date(2025, 1, 15), date(2026, 11, 28)),
        (80000, "0.00005000", date(2025, 2, 1), date(2026, 11, 28)),
    ]


def test_xlsx_is_recognised_by_content_and_bad_zip_refused() -> None:
    data = xlsx_bytes([["合同号"], ["A1"]])
    assert read_source(data, name="upload.bin").encoding == "xlsx"
    with pytest.raises(parsing.FileError, match="XLSX"):
        read_xlsx_bytes(b"PK\x03\x04 not really")


# --- identities and phones --------------------------------------------------------------------------

_id_chars = st.text(alphabet="0123456789X", min_size=18, max_size=18)


@st.composite
def _plausible_ids(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(["110105", "310104", "440305", "990101", "000000", "650102"]))
    born = draw(st.dates(min_value=date(1840, 1, 1), max_value=date(2030, 12, 31)))
    seq = draw(st.integers(min_value=0, max_value=999))
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    check = identity.cn_id_check_digit(first17)
    return first17 + draw(st.sampled_from([check, check, "X", "0", "7"]))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_id_chars, _plausible_ids()), min_size=1, max_size=30))
def test_vectorised_national_id_check_agrees_with_identity(values: list[str]) -> None:
    assert national_ids_valid(values, TODAY) == [
        identity.is_valid_cn_national_id(v, as_of=TODAY) for v in values
    ]


def test_national_id_errors_and_legacy_numbers() -> None:
    legacy = "110105900307123"  # 15 digits, born 1990-03-07: upgraded, then checked
    v = validate([
        ZH_HEADER,
        ["A1", "张三", ID_A.lower().replace("x", "x"), "13812345678", "100", "3"],
        ["A2", "李四", ID_A[:-1] + ("0" if ID_A[-1] != "0" else "1"), "13812345678", "100", "3"],
        ["A3", "王五", "12345", "13812345678", "100", "3"],
        ["A4", "赵六", legacy, "13812345678", "100", "3"],
        ["A5", "钱七", nid("11010520300101123"), "13812345678", "100", "3"],  # born after the placement date
    ])  # fmt: skip
    assert [(e.row, e.column, e.reason.split(":")[0]) for e in v.errors] == [
        (3, "national_id", "national ID check character is wrong"),
        (4, "national_id", "national ID must be 18 characters, 17 digits and a check character"),
        (6, "national_id", "national ID has an impossible birth date"),
    ]
    assert v.clean["national_id"].to_list() == [ID_A, identity.cn_id_from_15(legacy)]
    assert v.clean["birth_date"].to_list() == [date(1990, 3, 7), date(1990, 3, 7)]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.builds(
            lambda prefix, body, sep: prefix + sep.join([body[:3], body[3:7], body[7:]]),
            st.sampled_from(["", "+86", "86", "0086", "+86 "]),
            st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
            st.sampled_from(["", " ", "-"]),
        ),
        min_size=1,
        max_size=10,
    )
)
def test_fast_mobile_path_agrees_with_phonenumbers(values: list[str]) -> None:
    frame = pl.DataFrame({"p": values, "r": ["CN"] * len(values)})
    out = parsing.phone_frame(frame, "p", "r")
    for raw, e164, err in out.select("p", "p__e164", "p__err").rows():
        number = phonenumbers.parse(raw.replace("0086", "+86", 1) if raw.startswith("0086") else raw, "CN")
        expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if phonenumbers.is_valid_number(number):
            assert (e164, err) == (expected, None)
        else:  # numbering plan gaps phonenumbers knows about: the fast path accepts the shape only
            assert e164 == "+86" + raw.replace(" ", "").replace("-", "")[-11:]


def test_phones_outside_the_fast_path() -> None:
    frame = pl.DataFrame(
        {"p": ["010-6552 8888", "(212) 155-0123", "+1 415 555 2671", "12345", "13812345678"],
         "r": ["CN", "US", "CN", "CN", "US"]}
    )  # fmt: skip
    out = parsing.phone_frame(frame, "p", "r").select("p__e164", "p__tz", "p__err").rows()
    assert out[0] == ("+861065528888", "Asia/Shanghai", None)
    assert out[1] == (None, None, "phone_invalid|region=US")  # no US exchange starts with 1
    assert out[2] == ("+14155552671", "America/Los_Angeles", None)
    assert out[3] == (None, None, "phone_invalid|region=CN")
    assert out[4][2] == "phone_invalid|region=US"  # a mainland mobile without +86 is not a US number


# --- row validation ---------------------------------------------------------------------------------


def test_errors_name_the_spreadsheet_row_the_column_and_the_reason() -> None:
    v = validate([
        ["合同号", "姓名", "手机号", "电子邮箱", "本金", "逾期起始日", "合同日期", "期限", "日罚息率", "币种"],
        ["A1", "张三", "13812345678", "z@example.com", "1,000.00", "2026-10-01", "2025-01-01", "12", "万分之五", "人民币"],
        ["A2", "", "1381234", "not-mail", "-3", "2026-13-01", "2026-12-01", "0", "5%", "XYZ"],
        ["A1", "王五", "", "", "", "", "", "", "", ""],
    ])  # fmt: skip
    got = [(e.row, e.column, e.header) for e in v.errors]
    assert got == [
        (3, "debtor_name", "姓名"),
        (3, "phone", "手机号"),
        (3, "email", "电子邮箱"),
        (3, "currency", "币种"),
        (3, "principal", "本金"),
        (3, "contract_date", "合同日期"),
        (3, "overdue_since", "逾期起始日"),
        (3, "term_months", "期限"),
        (3, "daily_penalty_rate", "日罚息率"),
        (4, "account_ref", "合同号"),
        (4, "principal", "本金"),
        (4, "overdue_since", "逾期起始日"),
    ]
    reasons = {(e.row, e.column): e.reason for e in v.errors}
    assert reasons[(4, "account_ref")] == "account_ref A1 repeats row 2"
    assert reasons[(3, "contract_date")] == "2026-12-01 is after the placement date 2026-11-28"
    assert reasons[(3, "principal")] == "amount must not be negative: -3"
    assert "13812345678" not in " ".join(e.reason for e in v.errors)  # personal data is masked in messages
    assert all(e.reason_zh for e in v.errors)
    assert v.clean["account_ref"].to_list() == ["A1"] and v.rejected_rows == [3, 4]


def test_missing_required_columns_are_file_errors() -> None:
    v = validate([["合同号", "手机号"], ["A1", "13812345678"]])
    assert v.rows == 1 and v.clean.height == 0 and not v.ok
    assert [(e.row, e.column) for e in v.file_errors] == [
        (1, "debtor_name"),
        (1, "principal"),
        (1, "overdue_since"),
    ]


def test_overdue_since_from_dpd_and_the_placement_date_and_buckets() -> None:
    v = validate(
        [["合同号", "姓名", "本金", "逾期天数", "逾期起始日", "委案日期"],
         ["A1", "张三", "100", "45", "", ""],
         ["A2", "李四", "100", "", "2026-10-29", "2026-11-20"],
         ["A3", "王五", "100", "0", "", "2026/11/20"],
         ["A4", "赵六", "100", "181", "", "2026-11-30"]],
        placement_date=date(2026, 11, 25),
    )  # fmt: skip
    assert [(e.row, e.column) for e in v.errors] == [(5, "placement_date")]
    assert v.clean.select("overdue_since", "days_past_due", "bucket", "placement_date").rows() == [
        (date(2026, 10, 11), 45, "M2", date(2026, 11, 25)),
        (date(2026, 10, 29), 22, "M1", date(2026, 11, 20)),
        (date(2026, 11, 20), 0, "C", date(2026, 11, 20)),
    ]


def test_products_currencies_rates_and_extra_columns() -> None:
    v = validate([
        ["合同号", "姓名", "本金", "逾期天数", "产品类型", "币种", "年利率", "备注"],
        ["A1", "张三", "100", "3", "信用卡", "人民币", "18%", "VIP客户"],
        ["A2", "李四", "100", "3", "某某现金贷", "usd", "0.2425", ""],
        ["A3", "王五", "100", "3", "神秘产品", "", "", ""],
    ])  # fmt: skip
    assert v.errors == []
    assert v.clean.select("product", "product_name", "currency", "annual_rate", "extra").rows() == [
        ("credit_card", None, "CNY", "0.18000000", '{"备注":"VIP客户"}'),
        ("consumer_loan", None, "USD", "0.24250000", '{"备注":null}'),
        ("other", "神秘产品", "CNY", None, '{"备注":null}'),
    ]


def test_debtor_ref_with_two_national_ids_is_an_error_on_the_later_row() -> None:
    v = validate([
        ["合同号", "客户号", "姓名", "身份证号", "本金", "逾期天数"],
        ["A1", "C1", "张三", ID_A, "100", "3"],
        ["A2", "C1", "张三", ID_B, "100", "3"],
        ["A3", "C1", "张三", "", "100", "3"],
    ])  # fmt: skip
    assert [(e.row, e.column, e.reason) for e in v.errors] == [
        (3, "national_id", "debtor_ref C1 has a different national ID on row 2"),
    ]


def test_rejects_frame_keeps_the_original_columns() -> None:
    table = read_csv_bytes(csv_bytes([ZH_HEADER, ["A1", "", ID_A, "13812345678", "x", "3"]]))
    v = validate_placements(table, resolve_headers(table.headers), today=TODAY, placement_date=TODAY,
                            default_currency="CNY", default_region="CN")  # fmt: skip
    frame = parsing.rejects_frame(table, v.errors)
    assert frame.columns == [*ZH_HEADER, "_row", "_column", "_reason"]
    assert frame.row(0)[:6] == ("A1", None, ID_A, "13812345678", "x", "3")
    assert frame.row(0)[6:8] == (2, "姓名, 本金")
    assert frame.row(0)[8] == "debtor_name is required; not an amount: x"
