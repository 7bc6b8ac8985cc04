"""A collector's day on a simulated portfolio, through the API (issue 5's "must show").

A synthetic placement (zh_CN, 60 accounts) is imported; the nightly batch writes each case's
priority (P(pay) × balance); the manager places the cases by the assignment rules; then collector
周 works the queue in order: calls and promises, a dispute after which the guard blocks the next
contact (409), a payment keeping one promise (acknowledged), another promise broken after the grace
(back to the top of the queue), a settlement above the collector's authority approved by the lead,
and a legal escalation handed over with its case file."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from arrears.cases import service
from arrears.cases.models import Acknowledgement
from arrears.core.context import AppContext
from arrears.core.db import transaction
from arrears.documents.models import Document
from arrears.portfolio.importing import import_placements
from arrears.portfolio.models import Case
from arrears.security.auth import issue_token
from arrears.security.models import Team, User
from arrears.security.principal import Principal
from arrears.simulation.portfolio import generate_portfolio, write_portfolio
from arrears.strategy.batch import run_batch
from arrears.web.app import create_app
from tests.cases.conftest import Clock
from tests.security.world import _password_hash

CREDITOR = "SIMBANK"
MORNING = datetime(2026, 10, 20, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai, the day after the batch


def _staff(ctx: AppContext) -> dict[str, int]:
    now = ctx.clock()
    ids: dict[str, int] = {}
    with transaction(ctx.sessions) as s:
        team = Team(name="day", created_at=now)
        s.add(team)
        s.flush()
        for name, role, team_id in (
            ("zhou", "collector", team.id), ("wu", "collector", team.id), ("lead_day", "team_lead", team.id),
            ("mgr", "manager", None), ("legal1", "legal", None),
        ):  # fmt: skip
            u = User(username=name, role=role, team_id=team_id, password_hash=_password_hash(), active=True,
                     created_at=now, updated_at=now)  # fmt: skip
            s.add(u)
            s.flush()
            ids[name] = u.id
        for name in ("zhou", "wu"):
            service.set_profile(s, Principal.system(), ids[name], now=now, max_cases=40, languages=["zh"])
        from arrears.documents import service as documents
        from tests.plans.helpers import LETTERHEAD

        documents.set_letterhead(s, "test-setup", CREDITOR, at=now, **LETTERHEAD)
    return ids


class Desk:
    """The API as one user at a time, with a fresh token whenever the clock has moved."""

    def __init__(self, ctx: AppContext, client: TestClient, users: dict[str, int]) -> None:
        self.ctx, self.client, self.users = ctx, client, users
        self.tokens: dict[tuple[str, datetime], str] = {}

    def h(self, who: str, **extra: str) -> dict[str, str]:
        key = (who, self.ctx.clock())
        if key not in self.tokens:
            with transaction(self.ctx.sessions) as s:
                user = s.get(User, self.users[who])
                assert user is not None
                self.tokens[key] = issue_token(s, user, now=self.ctx.clock()).token
        return {"Authorization": f"Bearer {self.tokens[key]}", **extra}

    def get(self, who: str, path: str) -> Any:
        r = self.client.get(f"/api/v1{path}", headers=self.h(who))
        assert r.status_code == 200, (path, r.text)
        return r.json()

    def post(self, who: str, path: str, body: Any = None, status: int = 201, **headers: str) -> Any:
        r = self.client.post(f"/api/v1{path}", headers=self.h(who, **headers), json=body)
        assert r.status_code == status, (path, r.status_code, r.text)
        return r.json() if r.headers.get("content-type", "").startswith("application/json") else r


def phone_of(case: dict[str, Any]) -> int:
    return next(
        p["id"] for p in case["debtor"]["contact_points"] if p["party"] == "debtor" and p["kind"] == "phone"
    )


def owed(case: dict[str, Any]) -> int:
    return int(case["balances"]["total"].replace(".", ""))


def major(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


@pytest.mark.slow
def test_a_collectors_day(ctx: AppContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARREARS_DOCUMENTS_DIR", str(tmp_path / "documents"))
    clock = Clock(datetime(2026, 10, 19, 14, 0, tzinfo=UTC))
    ctx.clock = clock
    sim = generate_portfolio(60, seed=11, locale="zh_CN", payments_share=0.0)
    files = write_portfolio(sim, tmp_path / "placement")
    imported = import_placements(ctx, files["placements"], CREDITOR)
    assert imported.committed and imported.imported == 60, imported.errors[:3]
    users = _staff(ctx)

    # The night: the batch ages the portfolio and writes every case's priority.
    summary = run_batch(ctx, date(2026, 10, 20))
    assert summary.accounts == 60
    with transaction(ctx.sessions) as s:
        placed = service.assign_unassigned(s, Principal.system("night"), now=clock())
        assert not placed.unplaced
        priorities = [float(p) for p in s.scalars(select(Case.priority).where(Case.status == "open"))]
        assert len(set(priorities)) > 10  # a real spread to order by

    clock.set(MORNING)
    client = TestClient(create_app(ctx))
    desk = Desk(ctx, client, users)

    # 1. The queue, in order of expected recovery; nothing is blocked yet.
    queue = desk.get("zhou", "/queue")
    items = queue["items"]
    assert 20 <= queue["total"] <= 40 and queue["blocked"] == []
    assert [i["why"] for i in items] == ["expected_recovery"] * len(items)
    prios = [float(i["priority"]) for i in items]
    assert prios == sorted(prios, reverse=True)
    theirs = desk.get("wu", "/queue")["items"][0]["case_id"]
    assert client.get(f"/api/v1/cases/{theirs}", headers=desk.h("zhou")).status_code == 404

    cases = [desk.get("zhou", f"/cases/{i['case_id']}") for i in items[:5]]
    c1, c2, c3, c4, c5 = cases

    # 2. Contacts: a promise from the first, a promise from the second, a dispute from the third.
    def call(case: dict[str, Any], outcome: str, at: str, **extra: Any) -> Any:
        body = {"channel": "call", "contact_point_id": phone_of(case), "outcome": outcome, "at": at, **extra}
        return desk.post("zhou", f"/cases/{case['id']}/contacts", body)

    call(c1, "promise_to_pay", "2026-10-20T01:00:00+00:00", notes="本人接听，承诺周四前还款")
    p1 = desk.post("zhou", f"/cases/{c1['id']}/promises", {"amount": "300.00", "due_date": "2026-10-22"})
    call(c2, "promise_to_pay", "2026-10-20T01:05:00+00:00", notes="承诺明天还款")
    p2 = desk.post("zhou", f"/cases/{c2['id']}/promises", {"amount": "200.00", "due_date": "2026-10-21"})
    assert call(c3, "dispute", "2026-10-20T01:10:00+00:00", notes="称金额有误")["events"] == ["dispute"]

    # 3. The guard blocks the next contact on the disputed account (nothing is sent).
    sms = {
        "channel": "sms",
        "contact_point_id": phone_of(c3),
        "outcome": "delivered",
        "message": "请回电核对账单",
    }
    blocked = desk.post("zhou", f"/cases/{c3['id']}/contacts", sms, status=409)
    assert blocked["error"] == "guard_blocked" and blocked["details"]["rules"] == ["CN-H1"]
    queue = desk.get("zhou", "/queue")
    assert [b["case_id"] for b in queue["blocked"]] == [c3["id"]]

    # 4. The first debtor pays what they promised; a retry of the same payment is the same posting.
    pay = {"amount": "300.00"}
    first = desk.post(
        "zhou", f"/accounts/{c1['account_ref']}/payments", pay, **{"Idempotency-Key": "SIM-TX-0001"}
    )
    again = client.post(f"/api/v1/accounts/{c1['account_ref']}/payments", json=pay,
                        headers=desk.h("zhou", **{"Idempotency-Key": "SIM-TX-0001"}))  # fmt: skip
    assert (
        again.status_code == 201 and again.json() == first and again.headers["idempotent-replayed"] == "true"
    )
    with ctx.sessions() as s:  # R14: a statement after every payment, in the debtor's language
        statement = s.get(Document, first["statement_id"])
        assert statement is not None and statement.kind == "statement" and statement.source == "payment"
        assert statement.source_id == first["transaction_id"]
    after = desk.get("zhou", f"/cases/{c1['id']}")
    assert [p["status"] for p in after["promises"]] == ["kept"] and p1["id"] == after["promises"][0]["id"]
    with ctx.sessions() as s:
        ack = s.scalars(select(Acknowledgement).where(Acknowledgement.promise_id == p1["id"])).one()
        assert ack.status == "generated" and "300.00" in ack.body

    # 5. A settlement above the collector's authority waits for the lead, who approves it.
    total = owed(c4)
    offer = major(total * 8 // 10)  # 20% off: a collector may give 10%, a lead 25%
    plan = desk.post("zhou", f"/cases/{c4['id']}/plans",
                     {"kind": "settlement", "reason": "一次性结清，减免20%", "total": offer, "first_due": "2026-10-30"})  # fmt: skip
    assert plan["status"] == "pending_approval"
    desk.post("zhou", f"/plans/{plan['id']}/approve", status=403)
    assert [p["id"] for p in desk.get("lead_day", "/approvals/plans")] == [plan["id"]]
    approved = desk.post("lead_day", f"/plans/{plan['id']}/approve", {"note": "同意"}, status=200)
    assert approved["status"] == "active" and approved["decided_by"] == "lead_day"

    # 6. The legal route for the fifth: escalation, approval, formal notice, hand-over with the case file.
    call(c5, "refused", "2026-10-20T01:20:00+00:00", notes="明确拒绝还款")
    esc = desk.post("zhou", f"/cases/{c5['id']}/escalations",
                    {"grounds": ["malicious_refusal"], "reason": "有能力但明确拒绝还款"})  # fmt: skip
    desk.post("lead_day", f"/escalations/{esc['id']}/approve", {"note": "同意走法律途径"}, status=200)
    desk.post("zhou", f"/cases/{c5['id']}/notices")
    handed = desk.post("legal1", f"/escalations/{esc['id']}/handover",
                       {"handler_kind": "law_firm", "handler_name": "北京某某律师事务所"}, status=200)  # fmt: skip
    assert handed["status"] == "handed_over" and handed["casefile_document_id"]
    archive = client.get(f"/api/v1/escalations/{esc['id']}/casefile", headers=desk.h("legal1"))
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zf:
        history = json.loads(zf.read("contact_history.json"))
    assert history["source"] == "cases.case_history"
    assert any(e["kind"] == "contact" and e["detail"]["outcome"] == "refused" for e in history["entries"])

    # 7. Days later: the second promise is broken after its grace and its case is back at the top.
    clock.set(datetime(2026, 10, 24, 1, 30, tzinfo=UTC))  # due 10-21 + 2 days' grace → broken on 10-24
    queue = desk.get("zhou", "/queue")
    top = queue["items"][0]
    assert (top["case_id"], top["why"]) == (c2["id"], "broken_promise")
    assert (
        desk.get("zhou", f"/cases/{c2['id']}")["promises"][0]["status"] == "broken" and p2["status"] == "open"
    )
    assert c3["id"] in [b["case_id"] for b in queue["blocked"]]
