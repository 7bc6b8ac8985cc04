"""The nightly snapshot read on SQLite by a child process through ADBC (`read_snapshot`): the same
tables as the stdlib `sqlite3` read in this process, the same committed data, and a logged fall-back
to the stdlib read when the child fails."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pyarrow as pa
import pytest
from bench.bench_batch import DAY1, DAY2, context, load, portfolio
from sqlalchemy.engine import Engine
from tests.strategy.test_batch_baseline import QUERIES, _state

from arrears.core import columnar
from arrears.core.columnar import read_arrow, read_snapshot
from arrears.core.db import make_engine
from arrears.core.migrate import upgrade
from arrears.strategy.batch import run_batch

ROWS = 3_000
EDGE = {
    # REAL values whose text differs between SQLite 3.40 and newer libraries (15 significant digits
    # against the shortest round trip), integers and text in the same NUMERIC column, a column NULL
    # for its first 2,000 rows (past the driver's default type inference), one NULL throughout.
    "mixed": """
SELECT id, CAST(rate AS TEXT) AS rate, late, never, name, day, amount, ratio
FROM t ORDER BY id""",
    "empty": "SELECT id, CAST(rate AS TEXT) AS rate, name FROM t WHERE id < 0",
    "grouped": "SELECT name, COUNT(*) AS n, SUM(amount) AS amount FROM t GROUP BY name ORDER BY name",
}
RATES = [1 / 3, 0.1 + 0.2, 1e-7, 0.00033, -0.0, 0.0, 2.5e300, 0, "0.0005", None, 123456789.123456789]


def _edge_db(path: Path) -> Engine:
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, rate NUMERIC(12, 8), late TEXT, never TEXT, name TEXT, "
        "day DATE, amount BIGINT, ratio REAL)"
    )
    con.executemany(
        "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                i,
                RATES[i % len(RATES)],
                None if i <= 2_000 else f"late-{i}",
                None,
                ["催收", "Zoë", "plain", ""][i % 4],
                f"2026-11-{1 + i % 28:02d}",
                i * 1_000_003 if i % 5 else None,
                i / 7,
            )
            for i in range(1, ROWS + 1)
        ],
    )
    con.commit()
    con.close()
    return make_engine(f"sqlite:///{path}")


def _read_both(engine: Engine, queries: dict[str, str]) -> tuple[columnar.Snapshot, dict[str, pa.Table]]:
    with read_snapshot(engine, queries) as snapshot:
        tables = snapshot.tables()
    return snapshot, tables


def test_child_read_equals_the_stdlib_read(tmp_path) -> None:
    engine = _edge_db(tmp_path / "edge.db")
    snapshot, tables = _read_both(engine, EDGE)
    assert snapshot.reader == "adbc-child", snapshot.fallback_reason
    for name, sql in EDGE.items():
        expected = read_arrow(engine, sql)
        assert tables[name].schema == expected.schema, name
        assert tables[name].equals(expected), name
    mixed = tables["mixed"]
    assert mixed.num_rows == ROWS and mixed["never"].type == pa.null()
    assert set(mixed["rate"].to_pylist()) >= {"0.333333333333333", "0.0005", "0", None}
    assert mixed["late"].null_count == 2_000
    engine.dispose()


def test_child_sees_what_is_committed_and_nothing_uncommitted(tmp_path) -> None:
    engine = _edge_db(tmp_path / "edge.db")
    with engine.connect() as conn:  # the batch's own pool holds a connection open, as here
        conn.exec_driver_sql("SELECT 1")
    writer = sqlite3.connect(tmp_path / "edge.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE t SET name = 'pending' WHERE id = 1")
    query = {"one": "SELECT name FROM t WHERE id = 1"}
    snapshot, tables = _read_both(engine, query)
    assert snapshot.reader == "adbc-child"
    assert tables["one"]["name"].to_pylist() == ["Zoë"]  # a write lock held elsewhere does not block it
    writer.execute("COMMIT")
    writer.close()
    snapshot, tables = _read_both(engine, query)
    assert tables["one"]["name"].to_pylist() == ["pending"]
    engine.dispose()


def test_a_failing_child_falls_back_to_the_stdlib_read_with_a_logged_reason(
    tmp_path, monkeypatch, caplog
) -> None:
    engine = _edge_db(tmp_path / "edge.db")
    monkeypatch.setattr(columnar, "_CHILD", "import sys; sys.exit('reader broke')")
    with caplog.at_level(logging.WARNING, logger="arrears.core.columnar"):
        snapshot, tables = _read_both(engine, EDGE)
    assert snapshot.reader == "sqlite3" and "reader broke" in (snapshot.fallback_reason or "")
    assert "reader broke" in caplog.text
    for name, sql in EDGE.items():
        assert tables[name].equals(read_arrow(engine, sql))
    engine.dispose()


def test_a_text_conversion_the_child_cannot_reproduce_is_read_here(tmp_path, caplog) -> None:
    engine = _edge_db(tmp_path / "edge.db")
    query = {"joined": "SELECT id, 'r' || rate AS r FROM t ORDER BY id"}
    with caplog.at_level(logging.WARNING, logger="arrears.core.columnar"):
        snapshot, tables = _read_both(engine, query)
    assert snapshot.reader == "sqlite3" and "text" in (snapshot.fallback_reason or "")
    assert tables["joined"].equals(read_arrow(engine, query["joined"]))
    engine.dispose()


def test_in_memory_database_reads_in_process(caplog) -> None:
    engine = make_engine("sqlite://")
    with caplog.at_level(logging.WARNING, logger="arrears.core.columnar"):
        snapshot, tables = _read_both(engine, {"one": "SELECT 1 AS x"})
    assert snapshot.reader == "sqlite3" and snapshot.fallback_reason is None and not caplog.text
    assert tables["one"]["x"].to_pylist() == [1]


@pytest.mark.slow
def test_batch_with_the_child_reader_equals_the_batch_with_the_stdlib_reader(tmp_path, monkeypatch) -> None:
    p = portfolio(400, seed=5)
    states, readers = [], []
    for name in ("child", "stdlib"):
        if name == "stdlib":
            monkeypatch.setattr(columnar, "_CHILD", "import sys; sys.exit('forced')")
        db = tmp_path / f"{name}.db"
        ctx = context(f"sqlite:///{db}", tmp_path / "k.key")
        upgrade(ctx.engine)
        load(db, p, ctx.keys)
        con = sqlite3.connect(db)  # rates that render differently as text across SQLite versions
        con.execute("UPDATE accounts SET daily_penalty_rate = 1.0 / 3000 WHERE id % 11 = 0")
        con.execute("UPDATE accounts SET daily_penalty_rate = 0 WHERE id % 13 = 0")
        con.commit()
        con.close()
        for day in (DAY1, DAY2):
            readers.append(run_batch(ctx, day).snapshot_reader)
        ctx.dispose()
        states.append(_state(db))
    assert readers == ["adbc-child", "adbc-child", "sqlite3", "sqlite3"]
    child, stdlib = states
    assert len(child["planned contacts"]) > 100
    for name in QUERIES:
        assert child[name] == stdlib[name], name
