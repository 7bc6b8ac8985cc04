"""`arrears import …` and `arrears accounts show`: exit codes and the --json shapes of the contract."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import typer
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from arrears.cli import app
from arrears.core.context import AppContext
from arrears.portfolio import cli as portfolio_cli
from arrears.portfolio import identity
from arrears.portfolio.models import Account, Creditor

runner = CliRunner()
ID_1 = "11010519900307123" + identity.cn_id_check_digit("11010519900307123")
HEADER = ["合同号", "姓名", "身份证号", "手机号", "本金", "利息", "罚息", "费用", "逾期天数", "委案日期"]
GOOD = ["HT001", "张三", ID_1, "13812345678", "1,234.50", "100", "10.5", "0", "45", "2026-11-20"]
GOOD_2 = ["HT002", "李四", "", "13912345678", "500", "", "", "", "5", "2026-11-20"]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


@pytest.fixture
def cli(ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> AppContext:
    """Commands run against the test database, key ring and pinned clock."""

    def use_test_context(_: typer.Context) -> AppContext:
        return ctx

    monkeypatch.setattr(portfolio_cli, "app_context", use_test_context)
    return ctx


def run(*args: str) -> tuple[int, dict]:
    result = runner.invoke(app, list(args))
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else {}


def test_import_placements_json(cli: AppContext, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [HEADER, GOOD, GOOD_2])
    code, out = run("import", "placements", str(path), "--creditor", "BANK1", "--json")
    assert code == 0
    assert {k: out[k] for k in ("rows", "imported", "updated", "rejected", "errors")} == {
        "rows": 2, "imported": 2, "updated": 0, "rejected": 0, "errors": [],
    }  # fmt: skip
    assert out["unchanged"] == 0 and out["committed"] is True
    code, again = run("import", "placements", str(path), "--creditor", "BANK1", "--json")
    assert (code, again["imported"], again["updated"], again["unchanged"]) == (0, 0, 0, 2)


def test_all_or_nothing_exit_code_and_error_shape(cli: AppContext, tmp_path: Path) -> None:
    bad = list(GOOD_2)
    bad[4] = "-5"
    path = write_csv(tmp_path / "p.csv", [HEADER, GOOD, bad])
    code, out = run("import", "placements", str(path), "--creditor", "BANK1", "--json")
    assert code == 1
    assert (out["rows"], out["imported"], out["updated"], out["rejected"], out["committed"]) == (
        2,
        0,
        0,
        1,
        False,
    )
    assert out["errors"] == [
        {"row": 3, "column": "principal", "header": "本金", "reason": "amount must not be negative: -5",
         "reason_zh": "金额不能为负数：-5"},
    ]  # fmt: skip
    with Session(cli.engine) as s:
        assert s.scalar(select(func.count()).select_from(Creditor)) == 0


def test_skip_invalid_and_rejects_option(cli: AppContext, tmp_path: Path) -> None:
    bad = list(GOOD_2)
    bad[1] = ""
    path = write_csv(tmp_path / "p.csv", [HEADER, GOOD, bad])
    rejects = tmp_path / "r.csv"
    code, out = run("import", "placements", str(path), "--creditor", "BANK1", "--skip-invalid", "--rejects",
                    str(rejects), "--json")  # fmt: skip
    assert code == 0
    assert (out["imported"], out["rejected"], out["rejects_file"]) == (1, 1, str(rejects))
    assert out["imported"] + out["rejected"] == out["rows"]
    assert "_reason" in rejects.read_text(encoding="utf-8-sig").splitlines()[0]


def test_placement_date_option_and_human_output(cli: AppContext, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [HEADER[:-1], GOOD[:-1]])
    result = runner.invoke(
        app, ["import", "placements", str(path), "--creditor", "B", "--placement-date", "2026年11月1日"]
    )
    assert result.exit_code == 0, result.output
    assert "1 new" in result.output
    with Session(cli.engine) as s:
        a = s.scalars(select(Account)).one()
        assert (str(a.placement_date), str(a.overdue_since)) == ("2026-11-01", "2026-09-17")
    bad_date = runner.invoke(
        app, ["import", "placements", str(path), "--creditor", "B", "--placement-date", "soon"]
    )
    assert bad_date.exit_code == 1


def test_unreadable_file_exits_non_zero_without_a_trace(cli: AppContext, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["import", "placements", str(tmp_path / "nope.csv"), "--creditor", "B", "--json"]
    )
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "error": "validation_failed", "message": f"file not found: {tmp_path / 'nope.csv'}", "committed": False,
    }  # fmt: skip
    assert "Traceback" not in result.output


def test_accounts_show_json_shape_and_values(cli: AppContext, tmp_path: Path) -> None:
    run("import", "placements", str(write_csv(tmp_path / "p.csv", [HEADER, GOOD])), "--creditor", "BANK1")
    code, out = run("accounts", "show", "HT001", "--json")
    assert code == 0
    assert {
        k: out[k] for k in ("account_ref", "currency", "balance", "days_past_due", "bucket", "status")
    } == {
        "account_ref": "HT001",
        "currency": "CNY",
        "balance": {
            "principal": "1234.50",
            "interest": "100.00",
            "penalty": "10.50",
            "fees": "0.00",
            "credit": "0.00",
            "total": "1345.00",
        },
        "days_past_due": 45,
        "bucket": "M2",
        "status": "active",
    }
    panel = runner.invoke(app, ["accounts", "show", "HT001"])
    assert panel.exit_code == 0 and "1345.00 CNY" in panel.stdout


def test_accounts_show_needs_the_creditor_when_the_ref_is_shared(cli: AppContext, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [HEADER, GOOD])
    run("import", "placements", str(path), "--creditor", "BANK1")
    run("import", "placements", str(path), "--creditor", "BANK2")
    code, out = run("accounts", "show", "HT001", "--json")
    assert code == 1
    assert out["error"] == "conflict" and "give --creditor" in out["message"]
    code, out = run("accounts", "show", "HT001", "--creditor", "BANK2", "--json")
    assert (code, out["balance"]["total"]) == (0, "1345.00")
    code, out = run("accounts", "show", "NOPE", "--json")
    assert (code, out["error"]) == (1, "not_found")


def test_import_payments_json(cli: AppContext, tmp_path: Path) -> None:
    run("import", "placements", str(write_csv(tmp_path / "p.csv", [HEADER, GOOD])), "--creditor", "BANK1")
    pay = write_csv(
        tmp_path / "pay.csv",
        [["还款流水号", "合同号", "还款金额", "还款日期"], ["P1", "HT001", "100", "2026-11-21"]],
    )
    code, out = run("import", "payments", str(pay), "--creditor", "BANK1", "--json")
    assert code == 0
    assert {k: out[k] for k in ("rows", "imported", "updated", "rejected", "errors")} == {
        "rows": 1, "imported": 1, "updated": 0, "rejected": 0, "errors": [],
    }  # fmt: skip
    code, out = run("import", "payments", str(pay), "--creditor", "BANK1", "--json")
    assert (code, out["imported"], out["unchanged"]) == (0, 0, 1)
    unknown = write_csv(
        tmp_path / "u.csv", [["还款流水号", "合同号", "还款金额", "还款日期"], ["P2", "X", "1", "2026-11-21"]]
    )
    code, out = run("import", "payments", str(unknown), "--creditor", "BANK1", "--json")
    assert code == 1 and out["errors"][0]["column"] == "account_ref"


def test_import_schedule_json(cli: AppContext, tmp_path: Path) -> None:
    run("import", "placements", str(write_csv(tmp_path / "p.csv", [HEADER, GOOD])), "--creditor", "BANK1")
    sched = write_csv(
        tmp_path / "s.csv",
        [["合同号", "期数", "应还日期", "应还本金"], ["HT001", "1", "2026-10-06", "1234.50"]],
    )
    code, out = run("import", "schedule", str(sched), "--creditor", "BANK1", "--json")
    assert (code, out["rows"], out["imported"], out["rejected"]) == (0, 1, 1, 0)
