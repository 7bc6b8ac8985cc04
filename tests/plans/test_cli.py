"""`arrears plans limits-load|limits-show|evaluate` and `arrears documents letterhead` on a SQLite file."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from arrears.cli import app
from arrears.core.context import AppContext
from arrears.core.db import transaction
from arrears.documents.models import Letterhead
from arrears.plans import service
from arrears.plans.models import Plan
from arrears.plans.service import PlanRequest
from arrears.security.models import AuditEvent
from tests.plans.helpers import at
from tests.security.world import build_world


def _run(ctx: AppContext, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--db", ctx.database_url, *args])
    return result.exit_code, result.output.replace("\n", "")  # error lines are wrapped to the terminal


def test_limits_letterhead_and_evaluation(
    sqlite_ctx: AppContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARREARS_DOCUMENTS_DIR", str(tmp_path / "documents"))
    w = build_world(sqlite_ctx)
    code, out = _run(
        sqlite_ctx, "documents", "letterhead", "BANK1", "--phone", "400-800-1234", "--email", "a@b.example"
    )
    assert code == 0, out
    with sqlite_ctx.sessions() as s:
        assert s.scalar(select(Letterhead.phone)) == "400-800-1234"
    code, out = _run(sqlite_ctx, "documents", "letterhead", "BANK1", "--phone", "call us")
    assert code == 1 and "phone 'call us'" in out

    limits = tmp_path / "bank1.yaml"
    limits.write_text("creditors:\n  BANK1:\n    collector: {max_discount_bps: 0, max_instalments: 2, "
                      "max_waiver_minor: 0, max_deferral_days: 10}\n", encoding="utf-8")  # fmt: skip
    code, out = _run(sqlite_ctx, "plans", "limits-load", str(limits))
    assert code == 0 and json.loads(out) == {"loaded": {"BANK1": 4}}, out
    code, out = _run(sqlite_ctx, "plans", "limits-show", "BANK1")
    shown = json.loads(out)
    assert shown["collector"]["max_instalments"] == 2 and shown["manager"]["max_instalments"] == 36
    bad = tmp_path / "bad.yaml"
    bad.write_text("creditors:\n  NOPE: {}\n", encoding="utf-8")
    code, out = _run(sqlite_ctx, "plans", "limits-load", str(bad))
    assert code == 1 and "creditors.NOPE: no such creditor" in out
    code, out = _run(sqlite_ctx, "plans", "limits-load", str(tmp_path / "missing.yaml"))
    assert code == 1 and "cannot read" in out

    with transaction(sqlite_ctx.sessions) as s:
        plan = service.create_plan(
            s, w.principal("c_east"), w.cases["A1"],
            PlanRequest("instalment", "two months", count=2, first_due=date(2026, 12, 1), grace_days=0),
            at=at(2026, 11, 28),
        ).plan  # fmt: skip
    code, out = _run(sqlite_ctx, "plans", "evaluate", "--as-of", "2026-12-02")
    assert code == 0, out
    assert json.loads(out)["changes"] == [
        {"plan_id": plan.id, "from": "active", "to": "broken", "waiver_tx_id": None}
    ]
    with sqlite_ctx.sessions() as s:
        assert s.get(Plan, plan.id).status == "broken"  # type: ignore[union-attr]
        actors = s.scalars(select(AuditEvent.actor).where(AuditEvent.action == "plan.broken")).all()
        assert len(actors) == 1 and actors[0].startswith("cli:")
    assert _run(sqlite_ctx, "plans", "evaluate", "--as-of", "tomorrow")[0] == 1
