"""Arrow in and out of the database in bulk: PostgreSQL over ADBC (binary COPY), SQLite through the
same SQLite library SQLAlchemy uses — and, for the nightly snapshot, through ADBC in a child process.

The nightly batch reads a snapshot as Arrow and writes its results back through a staging table;
row-by-row ORM loops are kept for the reference baseline only. This process never loads the ADBC
SQLite driver: it links its own copy of the SQLite library, and two copies in one process break each
other's POSIX file locks — SQLite's documented "multiple copies" hazard, which corrupted a WAL
database here (tests/test_demo.py runs the batch repeatedly in one process to guard against it).
POSIX locks are per process, so the copy is safe in a process of its own: `read_snapshot` starts a
child that opens the database read-only through ADBC and sends the tables back as Arrow IPC over a
pipe, without a Python object per value (the stdlib `sqlite3` path builds one per value).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import queue
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.engine import Connection, Engine, make_url

BATCH_ROWS = 200_000
log = logging.getLogger(__name__)


def _adbc_postgres(engine: Engine) -> Any:
    import adbc_driver_postgresql.dbapi as pg_dbapi

    uri = make_url(engine.url).set(drivername="postgresql").render_as_string(hide_password=False)
    return pg_dbapi.connect(uri)


def _is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def read_arrow(engine: Engine, sql: str) -> pa.Table:
    """Run a query and return its result as an Arrow table."""
    if _is_postgres(engine):
        with _adbc_postgres(engine) as conn, conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetch_arrow_table()
    with engine.connect() as conn, _no_gc():
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(sql)
        cols = [d[0] for d in cursor.description]
        batches = []
        while rows := cursor.fetchmany(BATCH_ROWS):
            columns = list(zip(*rows, strict=True))
            del rows
            batches.append(pa.table({c: pa.array(columns[i]) for i, c in enumerate(cols)}))
            del columns
        cursor.close()
    if not batches:
        return pa.table({c: pa.array([], pa.null()) for c in cols})
    return pa.concat_tables(batches, promote_options="permissive")


# --------------------------------------------------------------------------- snapshot in a child process

# The child: only pyarrow and the ADBC SQLite driver's low-level API, run with `python -I -c` (no
# project import, so nothing in it loads the stdlib `sqlite3`; the driver's DB-API module would import
# polars, 0.3 CPU-seconds of start-up). All the queries run in ONE read transaction (BEGIN …
# COMMIT on a read-only connection): under WAL that pins one commit for every table of the snapshot.
# `batch_rows` is larger than any result, so the driver infers each column's type from all its rows
# (the default infers from the first 1,024 and fails on a column that is NULL there and text later).
# Each table goes back as one Arrow IPC stream prefixed by its length in bytes.
_CHILD = """
import json, struct, sys
import adbc_driver_manager as adbc
import adbc_driver_sqlite
import pyarrow as pa

req = json.loads(sys.stdin.buffer.read())
db = adbc_driver_sqlite.connect(req["uri"])
conn = adbc.AdbcConnection(db)  # autocommit, so the BEGIN below is the only transaction


def run(sql, rows=None):
    stmt = adbc.AdbcStatement(conn)
    if rows:
        stmt.set_options(**{"adbc.sqlite.query.batch_rows": str(rows)})
    stmt.set_sql_query(sql)
    stream, _ = stmt.execute_query()
    table = pa.RecordBatchReader._import_from_c(stream.address).read_all()
    stmt.close()
    return table


run("PRAGMA busy_timeout = 30000")  # as the engine's connections (timeout=30)
run("BEGIN")
tables = [run(sql, req["batch_rows"]) for sql in req["queries"]]
run("COMMIT")
conn.close()
db.close()
out = sys.stdout.buffer
for table in tables:
    size = pa.MockOutputStream()
    with pa.ipc.new_stream(size, table.schema) as w:
        w.write_table(table)
    out.write(struct.pack("<Q", size.size()))
    with pa.ipc.new_stream(pa.PythonFile(out, mode="w"), table.schema) as w:
        w.write_table(table)
