"""`arrears screen FILE`: JSON lines in, one verdict per line out; malformed input stops everything."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from arrears.cli import app

runner = CliRunner()


def write_lines(path: Path, rows: list[object]) -> Path:
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows) + "\n"
    )
    return path


def test_json_output_one_line_per_input(tmp_path: Path) -> None:
    src = write_lines(
        tmp_path / "in.jsonl",
        [
            {"id": 1, "text": "你这个傻逼"},
            {"id": "b", "text": "您好，您的借款已逾期3天，请尽快还款。"},
            {"id": 3, "text": "We may take legal action."},
        ],
    )
    result = runner.invoke(app, ["screen", str(src), "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == [1, "b", 3]
    assert [r["verdict"] for r in rows] == ["block", "pass", "review"]
    assert rows[0]["flags"] == [{"category": "abuse", "start": 3, "end": 5, "match": "傻逼", "rule": "CN-C1"}]
    assert rows[1]["flags"] == []
    assert {f["category"] for f in rows[2]["flags"]} == {"false_legal"}


def test_channel_and_pack_options_and_per_line_channel(tmp_path: Path) -> None:
    src = write_lines(
        tmp_path / "in.jsonl",
        [
            {"id": "a", "text": "Your payment is due Friday."},
            {"id": "b", "text": "Your payment is due Friday. Reply STOP to opt out."},
            {"id": "c", "text": "Your payment is due Friday.", "channel": "letter"},
            {"id": "d", "text": "您的欠款已逾期。", "channel": "voicemail"},
        ],
    )
    result = runner.invoke(app, ["screen", str(src), "--json", "--channel", "sms", "--pack", "us"])
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert [f["category"] for f in rows["a"]["flags"]] == ["opt_out_missing"]
    assert rows["b"]["verdict"] == "pass"
    assert rows["c"]["verdict"] == "pass"
    assert {f["rule"] for f in rows["d"]["flags"]} == {"US-E2"}


def test_stdin_and_language_per_line() -> None:
    stdin = json.dumps({"id": 7, "text": "sb", "language": "zh"}) + "\n"
    result = runner.invoke(app, ["screen", "-", "--json"], input=stdin)
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert row["flags"][0]["rule"] == "CN-C1"


def test_table_output(tmp_path: Path) -> None:
    src = write_lines(
        tmp_path / "in.jsonl", [{"id": "x1", "text": "你个[傻逼]"}, {"id": "x2", "text": "您好"}]
    )
    result = runner.invoke(app, ["screen", str(src)])
    assert result.exit_code == 0, result.output
    assert "x1" in result.stdout and "block" in result.stdout and "[傻逼]" not in result.stdout
    assert "'傻逼'" in result.stdout
    assert "2 texts: 1 pass, 0 review, 1 block" in result.stdout


def test_malformed_line_stops_the_run_and_prints_nothing(tmp_path: Path) -> None:
    src = write_lines(
        tmp_path / "in.jsonl",
        [
            {"id": 1, "text": "你这个傻逼"},
            "{not json",
            {"id": 3},
            {"id": True, "text": "x"},
            ["a list"],
            {"id": 6, "text": "hi", "channel": "pigeon"},
        ],
    )
    result = runner.invoke(app, ["screen", str(src), "--json"])
    assert result.exit_code == 1
    assert result.stdout == ""
    err = result.stderr
    assert "line 2: not valid JSON" in err
    assert "line 3: field 'text' is missing" in err
    assert "line 4: field 'id'" in err
    assert "line 5: expected a JSON object" in err
    assert "line 6: unknown channel 'pigeon'" in err
    assert "line 1" not in err


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('\n{"id": 1, "text": "hello"}\n\n')
    result = runner.invoke(app, ["screen", str(src), "--json"])
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 1


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"id": 1, "text": "ok"}\n{"id": 2, "text": "\xff"}\n')
    result = runner.invoke(app, ["screen", str(src), "--json"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "line 2: not UTF-8" in result.stderr


def test_unreadable_file_and_bad_options(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["screen", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 1
    assert "cannot read" in missing.stderr
    src = write_lines(tmp_path / "in.jsonl", [{"id": 1, "text": "hi"}])
    bad_pack = runner.invoke(app, ["screen", str(src), "--pack", "uk"])
    assert bad_pack.exit_code == 1
    assert "unknown pack 'uk'" in bad_pack.stderr
    assert bad_pack.stdout == ""
