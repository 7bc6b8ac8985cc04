from __future__ import annotations

from pathlib import Path

import pytest

from arrears.core.context import AppContext
from arrears.documents.storage import DocumentStore
from tests.plans import helpers
from tests.security.world import World, build_world


@pytest.fixture
def world(ctx: AppContext, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> World:
    monkeypatch.setenv("ARREARS_DOCUMENTS_DIR", str(tmp_path / "documents"))
    monkeypatch.setenv("ARREARS_DOCUMENTS_MAX_BYTES", str(64 * 1024))
    w = build_world(ctx)
    helpers.set_letterhead(ctx)
    return w


@pytest.fixture
def docs(tmp_path: Path) -> DocumentStore:
    return helpers.store(tmp_path)
