"""GET /cases/{id}: the debtor's background, contract terms, balances and full history before a
contact (R2, R11) — masked by role (R21, CN-D1)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from arrears.core.db import transaction
from arrears.portfolio.models import Account, Debtor, Instalment
from tests.cases.conftest import Api
from tests.security.world import World


def test_the_case_view_holds_background_terms_balances_and_history(api: Api, world: World) -> None:
    with transaction(world.ctx.sessions) as s:
        acc = s.get(Account, world.accounts["A1"])
        assert acc is not None
        acc.loan_amount, acc.contract_date, acc.term_months = 1_200_000, date(2025, 6, 1), 12
        acc.annual_rate = Decimal("0.0720")
        s.add(
            Instalment(
                account_id=acc.id, seq=1, due_date=date(2025, 7, 1), principal_due=100_000, interest_due=7_200
            )
        )
        d = s.get(Debtor, world.debtors["A1"])
        assert d is not None
        d.monthly_income, d.employer = 850_000, "北京某科技有限公司"
    note = "本人确认新号码 13912345678，周一还款"
    assert (
        api.call("c_east", "A1", "promise_to_pay", notes=note, at="2026-11-28T02:00:00+00:00").status_code
        == 201
    )
    mine = api.client.get(f"/api/v1/cases/{world.cases['A1']}", headers=api.h("c_east")).json()
    assert mine["debtor"]["name"] == "张三" and mine["debtor"]["national_id"] == "1101**********1234"
    assert (
        mine["debtor"]["monthly_income"] == "8500.00" and mine["debtor"]["employer"] == "北京某科技有限公司"
    )
    points = {p["kind"]: p for p in mine["debtor"]["contact_points"] if p["party"] == "debtor"}
    assert points["phone"]["value"] == "138****5678" and points["email"]["value"] == "z***@example.com"
    assert [p["relation"] for p in mine["debtor"]["contact_points"] if p["party"] == "third_party"] == [
        "spouse"
    ]
    terms = mine["account"]
    assert (terms["loan_amount"], terms["term_months"], terms["annual_rate"]) == (
        "12000.00",
        12,
        "0.07200000",
    )
    assert terms["instalments"] == [
        {"seq": 1, "due_date": "2025-07-01", "principal_due": "1000.00", "interest_due": "72.00"}
    ]
    assert mine["balances"]["principal"] == "10000.00" and mine["balances"]["total"] == "10000.00"
    contact = next(h for h in mine["history"] if h["kind"] == "contact")
    assert contact["detail"]["notes"] == note and contact["by"] == "c_east"
    assert mine["assigned_name"] == "c_east" and mine["assessment"]["ability"] in ("high", "medium", "low")
    assert mine["assessment"]["reasons"] and all(r["zh"] and r["en"] for r in mine["assessment"]["reasons"])

    # Oversight reads the same case masked: no name, no income, personal data scrubbed from notes.
    qc = api.client.get(f"/api/v1/cases/{world.cases['A1']}", headers=api.h("qc")).json()
    assert qc["debtor"]["name"] == "张*" and qc["debtor"]["monthly_income"] is None
    assert qc["debtor"]["employer"] != "北京某科技有限公司"
    qc_note = next(h for h in qc["history"] if h["kind"] == "contact")["detail"]["notes"]
    assert "13912345678" not in qc_note and "139****5678" in qc_note
    assert "13812345678" not in str(qc) and "13812345678" not in str(mine)


def test_the_plain_case_fields_are_kept_for_existing_clients(api: Api, world: World) -> None:
    body = api.client.get(f"/api/v1/cases/{world.cases['A2']}", headers=api.h("lead_east")).json()
    for key in ("id", "account_ref", "debtor_id", "status", "opened_at", "closed_at", "close_reason",
                "assigned_to", "priority"):  # fmt: skip
        assert key in body
    assert body["account_ref"] == "A2" and body["assigned_to"] == world.users["c_east2"]
