"""The nightly batch: one definition, run columnar on a snapshot, written back in bulk (R4, R9).

Steps: ageing and penalty accrual → features → scores → segment, arm and today's step → the guard's
pre-check of the planned contacts → merge. The whole merge is one database transaction, so a batch
killed halfway leaves nothing partial; running it again for the same date changes nothing (accrual is
bounded by each account's `accrued_through`, buckets and paths only move when they change, today's
planned contacts are replaced). Snapshot: ADBC (binary COPY) on PostgreSQL; on SQLite a child process
reads it through ADBC and hands back Arrow (`read_snapshot`), falling back to the stdlib module, while
a second child reads the debtors' contact points for the pre-check.
Merge on SQLite: it begins as soon as ageing is done, in a thread of its own (`_Merge`), with the
per-account statements (accrual entries, bucket spells, DPD), while this thread plans and pre-checks;
a child process stages each table into a scratch file as it is handed over (`ScratchStaging`, TEMP
tables as the fall-back), and the statements that need the plan wait for it. It is still one
transaction, committed once everything is in. PostgreSQL: binary COPY into staging tables, then the
merge. Stage wall and CPU seconds (CPU of every thread and of the child processes, so stages that
overlap the merge carry some of its CPU), the rows written per table, the snapshot reader and the
staging writer are in the summary (`seconds`, `cpu_seconds`, `written`, `snapshot_reader`,
`staging_writer`).
"""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import Connection

from arrears.cases.history import history_loader
from arrears.core.columnar import (
    ScratchStaging,
    Snapshot,
    drop_table,
    read_arrow,
    read_snapshot,
    sqlite_file,
    write_staging,
)
from arrears.core.context import AppContext
from arrears.core.errors import Conflict
from arrears.core.money import MINOR_UNITS
from arrears.core.sqlengines import ENGINES, Dialect, dialect, run, run_duckdb
from arrears.portfolio.ageing import DEFAULT_BUCKETS, Bucket
from arrears.portfolio.ageing_columnar import age_portfolio, conform
from arrears.strategy.definition import Strategy
from arrears.strategy.models import BatchRun
from arrears.strategy.planner import FEATURE_SCHEMA, planner_sql, steps_table
from arrears.strategy.precheck import ALL_POINTS_SQL, HistoryLoader, precheck, with_days_since_contact
from arrears.strategy.service import active_strategy

# Only the columns the batch computes on: creditor codes and packs come from the (small) creditors
# table, debtor zones and contact points are read for today's planned contacts only, and the live
# model's extra inputs only when a model is live — every column costs a Python object per account.
SNAPSHOT_ACCOUNTS = """
SELECT a.id, a.creditor_id, a.account_ref, a.debtor_id, a.product, a.currency, a.status,
       a.principal, a.interest, st.penalty, a.fees, a.overdue_since, a.placement_date, st.accrued_through,
       CAST(a.daily_penalty_rate AS TEXT) AS daily_penalty_rate, st.bucket,
       c.ability, c.willingness, c.flags,
       t.segment AS state_segment, t.arm AS state_arm, t.entered_on AS state_entered_on
FROM accounts a
JOIN account_standing st ON st.account_id = a.id
LEFT JOIN cases c ON c.account_id = a.id AND c.status = 'open'
LEFT JOIN treatment_spells t ON t.account_id = a.id AND t.left_on IS NULL
WHERE a.status = 'active'{part}
ORDER BY a.id
"""
SNAPSHOT_SCHEDULE = """
SELECT i.account_id, i.seq, i.due_date, i.principal_due
FROM instalments i JOIN accounts a ON a.id = i.account_id WHERE a.status = 'active'{part}
"""
SNAPSHOT_CREDITORS = "SELECT id AS creditor_id, code AS creditor, rule_pack FROM creditors"
SNAPSHOT = {
    "accounts": SNAPSHOT_ACCOUNTS.format(part=""),
    "schedule": SNAPSHOT_SCHEDULE.format(part=""),
    "creditors": SNAPSHOT_CREDITORS,
}
# SQLite, from this many active accounts: two child readers, each reading the accounts of one id range
# with their schedule (an account and its instalments always from the same read transaction).
SPLIT_SNAPSHOT_ACCOUNTS = 200_000


def snapshot_parts(first: int, last: int) -> list[dict[str, str]]:
    """The snapshot queries in two halves by account id (the creditors with the first)."""
    mid = (first + last) // 2
    low, high = f" AND a.id <= {mid}", f" AND a.id > {mid}"
    return [
        {
            "accounts": SNAPSHOT_ACCOUNTS.format(part=low),
            "schedule": SNAPSHOT_SCHEDULE.format(part=low),
            "creditors": SNAPSHOT_CREDITORS,
        },
        {"accounts": SNAPSHOT_ACCOUNTS.format(part=high), "schedule": SNAPSHOT_SCHEDULE.format(part=high)},
    ]


