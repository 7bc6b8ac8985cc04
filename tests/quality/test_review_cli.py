"""The QC workflow, complaints desk and KPI commands: `arrears qc import/sample/review/alerts/note`,
`arrears complaints add/list/close`, `arrears kpi show/findings/round` — in-process, on the test
database, with plain errors and a non-zero exit for bad input."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from arrears.cli import app
from arrears.core.context import AppContext
from tests.quality.review_world import GOOD_ZH, THREAT_ZH, QcWorld, build_qc_world, line

NOW = datetime.now(UTC)  # the commands read the real clock


@pytest.fixture
def qw(sqlite_ctx: AppContext) -> QcWorld:
    return build_qc_world(sqlite_ctx)


def run(qw: QcWorld, *args: str) -> tuple[int, str, str]:
    from arrears.core.settings import get_settings

    env = {**os.environ, "ARREARS_KEY_FILE": str(qw.ctx.key_file)}
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["--db", qw.ctx.database_url, *args], env=env)
    finally:
        get_settings.cache_clear()
    # Domain errors reach `arrears.cli.main`, which prints their message; in-process they are the exception.
    err = " ".join(result.stderr.split()) + " " + str(getattr(result.exception, "message", ""))
    return result.exit_code, result.stdout, err


def _jsonl(tmp_path: Path, rows: list[Any], name: str) -> str:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def test_workflow_at_the_command_line(qw: QcWorld, tmp_path: Path) -> None:
    w = qw.w
    at = NOW - timedelta(hours=3)
    bad = _jsonl(
        tmp_path,
        [line("cli-1", w.cases["A1"], at, GOOD_ZH), {"id": "cli-2", "language": "zh-CN"}],
        "bad.jsonl",
    )
    code, out, err = run(qw, "qc", "import", bad)
    assert code == 1 and "line 2:" in err and out == ""
    code, _, err = run(qw, "qc", "import", str(tmp_path / "nope.jsonl"))
    assert code == 1 and "cannot read" in err
    good = _jsonl(
        tmp_path,
        [line("cli-1", w.cases["A1"], at, GOOD_ZH), line("cli-2", w.cases["A1"], at, THREAT_ZH)],
        "ok.jsonl",
    )
    code, out, _ = run(qw, "qc", "import", good, "--json")
    assert code == 0 and json.loads(out)["imported"] == 2 and json.loads(out)["fatal"] == 1
    code, out, _ = run(qw, "qc", "import", good)
    assert code == 0 and "0 imported" in out and "2 already imported" in out
    day = at.date().isoformat()  # the (UTC) day the calls took place, not today's: before 03:00 they differ
    code, out, _ = run(qw, "qc", "sample", "--from", day, "--to", day, "--seed", "cli", "--json")
    assert code == 0 and json.loads(out)["sampled"] >= 1
    code, out, _ = run(qw, "qc", "review", "list", "--json")
    reviews = [json.loads(x) for x in out.splitlines()]
    rv = next(r for r in reviews if r["reason"] == "fatal")
    code, _, err = run(qw, "qc", "review", "decide", str(rv["id"]), "--feedback", "x")
    assert code == 1 and "--as" in err  # a person's step needs the person
    code, out, _ = run(qw, "qc", "review", "decide", str(rv["id"]), "--as", rv["inspector"], "--pass", "case_notes",
                       "--pass", "conduct_disclosure", "--feedback", "威胁属严重违规。")  # fmt: skip
    assert code == 0 and "1 finding(s) overturned" in out
    code, out, _ = run(qw, "qc", "review", "respond", str(rv["id"]), "--as", "c_east", "--appeal", "没有威胁",
                       "--item", "conduct_threat")  # fmt: skip
    assert code == 0 and "appealed" in out
    arbiter = "qc_lead" if rv["inspector"] != "qc_lead" else "manager"
    code, out, _ = run(qw, "qc", "review", "arbitrate", str(rv["id"]), "--as", arbiter, "--fail", "conduct_threat",
                       "--note", "维持")  # fmt: skip
    assert code == 0 and "upheld" in out
    code, out, _ = run(qw, "qc", "review", "show", str(rv["id"]), "--json")
    assert json.loads(out)["status"] == "arbitrated"
    code, out, _ = run(
        qw, "qc", "note", "新人话术培训不足", "--kind", "problem", "--as", "qc", "--review", str(rv["id"])
    )
    assert code == 0 and "recorded" in out
    later = (NOW + timedelta(days=5)).isoformat()
    code, out, _ = run(qw, "qc", "alerts", "--as-of", later, "--json")
    assert code == 0
    alerts = [json.loads(x) for x in out.splitlines()]
    assert all(a["new"] for a in alerts) and {a["kind"] for a in alerts} <= {"review_overdue"}
    code, _, err = run(qw, "qc", "alerts", "--as-of", "2026-12-01T00:00:00")
    assert code != 0 and "time zone" in err
    # Complaints.
    code, out, _ = run(qw, "complaints", "add", "--channel", "phone", "--case", str(w.cases["A1"]),
                       "--text", "催收员打电话给我单位领导说我欠钱。", "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["conduct"] is True
    cid = json.loads(out)["id"]
    code, _, err = run(qw, "complaints", "add", "--channel", "fax", "--text", "x")
    assert code == 1 and "channel" in err
    code, out, _ = run(qw, "complaints", "close", str(cid), "--outcome", "upheld", "--note", "属实")
    assert code == 0 and "upheld" in out
    code, out, _ = run(qw, "complaints", "list", "--json")
    assert [json.loads(x)["outcome"] for x in out.splitlines()] == ["upheld"]
    # KPIs: the upheld complaint and the upheld violation are c_east's.
    today = NOW.date().isoformat()  # the complaint arrived today; the calls were made on `day`
    code, out, _ = run(qw, "kpi", "show", "--from", day, "--to", today, "--by", "collector", "--json")
    rows = {json.loads(x)["label"]: json.loads(x) for x in out.splitlines()}
    assert code == 0 and rows["c_east"]["violations"] == 1 and rows["c_east"]["complaints"] == 1
    code, out, _ = run(qw, "kpi", "show", "--from", day, "--to", today, "--as", "c_east")
    assert code == 1
    code, out, _ = run(qw, "kpi", "findings", "--from", day, "--to", today, "--json")
    assert code == 0 and any(f["item"] == "conduct_threat" for f in json.loads(out)["reviewed"])
    code, out, _ = run(qw, "kpi", "round")
    assert code == 0 and out.strip()