out.flush()
"""
_CHILD_BATCH_ROWS = 1_000_000_000  # the driver takes a C int
# SQLite's REAL-to-text conversion differs between library versions (15 significant digits in 3.40,
# the shortest round trip in 3.53): `CAST(<column> AS TEXT) AS <name>` is therefore rewritten for the
# child to return REAL values raw, and this process renders them with its own library. Any other way
# of turning a value into text (`||`, printf, …) is refused, and such a query is read the usual way.
_TEXT_CAST = re.compile(r"CAST\(\s*([A-Za-z_][\w.]*)\s+AS\s+TEXT\s*\)\s+AS\s+(\w+)", re.IGNORECASE)
_TEXT_ANY = re.compile(
    r"\bAS\s+TEXT\b|\|\||\b(?:printf|format|quote|json\w*|group_concat|string_agg)\s*\(", re.I
)
_REAL = "__real__"


def _child_sql(sql: str) -> tuple[str, list[str]]:
    """The query as the child runs it, and the columns whose REAL values this process renders."""
    aliases: list[str] = []

    def split(m: re.Match[str]) -> str:
        expr, alias = m.group(1), m.group(2)
        aliases.append(alias)
        return (
            f"CASE WHEN typeof({expr}) = 'real' THEN NULL ELSE CAST({expr} AS TEXT) END AS {alias}, "
            f"CASE WHEN typeof({expr}) = 'real' THEN {expr} END AS {_REAL}{alias}"
        )

    if _TEXT_ANY.search(_TEXT_CAST.sub("", sql)):
        raise ValueError("the query turns values into text in a way only this process's SQLite reproduces")
    return _TEXT_CAST.sub(split, sql), aliases


def sqlite_file(engine: Engine) -> Path | None:
    """The database file of a SQLite engine, or None (PostgreSQL, in-memory, URI filenames)."""
    url = make_url(engine.url)
    if url.get_backend_name() != "sqlite" or url.query.get("uri"):
        return None
    name = url.database or ""
    if name in ("", ":memory:") or name.startswith("file:"):
        return None
    path = Path(name).resolve()
    return path if path.is_file() else None


def _last_line(stderr: IO[bytes] | None) -> str:
    """The last line a child wrote to its captured standard error (its error message)."""
    if stderr is None:
        return ""
    stderr.seek(0)
    lines = stderr.read().decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else "no message"


# A child that neither answers nor exits for this long is taken to be hung: it is killed and its work
# done in this process instead, as when it fails. Generous: a healthy child answers within seconds at
# a million accounts, and a batch that finishes late is better than one that never does.
CHILD_TIMEOUT_S = 600.0


class _Deadline:
    """Kills a child that has neither answered nor exited within CHILD_TIMEOUT_S of entering: the
    blocked read then ends (the output closes) and leaving the block raises TimeoutError. A timer, so
    reads stay the pipe's own buffered reads (a select before every read cost 10 % of the snapshot)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.expired = False
        self._timer = threading.Timer(CHILD_TIMEOUT_S, self._expire, args=(proc,))
        self._timer.daemon = True

    def _expire(self, proc: subprocess.Popen[bytes]) -> None:
        self.expired = True
        with suppress(OSError):
            proc.kill()

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._timer.cancel()
        if self.expired:
            raise TimeoutError(f"no answer from the child process in {CHILD_TIMEOUT_S:g} s")


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