SNAPSHOT_MODEL_INPUTS = """
SELECT id, loan_amount, CAST(annual_rate AS TEXT) AS annual_rate, contract_date
FROM accounts WHERE status = 'active'
"""
STAGING = "batch_ageing_staging"  # per account: DPD, bucket, accrual (ready after ageing)
CASE_STAGING = "batch_case_staging"  # per owing account: score and queue priority (after planning)
PLAN_STAGING = "batch_plan_staging"  # treatment moves and today's actions with the guard's answer
STAGED = (STAGING, CASE_STAGING, PLAN_STAGING)


@dataclass
class BatchSummary:
    as_of: date
    engine: str
    accounts: int = 0
    accrued_accounts: int = 0
    accrued_total: dict[str, int] = field(default_factory=dict)  # per currency, minor units
    bucket_changes: int = 0
    paid: int = 0
    buckets: dict[str, int] = field(default_factory=dict)
    planned: dict[str, int] = field(default_factory=dict)  # action/channel → count
    blocked: int = 0
    segments: dict[str, int] = field(default_factory=dict)
    strategy: str = ""
    score_source: str = ""
    seconds: dict[str, float] = field(default_factory=dict)
    run_id: int | None = None
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # CPU per stage, this process + its children
    written: dict[str, int] = field(default_factory=dict)  # rows inserted or updated per table
    snapshot_reader: str = ""  # adbc-child, sqlite3 (fallback or in-memory database), adbc-postgresql
    staging_writer: str = (
        ""  # SQLite: adbc-child (scratch file, attached), sqlite3 (TEMP tables); PG: adbc-postgresql
    )

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["as_of"] = self.as_of.isoformat()
        return d


Progress = Callable[[str], None]


