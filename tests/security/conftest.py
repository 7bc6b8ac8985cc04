from __future__ import annotations

import pytest

from arrears.core.context import AppContext
from tests.security.world import World, build_world


@pytest.fixture
def world(ctx: AppContext) -> World:
    return build_world(ctx)
