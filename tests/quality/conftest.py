"""Fixtures for the QC tests: scorecards compiled once, a pass-all screening for items that do not use it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from arrears.quality.autoscore import CompiledScorecard, ScoreResult, compile_scorecard, score_interaction
from arrears.quality.conversation import parse_interaction
from arrears.quality.scorecards import load_scorecard


def pass_all(text: str, *args: Any, **kwargs: Any) -> SimpleNamespace:
    """Stands in for the content screening in tests of items that do not read it."""
    return SimpleNamespace(verdict="pass", flags=())


@pytest.fixture(scope="session")
def cards() -> dict[str, CompiledScorecard]:
    return {n: compile_scorecard(load_scorecard(n)) for n in ("default-zh", "default-en", "default-us")}


@pytest.fixture
def score(cards: dict[str, CompiledScorecard]):  # type: ignore[no-untyped-def]
    def run(raw: dict[str, Any], card: str | None = None, screener: Any = pass_all, **kw: Any) -> ScoreResult:
        name = card or {"zh": "default-zh", "en": "default-us"}[raw["language"][:2]]
        return score_interaction(parse_interaction(raw), cards[name], screener=screener, **kw)

    return run


def item(result: ScoreResult, item_id: str):  # type: ignore[no-untyped-def]
    return next(i for i in result.items if i.item == item_id)