def _cpu() -> float:
    """CPU seconds of this process and of its exited children (the snapshot reader)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


class _Stages:
    """Wall and CPU seconds per stage, into the summary."""

    def __init__(self, summary: BatchSummary, step: Progress) -> None:
        self.summary, self.step = summary, step
        self.wall0, self.cpu0 = time.perf_counter(), _cpu()
        self.name: str | None = None

    def start(self, name: str, label: str) -> None:
        self.stop()
        self.step(label)
        self.name, self.wall, self.cpu = name, time.perf_counter(), _cpu()

    def stop(self) -> None:
        if self.name is not None:
            self.summary.seconds[self.name] = round(time.perf_counter() - self.wall, 3)
            self.summary.cpu_seconds[self.name] = round(_cpu() - self.cpu, 3)
            self.name = None

    def finish(self) -> None:
        self.stop()
        self.summary.seconds["total"] = round(time.perf_counter() - self.wall0, 3)
        self.summary.cpu_seconds["total"] = round(_cpu() - self.cpu0, 3)


def _latest_run(conn: Connection) -> date | None:
    value = conn.execute(
        select(func.max(BatchRun.as_of)).where(BatchRun.status == "succeeded")
    ).scalar_one_or_none()
    if isinstance(value, str):  # SQLite aggregates return text
        return date.fromisoformat(value)
    return value


def run_batch(
    ctx: AppContext,
    as_of: date,
    *,
    engine: str = "duckdb",
    buckets: tuple[Bucket, ...] = DEFAULT_BUCKETS,
    strategy: Strategy | None = None,
    history: HistoryLoader | None = None,
    on_step: Progress | None = None,
) -> BatchSummary:
    """Run the nightly batch for `as_of`. Idempotent per date; refuses to go back in time."""
    if engine not in ENGINES:
        raise Conflict(f"unknown batch engine {engine!r}; available: {', '.join(ENGINES)}")
    summary = BatchSummary(as_of=as_of, engine=engine)
    started = ctx.clock()
    with ctx.engine.connect() as conn:
        latest = _latest_run(conn)
        strategy = strategy or active_strategy(conn)
    summary.strategy = strategy.key
    if latest is not None and as_of < latest:
        raise Conflict(f"the batch already ran for {latest.isoformat()}; it cannot run for an earlier date")

    stages = _Stages(summary, on_step or (lambda _s: None))
    # Started first, so the staging writer has loaded by the time the rows are ready.
    staging = ScratchStaging(STAGED, enabled=ctx.engine.dialect.name != "postgresql")
    try:
        _run_stages(ctx, as_of, engine, buckets, strategy, history, summary, stages, staging, started)
    finally:
        staging.close()
    stages.finish()
    return summary


def _run_stages(
    ctx: AppContext,
    as_of: date,
    engine: str,
    buckets: tuple[Bucket, ...],
    strategy: Strategy,
    history: HistoryLoader | None,
    summary: BatchSummary,
    stages: _Stages,
    staging: ScratchStaging,
    started: datetime,
) -> None:
    stages.start("snapshot", "snapshot")
    loader = history if history is not None else history_loader(ctx.keys)
    # Ordering (R4): the latest-run check above, then the snapshot, then — only once every table is
    # here and the SQLite reader process has exited — the merge's one write transaction. Accounts,
    # schedule and creditors come from one read transaction: on SQLite a child process reads them
    # through ADBC (see `read_snapshot`: under WAL it sees exactly the commits this process would see
    # when it starts, and nothing uncommitted); the contact log is read here meanwhile, in its own read
    # transaction as before. Nothing is locked between snapshot and merge, as before: the merge's
    # updates are relative (penalty + accrued) and bounded by `accrued_through`.
    # The debtors' contact points for the pre-check are read meanwhile: on SQLite by a second child
    # (the other core), on PostgreSQL by a thread over ADBC (the server's work overlaps the snapshot).
    # Large SQLite portfolios are read by two children, one per half of the account ids.
    with ExitStack() as stack:
        readers = [stack.enter_context(read_snapshot(ctx.engine, q)) for q in _snapshot_queries(ctx)]
        points_reader = stack.enter_context(_points_ahead(ctx))
        with ctx.engine.connect() as conn:
            contact_log = loader(conn, as_of)
        parts = [r.tables() for r in readers]
        points = points_reader.tables()["points"] if points_reader is not None else None
    summary.snapshot_reader = "+".join(dict.fromkeys(r.reader for r in readers))
    tables = parts[0]
    if len(parts) > 1:  # the halves in id order; a column NULL throughout one half takes the other's type
        for name in ("accounts", "schedule"):
            tables[name] = pa.concat_tables([p[name] for p in parts], promote_options="permissive")
    accounts, schedule = tables["accounts"], tables["schedule"]
    creditors = conform(tables["creditors"], CREDITOR_SCHEMA)

    stages.start("ageing", "ageing")
    con = _duckdb() if engine == "duckdb" else None
    merge: _Merge | None = None
    try:
        aged = age_portfolio(accounts, schedule, as_of, buckets, engine=engine, con=con)
        summary.accounts = aged.num_rows
        summary.buckets = _bucket_counts(aged)
        account_rows, groups = _account_staging(aged, accounts)
        staging.add(STAGING, account_rows)
        if staging.enabled:
            # SQLite: the merge begins now, in a thread of its own, with the per-account statements
            # (accrual, bucket spells, DPD) while this thread plans and pre-checks; the child stages
            # each table as it comes. Still one transaction, committed only once the plan is in.
            merge = _Merge(ctx, as_of, started, summary, staging, groups)

        stages.start("plan", "features, scores, strategy")
        plan = _plan(ctx, as_of, engine, con, strategy, summary, accounts, aged, creditors, contact_log)
        _hand_over(staging, merge, CASE_STAGING, _case_staging(aged, plan))

        stages.start("precheck", "compliance pre-check")
        people = _people(accounts, creditors)
        with ctx.engine.connect() as conn:
            allowed, blocked_rules = precheck(conn, plan, people, as_of, ctx.keys, contact_log, points)

        stages.start("write_back", "write-back")
        planned = _plan_staging(plan, allowed, blocked_rules)
        summary.segments = _counts(planned, ["segment"])
        _planned_counts(planned, summary)
        # Spells and contacts are written for the accounts that moved or act today, not for every account.
        plan_rows = planned.filter(
            pc.or_(pc.equal(planned["moved"], 1), pc.is_valid(planned["action"]))
        ).drop_columns(["score"])
        _hand_over(staging, merge, PLAN_STAGING, plan_rows)
        if merge is not None:
            merge.finish()  # the summary is complete now: the merge records it with the run and commits
        else:
            _merge_postgres(ctx, as_of, started, summary, staging, groups)
    except BaseException:
        if merge is not None:
            merge.abort()
        raise
    finally:
        if con is not None:
            con.close()


def _plan(
    ctx: AppContext,
    as_of: date,
    engine: str,
    con: Any,
    strategy: Strategy,
    summary: BatchSummary,
    accounts: pa.Table,
    aged: pa.Table,
    creditors: pa.Table,
    contact_log: pl.DataFrame | None,
) -> pa.Table:
    """Features, scores, segment, arm and today's step per account, with the queue priority."""
    feats = _run(
        engine,
        con,
        features_sql(dialect(engine)),
        {
            "snap": conform(accounts, SNAP_SCHEMA),
            "aged": aged,
            "currencies": currency_table(),
            "creditors": creditors,
        },
    )
    live = _live_scores(ctx, accounts, aged, as_of)
    feats, summary.score_source = score_features(feats, live)
    feats = with_days_since_contact(feats, contact_log, as_of)
    plan = _run(
        engine,
        con,
        planner_sql(strategy, as_of, dialect(engine)),
        {"feats": conform(feats, FEATURE_SCHEMA), "steps": steps_table(strategy)},
    )
    return _with_priority(plan)


