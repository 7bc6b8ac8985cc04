"""`arrears cases …`: profiles, rules, placing unassigned cases, hand-over, re-balancing and the contact
log export; bad input exits non-zero with a plain message."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
from sqlalchemy import select
from typer.testing import CliRunner

from arrears.cases.models import AssignmentRule, CollectorProfile
from arrears.cli import app
from arrears.core.db import transaction
from arrears.portfolio.models import Case
from arrears.security.models import AuditEvent
from tests.cases.conftest import Api
from tests.security.world import World


def run(world: World, *args: str) -> tuple[int, str]:
    """The command in-process, with the world's key ring (settings are read afresh)."""
    from arrears.core.settings import get_settings

    env = {**os.environ, "ARREARS_KEY_FILE": str(world.ctx.key_file)}
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["--db", world.ctx.database_url, "cases", *args], env=env)
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def test_profiles_rules_and_placing_cases(world: World) -> None:
    code, out = run(world, "profile", "c_west", "--languages", "zh,en", "--skills", "legal", "--cap", "25")
    assert code == 0 and json.loads(out)["cap"] == 25
    code, _ = run(world, "add-rule", "late to west", "--bucket", "M4", "--team", "west", "--position", "10")
    assert code == 0
    with world.ctx.sessions() as s:
        p = s.get(CollectorProfile, world.users["c_west"])
        assert p is not None and (p.languages, p.skills, p.max_cases) == (["en", "zh"], ["legal"], 25)
        rule = s.scalars(select(AssignmentRule)).one()
        assert (rule.bucket, rule.position, rule.team_id is not None) == ("M4", 10, True)
    with transaction(world.ctx.sessions) as s:
        s.get(Case, world.cases["A3"]).assigned_to = None  # type: ignore[union-attr]
    code, out = run(world, "assign-unassigned", "--json")
    assert code == 0 and json.loads(out) == {"assigned": 1, "unplaced": 0}
    assert run(world, "profile", "nobody")[0] != 0
    assert run(world, "profile", "c_west", "--status", "away")[0] != 0
    assert run(world, "add-rule", "x", "--team", "no-such-team")[0] != 0


def test_hand_over_and_rebalance(world: World) -> None:
    code, out = run(world, "hand-over", "c_east", "--reason", "leave", "--to", "c_east2")
    assert code == 0 and json.loads(out) == {"moved": 1, "unplaced": 0}
    with world.ctx.sessions() as s:
        assert s.get(Case, world.cases["A1"]).assigned_to == world.users["c_east2"]  # type: ignore[union-attr]
    code, out = run(world, "rebalance")
    assert code == 0 and "moved" in json.loads(out)
    assert run(world, "hand-over", "c_east", "--reason", "holiday")[0] != 0


def test_export_log_for_compliance_check(api: Api, world: World, tmp_path: Path) -> None:
    assert api.call("c_east", "A1", "dispute", at="2026-11-28T08:00:00+00:00").status_code == 201
    out = tmp_path / "log.csv"
    code, output = run(world, "export-log", str(out), "--as-of", "2026-11-28")
    assert code == 0, output
    log = pl.read_csv(out, infer_schema=False)
    assert log["contact"].to_list()[0] == f"cp:{world.contact_points['A1']}"  # no plain number by default
    code, _ = run(world, "export-log", str(out), "--as-of", "2026-11-28", "--plain-contacts")
    assert code == 0 and "13812345678" in out.read_text()
    with world.ctx.sessions() as s:
        exports = s.scalars(select(AuditEvent).where(AuditEvent.action == "contacts.export")).all()
        assert [e.after["plain"] for e in exports] == [False, True]
    env = {**os.environ, "ARREARS_KEY_FILE": str(world.ctx.key_file)}
    checked = CliRunner().invoke(app, ["compliance", "check", str(out), "--json"], env=env)
    assert checked.exit_code == 0, checked.output
    answers = [json.loads(line) for line in checked.output.splitlines() if line.startswith("{")]
    assert [a["allowed"] for a in answers] == [True]
    assert run(world, "export-log", str(out), "--as-of", "yesterday")[0] != 0
