"""Scorecards are versioned data files: built-ins, versions, inheritance and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from arrears.core.errors import NotFound, ValidationFailed
from arrears.quality.scorecards import (
    CONDUCT_CATEGORIES,
    builtin_scorecards,
    default_scorecard_for,
    load_scorecard,
    scorecard_from_mapping,
)

CORE_ITEMS = {
    "identification",
    "identity_verified",
    "amount_terms",
    "empathy",
    "solution_offered",
    "summary_next_step",
    "tone",
}


def test_builtins_are_listed_with_versions() -> None:
    available = builtin_scorecards()
    for name in ("default-zh", "default-en", "default-us"):
        assert available[name] == [1]


@pytest.mark.parametrize("name", ["default-zh", "default-en", "default-us"])
def test_default_scorecards_cover_every_required_item(name: str) -> None:
    card = load_scorecard(name)
    ids = {i.id for i in card.items}
    assert ids >= CORE_ITEMS
    conduct = {i.params["category"]: i for i in card.items if i.check == "conduct"}
    assert set(conduct) == set(CONDUCT_CATEGORIES)
    assert all(i.fatal for i in conduct.values())
    assert any(i.mode == "manual" for i in card.items)
    assert sum(i.weight for i in card.items if not i.fatal) == 110  # 100 automatic + 10 manual
    assert card.ref == f"{name}@1"
    assert len(card.fingerprint) == 64


def test_us_scorecard_adds_the_debt_collector_disclosure() -> None:
    us = load_scorecard("default-us")
    en = load_scorecard("default-en")
    disclosure = us.item("debt_collector_disclosure")
    assert disclosure.fatal and disclosure.check == "collector_disclosure"
    assert "1692e(11)" in disclosure.cite
    assert us.item("false_amount").fatal
    assert "collector_disclosure" in us.lexicon and "collector_disclosure" not in en.lexicon
    assert us.lexicon["debt"] == en.lexicon["debt"]  # inherited
    assert us.language == "en-US" and us.fingerprint != en.fingerprint
    with pytest.raises(NotFound):
        en.item("debt_collector_disclosure")


def test_version_pinning() -> None:
    assert load_scorecard("default-zh@1").version == 1
    with pytest.raises(NotFound, match="no version 9"):
        load_scorecard("default-zh@9")
    with pytest.raises(NotFound, match="unknown scorecard"):
        load_scorecard("no-such-card")


def test_default_scorecard_by_language() -> None:
    assert default_scorecard_for("zh-CN") == "default-zh"
    assert default_scorecard_for("zh") == "default-zh"
    assert default_scorecard_for("en-US") == "default-us"
    assert default_scorecard_for("en-GB") == "default-en"
    with pytest.raises(NotFound):
        default_scorecard_for("fr-FR")


def test_a_custom_file_extends_a_builtin(tmp_path: Path) -> None:
    path = tmp_path / "creditor-a.yaml"
    path.write_text(
        "name: creditor-a\nversion: 3\nlanguage: zh-CN\nextends: default-zh@1\npass_mark: 90\n"
        "remove_items: [case_notes]\n"
        "items:\n"
        "  - {id: solution_offered, weight: 25}\n"
        "  - {id: promise_recorded, title: 记录承诺还款, mode: manual, weight: 5}\n"
        "lexicon_add:\n  solution: [停催]\n",
        encoding="utf-8",
    )
    card = load_scorecard(str(path))
    assert card.ref == "creditor-a@3" and card.pass_mark == 90
    ids = [i.id for i in card.items]
    assert "case_notes" not in ids and ids[-1] == "promise_recorded"
    assert card.item("solution_offered").weight == 25
    assert card.item("solution_offered").title == "提供还款方案（分期、延期、减免等）"  # kept from the parent
    assert "停催" in card.lexicon["solution"] and "分期" in card.lexicon["solution"]


def _card(**over: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "name": "t",
        "version": 1,
        "language": "en",
        "items": [{"id": "tone", "title": "Tone", "check": "tone", "weight": 10}],
    }
    raw.update(over)
    return raw


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"version": 0}, "version: must be a positive integer"),
        ({"items": []}, "items: must be a non-empty list"),
        ({"items": [{"id": "tone", "title": "T", "check": "guess", "weight": 1}]}, "item tone.check"),
        ({"items": [{"id": "Tone!", "title": "T", "check": "tone"}]}, "items[0].id"),
        ({"items": [{"id": "tone", "title": "T", "check": "tone", "weight": -1}]}, "item tone.weight"),
        (
            {
                "items": [
                    {
                        "id": "x",
                        "title": "T",
                        "check": "conduct",
                        "fatal": True,
                        "params": {"category": "rudeness"},
                    }
                ]
            },
            "item x.params.category",
        ),
        (
            {"items": [{"id": "x", "title": "T", "mode": "manual", "check": "tone", "weight": 1}]},
            "manual item",
        ),
        (
            {
                "items": [
                    {"id": "a", "title": "T", "check": "tone", "weight": 1},
                    {"id": "a", "title": "T", "check": "tone", "weight": 1},
                ]
            },
            "duplicate id",
        ),
        (
            {
                "items": [
                    {
                        "id": "a",
                        "title": "T",
                        "check": "conduct",
                        "fatal": True,
                        "params": {"category": "threat"},
                    }
                ]
            },
            "must carry some weight",
        ),
        ({"lexicon": {"debt": "owe"}}, "lexicon.debt"),
        ({"lexicon": {"affirm": [True]}}, "quote yes/no"),
        ({"colour": "red"}, "colour: unknown field"),
        ({"pass_mark": 120}, "pass_mark"),
    ],
)
def test_invalid_scorecards_are_refused_with_the_field(over: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationFailed, match="scorecard t") as exc:
        scorecard_from_mapping(_card(**over), "t")
    assert message in exc.value.message


def test_unreadable_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nitems: [\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="line"):
        load_scorecard(str(path))


def test_extends_cycle_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="extends itself"):
        load_scorecard(str(tmp_path / "a.yaml"))