def _snapshot_queries(ctx: AppContext) -> list[dict[str, str]]:
    """One set of snapshot queries, or two halves where two child readers pay (a large SQLite file)."""
    if ctx.engine.dialect.name == "postgresql" or not sqlite_file(ctx.engine):
        return [SNAPSHOT]
    with ctx.engine.connect() as conn:
        first, last, n = conn.execute(
            text("SELECT MIN(id), MAX(id), COUNT(*) FROM accounts WHERE status = 'active'")
        ).one()
    if n < SPLIT_SNAPSHOT_ACCOUNTS:
        return [SNAPSHOT]
    return snapshot_parts(int(first), int(last))


@contextmanager
def _points_ahead(ctx: AppContext) -> Iterator[Snapshot | None]:
    """Every active contact point of the debtors (`ALL_POINTS_SQL`) read while the snapshot is read:
    by a child process on SQLite, by a thread over ADBC on PostgreSQL (1.3M points in ≈ 1.3–2 s,
    against ≈ 0.5 s per chunk of the pre-check's own row-by-row reads); None where neither can read
    (an in-memory database): reading them all through Python objects would cost more than the
    pre-check's own reads of the points it needs."""
    with read_snapshot(ctx.engine, {"points": ALL_POINTS_SQL}) as reader:
        yield reader if reader.reader != "sqlite3" else None


def _duckdb() -> Any:
    import duckdb

    return duckdb.connect()  # one in-process connection for every step, on all cores


def _run(engine: str, con: Any, sql: str, tables: Mapping[str, pa.Table]) -> pa.Table:
    return run_duckdb(sql, tables, con) if con is not None else run(engine, sql, tables)


def _people(accounts: pa.Table, creditors: pa.Table) -> pa.Table:
    """Account id → debtor id, account ref and rule pack, for the guard's pre-check."""
    base = conform(accounts, PEOPLE_SCHEMA)
    packs = base.join(
        creditors.select(["creditor_id", "rule_pack"]), keys="creditor_id", join_type="left outer"
    )
    return packs.select(["id", "debtor_id", "account_ref", "rule_pack"])


PEOPLE_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("debtor_id", pa.int64()),
        ("account_ref", pa.string()),
        ("creditor_id", pa.int64()),
    ]
)
CREDITOR_SCHEMA = pa.schema(
    [("creditor_id", pa.int64()), ("creditor", pa.string()), ("rule_pack", pa.string())]
)
MODEL_SNAP_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("principal", pa.int64()),
        ("interest", pa.int64()),
        ("penalty", pa.int64()),
        ("fees", pa.int64()),
        ("product", pa.string()),
    ]
)
SNAP_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("account_ref", pa.string()),
        ("creditor_id", pa.int64()),
        ("product", pa.string()),
        ("currency", pa.string()),
        ("principal", pa.int64()),
        ("interest", pa.int64()),
        ("penalty", pa.int64()),
        ("fees", pa.int64()),
        ("ability", pa.string()),
        ("willingness", pa.string()),
        ("flags", pa.string()),
        ("state_segment", pa.string()),
        ("state_arm", pa.string()),
        ("state_entered_on", pa.date32()),
    ]
)


def features_sql(d: Dialect) -> str:
    """Post-ageing features of every still-active account (the strategy's and the score's inputs)."""
    return """
SELECT s.id, s.account_ref, cr.creditor, s.product, COALESCE(cur.scale, 100) AS currency_scale,
       g.bucket, g.days_past_due,
       s.principal + s.interest + s.penalty + g.accrued + s.fees AS balance_minor,
       CAST(NULL AS DOUBLE) AS score, COALESCE(s.ability, 'unknown') AS ability,
       COALESCE(s.willingness, 'unknown') AS willingness, s.flags,
       CAST(NULL AS INTEGER) AS days_since_contact,
       s.state_segment, s.state_arm, s.state_entered_on
FROM snap s JOIN aged g ON g.id = s.id
JOIN creditors cr ON cr.creditor_id = s.creditor_id
LEFT JOIN currencies cur ON cur.code = s.currency
WHERE g.status = 'active'
ORDER BY s.id
"""