class Snapshot:
    """Several queries read as Arrow tables, for the nightly batch (`read_snapshot`).

    `reader` says how: `adbc-child` (SQLite through ADBC in a child process), `sqlite3` (the stdlib
    module in this process when `tables()` is called: the fallback, and in-memory databases) or
    `adbc-postgresql` (ADBC's binary COPY in a thread of this process, started at once: the server
    works while the caller does)."""

    def __init__(self, engine: Engine, queries: Mapping[str, str]) -> None:
        self.engine, self.queries = engine, dict(queries)
        self.reader = "sqlite3"
        self.fallback_reason: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._reals: list[list[str]] = []
        self._thread: threading.Thread | None = None
        self._read: dict[str, pa.Table] = {}
        self._error: BaseException | None = None
        if _is_postgres(engine):
            self.reader = "adbc-postgresql"
            self._thread = threading.Thread(target=self._read_here, name="snapshot-reader", daemon=True)
            self._thread.start()
            return
        path = sqlite_file(engine)
        if path is not None:
            try:
                self._start(path)
            except Exception as exc:  # the child could not start: read in this process
                self._fall_back(exc)

    def _start(self, path: Path) -> None:
        rewritten = [_child_sql(sql) for sql in self.queries.values()]
        self._reals = [aliases for _sql, aliases in rewritten]
        request = {
            "uri": f"file:{quote(str(path))}?mode=ro",
            "queries": [sql for sql, _aliases in rewritten],
            "batch_rows": _CHILD_BATCH_ROWS,
        }
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-c", _CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(request).encode())
        self._proc.stdin.close()
        self.reader = "adbc-child"

    def _fall_back(self, exc: BaseException) -> None:
        self.reader, self.fallback_reason = "sqlite3", f"{type(exc).__name__}: {exc}".strip()
        log.warning(
            "snapshot: the ADBC reader in a child process failed (%s); reading through sqlite3",
            self.fallback_reason,
        )

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _read_here(self) -> None:
        try:
            self._read = {name: read_arrow(self.engine, sql) for name, sql in self.queries.items()}
        except BaseException as exc:  # re-raised by tables()
            self._error = exc

    def tables(self) -> dict[str, pa.Table]:
        """The tables by name (waits for the child or the thread; on any failure of the child, reads
        them here; a PostgreSQL read's error is raised)."""
        if self._thread is not None:
            self._thread.join()
            if self._error is not None:
                raise self._error
            return self._read
        if self.reader == "adbc-child":
            try:
                return self._collect()
            except Exception as exc:
                self._fall_back(exc)
            finally:
                self.close()
        return {name: read_arrow(self.engine, sql) for name, sql in self.queries.items()}

    def _collect(self) -> dict[str, pa.Table]:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        raw = []
        with _Deadline(proc):
            for _ in self.queries:
                head = proc.stdout.read(8)
                if len(head) < 8:
                    break
                (size,) = struct.unpack("<Q", head)
                data = proc.stdout.read(size)
                if len(data) < size:
                    break
                raw.append(data)
            code = proc.wait()
        if code != 0 or len(raw) < len(self.queries):
            raise RuntimeError(f"reader exited with {code}: {self._child_error()}")
        out = {}
        with self.engine.connect() as conn:
            for name, data, reals in zip(self.queries, raw, self._reals, strict=True):
                table = pa.ipc.open_stream(pa.py_buffer(data)).read_all()
                out[name] = _as_sqlite3_reads(table, reals, conn)
        return out

    def _child_error(self) -> str:
        return _last_line(self._stderr)

    def close(self) -> None:
        if self._proc is not None:
            _kill(self._proc)
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._proc = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


def read_snapshot(engine: Engine, queries: Mapping[str, str]) -> Snapshot:
    """Start reading the queries as Arrow tables; `.tables()` waits for them. The tables equal what
    `read_arrow` returns for each query (same values, types and order; chunking may differ).

    On SQLite the child starts at once and the caller can do other work meanwhile. What it sees
    (R4, nothing half-read): under WAL a reader sees every transaction committed before its read
    transaction starts and nothing else, whichever process or library it is in — the same commit the
    stdlib path would see at that moment. Committed frames are in the WAL file and the shared index
    (-shm) before COMMIT returns, whatever `synchronous` is, so the child sees everything this
    process committed before starting it; uncommitted work of any connection stays invisible. Its
    queries share one read transaction (the stdlib path used one per query: the child's view is at
    least as consistent). The batch's own write transaction begins only after `tables()` returned and
    the child has exited, so the child never holds a read mark while the batch merges and
    checkpoints. A read-only connection neither checkpoints nor deletes the WAL when it closes."""
    return Snapshot(engine, queries)


# --------------------------------------------------------------------------- staging in a child process

