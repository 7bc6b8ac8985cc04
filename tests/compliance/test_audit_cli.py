"""`arrears compliance check LOG.csv` and `arrears compliance packs` end to end through the CLI."""

from __future__ import annotations

import importlib
import json
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arrears.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def screening_available(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The texts below are harmless; while content screening is not installed, a pass-all stands in."""
    try:
        importlib.import_module("arrears.compliance.screening")
    except ImportError:
        fake = types.ModuleType("arrears.compliance.screening")

        def screen_text(
            text: str, language: str | None = None, channel: str | None = None, pack: object = None
        ) -> types.SimpleNamespace:
            return types.SimpleNamespace(verdict="pass", flags=())

        fake.screen_text = screen_text  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "arrears.compliance.screening", fake)
    yield


HEADER = "id,at,account,person,party,channel,contact,outcome,consent,kind,text,tz\n"
US_LOG = (
    HEADER
    + "".join(
        f"c{d},2026-05-{d:02d}T10:00:00-04:00,A1,C1,debtor,call,+12125550123,no_answer,no,,,\n"
        for d in range(4, 11)
    )
    + (
        "talk,2026-05-10T11:00:00-04:00,A1,C1,debtor,call,+12125550123,conversation,no,,,\n"
        "late,2026-05-10 21:00:00,A1,C1,debtor,call,+12125550123,,no,attempt,,America/New_York\n"
        "disp,2026-05-11T09:00:00Z,A2,C2,,,,,,dispute,,\n"
        "after,2026-05-11T14:00:00Z,A2,C2,debtor,sms,+13125550123,delivered,no,,Hello. Reply STOP to opt out.,\n"
        "consented,2026-05-10T12:00:00-04:00,A1,C1,debtor,call,+12125550123,,yes,,,\n"
    )
)


def _write(tmp_path: Path, text: str, name: str = "log.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_check_json_prints_one_line_per_attempt(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["compliance", "check", str(_write(tmp_path, US_LOG)), "--pack", "us", "--json"]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    by_id = {line["id"]: line for line in lines}
    assert [line["id"] for line in lines] == [f"c{d}" for d in range(4, 11)] + [
        "talk",
        "late",
        "after",
        "consented",
    ]
    assert set(lines[0]) >= {"id", "allowed", "rules", "reasons"}
    assert all(by_id[f"c{d}"]["allowed"] for d in range(4, 11))
    assert by_id["talk"]["rules"] == ["US-F1"]  # the 8th call in 7 days
    assert by_id["late"]["rules"] == ["US-T1", "US-F1", "US-F2"]
    assert by_id["after"]["rules"] == ["US-V1"]
    assert by_id["consented"]["allowed"]  # US-F3: placed with consent
    reason = by_id["after"]["reasons"][0]
    assert reason["rule"] == "US-V1" and reason["zh"] and reason["en"]


def test_check_scalar_replay_prints_the_same(tmp_path: Path) -> None:
    log = str(_write(tmp_path, US_LOG))
    fast = runner.invoke(app, ["compliance", "check", log, "--pack", "us", "--json"])
    slow = runner.invoke(app, ["compliance", "check", log, "--pack", "us", "--json", "--scalar"])
    assert slow.exit_code == 0, slow.output
    assert [json.loads(x) for x in fast.stdout.splitlines()] == [
        json.loads(x) for x in slow.stdout.splitlines()
    ]


def test_check_with_a_tightened_pack(tmp_path: Path) -> None:
    log = str(_write(tmp_path, US_LOG))
    result = runner.invoke(
        app, ["compliance", "check", log, "--pack", "us", "--json", "--override", "US-F1.max_calls=5"]
    )
    assert result.exit_code == 0, result.output
    by_id = {x["id"]: x for x in map(json.loads, result.stdout.splitlines())}
    assert by_id["c9"]["rules"] == ["US-F1"]  # the 6th call
    loose = runner.invoke(
        app, ["compliance", "check", log, "--pack", "us", "--override", "US-F1.max_calls=9"]
    )
    assert loose.exit_code != 0
    assert "US-F1.max_calls" in loose.output and "loosen" in loose.output


def test_check_summary_table(tmp_path: Path) -> None:
    result = runner.invoke(app, ["compliance", "check", str(_write(tmp_path, US_LOG)), "--pack", "us"])
    assert result.exit_code == 0, result.output
    assert "11 attempts, 3 would have been blocked" in result.stdout
    assert "US-F1" in result.stdout and "US-V1" in result.stdout


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "r1,2026-05-13,A1,C1,debtor,call,+12125550123,,,,,\n",
            "row 1 (id r1): at: '2026-05-13' has no UTC offset",
        ),
        (
            "r1,yesterday,A1,C1,debtor,call,+12125550123,,,,,\n",
            "row 1 (id r1): at: 'yesterday' is not an ISO 8601",
        ),
        (
            "r1,2026-05-13T10:00:00Z,A1,C1,debtor,call,+12125550123,,,,,\nr2,2026-05-13T11:00:00Z,A1,C1,neighbour,call,x,,,,,\n",
            "row 2 (id r2): party: 'neighbour' is not one of",
        ),
        ("r1,2026-05-13T10:00:00Z,A1,C1,debtor,fax,+12125550123,,,,,\n", "row 1 (id r1): channel: 'fax'"),
        ("r1,2026-05-13T10:00:00Z,A1,C1,debtor,call,+12125550123,hung_up,,,,\n", "outcome: 'hung_up'"),
        (
            "r1,2026-05-13T10:00:00Z,A1,C1,debtor,call,+12125550123,,maybe,,,\n",
            "consent: 'maybe' is not yes or no",
        ),
        (
            "r1,2026-05-13T10:00:00Z,A1,C1,debtor,call,,,,,,\n",
            "row 1 (id r1): contact: is empty for an attempt",
        ),
        ("r1,2026-05-13T10:00:00,A1,C1,debtor,call,+1212,,,,,Mars/Base\n", "tz: 'Mars/Base' is not an IANA"),
        ("r1,2026-05-13T10:00:00Z,A1,C1,,,,,,promise,,\n", "kind: 'promise' is not one of"),
        ("r1,2026-05-13T10:00:00Z,,C1,debtor,call,+1212,,,,,\n", "row 1 (id r1): account: is empty"),
    ],
)
def test_unreadable_rows_are_named_and_exit_non_zero(tmp_path: Path, body: str, message: str) -> None:
    result = runner.invoke(app, ["compliance", "check", str(_write(tmp_path, HEADER + body)), "--json"])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_missing_file_and_missing_columns(tmp_path: Path) -> None:
    gone = runner.invoke(app, ["compliance", "check", str(tmp_path / "nope.csv")])
    assert gone.exit_code != 0 and "no such file" in gone.output
    bad = runner.invoke(app, ["compliance", "check", str(_write(tmp_path, "id,when\n1,x\n"))])
    assert bad.exit_code != 0 and "missing column(s) at, account, person" in bad.output


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    body = "r1,2026-05-13T10:00:00Z,A1,C1,debtor,call,+12125550123,,,,,\n" * 2
    result = runner.invoke(app, ["compliance", "check", str(_write(tmp_path, HEADER + body))])
    assert result.exit_code != 0 and "row 1 (id r1): id: 'r1' appears more than once" in result.output


def test_local_times_and_cn_pack(tmp_path: Path) -> None:
    log = HEADER + (
        "a,2026-05-11 21:59,A1,D1,debtor,call,13800138000,no_answer,否,,,Asia/Shanghai\n"
        "b,2026-05-11 22:00,A1,D1,debtor,call,13800138000,no_answer,否,,,Asia/Shanghai\n"
        "c,2026-05-12T07:59:00+08:00,A1,D1,debtor,sms,13800138000,delivered,否,,您好,\n"
        "d,2026-05-12T08:00:00+08:00,A1,D1,debtor,sms,13800138000,delivered,是,,您好,\n"
    )
    result = runner.invoke(app, ["compliance", "check", str(_write(tmp_path, log)), "--pack", "cn", "--json"])
    assert result.exit_code == 0, result.output
    rules = {x["id"]: x["rules"] for x in map(json.loads, result.stdout.splitlines())}
    assert rules == {"a": [], "b": ["CN-T1"], "c": ["CN-T1"], "d": []}


def test_packs_listing_and_detail() -> None:
    listing = runner.invoke(app, ["compliance", "packs", "--json"])
    assert listing.exit_code == 0, listing.output
    packs = {p["pack"]: p for p in json.loads(listing.stdout)}
    assert {"cn", "us"} <= set(packs) and "CN-T1" in packs["cn"]["rules"]
    detail = runner.invoke(app, ["compliance", "packs", "us", "--json", "--as-of", "2026-06-01"])
    assert detail.exit_code == 0, detail.output
    rules = {r["id"]: r for r in json.loads(detail.stdout)["rules"]}
    assert rules["US-F1"]["citation"] == "12 CFR 1006.14(b)(2)(i)(A)"
    assert rules["US-F1"]["parameters"]["max_calls"] == 7
    tightened = runner.invoke(
        app,
        [
            "compliance",
            "packs",
            "cn",
            "--json",
            "--override",
            "CN-T1.allowed_until=21:00",
            "--as-of",
            "2026-06-01",
        ],
    )
    assert tightened.exit_code == 0, tightened.output
    cn = {r["id"]: r for r in json.loads(tightened.stdout)["rules"]}
    assert cn["CN-T1"]["parameters"]["allowed_until"] == "21:00"
    table = runner.invoke(app, ["compliance", "packs", "cn"])
    assert table.exit_code == 0 and "CN-F1" in table.stdout