def currency_table() -> pa.Table:
    codes = sorted(MINOR_UNITS)
    return pa.table({"code": codes, "scale": [10 ** MINOR_UNITS[c] for c in codes]})


def score_features(feats: pa.Table, live: tuple[pl.DataFrame, str] | None = None) -> tuple[pa.Table, str]:
    """Propensity to pay within 30 days: the registry's live model when there is one (R9); until a
    model is trained and promoted, a transparent prior — a logistic curve falling with days past due."""
    i = feats.schema.get_field_index("score")
    if live is not None:
        scored, source = live
        ids = pl.DataFrame({"account_id": feats["id"].to_pylist()})
        id_col = "account_id" if "account_id" in scored.columns else scored.columns[0]
        scores = scored.select(pl.col(id_col).cast(pl.Int64).alias("account_id"), "score")
        joined = ids.join(scores, on="account_id", how="left")
        return feats.set_column(i, "score", joined["score"].fill_null(0.0).to_arrow()), source
    dpd = np.asarray(pc.fill_null(feats["days_past_due"], 0), dtype=np.float64)
    prior = 1.0 / (1.0 + np.exp(-(0.6 - 0.03 * dpd)))
    return feats.set_column(i, "score", pa.array(np.round(prior, 6))), "prior:dpd-logistic"


def _live_scores(
    ctx: AppContext, accounts: pa.Table, aged: pa.Table, as_of: date
) -> tuple[pl.DataFrame, str] | None:
    """Score with the live propensity model, on post-ageing balances and the last 90 days of payments."""
    from arrears.scoring.registry import ModelRegistry

    root = ctx.settings.model_registry
    if not root.exists() or ModelRegistry(root).live_version() is None:
        return None  # and the model libraries are not loaded (over a second of imports)
    from arrears.scoring.features import build_propensity_features
    from arrears.scoring.service import score_with_live_model

    base = pl.from_arrow(conform(accounts, MODEL_SNAP_SCHEMA))
    extra = pl.from_arrow(read_arrow(ctx.engine, SNAPSHOT_MODEL_INPUTS))
    post = pl.from_arrow(aged.select(["id", "accrued", "days_past_due", "bucket"]))
    assert (
        isinstance(base, pl.DataFrame) and isinstance(extra, pl.DataFrame) and isinstance(post, pl.DataFrame)
    )
    snap = base.join(extra.with_columns(pl.col("id").cast(pl.Int64)), on="id", how="left").select(
        "id",
        "principal",
        "interest",
        "penalty",
        "fees",
        "loan_amount",
        "annual_rate",
        "product",
        "contract_date",
    )
    frame = (
        snap.join(post, on="id")
        .with_columns(
            (pl.col("penalty") + pl.col("accrued")).alias("penalty"),
            pl.col("annual_rate").cast(pl.Float64, strict=False),
            pl.col("contract_date").cast(pl.String).str.to_date(strict=False),
        )
        .rename({"id": "account_id"})
        .drop("accrued")
    )
    since = as_of - timedelta(days=90)
    payments = pl.from_arrow(
        read_arrow(
            ctx.engine,
            (
                "SELECT account_id, effective_date AS paid_on, amount FROM ledger_transactions "
                f"WHERE kind = 'payment' AND effective_date > '{since.isoformat()}' AND effective_date <= '{as_of.isoformat()}'"
            ),
        )
    )
    assert isinstance(payments, pl.DataFrame)
    if payments.height:
        payments = payments.with_columns(pl.col("paid_on").cast(pl.String).str.to_date())
    else:
        payments = pl.DataFrame(schema={"account_id": pl.Int64, "paid_on": pl.Date, "amount": pl.Int64})
    features = build_propensity_features(frame, as_of, payments=payments)
    return score_with_live_model(features, root)


def _with_priority(plan: pa.Table) -> pa.Table:
    """Queue priority = expected recovery = P(pay) × balance, in minor units (R9)."""
    score = np.asarray(pc.fill_null(plan["score"], 0.0), dtype=np.float64)
    balance = np.asarray(pc.fill_null(plan["balance_minor"], 0), dtype=np.float64)
    return plan.append_column("priority", pa.array(np.round(score * balance, 4)))


