"""Placement and payment files as written: headers, encodings, spellings, payments, determinism, CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from arrears.cli import app
from arrears.core.errors import ValidationFailed
from arrears.core.money import parse_amount
from arrears.simulation import portfolio as portfolio_module
from arrears.simulation.portfolio import (
    AMOUNT_COLUMNS,
    EN_PAYMENT_HEADERS,
    EN_PLACEMENT_HEADERS,
    ZH_PAYMENT_HEADERS,
    ZH_PLACEMENT_HEADERS,
    SimulatedPortfolio,
    generate_portfolio,
    write_portfolio,
)

ZH_HEADERS = [
    "合同号",
    "借款人姓名",
    "身份证号",
    "手机号",
    "电子邮箱",
    "家庭住址",
    "工作单位",
    "产品类型",
    "币种",
    "贷款金额",
    "合同日期",
    "期限(月)",
    "年利率",
    "日罚息率",
    "剩余本金",
    "利息",
    "罚息",
    "费用",
    "逾期天数",
    "委案日期",
    "紧急联系人1姓名",
    "紧急联系人1关系",
    "紧急联系人1电话",
    "紧急联系人2姓名",
    "紧急联系人2关系",
    "紧急联系人2电话",
    "地区",
]
EN_HEADERS = [
    "account_ref",
    "debtor_name",
    "national_id",
    "debtor_ref",
    "phone",
    "email",
    "address",
    "employer",
    "product",
    "currency",
    "loan_amount",
    "contract_date",
    "term_months",
    "annual_rate",
    "daily_penalty_rate",
    "principal",
    "interest",
    "penalty",
    "fees",
    "days_past_due",
    "placement_date",
    "emergency_contact_1_name",
    "emergency_contact_1_relation",
    "emergency_contact_1_phone",
    "emergency_contact_2_name",
    "emergency_contact_2_relation",
    "emergency_contact_2_phone",
    "region",
    "timezone",
]
BOM = b"\xef\xbb\xbf"


def _date(text: str) -> date:
    m = re.fullmatch(r"(\d{4})(?:-|/|年)?(\d{2})(?:-|/|月)?(\d{2})日?", text)
    assert m, text
    return date(int(m[1]), int(m[2]), int(m[3]))


def _rate_bp(text: str) -> int:
    if text.endswith("%"):
        return int(Decimal(text[:-1]) * 100)
    return int(Decimal(text) * 10000)


def test_headers_are_the_ones_real_files_use(
    zh_portfolio: SimulatedPortfolio, en_portfolio: SimulatedPortfolio
) -> None:
    assert zh_portfolio.placements.columns == ZH_HEADERS == list(ZH_PLACEMENT_HEADERS.values())
    assert en_portfolio.placements.columns == EN_HEADERS == list(EN_PLACEMENT_HEADERS)
    assert zh_portfolio.payments.columns == ["还款流水号", "合同号", "还款金额", "还款日期"]
    assert (
        en_portfolio.payments.columns
        == list(EN_PAYMENT_HEADERS)
        == ["payment_ref", "account_ref", "amount", "paid_at"]
    )
    assert list(ZH_PAYMENT_HEADERS) == list(EN_PAYMENT_HEADERS)


def test_chinese_text_reads_back_to_the_typed_facts(zh_portfolio: SimulatedPortfolio) -> None:
    text = zh_portfolio.placements.head(4000)
    truth = zh_portfolio.accounts.head(4000)
    for c in AMOUNT_COLUMNS:
        written = text[ZH_PLACEMENT_HEADERS[c]].to_list()
        assert [parse_amount(v, "CNY") for v in written] == truth[c].to_list(), c
    assert [_date(v) for v in text["合同日期"].to_list()] == truth["contract_date"].to_list()
    assert [_date(v) for v in text["委案日期"].to_list()] == truth["placement_date"].to_list()
    assert [_rate_bp(v) for v in text["年利率"].to_list()] == truth["annual_rate_bp"].to_list()
    assert text["逾期天数"].cast(pl.Int64).to_list() == truth["days_past_due"].to_list()
    assert set(text["产品类型"].unique().to_list()) == {"消费贷款", "信用卡", "应收账款"}
    assert text["身份证号"].to_list() == truth["national_id"].to_list()
    assert ("+86" + text["手机号"]).to_list() == truth["phone"].to_list()


def test_chinese_files_mix_spellings_in_realistic_shares(zh_portfolio: SimulatedPortfolio) -> None:
    amounts = zh_portfolio.placements["剩余本金"]
    n = amounts.len()
    plain = amounts.str.contains(r"^\d+\.\d{2}$").mean()
    yen = amounts.str.contains(r"^¥\d{1,3}(,\d{3})*\.\d{2}$").mean()
    yuan = amounts.str.contains(r"^\d+\.\d{2}元$").mean()
    grouped = amounts.str.contains(r"^\d{1,3}(,\d{3})+\.\d{2}$").sum() / n
    assert plain == pytest.approx(0.80, abs=0.03)
    assert yen == pytest.approx(0.10, abs=0.02)
    assert yuan == pytest.approx(0.07, abs=0.02)
    assert grouped > 0.005
    dates = zh_portfolio.placements["合同日期"]
    shapes = {re.sub(r"\d", "9", d) for d in dates.to_list()}
    assert shapes == {"9999-99-99", "9999/99/99", "99999999", "9999年99月99日"}
    assert dates.str.contains("-").mean() == pytest.approx(0.65, abs=0.03)
    assert zh_portfolio.placements["年利率"].str.ends_with("%").mean() == pytest.approx(0.2, abs=0.03)


def test_clean_files_use_canonical_spellings_only() -> None:
    p = generate_portfolio(3000, 4, "zh_CN", messy=False)
    for c in AMOUNT_COLUMNS:
        assert p.placements[ZH_PLACEMENT_HEADERS[c]].str.contains(r"^\d+\.\d{2}$").all(), c
    assert p.placements["合同日期"].str.contains(r"^\d{4}-\d{2}-\d{2}$").all()
    assert p.payments["还款金额"].str.contains(r"^\d+\.\d{2}$").all()
    assert not p.placements["年利率"].str.ends_with("%").any()


def test_us_files_write_grouped_amounts_and_iso_dates(en_portfolio: SimulatedPortfolio) -> None:
    text, truth = en_portfolio.placements, en_portfolio.accounts
    for c in AMOUNT_COLUMNS:
        assert text[c].str.contains(r"^\d{1,3}(,\d{3})*\.\d{2}$").all(), c
        assert [parse_amount(v, "USD") for v in text[c].to_list()] == truth[c].to_list(), c
    assert (text["loan_amount"].str.contains(",")).mean() > 0.5
    assert text["contract_date"].str.contains(r"^\d{4}-\d{2}-\d{2}$").all()
    assert text["national_id"].null_count() == text.height  # US placements carry no SSN
    assert text["debtor_ref"].str.contains(r"^CUST\d{12}$").all()
    assert en_portfolio.payments["amount"].str.contains(r"^\d{1,3}(,\d{3})*\.\d{2}$").all()


def test_payments_reference_placed_accounts_and_behave_like_payers(any_portfolio: SimulatedPortfolio) -> None:
    a, p = any_portfolio.accounts, any_portfolio.payment_truth
    assert p["payment_ref"].is_unique().all()
    assert p["account_ref"].is_in(a["account_ref"].implode()).all()
    payers = p["account_ref"].n_unique()
    assert payers == round(a.height * 0.3)
    joined = p.join(
        a.select(
            "account_ref",
            (pl.col("principal") + pl.col("interest") + pl.col("penalty") + pl.col("fees")).alias("due"),
        ),
        on="account_ref",
    )
    payoff = joined.filter(pl.col("kind") == "payoff")
    assert (payoff["amount"] == payoff["due"]).all()
    over = joined.filter(pl.col("kind") == "overpayment").with_columns(by=pl.col("amount") - pl.col("due"))
    assert over.height > 0 and over["by"].min() > 0 and over["by"].max() <= 5000
    partial = (
        joined.filter(pl.col("kind") == "partial")
        .group_by("account_ref")
        .agg(pl.col("amount").sum(), pl.col("due").first(), pl.len().alias("count"))
    )
    assert (partial["amount"] < partial["due"]).all()
    assert partial["count"].max() == 3 and (partial["count"] > 1).mean() > 0.2
    kinds = dict(p.filter(pl.col("kind") != "partial")["kind"].value_counts().iter_rows())
    assert kinds["payoff"] > kinds["overpayment"] > 0
    # Round amounts are the rule for partial payments people make by hand.
    round_share = (joined.filter(pl.col("kind") == "partial")["amount"] % 100 == 0).mean()
    assert 0.7 < round_share < 0.95


def test_early_buckets_pay_more_often(any_portfolio: SimulatedPortfolio) -> None:
    a = any_portfolio.accounts.with_columns(
        paid=pl.col("account_ref").is_in(any_portfolio.payment_truth["account_ref"].implode())
    )
    rate = dict(a.group_by("bucket").agg(pl.col("paid").mean()).iter_rows())
    assert rate["M1"] > rate["M3"] > rate["M7+"]


def test_payment_text_reads_back(zh_portfolio: SimulatedPortfolio) -> None:
    text, truth = zh_portfolio.payments, zh_portfolio.payment_truth
    assert [parse_amount(v, "CNY") for v in text["还款金额"].to_list()] == truth["amount"].to_list()
    assert [_date(v) for v in text["还款日期"].to_list()] == truth["paid_on"].to_list()
    assert text["合同号"].to_list() == truth["account_ref"].to_list()


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_payment_share_extremes(share: float) -> None:
    p = generate_portfolio(200, 1, "en_US", payments_share=share)
    assert p.payment_truth["account_ref"].n_unique() == (200 if share else 0)
    assert p.payments.columns == list(EN_PAYMENT_HEADERS)


def test_one_account_is_enough() -> None:
    p = generate_portfolio(1, 9, "zh_CN", payments_share=1.0)
    assert p.placements.height == 1 and p.payment_truth.height >= 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0, "seed": 1}, "accounts"),
        ({"n": 10, "seed": -1}, "seed"),
        ({"n": 10, "seed": 1, "locale": "fr_FR"}, "locale"),
        ({"n": 10, "seed": 1, "payments_share": 1.5}, "payments share"),
    ],
)
def test_bad_arguments_are_refused_plainly(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        generate_portfolio(**kwargs)


def test_same_seed_same_bytes_different_seed_different_rows(tmp_path: Path) -> None:
    first = write_portfolio(generate_portfolio(3000, 77, "zh_CN"), tmp_path / "a")
    second = write_portfolio(generate_portfolio(3000, 77, "zh_CN"), tmp_path / "b")
    other = write_portfolio(generate_portfolio(3000, 78, "zh_CN"), tmp_path / "c")
    for name in ("placements", "payments"):
        assert first[name].read_bytes() == second[name].read_bytes(), name
        assert first[name].read_bytes() != other[name].read_bytes(), name


def test_xlsx_is_reproducible_too(tmp_path: Path) -> None:
    p = generate_portfolio(300, 5, "zh_CN")
    a = write_portfolio(p, tmp_path / "a", fmt="xlsx")["placements"]
    b = write_portfolio(generate_portfolio(300, 5, "zh_CN"), tmp_path / "b", fmt="xlsx")["placements"]
    assert a.name == "placements.xlsx" and a.read_bytes() == b.read_bytes()


def test_chinese_csv_has_a_bom_and_crlf_us_csv_has_neither(tmp_path: Path) -> None:
    zh = write_portfolio(generate_portfolio(100, 3, "zh_CN"), tmp_path / "zh")
    en = write_portfolio(generate_portfolio(100, 3, "en_US"), tmp_path / "en")
    for path in zh.values():
        data = path.read_bytes()
        assert data.startswith(BOM) and b"\r\n" in data
    for path in en.values():
        data = path.read_bytes()
        assert not data.startswith(BOM) and b"\r\n" not in data
        data.decode("utf-8")


def test_csv_round_trips_through_the_csv_module(tmp_path: Path) -> None:
    p = generate_portfolio(500, 8, "en_US")
    path = write_portfolio(p, tmp_path)["placements"]
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert rows[0] == EN_HEADERS
    expected = [[("" if v is None else v) for v in r] for r in p.placements.iter_rows()]
    assert rows[1:] == expected


def test_xlsx_keeps_ids_as_text_and_plain_amounts_as_numbers(tmp_path: Path) -> None:
    p = generate_portfolio(200, 6, "zh_CN")
    path = write_portfolio(p, tmp_path, fmt="xlsx")["placements"]
    ws = load_workbook(path, read_only=True).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == ZH_HEADERS
    col = {h: i for i, h in enumerate(ZH_HEADERS)}
    for row, truth in zip(rows[1:], p.accounts.iter_rows(named=True), strict=True):
        assert row[col["身份证号"]] == truth["national_id"]
        assert isinstance(row[col["手机号"]], str)
        loan = row[col["贷款金额"]]
        if isinstance(loan, float):
            assert round(loan * 100) == truth["loan_amount"]
        else:
            assert parse_amount(str(loan), "CNY") == truth["loan_amount"]
        assert row[col["逾期天数"]] == truth["days_past_due"]
    assert (tmp_path / "payments.csv").exists()


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="format"):
        write_portfolio(generate_portfolio(10, 1), tmp_path, fmt="ods")


def test_more_accounts_than_a_sheet_holds_are_refused_for_xlsx(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(portfolio_module, "XLSX_MAX_ROWS", 20)
    with pytest.raises(ValidationFailed, match="at most 20 accounts"):
        write_portfolio(generate_portfolio(21, 1), tmp_path, fmt="xlsx")
    assert not (tmp_path / "placements.xlsx").exists()
    write_portfolio(generate_portfolio(20, 1), tmp_path, fmt="xlsx")
    write_portfolio(generate_portfolio(21, 1), tmp_path, fmt="csv")


runner = CliRunner()


def test_cli_writes_the_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["simulate", "portfolio", "--accounts", "500", "--seed", "3", "--locale", "zh_CN", "--out", str(out),
         "--placement-date", "2026-11-02", "--payments-share", "0.4", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["accounts"] == 500 and summary["accounts_with_payments"] == 200
    assert summary["placement_date"] == "2026-11-02"
    placements = (out / "placements.csv").read_bytes()
    assert placements.startswith(BOM) and "合同号".encode() in placements
    assert (out / "payments.csv").exists()
    again = runner.invoke(
        app,
        ["simulate", "portfolio", "--accounts", "500", "--seed", "3", "--out", str(tmp_path / "again"),
         "--placement-date", "2026-11-02", "--payments-share", "0.4"],
    )  # fmt: skip
    assert again.exit_code == 0
    assert (tmp_path / "again" / "placements.csv").read_bytes() == placements


def test_cli_xlsx_and_english(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "simulate",
            "portfolio",
            "--accounts",
            "50",
            "--locale",
            "en_US",
            "--format",
            "xlsx",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "placements.xlsx").exists() and (tmp_path / "payments.csv").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--locale", "de_DE"], "locale must be one of"),
        (["--placement-date", "28/11/2026"], "not a date"),
        (["--payments-share", "2"], "payments share"),
        (["--format", "pdf"], "format must be one of"),
    ],
)
def test_cli_refuses_bad_options_without_a_trace(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["simulate", "portfolio", "--accounts", "10", "--out", str(tmp_path), *args])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_reports_an_unwritable_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = runner.invoke(app, ["simulate", "portfolio", "--accounts", "10", "--out", str(blocker / "sub")])
    assert result.exit_code != 0 and "cannot write" in result.output


def test_files_do_not_depend_on_the_process(tmp_path: Path) -> None:
    """Same seed in two interpreters with different string hashing → the same bytes."""
    script = (
        "import sys, hashlib\n"
        "from arrears.simulation.portfolio import generate_portfolio, write_portfolio\n"
        "paths = write_portfolio(generate_portfolio(2000, 12, 'zh_CN'), sys.argv[1])\n"
        "print(hashlib.sha256(b''.join(p.read_bytes() for p in paths.values())).hexdigest())\n"
    )
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / hash_seed)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        digests.add(done.stdout.strip())
    assert len(digests) == 1
