"""Importing placement, payment and schedule files into the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from arrears.core.context import AppContext
from arrears.ledger.models import LedgerEntry, LedgerTransaction
from arrears.ledger.service import replay_balances
from arrears.models import metadata
from arrears.portfolio import identity
from arrears.portfolio.importing import ImportFileError, import_payments, import_placements, import_schedule
from arrears.portfolio.models import (
    Account,
    BucketHistory,
    Case,
    ContactPoint,
    Creditor,
    Debtor,
    ImportRun,
    Instalment,
    ThirdParty,
)
from arrears.portfolio.schemas import ImportResultOut
from arrears.portfolio.service import account_summary, blind_indexer

PLACED = date(2026, 11, 20)


def nid(first17: str) -> str:
    return first17 + identity.cn_id_check_digit(first17)


ID_1 = nid("11010519900307123")
ID_2 = nid("31010419851111002")
ID_3 = nid("44030519770422451")

HEADER = [
    "合同号", "客户号", "姓名", "身份证号", "手机号", "电子邮箱", "家庭住址", "产品类型", "币种", "贷款金额", "合同日期",
    "期限(月)", "年利率", "日罚息率", "本金", "利息", "罚息", "费用", "逾期天数", "委案日期", "紧急联系人1姓名",
    "紧急联系人1关系", "紧急联系人1电话", "备注",
]  # fmt: skip
ROW_1 = [
    "HT001", "C001", "张三", ID_1, "13812345678", "Zhang.San@Example.com", "北京市朝阳区建国路1号", "消费贷", "人民币",
    "¥10,000.00", "2025/01/15", "12", "18%", "万分之五", "8,000.50", "120.5元", "30", "10", "45", "2026-11-20",
    "李四", "配偶", "+86 139 1234 5678", "VIP",
]  # fmt: skip
ROW_2 = [
    "HT002", "C002", "王五", ID_2, "139-1111-2222", "", "上海市浦东新区", "信用卡", "CNY", "5000", "20250301", "24",
    "0.18", "0.05%", "4000", "0", "0", "0", "", "2026年11月20日", "", "", "", "",
]  # fmt: skip
ROW_2[18] = "10"
ROW_3 = [
    "HT003", "C001", "张三", ID_1, "13812345678", "", "", "", "", "", "", "", "", "", "300", "", "", "", "200",
    "2026.11.20", "", "", "", "",
]  # fmt: skip


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8-sig") -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def counts(ctx: AppContext) -> dict[str, int]:
    with ctx.engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
        }


@pytest.fixture
def placements(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "placements.csv", [HEADER, ROW_1, ROW_2, ROW_3])


# --- placements -------------------------------------------------------------------------------------


def test_placement_creates_creditor_debtors_contacts_accounts_ledger_and_cases(
    ctx: AppContext, placements: Path
) -> None:
    before = counts(ctx)
    r = import_placements(ctx, placements, "BANK1")
    assert (r.rows, r.imported, r.updated, r.unchanged, r.rejected, r.committed) == (3, 3, 0, 0, 0, True)
    assert r.warnings == ["unknown column '备注' kept as extra data"]
    ImportResultOut.model_validate(r.to_dict())
    after = counts(ctx)
    grew = {t: after[t] - before[t] for t in after if after[t] != before[t]}
    assert grew == {
        "creditors": 1, "debtors": 2, "third_parties": 1, "accounts": 3, "account_standing": 3, "ledger_transactions": 3,
        "ledger_entries": 5 + 2 + 2, "cases": 3, "bucket_history": 3, "import_runs": 1, "audit_events": 1,
        # 张三: phone, email, address; 李四 (emergency contact): phone; 王五: phone, address
        "contact_points": 6,
    }  # fmt: skip
    with Session(ctx.engine) as s:
        creditor = s.scalars(select(Creditor)).one()
        assert (creditor.code, creditor.name, creditor.default_currency) == ("BANK1", "BANK1", "CNY")
        a1 = s.scalars(select(Account).where(Account.account_ref == "HT001")).one()
        assert (a1.principal, a1.interest, a1.penalty, a1.fees, a1.credit) == (800050, 12050, 3000, 1000, 0)
        assert (a1.loan_amount, a1.contract_date, a1.term_months) == (1000000, date(2025, 1, 15), 12)
        assert (str(a1.annual_rate), str(a1.daily_penalty_rate)) in {
            ("0.18", "0.0005"),
            ("0.18000000", "0.00050000"),
        }
        assert (a1.placement_date, a1.overdue_since, a1.days_past_due, a1.bucket) == (
            PLACED, date(2026, 10, 6), 45, "M2",
        )  # fmt: skip
        assert (a1.status, a1.product, a1.accrued_through, a1.extra) == (
            "active",
            "consumer_loan",
            PLACED,
            {"备注": "VIP"},
        )
        a3 = s.scalars(select(Account).where(Account.account_ref == "HT003")).one()
        assert (a3.debtor_id, a3.bucket, a3.product) == (a1.debtor_id, "M7+", "consumer_loan")
        for a in s.scalars(select(Account)):
            assert replay_balances(s, a.id).as_dict() == {
                "principal": a.principal, "interest": a.interest, "penalty": a.penalty, "fees": a.fees, "credit": 0,
            }  # fmt: skip
            case = s.scalars(select(Case).where(Case.account_id == a.id)).one()
            assert case.status == "open"
            spell = s.scalars(select(BucketHistory).where(BucketHistory.account_id == a.id)).one()
            assert (spell.bucket, spell.entered_on, spell.left_on) == (a.bucket, PLACED, None)
        for tx in s.scalars(select(LedgerTransaction)):
            assert tx.kind == "opening" and tx.effective_date == PLACED
            assert sum(e.amount for e in tx.entries) == 0  # double entry
        run = s.scalars(select(ImportRun)).one()
        assert (run.kind, run.rows, run.imported, run.updated, run.rejected) == ("placements", 3, 3, 0, 0)
        assert run.sha256 == r.sha256


def test_account_summary_shape_and_values(ctx: AppContext, placements: Path) -> None:
    import_placements(ctx, placements, "BANK1")
    with Session(ctx.engine) as s:
        out = account_summary(s, "HT001")
    assert {
        k: out[k] for k in ("account_ref", "currency", "balance", "days_past_due", "bucket", "status")
    } == {
        "account_ref": "HT001",
        "currency": "CNY",
        "balance": {
            "principal": "8000.50",
            "interest": "120.50",
            "penalty": "30.00",
            "fees": "10.00",
            "credit": "0.00",
            "total": "8161.00",
        },
        "days_past_due": 45,
        "bucket": "M2",
        "status": "active",
    }


def test_personal_data_is_encrypted_and_findable_by_blind_index(ctx: AppContext, placements: Path) -> None:
    import_placements(ctx, placements, "BANK1")
    raw_values = [ID_1, ID_2, "13812345678", "8613812345678", "zhang.san@example.com", "Zhang.San@Example.com",
                  "北京市朝阳区建国路1号", "13912345678", "李四"]  # fmt: skip
    with ctx.engine.connect() as conn:
        for table in ("debtors", "contact_points", "third_parties"):
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                for cell in row:
                    blob = bytes(cell) if isinstance(cell, bytes | memoryview) else str(cell).encode()
                    for value in raw_values:
                        assert value.encode() not in blob, f"{value} stored in clear in {table}"
    keys = ctx.keys
    with Session(ctx.engine) as s:
        d = s.scalars(select(Debtor).where(Debtor.debtor_ref == "C001")).one()
        assert keys.decrypt(d.national_id_enc) == ID_1
        assert d.national_id_bidx == keys.blind_index("national_id", ID_1)
        assert (d.birth_date, d.gender, d.name, d.language, d.timezone) == (
            date(1990, 3, 7), "M", "张三", "zh", "Asia/Shanghai",
        )  # fmt: skip
        phone = s.scalars(
            select(ContactPoint).where(ContactPoint.value_bidx == keys.blind_index("phone", "+8613812345678"))
        ).one()
        assert (phone.debtor_id, phone.kind, phone.third_party_id, phone.timezone) == (
            d.id,
            "phone",
            None,
            "Asia/Shanghai",
        )
        assert keys.decrypt(phone.value_enc) == "+8613812345678"
        email = s.scalars(select(ContactPoint).where(ContactPoint.kind == "email")).one()
        assert keys.decrypt(email.value_enc) == "zhang.san@example.com"
        assert email.value_bidx == keys.blind_index("email", "zhang.san@example.com")


def test_blind_index_fast_path_matches_the_key_ring(ctx: AppContext) -> None:
    keys = ctx.keys
    for kind, value in [
        ("phone", "+8613812345678"),
        ("national_id", ID_1),
        ("address", "上海市 浦东新区"),
        ("x", ""),
    ]:
        assert blind_indexer(keys, kind)(value) == keys.blind_index(kind, value)


def test_emergency_contacts_are_third_parties_with_their_own_phones(
    ctx: AppContext, placements: Path
) -> None:
    import_placements(ctx, placements, "BANK1")
    with Session(ctx.engine) as s:
        d = s.scalars(select(Debtor).where(Debtor.debtor_ref == "C001")).one()
        tp = s.scalars(select(ThirdParty).where(ThirdParty.debtor_id == d.id)).one()
        assert (tp.seq, tp.party, tp.relation, ctx.keys.decrypt(tp.name_enc)) == (
            1,
            "third_party",
            "配偶",
            "李四",
        )
        phone = s.scalars(select(ContactPoint).where(ContactPoint.third_party_id == tp.id)).one()
        assert (phone.debtor_id, phone.label, ctx.keys.decrypt(phone.value_enc)) == (
            d.id,
            "emergency",
            "+8613912345678",
        )


def test_debtor_keyed_by_national_id_then_by_account(ctx: AppContext, tmp_path: Path) -> None:
    header = ["合同号", "姓名", "身份证号", "本金", "逾期天数"]
    rows = [
        header,
        ["A1", "张三", ID_1, "100", "3"],
        ["A2", "张三", ID_1, "200", "3"],
        ["A3", "李四", "", "300", "3"],
    ]
    import_placements(ctx, write_csv(tmp_path / "p.csv", rows), "BANK1", placement_date=PLACED)
    with Session(ctx.engine) as s:
        refs = dict(s.execute(select(Account.account_ref, Debtor.debtor_ref).join(Debtor)).all())
        assert refs["A1"] == refs["A2"] == "nid:" + ctx.keys.blind_index("national_id", ID_1)
        assert refs["A3"] == "acct:A3"
    # A later file that names the same person by national ID finds the same debtor.
    import_placements(ctx, write_csv(tmp_path / "q.csv", [header, ["A4", "张三", ID_1, "50", "1"]]), "BANK1")
    with Session(ctx.engine) as s:
        assert s.scalar(select(func.count()).select_from(Debtor)) == 2


def test_one_bad_row_writes_nothing_at_all(ctx: AppContext, tmp_path: Path, placements: Path) -> None:
    import_placements(ctx, placements, "BANK1")  # something already there
    before = counts(ctx)
    bad = list(ROW_2)
    bad[0], bad[3] = "HT009", ID_2[:-1] + ("1" if ID_2[-1] != "1" else "2")
    worse = list(ROW_2)
    worse[0], worse[1], worse[14] = "HT010", "C010", "lots"
    path = write_csv(tmp_path / "bad.csv", [HEADER, ["HT008", *ROW_1[1:]], bad, worse])
    r = import_placements(ctx, path, "BANK1")
    assert (r.committed, r.imported, r.rejected) == (False, 0, 2)
    assert [(e.row, e.column) for e in r.errors] == [(3, "national_id"), (4, "principal")]
    assert r.errors[1].reason == "not an amount: lots" and r.errors[1].header == "本金"
    assert counts(ctx) == before
    assert not (tmp_path / "bad.rejects.csv").exists()


def test_database_checks_also_roll_back_everything(ctx: AppContext, tmp_path: Path, placements: Path) -> None:
    import_placements(ctx, placements, "BANK1")
    before = counts(ctx)
    changed = list(ROW_2)
    changed[4], changed[8] = "+86 139-1111-2222", "USD"  # an existing account cannot change currency
    r = import_placements(
        ctx, write_csv(tmp_path / "c.csv", [HEADER, ["HT004", *ROW_1[1:]], changed]), "BANK1"
    )
    assert not r.committed
    assert [(e.row, e.column, e.header, e.reason) for e in r.errors] == [
        (3, "currency", "币种", "currency USD differs from the account's CNY")
    ]
    assert counts(ctx) == before


def test_skip_invalid_imports_the_good_rows_and_rejects_the_rest(ctx: AppContext, tmp_path: Path) -> None:
    bad1 = ["HT005", "C005", "", ID_3, "12", "", "", "", "", "", "", "", "", "", "100", "", "", "", "3", "", "",
            "", "", ""]  # fmt: skip
    bad2 = ["HT001", *ROW_2[1:]]  # repeats HT001
    path = write_csv(tmp_path / "mixed.csv", [HEADER, ROW_1, bad1, ROW_2, bad2, ROW_3])
    r = import_placements(ctx, path, "BANK1", skip_invalid=True)
    assert r.committed and r.imported + r.updated + r.unchanged + r.rejected == r.rows == 5
    assert (r.imported, r.rejected) == (3, 2)
    assert r.rejects_file == str(tmp_path / "mixed.rejects.csv")
    rejects = pl.read_csv(r.rejects_file, infer_schema=False)
    assert rejects.columns == [*HEADER, "_row", "_column", "_reason"]
    assert rejects["_row"].to_list() == ["3", "5"]
    assert rejects["合同号"].to_list() == ["HT005", "HT001"]
    assert rejects["_column"].to_list() == ["姓名, 手机号", "合同号"]
    assert rejects["_reason"][1] == "account_ref HT001 repeats row 2"
    with Session(ctx.engine) as s:
        assert sorted(s.scalars(select(Account.account_ref))) == ["HT001", "HT002", "HT003"]
        run = s.scalars(select(ImportRun)).one()
        assert (run.rows, run.imported, run.rejected) == (5, 3, 2)


def test_rejects_file_can_be_put_elsewhere(ctx: AppContext, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [HEADER, ["HT1", *ROW_1[1:2], "", *ROW_1[3:]]])
    target = tmp_path / "out" / "rej.csv"
    r = import_placements(ctx, path, "BANK1", skip_invalid=True, rejects_path=target)
    assert (r.imported, r.rejected, r.rejects_file) == (0, 1, str(target))
    assert pl.read_csv(target)["_column"].to_list() == ["姓名"]


def test_reimporting_the_same_file_changes_nothing(ctx: AppContext, placements: Path) -> None:
    import_placements(ctx, placements, "BANK1")
    before = counts(ctx)
    r = import_placements(ctx, placements, "BANK1")
    assert (r.imported, r.updated, r.unchanged, r.rejected) == (0, 0, 3, 0)
    after = counts(ctx)
    assert {t: after[t] - before[t] for t in after if after[t] != before[t]} == {
        "import_runs": 1,
        "audit_events": 1,
    }


def test_reimport_with_new_figures_restates_once_per_changed_account(
    ctx: AppContext, tmp_path: Path, placements: Path
) -> None:
    import_placements(ctx, placements, "BANK1")
    row1 = list(ROW_1)
    row1[14], row1[17], row1[18] = "7,000.00", "0", "80"  # principal down, fees cleared, DPD on
    row2 = list(ROW_2)
    row2[6] = "上海市黄浦区"  # a new address only: the debtor changes, the ledger does not
    path = write_csv(tmp_path / "placements-dec.csv", [HEADER, row1, row2, ROW_3])
    r = import_placements(ctx, path, "BANK1")
    assert (r.imported, r.updated, r.unchanged) == (0, 2, 1)
    assert r.details["restated"] == 1 and r.details["contact_points_added"] == 1
    with Session(ctx.engine) as s:
        a1 = s.scalars(select(Account).where(Account.account_ref == "HT001")).one()
        assert (a1.principal, a1.interest, a1.penalty, a1.fees) == (700000, 12050, 3000, 0)
        assert (a1.days_past_due, a1.bucket) == (80, "M3")
        adj = s.scalars(select(LedgerTransaction).where(LedgerTransaction.kind == "adjustment")).one()
        assert adj.account_id == a1.id and "placements-dec.csv" in (adj.reason or "")
        assert sorted((e.book, e.amount) for e in adj.entries) == sorted(
            [("principal", -100050), ("adjustment", 100050), ("fees", -1000), ("adjustment", 1000)]
        )
        assert replay_balances(s, a1.id).principal == 700000
        spells = s.scalars(
            select(BucketHistory).where(BucketHistory.account_id == a1.id).order_by(BucketHistory.id)
        ).all()
        assert [(b.bucket, b.left_on) for b in spells] == [("M2", PLACED), ("M3", None)]
        assert s.scalar(select(func.count()).select_from(Account)) == 3


def test_reimport_updates_an_emergency_contact_in_place(
    ctx: AppContext, tmp_path: Path, placements: Path
) -> None:
    import_placements(ctx, placements, "BANK1")
    row1 = list(ROW_1)
    row1[20], row1[21], row1[22] = "李四四", "父母", "13700000000"
    r = import_placements(ctx, write_csv(tmp_path / "ec.csv", [HEADER, row1, ROW_2, ROW_3]), "BANK1")
    assert (r.imported, r.updated, r.unchanged) == (0, 2, 1)  # HT001 and HT003 share the debtor
    assert (r.details["third_parties_added"], r.details["contact_points_added"], r.details["restated"]) == (
        0,
        1,
        0,
    )
    with Session(ctx.engine) as s:
        tp = s.scalars(select(ThirdParty)).one()
        assert (tp.relation, ctx.keys.decrypt(tp.name_enc)) == ("父母", "李四四")
        phones = s.scalars(select(ContactPoint).where(ContactPoint.third_party_id == tp.id)).all()
        assert sorted(ctx.keys.decrypt(p.value_enc) for p in phones) == ["+8613700000000", "+8613912345678"]


def test_restating_over_later_payments_is_refused(ctx: AppContext, tmp_path: Path, placements: Path) -> None:
    import_placements(ctx, placements, "BANK1")
    pay = write_csv(
        tmp_path / "pay.csv",
        [["还款流水号", "合同号", "还款金额", "还款日期"], ["P1", "HT002", "100", "2026-11-25"]],
    )
    assert import_payments(ctx, pay, "BANK1").imported == 1
    same = import_placements(ctx, placements, "BANK1")  # old figures again: HT002 now differs from them
    assert not same.committed
    assert [(e.row, e.column) for e in same.errors] == [(3, "placement_date")]
    assert "payments after the placement date 2026-11-20" in same.errors[0].reason


def test_zero_balance_account_is_placed_as_paid_without_a_case(ctx: AppContext, tmp_path: Path) -> None:
    rows = [["合同号", "姓名", "本金", "逾期天数"], ["Z1", "张三", "0", "0"]]
    r = import_placements(ctx, write_csv(tmp_path / "z.csv", rows), "BANK1")
    assert r.imported == 1
    with Session(ctx.engine) as s:
        a = s.scalars(select(Account)).one()
        assert (a.status, a.bucket) == ("paid", "C")
        assert s.scalar(select(func.count()).select_from(Case)) == 0
        assert s.scalar(select(func.count()).select_from(LedgerTransaction)) == 0


def test_mapping_file_gbk_file_and_placement_date_option(ctx: AppContext, tmp_path: Path) -> None:
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        "借款合同编号: account_ref\n欠款人: debtor_name\n剩余应还本金: principal\n", encoding="utf-8"
    )
    rows = [["借款合同编号", "欠款人", "剩余应还本金", "逾期天数"], ["M1", "张三", "1,500.00", "31"]]
    path = write_csv(tmp_path / "gbk.csv", rows, encoding="gbk")
    r = import_placements(ctx, path, "BANK2", mapping_path=mapping, placement_date=date(2026, 11, 1))
    assert (r.encoding, r.imported, r.warnings) == ("gb18030", 1, [])
    with Session(ctx.engine) as s:
        a = s.scalars(select(Account)).one()
        assert (a.principal, a.placement_date, a.overdue_since, a.bucket) == (150000, date(2026, 11, 1),
                                                                              date(2026, 10, 1), "M2")  # fmt: skip


def test_xlsx_placement(ctx: AppContext, tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["合同号", "姓名", "身份证号", "本金", "逾期起始日", "委案日期"])
    ws.append(["X1", "张三", ID_1, 1234.56, date(2026, 10, 1), 46346])  # 46346 = 2026-11-20
    wb.save(tmp_path / "p.xlsx")
    r = import_placements(ctx, tmp_path / "p.xlsx", "BANK1")
    assert (r.encoding, r.imported) == ("xlsx", 1)
    with Session(ctx.engine) as s:
        a = s.scalars(select(Account)).one()
        assert (a.principal, a.overdue_since, a.placement_date, a.days_past_due) == (
            123456, date(2026, 10, 1), PLACED, 50,
        )  # fmt: skip


def test_unreadable_input_raises_a_plain_error(ctx: AppContext, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="file not found"):
        import_placements(ctx, tmp_path / "missing.csv", "BANK1")
    (tmp_path / "bin.csv").write_bytes(b"\x81\x30\x81\xff,\xff\xfe\n")
    with pytest.raises(ImportFileError, match="neither UTF-8 nor GB18030"):
        import_placements(ctx, tmp_path / "bin.csv", "BANK1")


def test_missing_required_column_refuses_the_whole_file(ctx: AppContext, tmp_path: Path) -> None:
    before = counts(ctx)
    r = import_placements(
        ctx, write_csv(tmp_path / "p.csv", [["合同号", "本金"], ["A1", "1"]]), "BANK1", skip_invalid=True
    )
    assert (r.committed, r.rejected) == (False, 1)
    assert [(e.row, e.column) for e in r.errors] == [(1, "debtor_name"), (1, "overdue_since")]
    assert counts(ctx) == before


# --- payments ---------------------------------------------------------------------------------------

PAY_HEADER = ["交易流水号", "借据号", "交易金额", "交易日期"]


def test_payments_are_allocated_by_waterfall_and_idempotent(
    ctx: AppContext, tmp_path: Path, placements: Path
) -> None:
    import_placements(ctx, placements, "BANK1")
    # HT001 owes fees 10.00, penalty 30.00, interest 120.50, principal 8000.50; penalty accrues 0.05 %/day.
    pay = write_csv(tmp_path / "pay.csv", [PAY_HEADER, ["P1", "HT001", "¥200.00", "2026/11/20"],
                                           ["P2", "HT002", "4,000.00", "20261121"]])  # fmt: skip
    r = import_payments(ctx, pay, "BANK1")
    assert (r.rows, r.imported, r.unchanged, r.rejected, r.committed) == (2, 2, 0, 0, True)
    ImportResultOut.model_validate(r.to_dict())
    with Session(ctx.engine) as s:
        tx = s.scalars(select(LedgerTransaction).where(LedgerTransaction.payment_ref == "P1")).one()
        parts = {e.book: e.amount for e in tx.entries}
        assert parts == {
            "cash": 20000,
            "fees": -1000,
            "penalty": -3000,
            "interest": -12050,
            "principal": -3950,
        }
        a2 = s.scalars(select(Account).where(Account.account_ref == "HT002")).one()
        # One day of penalty (0.05 % of 4000.00 = 2.00) accrued before the payment, paid first.
        assert (a2.principal, a2.penalty, a2.status) == (200, 0, "active")
    before = counts(ctx)
    again = import_payments(ctx, pay, "BANK1")
    assert (again.imported, again.unchanged) == (0, 2)
    after = counts(ctx)
    assert {t: after[t] - before[t] for t in after if after[t] != before[t]} == {
        "import_runs": 1,
        "audit_events": 1,
    }


def test_payment_errors_unknown_account_and_reused_ref(
    ctx: AppContext, tmp_path: Path, placements: Path
) -> None:
    import_placements(ctx, placements, "BANK1")
    import_payments(
        ctx, write_csv(tmp_path / "p1.csv", [PAY_HEADER, ["P1", "HT001", "100", "2026-11-21"]]), "BANK1"
    )
    before = counts(ctx)
    rows = [PAY_HEADER, ["P2", "HT001", "50", "2026-11-22"], ["P3", "NOPE", "50", "2026-11-22"],
            ["P1", "HT001", "999", "2026-11-22"], ["P4", "HT002", "0", "2026-11-22"],
            ["P5", "HT002", "10", "2026-12-01"]]  # fmt: skip
    path = write_csv(tmp_path / "p2.csv", rows)
    r = import_payments(ctx, path, "BANK1")
    assert not r.committed
    assert [(e.row, e.column) for e in r.errors] == [(5, "amount"), (6, "paid_at")]  # file checks come first
    assert counts(ctx) == before
    r = import_payments(ctx, write_csv(tmp_path / "p3.csv", rows[:4]), "BANK1")
    assert not r.committed
    assert [(e.row, e.column, e.reason) for e in r.errors] == [
        (3, "account_ref", "no account NOPE for this creditor"),
        (4, "payment_ref", "payment_ref P1 was already used for a different payment"),
    ]
    assert counts(ctx) == before
    r = import_payments(ctx, path, "BANK1", skip_invalid=True)
    assert (r.committed, r.imported, r.rejected, r.rows) == (True, 1, 4, 5)
    assert pl.read_csv(r.rejects_file or "", infer_schema=False)["_row"].to_list() == ["3", "4", "5", "6"]


def test_payments_for_an_unknown_creditor(ctx: AppContext, tmp_path: Path) -> None:
    from arrears.core.errors import NotFound

    with pytest.raises(NotFound, match="unknown creditor"):
        import_payments(
            ctx, write_csv(tmp_path / "p.csv", [PAY_HEADER, ["P1", "A", "1", "2026-11-01"]]), "NOBODY"
        )


# --- schedules --------------------------------------------------------------------------------------


def test_schedule_import_replaces_and_is_idempotent(
    ctx: AppContext, tmp_path: Path, placements: Path
) -> None:
    import_placements(ctx, placements, "BANK1")
    header = ["合同号", "期数", "应还日期", "应还本金", "应还利息"]
    rows = [
        header,
        ["HT001", "1", "2026-09-15", "4000.25", "60.25"],
        ["HT001", "2", "2026/10/15", "4000.25", "60.25"],
    ]
    r = import_schedule(ctx, write_csv(tmp_path / "s.csv", rows), "BANK1")
    assert (r.rows, r.imported, r.unchanged, r.committed) == (2, 2, 0, True)
    assert import_schedule(ctx, write_csv(tmp_path / "s.csv", rows), "BANK1").unchanged == 2
    rows2 = [header, ["HT001", "1", "2026-09-15", "8000.50", "120.50"]]
    r = import_schedule(ctx, write_csv(tmp_path / "s2.csv", rows2), "BANK1")
    assert (r.imported, r.details["accounts_replaced"]) == (1, 1)
    with Session(ctx.engine) as s:
        got = s.execute(
            select(Instalment.seq, Instalment.due_date, Instalment.principal_due, Instalment.interest_due)
        ).all()
        assert [tuple(g) for g in got] == [(1, date(2026, 9, 15), 800050, 12050)]
    before = counts(ctx)
    bad = [header, ["HT002", "1", "2026-09-15", "1", "0"], ["NOPE", "1", "2026-09-15", "1", "0"],
           ["HT002", "1", "2026-10-15", "1", "0"]]  # fmt: skip
    r = import_schedule(ctx, write_csv(tmp_path / "s3.csv", bad), "BANK1")
    assert [(e.row, e.column) for e in r.errors] == [(4, "seq")]
    r = import_schedule(ctx, write_csv(tmp_path / "s4.csv", bad[:3]), "BANK1")
    assert [(e.row, e.column, e.reason) for e in r.errors] == [
        (3, "account_ref", "no account NOPE for this creditor")
    ]
    assert counts(ctx) == before


# --- a simulated portfolio --------------------------------------------------------------------------


def test_a_simulated_placement_round_trips(ctx: AppContext, tmp_path: Path) -> None:
    sim = pytest.importorskip("arrears.simulation.portfolio")
    p = sim.generate_portfolio(300, 11, locale="zh_CN", placement_date=date(2026, 11, 1))
    files = sim.write_portfolio(p, tmp_path)
    r = import_placements(ctx, files["placements"], "SIM")
    assert (r.imported, r.rejected) == (300, 0)
    with ctx.engine.connect() as conn:
        stored = pl.DataFrame(
            conn.execute(text("SELECT account_ref, principal, interest, penalty, fees, days_past_due, bucket, "
                              "term_months FROM accounts JOIN account_standing ON account_id = id")).all(),
            schema=["account_ref", "principal", "interest", "penalty", "fees", "days_past_due", "bucket", "term_months"],
            orient="row",
        )  # fmt: skip
    truth = p.accounts.select(stored.columns)
    assert stored.sort("account_ref").equals(truth.sort("account_ref"))
    with Session(ctx.engine) as s:
        assert s.scalar(select(func.count()).select_from(Debtor)) == p.accounts["national_id"].n_unique()
        total = s.scalar(select(func.sum(LedgerEntry.amount)).where(LedgerEntry.book == "placement"))
        owed = p.accounts.select(pl.sum_horizontal("principal", "interest", "penalty", "fees").sum()).item()
        assert -total == owed
    paid = import_payments(ctx, files["payments"], "SIM", skip_invalid=True)
    due = p.payment_truth.filter(pl.col("paid_on") <= date(2026, 11, 28))
    assert (paid.imported, paid.rejected) == (due.height, p.payment_truth.height - due.height)


# --- the bulk writer against the row-by-row reference ------------------------------------------------


def _stored_portfolio(ctx: AppContext, code: str) -> dict[str, object]:
    """What an import left for one creditor, in plain comparable values (personal data decrypted)."""
    keys = ctx.keys
    with Session(ctx.engine) as s:
        cred = s.scalars(select(Creditor).where(Creditor.code == code)).one()
        debtors = {d.id: d for d in s.scalars(select(Debtor).where(Debtor.creditor_id == cred.id))}
        ref = {i: d.debtor_ref for i, d in debtors.items()}
        accounts = {a.id: a for a in s.scalars(select(Account).where(Account.creditor_id == cred.id))}
        tps = {t.id: t for t in s.scalars(select(ThirdParty).where(ThirdParty.debtor_id.in_(list(debtors))))}
        txs = s.scalars(
            select(LedgerTransaction).where(LedgerTransaction.account_id.in_(list(accounts)))
        ).all()
        for tx in txs:
            assert sum(e.amount for e in tx.entries) == 0  # double entry, on both paths
        return {
            "debtors": sorted(
                (
                    d.debtor_ref,
                    d.name,
                    keys.decrypt(d.national_id_enc) if d.national_id_enc else None,
                    d.national_id_bidx,
                    d.birth_date,
                    d.gender,
                    d.employer,
                )
                for d in debtors.values()
            ),
            "third_parties": sorted(
                (ref[t.debtor_id], t.seq, keys.decrypt(t.name_enc) if t.name_enc else None, t.relation)
                for t in tps.values()
            ),
            "contact_points": sorted(
                (
                    ref[c.debtor_id],
                    tps[c.third_party_id].seq if c.third_party_id else 0,
                    c.kind,
                    keys.decrypt(c.value_enc),
                    c.value_bidx,
                    c.status,
                )
                for c in s.scalars(select(ContactPoint).where(ContactPoint.debtor_id.in_(list(debtors))))
            ),
            "accounts": sorted(
                (
                    a.account_ref,
                    ref[a.debtor_id],
                    a.currency,
                    a.principal,
                    a.interest,
                    a.penalty,
                    a.fees,
                    a.credit,
                    a.loan_amount,
                    a.contract_date,
                    a.term_months,
                    a.placement_date,
                    a.overdue_since,
                    a.status,
                    a.days_past_due,
                    a.bucket,
                )
                for a in accounts.values()
            ),
            "balances_replayed": sorted(
                (a.account_ref, tuple(replay_balances(s, a.id).as_dict().values())) for a in accounts.values()
            ),
            "ledger": sorted(
                (
                    accounts[tx.account_id].account_ref,
                    tx.kind,
                    tx.effective_date,
                    tuple(sorted((e.book, e.amount) for e in tx.entries)),
                )
                for tx in txs
            ),
            "open_cases": sorted(
                accounts[c.account_id].account_ref
                for c in s.scalars(
                    select(Case).where(Case.account_id.in_(list(accounts)), Case.status == "open")
                )
            ),
            "bucket_spells": sorted(
                (accounts[b.account_id].account_ref, b.bucket, b.entered_on, b.left_on)
                for b in s.scalars(select(BucketHistory).where(BucketHistory.account_id.in_(list(accounts))))
            ),
        }


def test_bulk_placement_writer_matches_the_row_by_row_orm_reference(ctx: AppContext, tmp_path: Path) -> None:
    """The bulk writer (ids reserved, one statement per table, batch encryption, indexes built after the
    rows on SQLite) stores what the benchmark's object-by-object ORM reference stores, row for row."""
    sim = pytest.importorskip("arrears.simulation.portfolio")
    bench = pytest.importorskip("bench.bench_import")
    from arrears.portfolio.columns import resolve_headers
    from arrears.portfolio.parsing import read_source, validate_placements

    placed = date(2026, 11, 1)
    p = sim.generate_portfolio(400, 5, locale="zh_CN", placement_date=placed)
    path = sim.write_portfolio(p, tmp_path)["placements"]
    r = import_placements(ctx, path, "BULK")
    assert (r.imported, r.rejected) == (400, 0)
    table = read_source(path.read_bytes(), name=path.name)
    v = validate_placements(
        table, resolve_headers(table.headers), today=placed, placement_date=placed, default_currency="CNY",
        default_region="CN",
    )  # fmt: skip
    assert not v.errors
    with Session(ctx.engine) as s, s.begin():
        creditor = Creditor(code="ORM", name="ORM", default_currency="CNY", created_at=ctx.clock(),
                            timezone="Asia/Shanghai")  # fmt: skip
        s.add(creditor)
        s.flush()
        for row in v.clean.iter_rows(named=True):
            bench._orm_row(s, ctx, creditor, row)
    bulk, orm = _stored_portfolio(ctx, "BULK"), _stored_portfolio(ctx, "ORM")
    for part in bulk:
        assert bulk[part] == orm[part], part
    assert len(bulk["contact_points"]) > 400 and len(bulk["third_parties"]) > 0  # type: ignore[arg-type]