def _account_staging(aged: pa.Table, accounts: pa.Table) -> tuple[pa.Table, pl.DataFrame]:
    """Per aged account, in id order, only what the merge needs: DPD, bucket and accrual for the account,
    the accrual's ledger transaction (by index into the groups), whether the bucket moved or the account
    is paid. Narrow on purpose: every column is bound once per account.

    Also the accrual groups: one ledger transaction per creditor and currency (R4), in that order."""
    aged_df = pl.from_arrow(aged.select(["id", "accrued", "days_past_due", "bucket", "status"]))
    old = pl.from_arrow(
        conform(accounts, OLD_SCHEMA).rename_columns(["id", "creditor_id", "currency", "old_bucket"])
    )
    assert isinstance(aged_df, pl.DataFrame) and isinstance(old, pl.DataFrame)
    rows = aged_df.join(old, on="id", how="inner").sort("id")
    groups = (
        rows.filter(pl.col("accrued") > 0)
        .group_by(["creditor_id", "currency"])
        .agg(pl.col("accrued").sum().alias("total"), pl.len().alias("count"))
        .sort(["creditor_id", "currency"])
        .with_row_index("ledger")
    )
    staged = rows.join(
        groups.select("creditor_id", "currency", "ledger"), on=["creditor_id", "currency"], how="left"
    ).select(
        "id",
        "days_past_due",
        "bucket",
        "accrued",
        pl.when(pl.col("accrued") > 0).then(pl.col("ledger")).cast(pl.Int32).alias("ledger"),
        (pl.col("bucket") != pl.col("old_bucket")).fill_null(True).cast(pl.Int8).alias("bucket_changed"),
        (pl.col("status") == "paid").cast(pl.Int8).alias("paid"),
    )
    return staged.sort("id").to_arrow(), groups


def _case_staging(aged: pa.Table, plan: pa.Table) -> pa.Table:
    """Per account still owing, in id order: the open case's score and queue priority."""
    owing = pl.from_arrow(aged.select(["id", "status"]))
    scores = pl.from_arrow(plan.select(["id", "score", "priority"]))
    assert isinstance(owing, pl.DataFrame) and isinstance(scores, pl.DataFrame)
    return (
        owing.filter(pl.col("status") != "paid")
        .join(scores, on="id", how="left")
        .select("id", "score", "priority")
        .sort("id")
        .to_arrow()
    )


OLD_SCHEMA = pa.schema(
    [("id", pa.int64()), ("creditor_id", pa.int64()), ("currency", pa.string()), ("bucket", pa.string())]
)


def _plan_staging(plan: pa.Table, allowed: np.ndarray, rules: list[str | None]) -> pa.Table:
    """Per planned account, in id order: case score and priority, the treatment spell when it moved,
    today's action with the guard's answer."""
    moved = pc.cast(pc.fill_null(plan["moved"], True), pa.int8())
    cols = [
        "id",
        "segment",
        "arm",
        "path",
        "action",
        "step_no",
        "channel",
        "template",
        "tone",
        "window_start",
        "window_end",
        "score",
        "priority",
    ]
    return (
        plan.select(cols)
        .append_column("moved", moved)
        .append_column("allowed", pa.array(allowed, pa.int8()))
        .append_column("rules", pa.array(rules, pa.string()))
        .sort_by("id")
    )


def _counts(table: pa.Table, keys: list[str]) -> dict[str, int]:
    grouped = table.group_by(keys).aggregate([([], "count_all")]).sort_by([(k, "ascending") for k in keys])
    return {
        str(k): int(n)
        for k, n in zip(grouped[keys[0]].to_pylist(), grouped["count_all"].to_pylist(), strict=True)
    }


def _bucket_counts(aged: pa.Table) -> dict[str, int]:
    """Active accounts per bucket after the run (every active account is in the snapshot)."""
    return _counts(aged.filter(pc.equal(aged["status"], "active")).select(["bucket"]), ["bucket"])


def _planned_counts(plan_rows: pa.Table, summary: BatchSummary) -> None:
    """Today's planned actions per action:channel, and how many the guard blocked."""
    acted = plan_rows.filter(pc.is_valid(plan_rows["action"]))
    if acted.num_rows == 0:
        return
    grouped = acted.group_by(["action", "channel", "allowed"], use_threads=False).aggregate(
        [([], "count_all")]
    )
    rows = sorted(
        grouped.to_pylist(),
        key=lambda r: (r["action"], r["channel"] is not None, r["channel"] or "", r["allowed"]),
    )
    for r in rows:
        key = f"{r['action']}:{r['channel']}" if r["channel"] else r["action"]
        summary.planned[key] = summary.planned.get(key, 0) + int(r["count_all"])
        if not r["allowed"]:
            summary.blocked += int(r["count_all"])


