"""Case-work fixtures: the security world (teams, one user per role, accounts A1–A3), a clock the test
can move, and an API client. All times are UTC; the debtors live in Asia/Shanghai (UTC+8)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from arrears.core.context import AppContext
from arrears.web.app import create_app
from tests.conftest import FIXED_NOW
from tests.security.world import World, build_world


class Clock:
    """A clock the test moves; the app reads it on every request."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at

    def advance(self, **kw: Any) -> None:
        self.at = self.at + timedelta(**kw)


@pytest.fixture
def clock(ctx: AppContext) -> Clock:
    c = Clock(FIXED_NOW)
    ctx.clock = c
    return c


@pytest.fixture
def world(ctx: AppContext, clock: Clock) -> World:
    return build_world(ctx)


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.ctx)) as c:
        yield c


class Api:
    """Bearer headers per user, issued again when the clock has moved (tokens are short-lived)."""

    def __init__(self, world: World, client: TestClient) -> None:
        self.world, self.client = world, client
        self._headers: dict[tuple[str, datetime], dict[str, str]] = {}

    def h(self, username: str, **extra: str) -> dict[str, str]:
        key = (username, self.world.ctx.clock())
        if key not in self._headers:
            self._headers[key] = self.world.headers(username)
        return {**self._headers[key], **extra}

    def contact(self, username: str, case_id: int, **body: Any) -> Any:
        return self.client.post(f"/api/v1/cases/{case_id}/contacts", headers=self.h(username), json=body)

    def call(self, username: str, ref: str, outcome: str = "no_answer", **body: Any) -> Any:
        w = self.world
        return self.contact(
            username,
            w.cases[ref],
            channel="call",
            contact_point_id=w.contact_points[ref],
            outcome=outcome,
            **body,
        )


@pytest.fixture
def api(world: World, client: TestClient) -> Api:
    return Api(world, client)
