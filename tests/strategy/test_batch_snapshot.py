"""The nightly snapshot read on SQLite by a child process through ADBC (`read_snapshot`): the same
tables as the stdlib `sqlite3` read in this process, the same committed data, and a logged fall-back
to the stdlib read when the child fails. Likewise the staging rows written by a child into a scratch
file (`ScratchStaging`): the same values and storage classes as TEMP tables, and a logged fall-back."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy.engine import Engine
from tests.strategy.test_batch_baseline import QUERIES, _state

from arrears.core import columnar
from arrears.core.columnar import ScratchStaging, read_arrow, read_snapshot, stage_temp
from arrears.core.db import make_engine
from arrears.core.migrate import upgrade
from arrears.simulation.batch_portfolio import DAY1, DAY2, context, load, portfolio
from arrears.strategy import batch
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


def test_a_hung_reader_is_killed_and_the_read_done_here(tmp_path, monkeypatch, caplog) -> None:
    # a child that neither answers nor exits: after the timeout it is killed and the stdlib read runs
    engine = _edge_db(tmp_path / "edge.db")
    monkeypatch.setattr(columnar, "CHILD_TIMEOUT_S", 0.5)
    monkeypatch.setattr(columnar, "_CHILD", "import time; time.sleep(60)")
    with caplog.at_level(logging.WARNING, logger="arrears.core.columnar"):
        snapshot, tables = _read_both(engine, EDGE)
    assert snapshot.reader == "sqlite3"
    assert snapshot.fallback_reason == "TimeoutError: no answer from the child process in 0.5 s"
    assert "no answer from the child process" in caplog.text
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


STAGED = {
    # sorted unique ids (the rowid), every Arrow type the batch stages, NULLs in each
    "keyed": pa.table(
        {
            "id": pa.array(range(1, 2_001), pa.int64()),
            "n8": pa.array([i % 3 if i % 7 else None for i in range(2_000)], pa.int8()),
            "n32": pa.array([None if i % 5 == 0 else i * 1_000 for i in range(2_000)], pa.int32()),
            "big": pa.array([(2**62 + i) * (-1) ** i for i in range(2_000)], pa.int64()),
            "ratio": pa.array([None if i % 9 == 0 else i / 7 for i in range(2_000)], pa.float64()),
            "text": pa.array([["催收", "Zoë", "", None][i % 4] for i in range(2_000)], pa.string()),
            "flag": pa.array([None if i % 11 == 0 else i % 2 == 0 for i in range(2_000)], pa.bool_()),
            "day": pa.array(
                [date(2026, 11, 1 + i % 28) if i % 3 else None for i in range(2_000)], pa.date32()
            ),
        }
    ),
    # ids neither sorted nor unique: an index instead of the rowid
    "loose": pa.table({"id": pa.array([3, 1, 2, 2], pa.int64()), "v": pa.array(["c", "a", "b", "b2"])}),
    "empty": pa.table({"id": pa.array([], pa.int64()), "v": pa.array([], pa.string())}),
}


def _staged_rows(conn: sqlite3.Connection, table: str) -> list[tuple[object, ...]]:
    cols = [r[1] for r in conn.execute(f"PRAGMA {table.split('.')[0]}.table_info({table.split('.')[1]})")]
    select = ", ".join(f'"{c}", typeof("{c}")' for c in cols)
    return conn.execute(f"SELECT {select} FROM {table} ORDER BY rowid").fetchall()


def _stage_both(tmp_path: Path) -> tuple[ScratchStaging, dict[str, list[object]], dict[str, list[object]]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'live.db'}")
    with ScratchStaging(tuple(STAGED)) as staging:
        first, *rest = STAGED
        staging.add(first, STAGED[first])  # one before the merge connection attaches, the rest after
        with engine.connect() as conn:
            staging.attach(conn)
            for name in rest:
                staging.add(name, STAGED[name])
            with conn.begin():
                raw = conn.connection.driver_connection
                sql_names = {name: staging.wait(name, conn) for name in STAGED}
                child = {name: _staged_rows(raw, sql_names[name]) for name in STAGED}
                for name, data in STAGED.items():
                    stage_temp(conn, "ref_" + name, data)
                temp = {name: _staged_rows(raw, "temp.ref_" + name) for name in STAGED}
                schema = sql_names["loose"].split(".")[0]
                indexes = {r[1] for r in raw.execute(f"PRAGMA {schema}.index_list(loose)")}
            staging.detach(conn)
            attached = {r[1] for r in conn.exec_driver_sql("PRAGMA database_list")}
            temps = {
                r[0] for r in conn.exec_driver_sql("SELECT name FROM temp.sqlite_master WHERE type = 'table'")
            }
        scratch = staging.path("keyed")
    assert attached == {"main", "temp"}  # detached, and the fall-back's TEMP tables dropped:
    assert temps == {"ref_" + name for name in STAGED}  # only the reference tables are left
    assert not scratch.exists() and not scratch.parent.exists()  # the scratch files go with it
    assert "ix_loose_id" in indexes
    engine.dispose()
    return staging, child, temp


def test_child_staging_equals_temp_staging(tmp_path) -> None:
    staging, child, temp = _stage_both(tmp_path)
    assert staging.writer == "adbc-child", staging.fallback_reason
    for name in STAGED:
        assert child[name] == temp[name], name
    assert len(child["keyed"]) == 2_000 and child["empty"] == []
    first = child["keyed"][1]  # (value, storage class) pairs: text dates, 0/1 booleans, REALs
    assert first[-2:] == ("2026-11-02", "text") and first[-4:-2] == (0, "integer")


def test_a_failing_staging_child_falls_back_to_temp_tables_with_a_logged_reason(
    tmp_path, monkeypatch, caplog
) -> None:
    monkeypatch.setattr(columnar, "_WRITER", "import sys; sys.stdin.buffer.read(8); sys.exit('writer broke')")
    with caplog.at_level(logging.WARNING, logger="arrears.core.columnar"):
        staging, child, temp = _stage_both(tmp_path)
    assert staging.writer == "sqlite3" and "writer broke" in (staging.fallback_reason or "")
    assert "writer broke" in caplog.text
    for name in STAGED:
        assert child[name] == temp[name], name


def test_a_hung_staging_child_is_killed_and_the_tables_staged_here(tmp_path, monkeypatch, caplog) -> None:
    # reads its input but never acknowledges nor exits: after the timeout, TEMP tables as on a failure
    monkeypatch.setattr(columnar, "CHILD_TIMEOUT_S", 0.5)
    monkeypatch.setattr(
        columnar,
        "_WRITER",
        "import sys\nwhile sys.stdin.buffer.read(65536): pass\nimport time; time.sleep(60)",
    )
    with caplog.at_level(logging.WARNING, logger="arrears.core.columnar"):
        staging, child, temp = _stage_both(tmp_path)
    assert staging.writer == "sqlite3"
    assert staging.fallback_reason == "TimeoutError: no answer from the child process in 0.5 s"
    for name in STAGED:
        assert child[name] == temp[name], name


@pytest.mark.slow
def test_batch_with_the_child_reader_equals_the_batch_with_the_stdlib_reader(tmp_path, monkeypatch) -> None:
    p = portfolio(400, seed=5)
    states, readers = [], []
    for name in ("child", "stdlib", "temp-staging", "split"):
        if name == "split":  # two readers, one per half of the account ids
            monkeypatch.undo()
            monkeypatch.setattr(batch, "SPLIT_SNAPSHOT_ACCOUNTS", 1)
        if name == "stdlib":
            monkeypatch.setattr(columnar, "_CHILD", "import sys; sys.exit('forced')")
        if name == "temp-staging":
            monkeypatch.undo()
            monkeypatch.setattr(columnar, "_WRITER", "import sys; sys.exit('forced')")
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
            summary = run_batch(ctx, day)
            readers.append(f"{summary.snapshot_reader}/{summary.staging_writer}")
        assert len(batch._snapshot_queries(ctx)) == (2 if name == "split" else 1)
        ctx.dispose()
        states.append(_state(db))
    assert readers == (
        ["adbc-child/adbc-child"] * 2
        + ["sqlite3/adbc-child"] * 2
        + ["adbc-child/sqlite3"] * 2
        + ["adbc-child/adbc-child"] * 2
    )
    child, stdlib, temp, split = states
    assert len(child["planned contacts"]) > 100
    for name in QUERIES:
        assert child[name] == stdlib[name] == temp[name] == split[name], name
    halves = batch.snapshot_parts(1, 400)
    assert "a.id <= 200" in halves[0]["accounts"] and "a.id > 200" in halves[1]["schedule"]


def test_a_batch_without_a_live_model_does_not_load_the_model_libraries(tmp_path) -> None:
    # Asking the registry whether a model is live must not cost the import of LightGBM and
    # scikit-learn (over a second): the batch runs in a fresh interpreter and reports what it loaded.
    script = f"""