class _Merge:
    """The SQLite merge in a thread of its own: one connection, one transaction, begun as soon as the
    account rows exist; statements that need the plan wait for it (`staged`). `finish` lets it
    complete and commit and re-raises its error; `abort` makes it roll back. SQLite runs a statement
    without holding the interpreter lock, so the statements proceed while the batch thread computes;
    the batch thread only reads meanwhile (under WAL, readers never wait for the writer)."""

    def __init__(
        self,
        ctx: AppContext,
        as_of: date,
        started: datetime,
        summary: BatchSummary,
        staging: ScratchStaging,
        groups: pl.DataFrame,
    ) -> None:
        self.ctx, self.as_of, self.started, self.summary = ctx, as_of, started, summary
        self.staging, self.groups = staging, groups
        self._handed = {name: threading.Event() for name in STAGED}
        self._handed[STAGING].set()  # the account rows exist before the merge starts
        self._aborted = False
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="batch-merge", daemon=True)
        self._thread.start()

    def _staged(self, conn: Connection, name: str) -> str:
        self._handed[name].wait()  # until the batch thread has computed and handed over the table
        if self._aborted:
            raise _MergeAborted
        table = self.staging.wait(name, conn)
        self.summary.staging_writer = self.staging.writer
        return table

    def _run(self) -> None:
        try:
            with self.ctx.engine.connect() as conn:
                self.staging.attach(conn)
                try:
                    with conn.begin():
                        _write_back(
                            conn,
                            self.ctx,
                            self.as_of,
                            self.started,
                            self.summary,
                            self.groups,
                            lambda name: self._staged(conn, name),
                        )
                finally:
                    self.staging.detach(conn)
        except BaseException as exc:  # handed to the batch thread by finish()
            self.error = exc

    def hand_over(self, name: str, data: pa.Table) -> None:
        """Give the merge a staging table (the child stages it; statements that need it may go on)."""
        self.staging.add(name, data)
        self._handed[name].set()

    def finish(self) -> None:
        """Wait for the merge to commit (every table handed over); re-raise its error."""
        self._thread.join()
        if self.error is not None:
            raise self.error

    def abort(self) -> None:
        self._aborted = True
        for event in self._handed.values():
            event.set()
        self._thread.join()


def _hand_over(staging: ScratchStaging, merge: _Merge | None, name: str, data: pa.Table) -> None:
    if merge is not None:
        merge.hand_over(name, data)
    else:
        staging.add(name, data)


class _MergeAborted(Exception):
    """The batch thread failed before the plan was ready: the merge rolls back."""


def _merge_postgres(
    ctx: AppContext,
    as_of: date,
    started: datetime,
    summary: BatchSummary,
    staging: ScratchStaging,
    groups: pl.DataFrame,
) -> None:
    """PostgreSQL: staging tables over binary COPY, then the merge, set-based, in one transaction."""
    summary.staging_writer = "adbc-postgresql"
    for name, data in staging.tables.items():
        write_staging(ctx.engine, name, data)
    try:
        with ctx.engine.begin() as conn:
            _write_back(conn, ctx, as_of, started, summary, groups, lambda name: name)
    finally:
        for name in staging.tables:
            drop_table(ctx.engine, name)


