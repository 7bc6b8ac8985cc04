"""Costs of the security layer, each against a baseline measured in the same run (ratios).

    python -m bench.bench_security [--events 2000] [--requests 300]

Prints JSON:
- `audit_append`: N audit events, one transaction each (lock, read head, hash, insert) vs N inserts
  of the same payload into an unchained table, one transaction each;
- `audit_verify_events_per_s`: walking and re-hashing the chain;
- `authenticated_request`: GET /api/v1/me with a bearer token vs GET /healthz (no auth, no DB);
- `scoped_list`: GET /api/v1/accounts as a collector (scope subquery) vs as a manager (no scope);
- `sign_in_ms`: one argon2id verify, the deliberate cost of a password sign-in.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from arrears.core.clock import utc_now
from arrears.core.context import AppContext
from arrears.core.db import transaction
from arrears.core.migrate import upgrade
from arrears.security import audit, passwords
from arrears.security.principal import Principal


def _timed(fn: Any, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    return time.perf_counter() - t0


def bench_audit(ctx: AppContext, n: int) -> dict[str, Any]:
    actor = Principal(1, "bench", "collector")
    with ctx.engine.begin() as conn:
        conn.execute(text("CREATE TABLE plain_events (id INTEGER PRIMARY KEY, at TEXT, payload TEXT)"))

    def chained(i: int) -> None:
        with transaction(ctx.sessions) as s:
            audit.record(s, actor, "account.adjust", "account", i, {"fees": i}, {"fees": 0}, at=utc_now())

    def plain(i: int) -> None:
        with transaction(ctx.sessions) as s:
            payload = json.dumps({"action": "account.adjust", "entity_id": i, "before": {"fees": i}})
            s.execute(
                text("INSERT INTO plain_events (at, payload) VALUES (:a, :p)"),
                {"a": str(utc_now()), "p": payload},
            )

    base = _timed(plain, n)
    chain = _timed(chained, n)
    with ctx.sessions() as s:
        t0 = time.perf_counter()
        result = audit.verify(s)
        verify_s = time.perf_counter() - t0
    assert result.ok and result.checked == n
    return {
        "audit_append": {
            "events": n,
            "chained_s": round(chain, 4),
            "baseline_s": round(base, 4),
            "ratio": round(chain / base, 2),
        },
        "audit_verify_events_per_s": round(n / verify_s),
    }


def bench_http(ctx: AppContext, n: int) -> dict[str, Any]:
    from fastapi.testclient import TestClient
    from tests.security.world import build_world

    world = build_world(ctx)
    from arrears.web.app import create_app

    client = TestClient(create_app(ctx))
    me = world.headers("c_east")
    manager = world.headers("manager")

    def run(path: str, headers: dict[str, str]) -> float:
        for _ in range(20):  # warm-up
            assert client.get(path, headers=headers).status_code == 200
        t0 = time.perf_counter()
        for _ in range(n):
            client.get(path, headers=headers)
        return time.perf_counter() - t0

    health = run("/healthz", {})
    authed = run("/api/v1/me", me)
    scoped = run("/api/v1/accounts", me)
    unscoped = run("/api/v1/accounts", manager)
    return {
        "authenticated_request": {
            "requests": n,
            "me_s": round(authed, 4),
            "healthz_s": round(health, 4),
            "ratio": round(authed / health, 2),
        },
        "scoped_list": {
            "requests": n,
            "collector_s": round(scoped, 4),
            "manager_s": round(unscoped, 4),
            "ratio": round(scoped / unscoped, 2),
        },
    }


def bench_sign_in() -> float:
    h = passwords.hash_password("bench-password-1")
    t0 = time.perf_counter()
    for _ in range(5):
        passwords.verify_password(h, "bench-password-1")
    return (time.perf_counter() - t0) / 5 * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ctx = AppContext(database_url=f"sqlite:///{Path(tmp) / 'bench.db'}", key_file=Path(tmp) / "bench.key")
        upgrade(ctx.engine)
        out: dict[str, Any] = {"bench": "security", "database": "sqlite"}
        out.update(bench_audit(ctx, args.events))
        out.update(bench_http(ctx, args.requests))
        out["sign_in_ms"] = round(bench_sign_in(), 1)
        ctx.dispose()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
