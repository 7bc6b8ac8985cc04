"""`arrears strategy …` and champion/challenger statistics."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from tests import factories
from typer.testing import CliRunner

from arrears.cli import app
from arrears.core.db import transaction
from arrears.ledger import service as ledger
from arrears.strategy.batch import run_batch
from arrears.strategy.experiments import compare, summarise

DEFAULT = Path(__file__).resolve().parents[2] / "src/arrears/strategy/strategies/default.yaml"
BAD = """
name: night-owl
version: "1"
effective_from: 2026-01-01
segments:
  - {id: all, label_zh: 全部, label_en: All, when: {}, path: p}
paths:
  - id: p
    label_zh: 夜间
    label_en: Night
    steps:
      - {day: 0, channel: call, window: ["21:00", "23:00"]}
      - {day: 3, channel: call}
"""


def test_verify_passes_the_default_and_prints_a_counterexample_for_a_bad_one(tmp_path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["strategy", "verify", str(DEFAULT), "--pack", "cn", "--pack", "us"])
    assert ok.exit_code == 0, ok.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, encoding="utf-8")
    res = runner.invoke(app, ["strategy", "verify", str(bad), "--pack", "us", "--json"])
    assert res.exit_code == 1
    body = json.loads(res.stdout)
    rules = {v["rule"] for v in body["violations"]["us"]}
    assert rules == {"US-T1", "US-F2"}
    f2 = next(v for v in body["violations"]["us"] if v["rule"] == "US-F2")
    assert [e["day"] for e in f2["schedule"]] == [0, 3]


def test_activate_refuses_a_failing_strategy(tmp_path) -> None:
    db = f"sqlite:///{tmp_path / 'a.db'}"
    from arrears.core.db import make_engine
    from arrears.core.migrate import upgrade

    upgrade(make_engine(db))
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(app, ["--db", db, "strategy", "activate", str(bad), "--pack", "cn"])
    from arrears.strategy.service import CadenceViolation

    assert isinstance(res.exception, CadenceViolation) and "CN-T1" in res.exception.message
    shown = runner.invoke(app, ["--db", db, "strategy", "show", "--json"])
    assert json.loads(shown.stdout)["name"] == "default"


def test_arm_statistics_worked_example() -> None:
    # Champion: 4 accounts recovering 0, 100, 100, 200 → mean 100, sd 81.65, se² = 1666.67.
    champ = summarise("early", "champion", [0, 100, 100, 200], {"call": 2, "sms": 4}, {"call": 150, "sms": 5})
    assert champ[0].recovered == 400 and champ[0].recovered_per_account == 100.0
    assert champ[0].cost == 2 * 150 + 4 * 5 and champ[0].contacts == 6
    assert champ[0].recovery_rate == 0.75
    # Challenger: 300, 300 → mean 300, se² = 0: Δ = 200 ± 1.96 × sqrt(1666.67) = ± 80.02.
    chall = summarise("early", "challenger", [300, 300], {}, {})
    rows = compare([champ, chall], "champion")
    assert rows[1].diff_vs_champion == 200.0
    assert rows[1].diff_ci95 == (119.98, 280.02)


def test_results_attribute_payments_to_the_arm_of_the_spell(sqlite_ctx) -> None:
    ctx = sqlite_ctx
    with transaction(ctx.sessions) as s:
        a = factories.account(s, ctx, "CC-1", balances={"principal": 100_000}, dpd=5)
    run_batch(ctx, date(2026, 11, 2))
    with transaction(ctx.sessions) as s:
        acct = s.get(type(a), a.id)
        ledger.post_payment(
            s, acct, amount=30_000, payment_ref="CC-P1", paid_on=date(2026, 11, 3), posted_at=ctx.clock()
        )
    runner = CliRunner()
    res = runner.invoke(app, ["--db", ctx.database_url, "strategy", "results", "--json"])
    assert res.exit_code == 0, res.output
    rows = [r for r in json.loads(res.stdout) if r["accounts"]]
    assert len(rows) == 1 and rows[0]["segment"] == "early" and rows[0]["recovered"] == 30_000