# The writer: reads (request, Arrow IPC stream) pairs from stdin as the batch produces them and
# ingests each table into a scratch database file of its own through ADBC (values bound in C, no
# Python object per value), then acknowledges it on stdout. The files are never the live database;
# this process reads a table only after its acknowledgement, when the child has closed that file, and
# the child never opens a live database: no file is open in both SQLite copies of one process.
_WRITER = """
import json, struct, sys
import adbc_driver_manager as adbc
import adbc_driver_sqlite
import pyarrow as pa

inp, out = sys.stdin.buffer, sys.stdout
while head := inp.read(8):
    req = json.loads(inp.read(struct.unpack("<Q", head)[0]))
    table = pa.ipc.open_stream(pa.PythonFile(inp, mode="r")).read_all()
    db = adbc_driver_sqlite.connect(req["path"])
    conn = adbc.AdbcConnection(db)

    def run(sql):
        stmt = adbc.AdbcStatement(conn)
        stmt.set_sql_query(sql)
        stmt.execute_update()
        stmt.close()

    run("PRAGMA synchronous = OFF")  # a scratch file: the batch deletes it whatever happens
    run(req["create"])
    stmt = adbc.AdbcStatement(conn)
    stmt.set_options(**{"adbc.ingest.target_table": req["name"], "adbc.ingest.mode": "adbc.ingest.mode.append"})
    stmt.bind_stream(table.to_reader())
    stmt.execute_update()
    stmt.close()
    for sql in req["after"]:
        run(sql)
    conn.close()
    db.close()
    out.write(req["name"] + "\\n")
    out.flush()
"""


def _staging_columns(data: pa.Table) -> tuple[str, bool]:
    """Column definitions for staging rows, and whether `id` is the INTEGER PRIMARY KEY (the rowid):
    it is when the rows are sorted and unique by it, so no separate index is needed."""
    keyed = "id" in data.schema.names and _sorted_unique(data["id"])
    columns = ", ".join(
        f'"{f.name}" {_sqlite_type(f.type)}' + (" PRIMARY KEY" if keyed and f.name == "id" else "")
        for f in data.schema
    )
    return columns, keyed


def _staging_request(table_name: str, data: pa.Table, path: Path) -> dict[str, Any]:
    """The child's request for one table: its file, name, CREATE TABLE, and what to run after the rows."""
    columns, keyed = _staging_columns(data)
    after = (
        [f"CREATE INDEX ix_{table_name}_id ON {table_name} (id)"]
        if "id" in data.schema.names and not keyed
        else []
    )
    return {
        "path": str(path),
        "name": table_name,
        "create": f"CREATE TABLE {table_name} ({columns})",
        "after": after,
    }


def _bindable(data: pa.Table) -> pa.Table:
    """The rows as both staging writers hand them to SQLite (the child's ADBC ingest and
    `stage_temp`): dates and times as ISO text, booleans as 0/1."""
    columns = []
    for col in data.columns:
        if pa.types.is_date(col.type) or pa.types.is_time(col.type):
            col = pc.cast(col, pa.string())
        elif pa.types.is_boolean(col.type):
            col = pc.cast(col, pa.int8())
        columns.append(col)
    return pa.table(columns, names=data.column_names)


_STAGING_PREFIX = "arrears-staging-"