def _write_back(
    conn: Connection,
    ctx: AppContext,
    as_of: date,
    started: datetime,
    summary: BatchSummary,
    groups: pl.DataFrame,
    staged: Callable[[str], str],
) -> None:
    """The merge's statements; `staged(table)` names a staging table in SQL (waiting until it is staged)."""
    now = ctx.clock()
    accounts = staged(STAGING)
    run_id = conn.execute(
        insert(BatchRun)
        .values(as_of=as_of, engine=summary.engine, status="running", started_at=started)
        .returning(BatchRun.id)
    ).scalar_one()
    summary.run_id = run_id
    p = {"as_of": as_of, "now": now}
    written = summary.written
    # Accrual: one balanced ledger transaction per creditor and date (R4).
    from arrears.ledger.models import LedgerTransaction

    per_creditor = groups.select("ledger", "creditor_id", "currency", "total", "count").rows()
    for ledger, creditor_id, currency, total, count in per_creditor:
        tx_id = conn.execute(
            insert(LedgerTransaction)
            .values(
                creditor_id=creditor_id,
                account_id=None,
                kind="accrual",
                amount=int(total),
                currency=currency,
                effective_date=as_of,
                posted_at=now,
                reason=f"nightly penalty accrual through {as_of.isoformat()}",
            )
            .returning(LedgerTransaction.id)
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO ledger_entries (transaction_id, account_id, book, amount) "
                f"SELECT :tx, id, 'penalty', accrued FROM {accounts} WHERE ledger = :g ORDER BY id"
            ),
            {"tx": tx_id, "g": ledger},
        )
        conn.execute(
            text(
                "INSERT INTO ledger_entries (transaction_id, account_id, book, amount) "
                "VALUES (:tx, NULL, 'income_penalty', :amt)"
            ),
            {"tx": tx_id, "amt": -int(total)},
        )
        summary.accrued_accounts += int(count)
        summary.accrued_total[currency] = summary.accrued_total.get(currency, 0) + int(total)
    written["ledger_entries"] = summary.accrued_accounts + len(per_creditor)
    # Bucket spells: close the open one and open the new one where the bucket moved (or none is open).
    conn.execute(
        text(
            "UPDATE bucket_history SET left_on = :as_of WHERE left_on IS NULL AND account_id IN "
            f"(SELECT id FROM {accounts} WHERE bucket_changed = 1)"
        ),
        p,
    )
    result = conn.execute(
        text(
            "INSERT INTO bucket_history (account_id, bucket, entered_on) "
            f"SELECT s.id, s.bucket, :as_of FROM {accounts} s WHERE s.bucket_changed = 1 OR NOT EXISTS "
            "(SELECT 1 FROM bucket_history h WHERE h.account_id = s.id AND h.left_on IS NULL) ORDER BY s.id"
        ),
        p,
    )
    summary.bucket_changes = written["bucket_history"] = result.rowcount or 0
    # Every aged account moves on a day (DPD, accrual date): its narrow standing row is rewritten; the
    # wide account row only where the status changes (R3, R4).
    result = conn.execute(
        text(
            "UPDATE account_standing SET days_past_due = s.days_past_due, bucket = s.bucket, "
            "penalty = account_standing.penalty + s.accrued, aged_as_of = :as_of, "
            "accrued_through = CASE WHEN account_standing.accrued_through IS NOT NULL "
            "AND account_standing.accrued_through > :as_of THEN account_standing.accrued_through ELSE :as_of END "
            f"FROM {accounts} s WHERE s.id = account_standing.account_id"
        ),
        p,
    )
    written["account_standing"] = result.rowcount or 0
    result = conn.execute(
        text(
            f"UPDATE accounts SET status = 'paid', updated_at = :now FROM {accounts} s "
            "WHERE s.paid = 1 AND s.id = accounts.id AND accounts.status <> 'paid'"
        ),
        p,
    )
    written["accounts"] = result.rowcount or 0
    paid = conn.execute(
        text(
            "UPDATE cases SET status = 'closed', closed_at = :now, close_reason = 'paid' WHERE status = 'open' "
            f"AND account_id IN (SELECT id FROM {accounts} WHERE paid = 1)"
        ),
        p,
    )
    summary.paid = paid.rowcount or 0
    # Case scores and queue priorities (R9): ready before the pre-check ends.
    result = conn.execute(
        text(
            "UPDATE cases SET score = s.score, score_source = :src, priority = s.priority "
            f"FROM {staged(CASE_STAGING)} s WHERE cases.account_id = s.id AND cases.status = 'open'"
        ),
        {"src": summary.score_source},
    )
    written["cases"] = result.rowcount or 0
    _write_plan(conn, as_of, run_id, summary, staged)
    conn.execute(
        update(BatchRun)
        .where(BatchRun.id == run_id)
        .values(status="succeeded", finished_at=ctx.clock(), summary=summary.to_dict())
    )


def _write_plan(
    conn: Connection, as_of: date, run_id: int, summary: BatchSummary, staged: Callable[[str], str]
) -> None:
    """Treatment spells and today's planned actions (replacing any earlier run's for the date)."""
    plan = staged(PLAN_STAGING)
    p = {"as_of": as_of, "run": run_id, "strategy": summary.strategy}
    written = summary.written
    conn.execute(
        text(
            "UPDATE treatment_spells SET left_on = :as_of WHERE left_on IS NULL AND account_id IN "
            f"(SELECT id FROM {plan} WHERE moved = 1)"
        ),
        p,
    )
    result = conn.execute(
        text(
            "INSERT INTO treatment_spells (account_id, strategy, segment, arm, path, entered_on) "
            f"SELECT id, :strategy, segment, arm, path, :as_of FROM {plan} WHERE moved = 1 ORDER BY id"
        ),
        p,
    )
    written["treatment_spells"] = result.rowcount or 0
    conn.execute(text("DELETE FROM planned_contacts WHERE as_of = :as_of"), p)
    result = conn.execute(
        text(
            "INSERT INTO planned_contacts (batch_run_id, as_of, account_id, strategy, segment, arm, path, step_no, "
            "action, channel, template, tone, window_start, window_end, allowed, rules, priority) "
            "SELECT :run, :as_of, id, :strategy, segment, arm, path, step_no, action, channel, template, tone, "
            f"window_start, window_end, allowed = 1, rules, priority FROM {plan} WHERE action IS NOT NULL "
            "ORDER BY id"
        ),
        p,
    )
    written["planned_contacts"] = result.rowcount or 0
