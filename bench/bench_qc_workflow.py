"""QC workflow and KPI benchmark. One JSON line per measure, each against a baseline timed in the same run:

- `qc_import`: importing N call transcripts of about 2,000 characters (validate, link to the case,
  read the account's balances from the ledger, score, encrypt, store the item findings, audit) into
  embedded SQLite, against scoring the same interactions alone (the machine QC the import wraps);
- `qc_round`: a QC round over those N interactions (candidates, sampling, inspector assignment,
  one review and one audit event per pick), against the pure sampling of the same candidates;
- `kpi_month`: the month's KPIs per collector over M accounts with opening balances, payments and
  write-offs (SQL aggregation + attribution + grouping), against replaying every account's ledger
  entries one account at a time through the ORM (`ledger.replay_balances`, the row-by-row floor of
  the same question).

    python -m bench.bench_qc_workflow [N] [M]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from tests import factories
from tests.quality.review_world import GOOD_ZH, THREAT_ZH

from arrears.analytics import service as analytics
from arrears.core.clock import fixed_clock
from arrears.core.context import AppContext
from arrears.core.db import transaction
from arrears.core.migrate import upgrade
from arrears.ledger import service as ledger
from arrears.portfolio.models import Case
from arrears.quality import interactions as qi
from arrears.quality import review
from arrears.quality.autoscore import compile_scorecard, default_screener, score_interaction
from arrears.quality.qc_settings import QCSettings
from arrears.quality.sampling import Candidate, select_for_review
from arrears.quality.scorecards import load_scorecard
from arrears.security.models import User
from arrears.security.principal import Principal

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
SYSTEM = Principal.system("bench")


def _transcript(n: int) -> list[dict[str, Any]]:
    """About 2,000 characters: the lawful call (balance 10,000.00) repeated, with a threat in every tenth."""
    base = (THREAT_ZH if n % 10 == 0 else []) + GOOD_ZH
    turns: list[dict[str, Any]] = []
    while sum(len(t["text"]) for t in turns) < 2000:
        turns += [dict(t) for t in base]
    return turns


def _world(ctx: AppContext, accounts: int) -> tuple[list[int], list[int]]:
    with transaction(ctx.sessions) as s:
        users = []
        for i in range(5):
            u = User(username=f"c{i}", role="collector", password_hash="x", active=True,
                     created_at=NOW - timedelta(days=400), updated_at=NOW)  # fmt: skip
            s.add(u)
            s.flush()
            users.append(u.id)
        insp = User(
            username="qc", role="qc_inspector", password_hash="x", active=True, created_at=NOW, updated_at=NOW
        )
        s.add(insp)
        cases = []
        for i in range(accounts):
            acc = factories.account(s, ctx, f"B{i:06d}", balances={"principal": 1_000_000}, placement_date=date(2026, 10, 1),
                                    daily_penalty_rate="0")  # fmt: skip
            case = s.scalar(select(Case).where(Case.account_id == acc.id))
            assert case is not None
            case.assigned_to = users[i % len(users)]
            cases.append(case.id)
            if i % 3 == 0:
                ledger.post_payment(s, acc, amount=20_000, payment_ref=f"p{i}", paid_on=date(2026, 11, 10),
                                    posted_at=datetime(2026, 11, 10, 10, tzinfo=UTC))  # fmt: skip
            elif i % 17 == 0:
                ledger.write_off(s, acc, reason="bench", posted_at=datetime(2026, 11, 20, 10, tzinfo=UTC))
    return users, cases


def main(n: int = 300, m: int = 2000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ctx = AppContext(
            database_url=f"sqlite:///{Path(tmp) / 'b.db'}",
            key_file=Path(tmp) / "k.key",
            clock=fixed_clock(NOW),
        )
        upgrade(ctx.engine)
        _, cases = _world(ctx, m)
        raws = [
            {"id": f"call-{i}", "language": "zh-CN", "case_id": cases[i % len(cases)],
             "occurred_at": (NOW - timedelta(hours=1 + i % 48)).isoformat(), "turns": _transcript(i)}
            for i in range(n)
        ]  # fmt: skip
        lines = [qi.parse_import_line(r, k) for k, r in enumerate(raws, 1)]
        chars = sum(sum(len(t["text"]) for t in r["turns"]) for r in raws) / n

        card = compile_scorecard(load_scorecard("default-zh"))
        screener = default_screener()
        t0 = time.perf_counter()
        for line in lines:
            score_interaction(line.interaction, card, screener=screener)
        scoring = time.perf_counter() - t0
        t0 = time.perf_counter()
        with transaction(ctx.sessions) as s:
            qi.import_interactions(s, SYSTEM, lines, keys=ctx.keys, now=NOW, screener=screener)
        importing = time.perf_counter() - t0
        print(json.dumps({"measure": "qc_import", "interactions": n, "mean_chars": round(chars), "seconds": round(importing, 3),
                          "per_second": round(n / importing, 1), "baseline": "scoring alone", "baseline_seconds": round(scoring, 3),
                          "ratio": round(importing / scoring, 2)}))  # fmt: skip

        settings = QCSettings(random_share=0.05, new_staff_share=0.2)
        with ctx.sessions() as s:
            from arrears.quality.models import QcInteraction

            rows = s.scalars(select(QcInteraction)).all()
            candidates = [
                Candidate(
                    r.id, r.collector_id, r.score, r.fatal, r.pass_mark, r.undecided_items, r.min_confidence
                )
                for r in rows
            ]
        t0 = time.perf_counter()
        picks = select_for_review(candidates, review.policy_from(settings), "bench")
        pure = time.perf_counter() - t0
        t0 = time.perf_counter()
        with transaction(ctx.sessions) as s:
            rnd = review.run_round(s, SYSTEM, period_start=date(2026, 11, 20), period_end=date(2026, 11, 28), now=NOW,
                                   seed="bench", settings=settings)  # fmt: skip
        rounding = time.perf_counter() - t0
        print(json.dumps({"measure": "qc_round", "interactions": n, "sampled": rnd.sampled, "seconds": round(rounding, 3),
                          "baseline": "pure sampling", "baseline_seconds": round(pure, 5), "picks": len(picks),
                          "ratio": round(rounding / max(pure, 1e-9), 1)}))  # fmt: skip

        t0 = time.perf_counter()
        with ctx.sessions() as s:
            rows_k = analytics.kpis(
                s, SYSTEM, start=date(2026, 11, 1), end=date(2026, 11, 30), by="collector"
            )
        kpi = time.perf_counter() - t0
        t0 = time.perf_counter()
        with ctx.sessions() as s:
            from arrears.portfolio.models import Account

            for acc_id in s.scalars(select(Account.id)):
                ledger.replay_balances(s, acc_id)
        replay = time.perf_counter() - t0
        print(json.dumps({"measure": "kpi_month", "accounts": m, "collectors": len(rows_k), "seconds": round(kpi, 3),
                          "baseline": "replay every account's ledger through the ORM", "baseline_seconds": round(replay, 3),
                          "ratio": round(kpi / replay, 3)}))  # fmt: skip
        ctx.dispose()


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
