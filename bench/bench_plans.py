"""Plans and documents benchmark: the nightly follow-up of plans, letter rendering, the case file.

Prints one JSON line per measure, each with a baseline measured in the same run:

- `plans_evaluate`: `evaluate_plans` over N accounts with an active 12-instalment plan and a few
  payments each, against the floor of the same work — one query for every payment of those accounts
  and the pure evaluation in memory;
- `letter_render`: an English formal notice with the embedded CJK font against the same letter in
  Helvetica (what the CJK subset costs); the Chinese letter's time is printed too;
- `casefile`: building one case's archive (gathering, hashing, zipping) against zipping the same
  member bytes alone.

    python -m bench.bench_plans [N]
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import time
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload
from tests import factories

from arrears.core.clock import fixed_clock
from arrears.core.context import AppContext
from arrears.core.db import transaction
from arrears.core.migrate import upgrade
from arrears.documents import letters, pdf
from arrears.documents import service as documents
from arrears.documents.storage import DocumentStore
from arrears.ledger import service as ledger
from arrears.ledger.models import LedgerTransaction
from arrears.legal import casefile
from arrears.plans import schedule, service
from arrears.plans.models import Plan
from arrears.plans.service import PlanRequest
from arrears.portfolio.models import Case
from arrears.security.principal import Principal

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
SYSTEM = Principal.system("bench")


def _timed(fn: Any, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _portfolio(ctx: AppContext, n: int) -> None:
    with transaction(ctx.sessions) as s:
        for i in range(n):
            acc = factories.account(s, ctx, f"B{i:06d}", daily_penalty_rate="0")
            case = s.scalar(select(Case).where(Case.account_id == acc.id))
            assert case is not None
            req = PlanRequest("instalment", "bench", count=12, first_due=date(2026, 12, 1), grace_days=5)
            plan = service.create_plan(s, SYSTEM, case.id, req, at=NOW).plan
            for k in range(i % 4):  # 0–3 payments, on time
                line = plan.instalments[k]
                ledger.post_payment(s, acc, amount=line.amount, payment_ref=f"{acc.id}-{k}", paid_on=line.due_date,
                                    posted_at=NOW)  # fmt: skip


def bench_evaluate(ctx: AppContext, n: int) -> dict[str, Any]:
    as_of = date(2027, 2, 20)  # three instalments due: some plans on track, others broken

    def real() -> None:
        with ctx.sessions() as s:
            service.evaluate_plans(s, as_of=as_of, at=NOW)
            s.rollback()

    def floor() -> None:
        with ctx.sessions() as s:
            plans = s.scalars(
                select(Plan).options(selectinload(Plan.instalments)).where(Plan.status == "active")
            ).all()
            lines = {p.id: service.plan_schedule(p) for p in plans}
            pays: dict[int, list[schedule.Payment]] = {}
            for acc, d, a in s.execute(
                select(
                    LedgerTransaction.account_id, LedgerTransaction.effective_date, LedgerTransaction.amount
                ).where(LedgerTransaction.kind == "payment")
            ):
                pays.setdefault(acc, []).append(schedule.Payment(d, a))
            for p in plans:
                schedule.evaluate(lines[p.id], pays.get(p.account_id, []), as_of, p.grace_days)

    t_real, t_floor = _timed(real), _timed(floor)
    with ctx.sessions() as s:
        changed = len(service.evaluate_plans(s, as_of=as_of, at=NOW))
        s.rollback()
    return {"measure": "plans_evaluate", "plans": n, "changed": changed, "seconds": round(t_real, 3), "baseline_seconds": round(t_floor, 3),
            "ratio": round(t_real / t_floor, 2), "per_plan_ms": round(1000 * t_real / n, 2)}  # fmt: skip


FACTS = letters.AccountFacts(
    creditor_name="BANK1 银行", letterhead=letters.Letterhead(phone="400-800-1234"), account_ref="A1", debtor_name="张三",
    product="consumer_loan", currency="CNY", contract_date=date(2025, 3, 1), days_past_due=45,
    balances={"principal": 1_000_000, "interest": 12_345, "penalty": 2_000, "fees": 0, "credit": 0}, as_of=NOW.date(),
)  # fmt: skip


def bench_render() -> dict[str, Any]:
    en = letters.formal_notice(FACTS, "en", issued=NOW.date(), deadline=NOW.date() + timedelta(days=15))
    zh = letters.formal_notice(FACTS, "zh", issued=NOW.date(), deadline=NOW.date() + timedelta(days=15))
    reps = 20
    t_cjk = _timed(lambda: [pdf.render(en) for _ in range(reps)], 2) / reps
    t_zh = _timed(lambda: [pdf.render(zh) for _ in range(reps)], 2) / reps
    original = pdf.register_cjk_font
    pdf.register_cjk_font = lambda path=None: "Helvetica"  # type: ignore[assignment,misc]
    try:
        en_ascii = letters.formal_notice(
            letters.AccountFacts(**{**FACTS.__dict__, "creditor_name": "BANK1", "debtor_name": "Zhang San"}),
            "en", issued=NOW.date(), deadline=NOW.date() + timedelta(days=15),
        )  # fmt: skip
        t_base = _timed(lambda: [pdf.render(en_ascii) for _ in range(reps)], 2) / reps
    finally:
        pdf.register_cjk_font = original  # type: ignore[assignment]
    return {"measure": "letter_render", "en_cjk_ms": round(1000 * t_cjk, 1), "zh_cjk_ms": round(1000 * t_zh, 1),
            "baseline_en_helvetica_ms": round(1000 * t_base, 1), "ratio": round(t_cjk / t_base, 2)}  # fmt: skip


def bench_casefile(ctx: AppContext, store: DocumentStore) -> dict[str, Any]:
    with transaction(ctx.sessions) as s:
        case = s.scalar(select(Case).order_by(Case.id).limit(1))
        assert case is not None
        for k in range(10):
            documents.store_document(s, store, SYSTEM, case=case, kind="attachment", data=bytes([k]) * 200_000,
                                     file_name=f"scan{k}.pdf", content_type="application/pdf", at=NOW)  # fmt: skip
        case_id = case.id
    with ctx.sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None
        built = casefile.build_casefile(s, store, SYSTEM, case, at=NOW)
        with zipfile.ZipFile(io.BytesIO(built.data)) as zf:
            members = {n: zf.read(n) for n in zf.namelist()}
        t_real = _timed(lambda: casefile.build_casefile(s, store, SYSTEM, case, at=NOW), 3)

        def zip_only() -> None:
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for name, data in members.items():
                    zf.writestr(name, data)

        t_base = _timed(zip_only, 3)
    return {"measure": "casefile", "members": len(members), "bytes": len(built.data), "seconds": round(t_real, 3),
            "baseline_seconds": round(t_base, 3), "ratio": round(t_real / t_base, 2)}  # fmt: skip


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ctx = AppContext(
            database_url=f"sqlite:///{root / 'bench.db'}", key_file=root / "k.key", clock=fixed_clock(NOW)
        )
        upgrade(ctx.engine)
        with transaction(ctx.sessions) as s:
            factories.creditor(s, ctx)
            documents.set_letterhead(s, "bench", "BANK1", phone="400-800-1234", at=NOW)
        t0 = time.perf_counter()
        _portfolio(ctx, n)
        print(json.dumps({"measure": "setup", "plans": n, "seconds": round(time.perf_counter() - t0, 1)}))
        print(json.dumps(bench_evaluate(ctx, n)))
        print(json.dumps(bench_render()))
        print(json.dumps(bench_casefile(ctx, DocumentStore(root / "docs"))))
        ctx.dispose()


if __name__ == "__main__":
    main()