def _sweep_stale_staging() -> None:
    """Remove the scratch directories of batches that were killed (their process no longer exists)."""
    for path in Path(tempfile.gettempdir()).glob(f"{_STAGING_PREFIX}*-*"):
        pid = path.name[len(_STAGING_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except PermissionError:  # another user's live process
            continue


class ScratchStaging:
    """Staging tables for a SQLite merge, written by a child process while this process works on.

    The nightly batch declares its tables, attaches them to the merging connection before the merge
    transaction begins (`attach`: one scratch file per table, as SQLite attaches only outside a
    transaction), hands each table over as soon as it is computed (`add`, which returns at once: a
    thread feeds the child) and, inside the transaction, asks for a table when a statement needs it
    (`wait`: the child's acknowledgement, then the table's name in SQL). If the child cannot start or
    fails, every table not yet acknowledged is staged as a TEMP table on the merging connection
    instead (`stage_temp`), the reason logged and kept in `fallback_reason`; `writer` then says
    `sqlite3`. `enabled=False` (PostgreSQL) only collects the tables for the caller."""

    def __init__(self, names: tuple[str, ...] = (), *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.names = names
        self.tables: dict[str, pa.Table] = {}
        self.writer = "adbc-child" if enabled else ""
        self.fallback_reason: str | None = None
        self._acked: set[str] = set()
        self._attached: list[str] = []
        self._temp: list[str] = []
        self._dir: Path | None = None
        self._stderr: IO[bytes] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._outbox: queue.Queue[bytes | None] = queue.Queue()
        self._sender: threading.Thread | None = None
        if not enabled:
            return
        _sweep_stale_staging()
        self._dir = Path(tempfile.mkdtemp(prefix=f"{_STAGING_PREFIX}{os.getpid()}-"))
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-c", _WRITER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
            )
        except Exception as exc:
            self._fall_back(exc)
            return
        self._sender = threading.Thread(target=self._send_all, name="staging-sender", daemon=True)
        self._sender.start()

    def path(self, table_name: str) -> Path:
        assert self._dir is not None
        return self._dir / f"{table_name}.db"

    def _send_all(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        try:
            while (chunk := self._outbox.get()) is not None:
                proc.stdin.write(chunk)
                if self._outbox.empty():
                    proc.stdin.flush()
            proc.stdin.close()
        except OSError:  # the child died: `wait` finds out and falls back
            pass

    def _fall_back(self, exc: BaseException) -> None:
        if self.writer == "adbc-child":
            self.writer, self.fallback_reason = "sqlite3", f"{type(exc).__name__}: {exc}".strip()
            log.warning(
                "staging: the ADBC writer in a child process failed (%s); staging in TEMP tables",
                self.fallback_reason,
            )
        self._stop()

    def add(self, table_name: str, data: pa.Table) -> None:
        """Hand a table over for staging; returns at once."""
        self.tables[table_name] = data
        if self.writer != "adbc-child":
            return
        request = json.dumps(_staging_request(table_name, data, self.path(table_name))).encode()
        bindable = _bindable(data)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, bindable.schema) as w:
            w.write_table(bindable)
        self._outbox.put(struct.pack("<Q", len(request)) + request)
        self._outbox.put(sink.getvalue().to_pybytes())

    def attach(self, conn: Connection) -> None:
        """Attach every declared table's scratch file to the merging connection (outside a transaction)."""
        if self.writer != "adbc-child":
            return
        for name in self.names:
            conn.exec_driver_sql(f"ATTACH DATABASE ? AS stage_{name}", (str(self.path(name)),))
            self._attached.append(name)
        conn.commit()

    def wait(self, table_name: str, conn: Connection) -> str:
        """The table's name in SQL once it is staged: the child's copy when acknowledged, otherwise
        (the child failed) a TEMP table staged here, inside the caller's transaction."""
        if table_name in self._attached and (table_name in self._acked or self.writer == "adbc-child"):
            try:
                self._wait_ack(table_name)
                return f"stage_{table_name}.{table_name}"
            except Exception as exc:
                self._fall_back(exc)
        if table_name not in self._temp:
            stage_temp(conn, table_name, self.tables[table_name])
            self._temp.append(table_name)
        return f"temp.{table_name}"

    def _wait_ack(self, table_name: str) -> None:
        while table_name not in self._acked:
            proc = self._proc
            if proc is None or proc.stdout is None:
                raise RuntimeError(f"writer stopped before staging {table_name}")
            with _Deadline(proc):
                line = proc.stdout.readline()
                code = None if line else proc.wait()
            if code is not None:
                raise RuntimeError(f"writer exited with {code}: {self._child_error()}")
            self._acked.add(line.decode().strip())

    def detach(self, conn: Connection) -> None:
        """After the merge transaction (committed or rolled back)."""
        for name in self._attached:
            conn.exec_driver_sql(f"DETACH DATABASE stage_{name}")
        for name in self._temp:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")
        self._attached, self._temp = [], []
        conn.commit()

    def _child_error(self) -> str:
        return _last_line(self._stderr)

    def _stop(self) -> None:
        if self._proc is not None:
            _kill(self._proc)
            self._outbox.put(None)
            if self._sender is not None:
                self._sender.join()
                self._sender = None
            for pipe in (self._proc.stdin, self._proc.stdout):
                if pipe is not None and not pipe.closed:
                    with suppress(OSError):
                        pipe.close()
            self._proc = None

    def close(self) -> None:
        """Stop the child and delete the scratch files (after `detach`)."""
        self._stop()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> ScratchStaging:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _as_sqlite3_reads(table: pa.Table, reals: list[str], conn: Connection) -> pa.Table:
    """The child's table as `read_arrow` would have built it from the stdlib module's rows: REAL
    values rendered as text by this process's SQLite, all-NULL columns (and every column of an empty
    result) of type null, as `pa.array` infers from Python None."""
    for alias in reals:
        i = table.schema.get_field_index(alias)
        text = table[alias].combine_chunks().cast(pa.string())
        table = table.set_column(i, alias, _render_reals(text, table[_REAL + alias], conn))
        table = table.drop_columns([_REAL + alias])
    columns = []
    for col in table.columns:
        if col.null_count == len(col):
            col = pa.chunked_array([pa.nulls(len(col))], pa.null())
        elif pa.types.is_large_string(col.type):
            col = col.cast(pa.string())
        columns.append(col)
    return pa.table(columns, names=table.column_names)


def _render_reals(text: pa.Array, reals: pa.ChunkedArray, conn: Connection) -> pa.Array:
    """`text` with the REAL values filled in as `CAST(value AS TEXT)` of this process's SQLite (once
    per distinct value, told apart by bit pattern so -0.0 and 0.0 stay distinct)."""
    if reals.null_count == len(reals):
        return text
    valid = np.asarray(pc.is_valid(reals))
    values = np.asarray(pc.fill_null(reals, 0.0).combine_chunks(), dtype=np.float64)
    distinct, where = np.unique(values[valid].view(np.int64), return_inverse=True)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    rendered = [
        cursor.execute("SELECT CAST(? AS TEXT)", (float(v),)).fetchone()[0] for v in distinct.view(np.float64)
    ]
    cursor.close()
    index = np.zeros(len(values), dtype=np.int64)
    index[valid] = where
    taken = pc.take(pa.array(rendered, pa.string()), pa.array(index, mask=~valid))
    return pc.coalesce(text, taken)


def write_staging(engine: Engine, table_name: str, data: pa.Table) -> None:
    """PostgreSQL: create (replace) a staging table with the Arrow data over binary COPY, indexed on `id`
    when it has one; the caller merges it into the live tables in one transaction. (SQLite stages
    through `ScratchStaging` or `stage_temp`.)"""
    if not _is_postgres(engine):
        raise ValueError(
            "write_staging is for PostgreSQL; SQLite stages through ScratchStaging or stage_temp"
        )
    with _adbc_postgres(engine) as conn:
        with conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {table_name}")
            cur.adbc_ingest(table_name, data, mode="create")
            if "id" in data.schema.names:
                cur.execute(f"CREATE INDEX ix_{table_name}_id ON {table_name} (id)")
        conn.commit()


@contextmanager
def _no_gc() -> Iterator[None]:
    """Millions of short-lived row tuples hold no reference cycles; the cyclic collector would
    otherwise walk them over and over while they are built (a quarter of the conversion time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def stage_temp(conn: Connection, table_name: str, data: pa.Table) -> None:
    """SQLite: the Arrow rows as a TEMP table on this connection, inside its current transaction.

    Temp tables live in memory (`temp_store=MEMORY`) and never reach the WAL; rows go in with one
    executemany of plain tuples per batch, in the table's order — `id` becomes the INTEGER PRIMARY KEY
    (the rowid) when the rows are sorted and unique by it, so no separate index is built."""
    names = data.schema.names
    columns, keyed = _staging_columns(data)
    marks = ", ".join("?" for _ in names)
    raw = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        raw.execute(f"DROP TABLE IF EXISTS temp.{table_name}")
        raw.execute(f"CREATE TEMP TABLE {table_name} ({columns})")
        with _no_gc():
            for batch in _bindable(data).to_batches(BATCH_ROWS):
                values = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
                raw.executemany(f"INSERT INTO temp.{table_name} VALUES ({marks})", zip(*values, strict=True))
                del values
        if "id" in names and not keyed:
            raw.execute(f"CREATE INDEX temp.ix_{table_name}_id ON {table_name} (id)")
    finally:
        raw.close()


def drop_temp(conn: Connection, table_name: str) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{table_name}")
    conn.commit()


def _sorted_unique(col: pa.ChunkedArray) -> bool:
    import numpy as np

    ids = col.to_numpy()
    return col.null_count == 0 and bool(np.all(ids[1:] > ids[:-1]))


def _sqlite_type(t: pa.DataType) -> str:
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        return "INTEGER"
    if pa.types.is_floating(t):
        return "REAL"
    return "TEXT"


def drop_table(engine: Engine, table_name: str) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table_name}")
