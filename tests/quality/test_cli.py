"""`arrears qc score`, `arrears qc scorecard` and `arrears complaints classify` through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from arrears.cli import app

from .transcripts import good_en, good_zh, replace_turn

runner = CliRunner()


def _err(result: Any) -> str:
    """Standard error with the console's line wrapping undone."""
    return " ".join(result.stderr.split()).replace("/ ", "/")


def _jsonl(tmp_path: Path, rows: list[Any], name: str = "in.jsonl") -> Path:
    path = tmp_path / name
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows),
        encoding="utf-8",
    )
    return path


def test_qc_score_json_lines(tmp_path: Path) -> None:
    bad_call = replace_turn(good_zh("z2"), 6, "你这个老赖，真不要脸。")
    path = _jsonl(tmp_path, [good_zh("z1"), bad_call])
    result = runner.invoke(app, ["qc", "score", str(path), "--scorecard", "default-zh", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["z1", "z2"]
    for r in rows:
        assert {"id", "score", "fatal", "items"} <= set(r)
        assert isinstance(r["fatal"], bool) and isinstance(r["score"], float)
        for it in r["items"]:
            assert {"item", "passed", "evidence", "confidence"} <= set(it)
            assert it["passed"] in (True, False, None)
            for ev in it["evidence"]:
                assert {"turn", "text", "start", "end"} <= set(ev)
    assert rows[0]["fatal"] is False and rows[0]["score"] == 100.0
    assert rows[1]["fatal"] is True and rows[1]["score"] == 0.0
    abuse = next(i for i in rows[1]["items"] if i["item"] == "conduct_abuse")
    assert abuse["passed"] is False and abuse["evidence"][0]["turn"] == 6


def test_qc_score_picks_the_scorecard_by_language(tmp_path: Path) -> None:
    path = _jsonl(tmp_path, [good_zh("z"), good_en("u"), good_en("g", language="en-GB")])
    result = runner.invoke(app, ["qc", "score", str(path), "--json", "--no-features"])
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert rows["z"]["scorecard"] == "default-zh@1"
    assert rows["u"]["scorecard"] == "default-us@1"
    assert rows["g"]["scorecard"] == "default-en@1"
    assert "features" not in rows["z"]


def test_qc_score_text_output(tmp_path: Path) -> None:
    path = _jsonl(tmp_path, [good_en("u1")])
    result = runner.invoke(app, ["qc", "score", str(path), "--scorecard", "default-us"])
    assert result.exit_code == 0
    first = result.stdout.splitlines()[0].split("\t")
    assert first[:4] == ["u1", "100.0", "pass", "default-us@1"]
    assert "1 interactions, mean score 100.0, 0 with a fatal finding" in result.stdout


def test_qc_score_bad_lines_are_named_and_nothing_is_printed(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path,
        [
            good_zh("ok"),
            "{not json",
            {"id": "x", "language": "zh-CN", "turns": []},
            {"id": "y", "language": "zh-CN", "turns": [{"speaker": "bot", "text": "hi"}]},
        ],
    )
    result = runner.invoke(app, ["qc", "score", str(path), "--scorecard", "default-zh", "--json"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "line 2: not valid JSON" in result.stderr
    assert "line 3: turns: must be a non-empty list" in result.stderr
    assert "line 4: turns[0].speaker" in result.stderr
    assert "Traceback" not in result.output


def test_qc_score_language_must_match_the_scorecard(tmp_path: Path) -> None:
    path = _jsonl(tmp_path, [good_en("e1")])
    result = runner.invoke(app, ["qc", "score", str(path), "--scorecard", "default-zh", "--json"])
    assert result.exit_code == 1
    assert "line 1: language: en-US does not match scorecard default-zh@1" in result.stderr


def test_qc_score_unreadable_or_empty_input(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["qc", "score", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 1 and "cannot read" in _err(missing)
    empty = _jsonl(tmp_path, [], "empty.jsonl")
    result = runner.invoke(app, ["qc", "score", str(empty)])
    assert result.exit_code == 1 and "no input lines" in _err(result)
    binary = tmp_path / "bin.jsonl"
    binary.write_bytes(b"\xff\xfe\x00bad")
    result = runner.invoke(app, ["qc", "score", str(binary)])
    assert result.exit_code == 1 and "not UTF-8" in _err(result)


def test_qc_score_unknown_scorecard(tmp_path: Path) -> None:
    path = _jsonl(tmp_path, [good_zh()])
    result = runner.invoke(app, ["qc", "score", str(path), "--scorecard", "nope"])
    assert result.exit_code != 0
    assert "unknown scorecard" in (result.stderr + str(result.exception))


def test_qc_score_reads_standard_input() -> None:
    result = runner.invoke(app, ["qc", "score", "-", "--json"], input=json.dumps(good_zh("stdin")) + "\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["id"] == "stdin"


def test_qc_scorecard_list_and_show() -> None:
    listing = runner.invoke(app, ["qc", "scorecard", "--json"])
    assert listing.exit_code == 0
    assert json.loads(listing.stdout)["default-us"] == [1]
    shown = runner.invoke(app, ["qc", "scorecard", "default-us", "--json"])
    card = json.loads(shown.stdout)
    assert card["name"] == "default-us" and card["version"] == 1
    assert any(i["id"] == "debt_collector_disclosure" and i["fatal"] for i in card["items"])
    text = runner.invoke(app, ["qc", "scorecard", "default-zh"])
    assert "conduct_threat" in text.stdout and "FATAL" in text.stdout


def test_complaints_classify_json(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path,
        [
            {"id": "c1", "text": "催收员天天打电话骚扰我，半夜也打。"},
            {"id": 2, "text": "I never received a validation notice."},
            {"id": "c3", "text": "How do I update my address?"},
        ],
    )
    result = runner.invoke(app, ["complaints", "classify", str(path), "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [set(r) for r in rows] == [{"id", "category", "conduct", "confidence"}] * 3
    assert [(r["id"], r["category"], r["conduct"]) for r in rows] == [
        ("c1", "harassment", True),
        ("2", "notice", False),
        ("c3", "other", False),
    ]
    assert all(0 <= r["confidence"] <= 1 for r in rows)
    explained = runner.invoke(app, ["complaints", "classify", str(path), "--json", "--explain"])
    first = json.loads(explained.stdout.splitlines()[0])
    assert first["cues"][0]["category"] == "harassment" and first["scores"]["harassment"] > 0


def test_complaints_classify_bad_lines(tmp_path: Path) -> None:
    path = _jsonl(tmp_path, [{"id": "a", "text": "ok"}, {"id": "b"}, {"text": "no id"}, "[1, 2]"])
    result = runner.invoke(app, ["complaints", "classify", str(path), "--json"])
    assert result.exit_code == 1 and result.stdout == ""
    assert "line 2: text: must be a non-empty string" in result.stderr
    assert "line 3: id: must be a non-empty string or integer" in result.stderr
    assert "line 4: must be a JSON object" in result.stderr


def test_complaints_classify_text_output(tmp_path: Path) -> None:
    path = _jsonl(tmp_path, [{"id": "t", "text": "They threatened to have me arrested."}])
    result = runner.invoke(app, ["complaints", "classify", str(path)])
    assert result.exit_code == 0
    assert result.stdout.split("\t")[:3] == ["t", "threat", "conduct"]
