"""A batch killed with SIGKILL in the middle of its write-back leaves no partial state; a rerun
gives exactly what one clean run gives."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from arrears.core.db import make_engine
from arrears.core.migrate import upgrade
from arrears.simulation.ageing_portfolio import load_sqlite, synthetic

ROOT = Path(__file__).resolve().parents[2]


def _state(db: Path) -> list:
    con = sqlite3.connect(db)
    try:
        out = []
        for sql in (
            "SELECT id, penalty, days_past_due, bucket, status, accrued_through FROM accounts "
            "JOIN account_standing ON account_id = id ORDER BY id",
            "SELECT account_id, bucket, entered_on, left_on FROM bucket_history ORDER BY account_id, entered_on",
            "SELECT account_id, segment, arm, path, entered_on, left_on FROM treatment_spells ORDER BY account_id",
            "SELECT account_id, action, channel, allowed, rules FROM planned_contacts ORDER BY account_id",
            "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM ledger_entries",
            "SELECT as_of, status FROM batch_runs ORDER BY id",
        ):
            out.append(con.execute(sql).fetchall())
        return out
    finally:
        con.close()


# The CLI, with the merge paused once everything is written but nothing committed: the test kills it
# there, so the kill lands inside the one write transaction every time.
DRIVER = """
import pathlib, sys, time
from arrears.strategy import batch
original = batch._write_plan

def paused(conn, *args, **kwargs):
    original(conn, *args, **kwargs)
    pathlib.Path(sys.argv[1]).touch()
    time.sleep(600)

batch._write_plan = paused
from arrears.cli import app
app(sys.argv[2:])
"""


def _batch(db: Path, pause_marker: Path | None = None) -> subprocess.Popen:
    env = {**os.environ, "ARREARS_KEY_FILE": str(db.parent / "k.key"), "PYTHONPATH": str(ROOT)}
    args = ["--db", f"sqlite:///{db}", "batch", "run", "--as-of", "2026-11-28", "--json"]
    command = ["-c", DRIVER, str(pause_marker), *args] if pause_marker else ["-m", "arrears.cli", *args]
    return subprocess.Popen(
        [sys.executable, *command], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


@pytest.mark.slow
def test_kill_9_during_write_back_then_rerun_equals_one_clean_run(tmp_path) -> None:
    base = tmp_path / "base.db"
    upgrade(make_engine(f"sqlite:///{base}"))
    accounts, schedule = synthetic(15_000, seed=3)
    load_sqlite(base, accounts, schedule)
    clean, crashed = tmp_path / "clean.db", tmp_path / "crashed.db"
    shutil.copy(base, clean)
    shutil.copy(base, crashed)

    marker = tmp_path / "merged-not-committed"
    proc = _batch(crashed, marker)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None and not marker.exists():
        time.sleep(0.01)
    if not marker.exists():
        proc.kill()
        _out, err = proc.communicate(timeout=60)
        pytest.fail(f"the batch never reached its merge (rc {proc.returncode}): {err.decode()[-2000:]}")
    proc.send_signal(signal.SIGKILL)  # every row of the merge is written, the transaction is open
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert _state(crashed)[-1] == []  # no run recorded, nothing half-written
    assert _state(crashed)[:5] == _state(base)[:5]
    # the killed batch could not delete its scratch staging files; the next batch sweeps them away
    # (a batch in another test worker may already have: `test_stale_staging_is_swept` is exact)
    stale = f"arrears-staging-{proc.pid}-*"

    for db in (crashed, clean):
        p = _batch(db)
        _out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    assert _state(crashed) == _state(clean)
    assert not list(Path(tempfile.gettempdir()).glob(stale))