def _schema_objects(ctx: AppContext) -> list[tuple[str, str]]:
    """Every index and constraint, with its definition."""
    sql = (
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
        if ctx.engine.dialect.name == "sqlite"
        else "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() UNION ALL "
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = current_schema()::regnamespace "
        "ORDER BY 1, 2"
    )
    with ctx.engine.connect() as conn:
        return [(str(a), str(b)) for a, b in conn.execute(text(sql))]


def test_large_insert_loads_first_checks_after_and_keeps_every_index_and_constraint(
    ctx: AppContext, tmp_path: Path
) -> None:
    from arrears.portfolio.service import Bulk

    before = _schema_objects(ctx)
    sim = pytest.importorskip("arrears.simulation.portfolio")
    p = sim.generate_portfolio(50, 3, locale="zh_CN", placement_date=date(2026, 11, 1))
    r = import_placements(ctx, sim.write_portfolio(p, tmp_path)["placements"], "SIM")
    assert r.imported == 50
    assert _schema_objects(ctx) == before
    cols = ("id", "account_id", "bucket", "entered_on")
    with ctx.engine.begin() as conn:
        bulk = Bulk(conn)
        n = conn.execute(text("SELECT COUNT(*) FROM bucket_history")).scalar_one()
        top = conn.execute(text("SELECT MAX(id) FROM bucket_history")).scalar_one()
        account = conn.execute(text("SELECT MIN(id) FROM accounts")).scalar_one()
        on = date(2026, 11, 1)
        rows = [(top + 1 + i, account, "M1", on) for i in range(3 * n)]
        # A duplicate key, then a dangling foreign key: each fails the whole insert (on PostgreSQL the
        # foreign key is checked when it is restored) and leaves the table as it was.
        for bad in ((top + 1, account, "M1", on), (top + 3 * n + 1, 10**9, "M1", on)):
            with pytest.raises(Exception, match=r"(?i)unique|duplicate|foreign key"):
                bulk.insert("bucket_history", cols, [*rows, bad], size=len(rows) + 1)
            assert conn.execute(text("SELECT COUNT(*) FROM bucket_history")).scalar_one() == n
        bulk.insert("bucket_history", cols, rows, size=len(rows))
        assert conn.execute(text("SELECT COUNT(*) FROM bucket_history")).scalar_one() == 4 * n
    assert _schema_objects(ctx) == before