import sys
from pathlib import Path
from arrears.simulation.batch_portfolio import DAY1, context, load, portfolio
from arrears.core.migrate import upgrade
from arrears.strategy.batch import run_batch
db = Path({str(tmp_path / "b.db")!r})
ctx = context(f"sqlite:///{{db}}", Path({str(tmp_path / "k.key")!r}))
upgrade(ctx.engine)
load(db, portfolio(50, seed=3), ctx.keys)
summary = run_batch(ctx, DAY1)
print(summary.score_source, sorted(m for m in ("lightgbm", "sklearn") if m in sys.modules))
"""
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    assert out.stdout.split() == ["prior:dpd-logistic", "[]"], out.stderr


def test_stale_staging_is_swept(tmp_path, monkeypatch) -> None:
    # A batch killed with SIGKILL leaves its scratch directory; the next staging removes the
    # directories of processes that no longer exist and leaves those of live ones alone.
    monkeypatch.setattr(columnar.tempfile, "tempdir", str(tmp_path))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # its pid now names no process
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead_dir = tmp_path / f"arrears-staging-{gone.pid}-abc"
        live_dir = tmp_path / f"arrears-staging-{alive.pid}-def"
        other = tmp_path / "arrears-staging-notapid-x"
        for d in (dead_dir, live_dir, other):
            d.mkdir()
            (d / "batch_ageing_staging.db").write_bytes(b"x")
        with ScratchStaging(("t",)) as staging:
            mine = staging.path("t").parent
            assert mine.parent == tmp_path and mine.name.startswith(f"arrears-staging-{os.getpid()}-")
        assert not dead_dir.exists() and live_dir.exists() and other.exists() and not mine.exists()
    finally:
        alive.kill()
        alive.wait()


def test_a_snapshot_reads_in_the_background_and_raises_what_its_read_raised(db_url: str) -> None:
    # SQLite: a child process; PostgreSQL: a thread over ADBC, started when the snapshot is created.
    # Either way the tables equal the plain read, and a query that fails fails `tables()`.
    engine = make_engine(db_url)
    queries = {"creditors": "SELECT id, code FROM creditors ORDER BY id", "none": "SELECT 1 AS one"}
    with read_snapshot(engine, queries) as snapshot:
        assert snapshot.reader == ("adbc-postgresql" if engine.dialect.name == "postgresql" else "adbc-child")
        tables = snapshot.tables()
    for name, sql in queries.items():
        assert tables[name].equals(read_arrow(engine, sql)), name
    with (
        read_snapshot(engine, {"bad": "SELECT * FROM no_such_table"}) as snapshot,
        pytest.raises(Exception, match="no_such_table"),
    ):
        snapshot.tables()
    engine.dispose()
