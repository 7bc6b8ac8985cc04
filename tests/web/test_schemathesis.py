"""Property-based run over the OpenAPI schema: whatever the input, the API never answers 5xx.

Bounded for CI (few examples per operation, SQLite, in-process ASGI); marked `slow`.
Each operation is called with a fresh token of a role the permission table allows for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from arrears.core.clock import fixed_clock
from arrears.core.context import AppContext
from arrears.core.migrate import upgrade
from arrears.security.permissions import PERMISSIONS, allowed
from arrears.security.principal import Principal
from arrears.web.app import API_PREFIX, create_app
from arrears.web.deps import app_routes, route_action
from tests.conftest import FIXED_NOW
from tests.security.world import ROLE_USER, World, build_world

pytestmark = pytest.mark.slow

# Prefer roles that see the most, so generated ids and refs can hit real rows.
EXAMPLES = 10
PREFERENCE = [
    "team_lead",
    "compliance_officer",
    "admin",
    "manager",
    "collector",
    "agency",
    "legal",
    "qc_inspector",
]


@pytest.fixture(scope="module")
def api_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp: Path = tmp_path_factory.mktemp("schemathesis")
    ctx = AppContext(
        database_url=f"sqlite:///{tmp / 'api.db'}",
        key_file=tmp / "keys" / "api.key",
        clock=fixed_clock(FIXED_NOW),
    )
    upgrade(ctx.engine)
    yield build_world(ctx)
    ctx.dispose()


def _user_for(app: object, method: str, path: str) -> str | None:
    for m, p, route in app_routes(app):
        if m == method and p == path:
            action = route_action(route)
            assert action is not None, f"{method} {path} declares no action"
            if PERMISSIONS[action].public:
                return None
            role = next(r for r in PREFERENCE if allowed(Principal(1, "u", r), action))
            return ROLE_USER[role]
    raise AssertionError(f"{method} {path} is in the schema but not in the route table")


def _headers_factory(world: World, username: str | None) -> Callable[[], dict[str, str]]:
    """A fresh token per call: one generated call may be POST /auth/revoke."""
    return (lambda: world.headers(username)) if username else dict


def _fuzz(
    operation: Any, mode: GenerationMode, headers_for: Callable[[], dict[str, str]], failures: list[str]
) -> int:
    calls = 0

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        nonlocal calls
        calls += 1
        response = case.call(headers={**(case.headers or {}), **headers_for()})
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except AssertionError as exc:
            failures.append(f"{case.method} {case.formatted_path}: {exc}"[:500])

    run()
    return calls


def test_no_server_errors(api_world: World) -> None:
    app = create_app(api_world.ctx)
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    failures: list[str] = []
    calls = 0
    for operation in operations:
        assert operation.path.startswith(API_PREFIX)
        headers_for = _headers_factory(api_world, _user_for(app, operation.method.upper(), operation.path))
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            calls += _fuzz(operation, mode, headers_for, failures)
    assert calls >= len(operations) * 2
    assert not failures, "\n".join(failures)
