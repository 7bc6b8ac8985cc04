"""Costs of case work, each against a baseline measured in the same run (ratios).

    python -m bench.bench_cases [--cases 300] [--contacts 6] [--calls 100]

One collector holds `--cases` open cases, each debtor with a phone and `--contacts` logged contacts
over the last three weeks (one account in twenty disputed, one in ten with a promise due today).
Prints JSON:
- `queue`: GET /queue's work (promise refresh, callbacks, tiers, the guard decided for every case's
  next contact with the full history) vs the same cases read and sorted by priority in one query;
- `log_contact`: a manual call logged through the service (guard with the debtor's history, decision
  row, contact, audit, assessment) vs a bare insert of the same contact row, one transaction each;
- `history_loader`: the whole contact log as the nightly pre-check's history frame, with plain
  contact values (decrypted) and without, vs a plain select of the same rows.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from arrears.cases.history import contact_history
from arrears.cases.models import Contact, ContactEvent, Promise
from arrears.cases.schemas import ContactIn
from arrears.cases.service import log_contact
from arrears.cases.views import build_queue
from arrears.core.clock import fixed_clock
from arrears.core.context import AppContext
from arrears.core.db import transaction
from arrears.core.migrate import upgrade
from arrears.portfolio.models import Account, Case, ContactPoint, Debtor
from arrears.security.models import User
from arrears.security.principal import Principal

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def build(
    ctx: AppContext, n_cases: int, per_case: int, seed: int = 7
) -> tuple[Principal, list[tuple[int, int]]]:
    """Cases for one collector; returns the principal and (case id, phone point id) pairs."""
    from tests import factories

    rng = random.Random(seed)
    keys = ctx.keys
    pairs: list[tuple[int, int]] = []
    with transaction(ctx.sessions) as s:
        user = User(username="bench_collector", role="collector", password_hash="x", active=True,
                    created_at=NOW, updated_at=NOW)  # fmt: skip
        s.add(user)
        s.flush()
        principal = Principal.of(user)
        for i in range(n_cases):
            acc = factories.account(s, ctx, f"B{i:05d}", dpd=rng.randint(5, 200))
            case = s.query(Case).filter_by(account_id=acc.id).one()
            case.assigned_to, case.priority = user.id, round(rng.uniform(0, 5000), 4)
            phone = f"139{rng.randint(0, 99_999_999):08d}"
            point = ContactPoint(debtor_id=acc.debtor_id, kind="phone", label="mobile", value_enc=keys.encrypt(phone),
                                 value_bidx=keys.blind_index("phone", phone), timezone="Asia/Shanghai",
                                 created_at=NOW)  # fmt: skip
            s.add(point)
            s.flush()
            pairs.append((case.id, point.id))
            for k in range(per_case):
                at = NOW - timedelta(days=rng.randint(1, 21), hours=rng.randint(0, 6))
                outcome = rng.choice(["no_answer", "no_answer", "busy", "right_party_contact", "voicemail"])
                s.add(
                    Contact(case_id=case.id, account_id=acc.id, debtor_id=acc.debtor_id, at=at, direction="outbound",
                            channel="call", party="debtor", person=str(acc.debtor_id), contact_point_id=point.id,
                            outcome=outcome, guard_outcome="conversation" if outcome == "right_party_contact"
                            else outcome, consent=False, recorded_by=user.id, recorded_by_name=user.username,
                            created_at=at, callback_at=at + timedelta(days=30) if k == 0 and i % 7 == 0 else None)
                )  # fmt: skip
            if i % 20 == 0:
                s.add(ContactEvent(case_id=case.id, account_id=acc.id, debtor_id=acc.debtor_id,
                                   person=str(acc.debtor_id), kind="dispute", at=NOW - timedelta(days=2),
                                   recorded_by_name="bench"))  # fmt: skip
            if i % 10 == 5:
                s.add(Promise(case_id=case.id, account_id=acc.id, amount=10_000, currency="CNY",
                              promised_on=date(2026, 11, 25), due_date=date(2026, 11, 28), grace_days=2,
                              status="open", paid_amount=0, created_by_name="bench", created_at=NOW))  # fmt: skip
    return principal, pairs


def _best(fn: Any, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_queue(ctx: AppContext, principal: Principal, reps: int) -> dict[str, Any]:
    def queue() -> None:
        with ctx.sessions() as s:
            out = build_queue(s, principal, keys=ctx.keys, now=NOW)
            s.rollback()
            assert out.total + len(out.blocked) > 0

    def baseline() -> None:
        with ctx.sessions() as s:
            rows = s.execute(
                select(Case, Account, Debtor)
                .join(Account, Account.id == Case.account_id)
                .join(Debtor, Debtor.id == Account.debtor_id)
                .where(Case.assigned_to == principal.user_id, Case.status == "open")
                .order_by(Case.priority.desc(), Case.id)
            ).all()
            assert rows

    queue()  # warm-up
    baseline()
    q, b = _best(queue, reps), _best(baseline, reps)
    return {"queue": {"queue_s": round(q, 4), "baseline_s": round(b, 4), "ratio": round(q / b, 1)}}


def bench_log_contact(
    ctx: AppContext, principal: Principal, pairs: list[tuple[int, int]], n: int
) -> dict[str, Any]:
    chosen = [p for i, p in enumerate(pairs) if i % 20 != 0][:n]  # not the disputed ones

    t0 = time.perf_counter()
    for case_id, point in chosen:
        with transaction(ctx.sessions) as s:
            body = ContactIn(channel="call", contact_point_id=point, outcome="no_answer")
            r = log_contact(s, principal, case_id, body, keys=ctx.keys, now=NOW)
            assert not r.blocked, r.decision
    logged = time.perf_counter() - t0

    t0 = time.perf_counter()
    for case_id, point in chosen:
        with transaction(ctx.sessions) as s:
            case = s.get(Case, case_id)
            acc = s.get(Account, case.account_id)  # type: ignore[union-attr]
            assert acc is not None
            s.add(Contact(case_id=case_id, account_id=acc.id, debtor_id=acc.debtor_id, at=NOW, direction="outbound",
                          channel="call", party="debtor", person=str(acc.debtor_id), contact_point_id=point,
                          outcome="no_answer", guard_outcome="no_answer", consent=False,
                          recorded_by=principal.user_id, recorded_by_name=principal.username, created_at=NOW))  # fmt: skip
    bare = time.perf_counter() - t0
    return {
        "log_contact": {
            "calls": len(chosen),
            "per_call_ms": round(logged / len(chosen) * 1000, 2),
            "baseline_per_call_ms": round(bare / len(chosen) * 1000, 2),
            "ratio": round(logged / bare, 1),
        }
    }


def bench_history(ctx: AppContext, reps: int) -> dict[str, Any]:
    day = NOW.date()
    with ctx.engine.connect() as conn:
        rows = len(conn.execute(select(Contact.id)).all())

        def plain() -> None:
            conn.execute(select(Contact.__table__)).all()

        def with_keys() -> None:
            contact_history(conn, day, ctx.keys)

        def without_keys() -> None:
            contact_history(conn, day)

        plain()
        base = _best(plain, reps)
        keyed = _best(with_keys, reps)
        bare = _best(without_keys, reps)
        frame = contact_history(conn, day, ctx.keys)
    return {
        "history_loader": {
            "contact_rows": rows,
            "frame_rows": frame.height,
            "with_keys_s": round(keyed, 4),
            "without_keys_s": round(bare, 4),
            "baseline_select_s": round(base, 4),
            "ratio_with_keys": round(keyed / base, 1),
            "ratio_without_keys": round(bare / base, 1),
            "rows_per_s_with_keys": round(frame.height / keyed),
        }
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--contacts", type=int, default=6)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ctx = AppContext(
            database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
            key_file=Path(tmp) / "bench.key",
            clock=fixed_clock(NOW),
        )
        upgrade(ctx.engine)
        t0 = time.perf_counter()
        principal, pairs = build(ctx, args.cases, args.contacts)
        out: dict[str, Any] = {
            "bench": "cases",
            "database": "sqlite",
            "cases": args.cases,
            "contacts_per_case": args.contacts,
            "setup_s": round(time.perf_counter() - t0, 1),
        }
        out.update(bench_queue(ctx, principal, args.reps))
        out.update(bench_history(ctx, args.reps))
        out.update(bench_log_contact(ctx, principal, pairs, args.calls))
        ctx.dispose()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
