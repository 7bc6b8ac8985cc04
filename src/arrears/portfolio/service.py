"""Portfolio use cases: creditors, debtors, contact points, accounts and cases.

Placements are written in bulk — ids reserved up front (core.db.reserve_ids), rows sent with
`executemany` on SQLite and `COPY` on PostgreSQL, all on the caller's connection so the whole import
is one database transaction. The ORM is used for reading and for the handful of single-row writes
(the creditor). One code path serves a ten-row file and a million-row one.

Personal data (national ID, phones, emails, addresses, third parties' names) is encrypted with the key
ring and findable through its blind index (CN-D1, R21). Debtors are keyed by `debtor_ref`, else by the
national ID's blind index, else by the account reference.
"""

from __future__ import annotations

import hashlib
import json
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from arrears.core.db import reserve_ids
from arrears.core.errors import Conflict, LedgerImbalance, NotFound
from arrears.core.money import format_major
from arrears.ledger.models import COMPONENTS
from arrears.portfolio.columns import EMERGENCY_SLOTS
from arrears.portfolio.models import Account, Creditor
from arrears.portfolio.parsing import CHINESE_SPEAKING, CURRENCY_REGION, ROW, RowError, make_error
from arrears.portfolio.schemas import AccountSummaryOut, BalanceOut
from arrears.security.pii import KeyRing

LOOKUP_CHUNK = 100_000
# SQLite page cache while indexes fill in bulk: 2 KiB per imported row, between 256 MiB and 2 GiB.
SQLITE_CACHE_KIB_PER_ROW = 2
SQLITE_CACHE_KIB = (262_144, 2_097_152)
# A bulk insert of at least this many rows per row already in its table loads first and checks after
# (Bulk._load_plan): at a million rows about half the CPU on SQLite and a third of the time on PostgreSQL.
REBUILD_AT = 1.0
OPEN_STATUSES = ("active", "paid")  # statuses a placement may move between; others are left alone


# --- creditors ------------------------------------------------------------------------------------


def ensure_creditor(session: Session, code: str, *, currency: str, at: datetime) -> tuple[Creditor, bool]:
    """The creditor with this code, created (name = code, currency of the first row) if unknown (R1)."""
    creditor = session.scalar(select(Creditor).where(Creditor.code == code))
    if creditor is not None:
        return creditor, False
    region_tz = "America/New_York" if currency == "USD" else "Asia/Shanghai"
    creditor = Creditor(
        code=code, name=code, default_currency=currency, created_at=at,
        rule_pack="cn" if currency in CHINESE_SPEAKING else "us" if currency == "USD" else "cn",
        timezone=region_tz,
    )  # fmt: skip
    session.add(creditor)
    session.flush()
    return creditor, True


def creditor_region(creditor: Creditor | None, fallback_currency: str = "CNY") -> str:
    currency = creditor.default_currency if creditor is not None else fallback_currency
    return CURRENCY_REGION.get(currency, "CN")


# --- the read side --------------------------------------------------------------------------------


def find_account(session: Session, account_ref: str, creditor_code: str | None = None) -> Account:
    """One account by reference; several creditors with the same reference need `creditor_code`."""
    stmt = select(Account, Creditor.code).join(Creditor, Creditor.id == Account.creditor_id)
    stmt = stmt.where(Account.account_ref == account_ref)
    if creditor_code is not None:
        stmt = stmt.where(Creditor.code == creditor_code)
    found = session.execute(stmt).all()
    if not found:
        where = f" for creditor {creditor_code}" if creditor_code else ""
        raise NotFound(f"no account {account_ref}{where}")
    if len(found) > 1:
        codes = ", ".join(sorted(code for _, code in found))
        raise Conflict(f"account {account_ref} exists under several creditors ({codes}): give --creditor")
    return found[0][0]


def account_summary(session: Session, account_ref: str, creditor_code: str | None = None) -> dict[str, Any]:
    """Balances as decimal strings in major units; total = principal + interest + penalty + fees − credit."""
    a = find_account(session, account_ref, creditor_code)
    creditor = session.get(Creditor, a.creditor_id)
    cur = a.currency
    balance = {c: format_major(getattr(a, c), cur) for c in (*COMPONENTS, "credit")}
    balance["total"] = format_major(a.total, cur)
    out = AccountSummaryOut(
        account_ref=a.account_ref, currency=cur, balance=BalanceOut(**balance), days_past_due=a.days_past_due,
        bucket=a.bucket, status=a.status, creditor=creditor.code if creditor else None, product=a.product,
        placement_date=a.placement_date.isoformat() if a.placement_date else None,
        overdue_since=a.overdue_since.isoformat() if a.overdue_since else None,
    )  # fmt: skip
    return out.model_dump()


# --- bulk plumbing --------------------------------------------------------------------------------


class Bulk:
    """Bulk reads and writes on the caller's connection (and so inside its transaction)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self.raw: Any = conn.connection.driver_connection
        self.timings: dict[str, float] = {}  # seconds spent writing each table (the benchmark reports them)
        self.rows_written: dict[str, int] = {}

    def timestamp(self, at: datetime) -> str:
        """A UTC timestamp in the text form the ORM itself stores (naive UTC on SQLite)."""
        at = at.astimezone(UTC)
        if self.dialect == "sqlite":
            return at.strftime("%Y-%m-%d %H:%M:%S.%f")
        return at.isoformat(sep=" ")

    def reserve(self, table: str, n: int) -> int:
        return reserve_ids(self.conn, table, n) if n > 0 else 0

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        size: int | None = None,
        key: str = "id",
    ) -> None:
        """Append rows (ids already reserved; `key` is the table's unique id column). `size`, the number of
        rows when known, lets a large insert load first and check after: see `_load_plan`."""
        started = time.perf_counter()
        cur = self.raw.cursor()
        try:
            drop, restore = self._load_plan(cur, table, key, size)
            if drop:
                # A savepoint: a failed insert leaves the table, its indexes and constraints as they were.
                cur.execute("SAVEPOINT bulk_insert")
            try:
                for sql in drop:
                    cur.execute(sql)
                count = self._append(cur, table, columns, rows)
                for sql in restore:
                    cur.execute(sql)
            except BaseException:
                if drop:
                    cur.execute("ROLLBACK TO SAVEPOINT bulk_insert")
                    cur.execute("RELEASE SAVEPOINT bulk_insert")
                raise
            if drop:
                cur.execute("RELEASE SAVEPOINT bulk_insert")
        finally:
            cur.close()
        self.timings[table] = self.timings.get(table, 0.0) + time.perf_counter() - started
        self.rows_written[table] = self.rows_written.get(table, 0) + max(count, 0)

    def _append(self, cur: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        cols = ", ".join(columns)
        if self.dialect == "postgresql":
            count = 0
            with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        marks = ", ".join("?" if self.dialect == "sqlite" else "%s" for _ in columns)
        cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
        return int(cur.rowcount)

    def _load_plan(self, cur: Any, table: str, key: str, size: int | None) -> tuple[list[str], list[str]]:
        """For an insert of at least REBUILD_AT rows per row already in the table: the statements that
        drop its secondary indexes (and, on PostgreSQL, its foreign keys) and those that restore them
        after the rows are in — one sorted index build and one validating join instead of a random B-tree
        insert per row per index and a foreign-key lookup per row. The checks are the same, made once
        (a violation fails the restore, and the import rolls back). Indexes behind PRIMARY KEY and UNIQUE
        constraints stay. On PostgreSQL this holds the table's ACCESS EXCLUSIVE lock until commit, which
        is why only large loads do it. Smaller inserts: no statements, rows go into the live indexes."""
        if not size or self.dialect not in ("sqlite", "postgresql"):
            return [], []
        cur.execute(f"SELECT COALESCE(MAX({key}), 0) FROM {table}")  # ≥ its row count: keys are unique ids
        if size < REBUILD_AT * cur.fetchone()[0]:
            return [], []
        if self.dialect == "sqlite":
            cur.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL "
                "ORDER BY name",
                (table,),
            )
            found = cur.fetchall()
            return [f'DROP INDEX "{name}"' for name, _ in found], [str(sql) for _, sql in found]
        # A table with deferred triggers (ledger_transactions' balance check) cannot be altered while its
        # events are pending: it keeps its indexes, and foreign keys to it stay.
        deferred = "EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = {} AND g.tgdeferrable AND NOT g.tgisinternal)"
        cur.execute(f"SELECT {deferred.format('%s::regclass')}", (table,))
        if cur.fetchone()[0]:
            return [], []
        cur.execute(
            "SELECT x.indexrelid::regclass::text, pg_get_indexdef(x.indexrelid) FROM pg_index x "
            "JOIN pg_class c ON c.oid = x.indexrelid WHERE x.indrelid = %s::regclass "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid) ORDER BY c.relname",
            (table,),
        )
        indexes = cur.fetchall()
        cur.execute(
            "SELECT quote_ident(conname), pg_get_constraintdef(oid) FROM pg_constraint "
            f"WHERE conrelid = %s::regclass AND contype = 'f' AND NOT {deferred.format('confrelid')} ORDER BY conname",
            (table,),
        )
        fks = cur.fetchall()
        drop = [f"ALTER TABLE {table} DROP CONSTRAINT {name}" for name, _ in fks]
        drop += [f"DROP INDEX {name}" for name, _ in indexes]
        restore = [str(sql) for _, sql in indexes]
        restore += [f"ALTER TABLE {table} ADD CONSTRAINT {name} {sql}" for name, sql in fks]
        return drop, restore

    def update(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, key: str = "id"
    ) -> None:
        """UPDATE table SET columns… WHERE key = the row's last value."""
        mark = "?" if self.dialect == "sqlite" else "%s"
        sets = ", ".join(f"{c} = {mark}" for c in columns)
        sql = f"UPDATE {table} SET {sets} WHERE {key} = {mark}"
        cur = self.raw.cursor()
        try:
            cur.executemany(sql, list(rows))
        finally:
            cur.close()

    def select_in(self, sql: str, key: str, values: Sequence[Any], **params: Any) -> list[tuple[Any, ...]]:
        """Run `sql` (written with `IN :key`) for many values at once, passed as ONE parameter: a JSON
        array read by json_each on SQLite, an array on PostgreSQL. Rows come back as the driver gives them."""
        if self.dialect == "sqlite":
            stmt = text(sql.replace(f"IN :{key}", f"IN (SELECT value FROM json_each(:{key}))"))
        elif self.dialect == "postgresql":
            stmt = text(sql.replace(f"IN :{key}", f"= ANY(:{key})"))
        else:  # pragma: no cover - other databases: expanding IN, chunked
            stmt = text(sql).bindparams(bindparam(key, expanding=True))
        out: list[tuple[Any, ...]] = []
        for i in range(0, len(values), LOOKUP_CHUNK):
            chunk = list(values[i : i + LOOKUP_CHUNK])
            arg: Any = json.dumps(chunk, ensure_ascii=False) if self.dialect == "sqlite" else chunk
            out.extend(tuple(r) for r in self.conn.execute(stmt, {key: arg, **params}))
        return out

    def big_cache(self, rows: int) -> Callable[[], None]:
        """SQLite: a larger page cache for this connection while indexes fill; returns the undo."""
        if self.dialect != "sqlite":
            return lambda: None
        before = int(self.conn.exec_driver_sql("PRAGMA cache_size").scalar() or -2000)
        low, high = SQLITE_CACHE_KIB
        kib = min(high, max(low, rows * SQLITE_CACHE_KIB_PER_ROW))
        self.conn.exec_driver_sql(f"PRAGMA cache_size=-{kib}")

        def undo() -> None:
            self.conn.exec_driver_sql(f"PRAGMA cache_size={before}")

        return undo


def _as_date(v: Any) -> date | None:
    if v is None or isinstance(v, date):
        return v
    return date.fromisoformat(str(v)[:10])


def _rate_text(v: Any) -> str | None:
    """A stored rate (float on SQLite, Decimal on PostgreSQL) in the importer's 8-place text form."""
    if v is None:
        return None
    return format(Decimal(str(v)).quantize(Decimal("0.00000001")), "f")


# --- personal data ----------------------------------------------------------------------------------


def blind_indexer(keys: KeyRing, kind: str) -> Callable[[str], str]:
    """KeyRing.blind_index for one kind, with the HMAC key schedule computed once (same digests: tested)."""
    return keys.blind_indexer(kind)


def blind_indexes(keys: KeyRing, kind: str, values: Sequence[str | None]) -> list[str | None]:
    return keys.blind_indexes(kind, values)


def encrypt_all(keys: KeyRing, values: Sequence[str | None]) -> list[bytes | None]:
    """Encrypt each value with the ring's current key, in one batch (None stays None)."""
    present = [v for v in values if v is not None]
    if len(present) == len(values):
        return list(keys.encrypt_many(present))
    blobs = iter(keys.encrypt_many(present))
    return [None if v is None else next(blobs) for v in values]


def normalise_address(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", value).split()).casefold()


# --- placements -------------------------------------------------------------------------------------

# An account's standing row (models.account_standing_table): written with the account, by the importer
# at placement or restatement (ageing and accrual start again from the placement date).
STANDING_COLUMNS = ("account_id", "days_past_due", "bucket", "penalty", "accrued_through", "aged_as_of")
ACCOUNT_COLUMNS = (
    "id", "debtor_id", "account_ref", "status", "currency", "principal", "interest", "penalty", "fees",
    "credit", "product", "loan_amount", "contract_date", "term_months", "annual_rate", "daily_penalty_rate",
    "placement_date", "overdue_since", "agency_code", "region", "days_past_due", "bucket", "extra",
)  # fmt: skip
# Descriptive terms a re-import may leave blank: blank keeps what is stored.
KEEP_IF_BLANK = ("product", "loan_amount", "contract_date", "term_months", "annual_rate", "daily_penalty_rate",
                 "agency_code", "region", "extra")  # fmt: skip
FROM_FILE = ("placement_date", "overdue_since", "days_past_due", "bucket", *COMPONENTS)


@dataclass
class PlacementOutcome:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    debtors_created: int = 0
    debtors_updated: int = 0
    contact_points_added: int = 0
    third_parties_added: int = 0
    ledger_transactions: int = 0
    restated: int = 0
    cases_opened: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def existing_accounts(bulk: Bulk, creditor_id: int, refs: Sequence[str]) -> pl.DataFrame:
    """Accounts of this creditor among `refs`, normalised to the importer's types."""
    rows = bulk.select_in(
        f"SELECT {', '.join(ACCOUNT_COLUMNS)} FROM accounts JOIN account_standing ON account_id = id "
        "WHERE creditor_id = :c AND account_ref IN :refs",
        "refs", refs, c=creditor_id,
    )  # fmt: skip
    schema: dict[str, Any] = {
        "id": pl.Int64, "debtor_id": pl.Int64, "account_ref": pl.String, "status": pl.String,
        "currency": pl.String, "principal": pl.Int64, "interest": pl.Int64, "penalty": pl.Int64,
        "fees": pl.Int64, "credit": pl.Int64, "product": pl.String, "loan_amount": pl.Int64,
        "contract_date": pl.Date, "term_months": pl.Int64, "annual_rate": pl.String,
        "daily_penalty_rate": pl.String, "placement_date": pl.Date, "overdue_since": pl.Date,
        "agency_code": pl.String, "region": pl.String, "days_past_due": pl.Int64, "bucket": pl.String,
        "extra": pl.String,
    }  # fmt: skip
    idx = {c: i for i, c in enumerate(ACCOUNT_COLUMNS)}
    fixed = []
    for r in rows:
        r2 = list(r)
        for c in ("contract_date", "placement_date", "overdue_since"):
            r2[idx[c]] = _as_date(r2[idx[c]])
        for c in ("annual_rate", "daily_penalty_rate"):
            r2[idx[c]] = _rate_text(r2[idx[c]])
        extra = r2[idx["extra"]]
        if extra is not None and not isinstance(extra, str):
            r2[idx["extra"]] = json.dumps(extra, ensure_ascii=False, separators=(",", ":"))
        fixed.append(r2)
    return pl.DataFrame(fixed, schema=schema, orient="row")


def placement_conflicts(bulk: Bulk, clean: pl.DataFrame, existing: pl.DataFrame) -> list[RowError]:
    """Row errors only the database can tell: a currency change, or new balances older than payments."""
    if existing.height == 0:
        return []
    j = clean.select(ROW, "account_ref", "currency", "placement_date", *COMPONENTS).join(
        existing.select("id", "account_ref", pl.col("currency").alias("cur0"),
                        *(pl.col(c).alias(f"{c}0") for c in COMPONENTS)),
        on="account_ref",
    )  # fmt: skip
    errors = [
        make_error(row, "currency", f"currency_mismatch|account_currency={cur0}", value=cur)
        for row, cur, cur0 in j.filter(pl.col("currency") != pl.col("cur0"))
        .select(ROW, "currency", "cur0")
        .rows()
    ]
    changed = j.filter(pl.any_horizontal([pl.col(c) != pl.col(f"{c}0") for c in COMPONENTS]))
    if changed.height:
        paid = bulk.select_in(
            "SELECT account_id, MAX(effective_date) FROM ledger_transactions t WHERE kind = 'payment' "
            "AND account_id IN :ids AND NOT EXISTS (SELECT 1 FROM ledger_transactions r WHERE r.reverses_id = t.id) "
            "GROUP BY account_id",
            "ids", changed["id"].to_list(),
        )  # fmt: skip
        last = {a: _as_date(d) for a, d in paid}
        for row, acct_id, ref, pdate in changed.select(ROW, "id", "account_ref", "placement_date").rows():
            when = last.get(acct_id)
            if when is not None and when > pdate:
                errors.append(
                    make_error(row, "placement_date", "restate_after_payment", value=ref,
                               placement_date=pdate.isoformat(), last_paid=when.isoformat())
                )  # fmt: skip
    return errors


class PlacementWriter:
    """Writes validated placement rows: debtors, third parties, contact points, accounts, opening
    ledger transactions, restatements, cases and bucket spells — each table in one bulk statement."""

    def __init__(
        self, bulk: Bulk, keys: KeyRing, creditor: Creditor, *, now: datetime, file_name: str,
        progress: Callable[[int], None] | None = None,
    ) -> None:  # fmt: skip
        self.bulk = bulk
        self.keys = keys
        self.creditor = creditor
        self.now = now
        self.ts = bulk.timestamp(now)
        self.file_name = file_name
        self.progress = progress or (lambda n: None)
        self.out = PlacementOutcome()
        self.old_keys: list[str] = []  # debtor keys whose debtor existed before this import
        self.touched: set[str] = set()  # debtor keys that gained or changed a contact or third party

    # The steps, in foreign-key order.
    def write(self, clean: pl.DataFrame, existing: pl.DataFrame) -> PlacementOutcome:
        n = clean.height
        if n == 0:
            return self.out
        undo_cache = self.bulk.big_cache(n)
        try:
            df = self._resolve_debtors(clean, existing)
            self.progress(n // 10)
            df = self._write_debtors(df)
            self.progress(n // 5)
            tp = self._write_third_parties(df)
            self._write_contact_points(df, tp)
            self.progress(n // 5)
            df = self._write_accounts(df, existing)
            self.progress(n // 5)
            self._write_ledger(df)
            self.progress(n // 5)
            self._write_cases_and_buckets(df)
            self.progress(n - n // 10 - 4 * (n // 5))
        finally:
            undo_cache()
        return self.out

    # -- debtors
    def _resolve_debtors(self, clean: pl.DataFrame, existing: pl.DataFrame) -> pl.DataFrame:
        df = clean.with_columns(
            pl.Series("nid_bidx", blind_indexes(self.keys, "national_id", clean["national_id"].to_list()),
                      dtype=pl.String),
        )  # fmt: skip
        long_refs = df.filter(pl.col("account_ref").str.len_chars() > 75)["account_ref"].to_list()
        hashed = {r: "acct#" + hashlib.sha256(r.encode()).hexdigest()[:40] for r in long_refs}
        acct_key = pl.lit("acct:") + pl.col("account_ref")
        if hashed:
            acct_key = pl.col("account_ref").replace_strict(hashed, default=acct_key)
        has_nid = pl.col("nid_bidx").is_not_null()
        ref_by_nid = pl.col("debtor_ref").filter(pl.col("debtor_ref").is_not_null()).first().over("nid_bidx")
        df = df.with_columns(
            pl.coalesce(
                pl.col("debtor_ref"),
                pl.when(has_nid).then(pl.coalesce(ref_by_nid, pl.lit("nid:") + pl.col("nid_bidx"))),
                acct_key,
            ).alias("debtor_key")
        )
        ex = existing.select(
            "account_ref", pl.col("id").alias("account_id"), pl.col("debtor_id").alias("acct_debtor")
        )
        df = df.join(ex, on="account_ref", how="left", maintain_order="left")
        df = df.with_columns(
            pl.col("acct_debtor").filter(pl.col("acct_debtor").is_not_null()).first().over("debtor_key")
            .alias("acct_debtor")
        )  # fmt: skip
        keys = df["debtor_key"].unique().to_list()
        by_ref = dict(
            self.bulk.select_in(
                "SELECT debtor_ref, id FROM debtors WHERE creditor_id = :c AND debtor_ref IN :keys", "keys", keys,
                c=self.creditor.id,
            )
        )  # fmt: skip
        nid_keys = [k for k in keys if k.startswith("nid:") and k not in by_ref]
        by_bidx: dict[str, int] = {}
        if nid_keys:
            for bidx, did in self.bulk.select_in(
                "SELECT national_id_bidx, id FROM debtors WHERE creditor_id = :c AND national_id_bidx IN :b "
                "ORDER BY id", "b", [k[4:] for k in nid_keys], c=self.creditor.id,
            ):  # fmt: skip
                by_bidx.setdefault("nid:" + bidx, did)
        found = {**by_bidx, **by_ref}
        lookup = pl.DataFrame(
            {"debtor_key": list(found), "found_debtor": list(found.values())},
            schema={"debtor_key": pl.String, "found_debtor": pl.Int64},
        )
        df = df.join(lookup, on="debtor_key", how="left", maintain_order="left")
        return df.with_columns(pl.coalesce("acct_debtor", "found_debtor").alias("debtor_id")).drop(
            "acct_debtor", "found_debtor"
        )

    def _debtor_defaults(self, first: pl.DataFrame) -> pl.DataFrame:
        tz = self.creditor.timezone
        return first.with_columns(
            pl.coalesce(
                "language",
                pl.when(pl.col("currency").is_in(sorted(CHINESE_SPEAKING)))
                .then(pl.lit("zh"))
                .otherwise(pl.lit("en")),
            ).alias("language_new"),
            pl.coalesce("timezone", "phone_tz", pl.lit(tz)).alias("timezone_new"),
        )

    def _write_debtors(self, df: pl.DataFrame) -> pl.DataFrame:
        first = df.unique(subset="debtor_key", keep="first", maintain_order=True)
        first = self._debtor_defaults(first)
        new = first.filter(pl.col("debtor_id").is_null())
        if new.height:
            start = self.bulk.reserve("debtors", new.height)
            new = new.with_columns(pl.int_range(start, start + new.height, dtype=pl.Int64).alias("new_id"))
            enc = encrypt_all(self.keys, new["national_id"].to_list())
            cols = ("id", "creditor_id", "debtor_ref", "name", "national_id_enc", "national_id_bidx", "birth_date",
                    "gender", "employer", "monthly_income", "language", "region", "timezone", "created_at",
                    "updated_at")  # fmt: skip
            n = new.height
            rows = zip(
                new["new_id"].to_list(), [self.creditor.id] * n, new["debtor_key"].to_list(),
                new["debtor_name"].to_list(), enc, new["nid_bidx"].to_list(),
                new["birth_date"].dt.to_string("%Y-%m-%d").to_list(), new["gender"].to_list(),
                new["employer"].to_list(), new["monthly_income"].to_list(), new["language_new"].to_list(),
                new["region"].to_list(), new["timezone_new"].to_list(), [self.ts] * n, [self.ts] * n,
                strict=True,
            )  # fmt: skip
            self.bulk.insert("debtors", cols, rows, size=n)
            self.out.debtors_created = n
            ids = new.select("debtor_key", pl.col("new_id"))
            df = df.join(ids, on="debtor_key", how="left", maintain_order="left").with_columns(
                pl.coalesce("debtor_id", "new_id").alias("debtor_id")
            ).drop("new_id")  # fmt: skip
        old = first.filter(
            pl.col("debtor_id").is_not_null() & ~pl.col("debtor_key").is_in(new["debtor_key"].to_list())
        )
        self.old_keys = old["debtor_key"].to_list()
        changed_keys: set[str] = set()
        if old.height:
            changed_keys = self._update_debtors(old)
        return df.with_columns(pl.col("debtor_key").is_in(sorted(changed_keys)).alias("debtor_changed"))

    def _update_debtors(self, first: pl.DataFrame) -> set[str]:
        rows = self.bulk.select_in(
            "SELECT id, name, national_id_bidx, employer, monthly_income, language, region, timezone "
            "FROM debtors WHERE id IN :ids", "ids", first["debtor_id"].to_list(),
        )  # fmt: skip
        cur = pl.DataFrame(
            rows, orient="row",
            schema={"debtor_id": pl.Int64, "name0": pl.String, "bidx0": pl.String, "employer0": pl.String,
                    "income0": pl.Int64, "language0": pl.String, "region0": pl.String, "tz0": pl.String},
        )  # fmt: skip
        j = first.join(cur, on="debtor_id").with_columns(
            pl.coalesce("debtor_name", "name0").alias("name1"),
            pl.coalesce("nid_bidx", "bidx0").alias("bidx1"),
            pl.coalesce("employer", "employer0").alias("employer1"),
            pl.coalesce("monthly_income", "income0").alias("income1"),
            pl.coalesce("language", "language0").alias("language1"),
            pl.coalesce("region", "region0").alias("region1"),
            pl.coalesce("timezone", "tz0").alias("tz1"),
        )
        pairs = [("name1", "name0"), ("bidx1", "bidx0"), ("employer1", "employer0"), ("income1", "income0"),
                 ("language1", "language0"), ("region1", "region0"), ("tz1", "tz0")]  # fmt: skip
        changed = j.filter(pl.any_horizontal([pl.col(a).ne_missing(pl.col(b)) for a, b in pairs]))
        if changed.height == 0:
            return set()
        self.bulk.update(
            "debtors", ("name", "employer", "monthly_income", "language", "region", "timezone", "updated_at"),
            zip(changed["name1"].to_list(), changed["employer1"].to_list(), changed["income1"].to_list(),
                changed["language1"].to_list(), changed["region1"].to_list(), changed["tz1"].to_list(),
                [self.ts] * changed.height, changed["debtor_id"].to_list(), strict=True),
        )  # fmt: skip
        new_nid = changed.filter(
            pl.col("nid_bidx").is_not_null() & pl.col("nid_bidx").ne_missing(pl.col("bidx0"))
        )
        if new_nid.height:
            enc = encrypt_all(self.keys, new_nid["national_id"].to_list())
            self.bulk.update(
                "debtors", ("national_id_enc", "national_id_bidx", "birth_date", "gender"),
                zip(enc, new_nid["nid_bidx"].to_list(), new_nid["birth_date"].dt.to_string("%Y-%m-%d").to_list(),
                    new_nid["gender"].to_list(), new_nid["debtor_id"].to_list(), strict=True),
            )  # fmt: skip
        self.out.debtors_updated = changed.height
        return set(changed["debtor_key"].to_list())

    # -- third parties and contact points
    def _write_third_parties(self, df: pl.DataFrame) -> pl.DataFrame:
        """Emergency contacts (CN-P2) from each debtor's first row: name encrypted, relation plain."""
        first = df.unique(subset="debtor_key", keep="first", maintain_order=True)
        parts = []
        for k in EMERGENCY_SLOTS:
            name, rel, phone = (f"emergency_contact_{k}_{f}" for f in ("name", "relation", "phone"))
            parts.append(
                first.filter(pl.col(name).is_not_null() | pl.col(phone).is_not_null() | pl.col(rel).is_not_null())
                .select("debtor_key", "debtor_id", pl.lit(k, pl.Int64).alias("seq"), pl.col(name).alias("name"),
                        pl.col(rel).alias("relation"), pl.col(phone).alias("phone"),
                        pl.col(f"{phone}_tz").alias("phone_tz"))
            )  # fmt: skip
        tp = pl.concat(parts)
        if tp.height == 0:
            return tp.with_columns(pl.lit(None, pl.Int64).alias("third_party_id"))
        old_ids = tp.filter(pl.col("debtor_key").is_in(self.old_keys))["debtor_id"].unique().to_list()
        existing_rows = self.bulk.select_in(
            "SELECT id, debtor_id, seq, name_enc, relation FROM third_parties WHERE debtor_id IN :ids", "ids", old_ids
        ) if old_ids else []  # fmt: skip
        current = {(d, s): (i, self.keys.decrypt(bytes(n)) if n is not None else None, r)
                   for i, d, s, n, r in existing_rows}  # fmt: skip
        ids: list[int | None] = []
        updates = []
        for did, seq, name, rel in tp.select("debtor_id", "seq", "name", "relation").iter_rows():
            hit = current.get((did, seq))
            if hit is None:
                ids.append(None)
                continue
            tid, name0, rel0 = hit
            ids.append(tid)
            name1 = name if name is not None else name0
            rel1 = rel if rel is not None else rel0
            if (name1, rel1) != (name0, rel0):
                updates.append((self.keys.encrypt(name1) if name1 is not None else None, rel1, tid))
        tp = tp.with_columns(pl.Series("third_party_id", ids, dtype=pl.Int64))
        if updates:
            self.bulk.update("third_parties", ("name_enc", "relation"), updates)
            self.touched |= set(
                tp.filter(pl.col("third_party_id").is_in([u[2] for u in updates]))["debtor_key"]
            )
        new = tp.filter(pl.col("third_party_id").is_null())
        if new.height:
            start = self.bulk.reserve("third_parties", new.height)
            new_ids = pl.int_range(start, start + new.height, dtype=pl.Int64, eager=True)
            enc = encrypt_all(self.keys, new["name"].to_list())
            self.bulk.insert(
                "third_parties", ("id", "debtor_id", "seq", "party", "name_enc", "relation"),
                zip(new_ids.to_list(), new["debtor_id"].to_list(), new["seq"].to_list(),
                    ["third_party"] * new.height, enc, new["relation"].to_list(), strict=True),
                size=new.height,
            )  # fmt: skip
            self.out.third_parties_added = new.height
            self.touched |= set(new.filter(pl.col("debtor_key").is_in(self.old_keys))["debtor_key"])
            tp = pl.concat([tp.filter(pl.col("third_party_id").is_not_null()),
                            new.with_columns(new_ids.alias("third_party_id"))])  # fmt: skip
        return tp

    def _write_contact_points(self, df: pl.DataFrame, tp: pl.DataFrame) -> None:
        """Phones (E.164), emails and addresses, each once per owner; existing ones are kept, new ones added."""
        tz = self.creditor.timezone
        debtor_tz = self._debtor_defaults(
            df.select("debtor_key", "language", "currency", "timezone", "phone_tz")
        )
        df = df.with_columns(debtor_tz["timezone_new"].alias("__dtz"))
        spec = (("phone", "phone", "primary", "phone_tz"), ("phone_2", "phone", "secondary", "phone_2_tz"),
                ("email", "email", None, None), ("address", "address", "home", None))  # fmt: skip
        parts = []
        for col, kind, label, tz_col in spec:
            parts.append(
                df.filter(pl.col(col).is_not_null()).select(
                    "debtor_key", "debtor_id", pl.lit(None, pl.Int64).alias("third_party_id"),
                    pl.lit(kind).alias("kind"), pl.lit(label, pl.String).alias("label"), pl.col(col).alias("value"),
                    (pl.coalesce(tz_col, pl.lit(tz)) if tz_col else pl.col("__dtz")).alias("timezone"),
                )
            )  # fmt: skip
        parts.append(
            tp.filter(pl.col("phone").is_not_null()).select(
                "debtor_key", "debtor_id", "third_party_id", pl.lit("phone").alias("kind"),
                pl.lit("emergency", pl.String).alias("label"), pl.col("phone").alias("value"),
                pl.coalesce("phone_tz", pl.lit(tz)).alias("timezone"),
            )
        )  # fmt: skip
        cp = pl.concat(parts).unique(subset=["debtor_id", "third_party_id", "kind", "value"], keep="first",
                                     maintain_order=True)  # fmt: skip
        if cp.height == 0:
            return
        cp = cp.with_columns(
            pl.when(pl.col("kind") == "address").then(
                pl.col("value").str.normalize("NFKC").str.replace_all(r"\s+", " ").str.strip_chars().str.to_lowercase()
            ).otherwise(pl.col("value")).alias("normalised")
        )  # fmt: skip
        bidx: list[str] = []
        for kind in ("phone", "email", "address"):
            part = cp.filter(pl.col("kind") == kind)
            if part.height:
                index = blind_indexer(self.keys, kind)
                bidx += list(map(index, part["normalised"].to_list()))
        cp = pl.concat([cp.filter(pl.col("kind") == k) for k in ("phone", "email", "address")])
        cp = cp.with_columns(pl.Series("value_bidx", bidx, dtype=pl.String))
        old_ids = cp.filter(pl.col("debtor_key").is_in(self.old_keys))["debtor_id"].unique().to_list()
        if old_ids:
            have = self.bulk.select_in(
                "SELECT debtor_id, third_party_id, kind, value_bidx FROM contact_points WHERE debtor_id IN :ids",
                "ids", old_ids,
            )  # fmt: skip
            if have:
                seen = pl.DataFrame(
                    have, orient="row",
                    schema={"debtor_id": pl.Int64, "third_party_id": pl.Int64, "kind": pl.String,
                            "value_bidx": pl.String},
                )  # fmt: skip
                cp = cp.join(seen, on=["debtor_id", "third_party_id", "kind", "value_bidx"], how="anti",
                             nulls_equal=True)  # fmt: skip
            self.touched |= set(cp.filter(pl.col("debtor_key").is_in(self.old_keys))["debtor_key"])
        if cp.height == 0:
            return
        start = self.bulk.reserve("contact_points", cp.height)
        enc = encrypt_all(self.keys, cp["value"].to_list())
        n = cp.height
        self.bulk.insert(
            "contact_points",
            ("id", "debtor_id", "third_party_id", "kind", "label", "value_enc", "value_bidx", "timezone", "status",
             "created_at"),
            zip(range(start, start + n), cp["debtor_id"].to_list(), cp["third_party_id"].to_list(),
                cp["kind"].to_list(), cp["label"].to_list(), enc, cp["value_bidx"].to_list(),
                cp["timezone"].to_list(), ["active"] * n, [self.ts] * n, strict=True),
            size=n,
        )  # fmt: skip
        self.out.contact_points_added = n

    # -- accounts
    def _write_accounts(self, df: pl.DataFrame, existing: pl.DataFrame) -> pl.DataFrame:
        df = _with_product_name(df)
        new = df.filter(pl.col("account_id").is_null())
        if new.height:
            start = self.bulk.reserve("accounts", new.height)
            new = new.with_columns(
                pl.int_range(start, start + new.height, dtype=pl.Int64).alias("account_id"),
                pl.when(pl.sum_horizontal(*COMPONENTS) > 0).then(pl.lit("active")).otherwise(pl.lit("paid"))
                .alias("status"),
            )  # fmt: skip
            n = new.height
            d = {c: new[c].dt.to_string("%Y-%m-%d").to_list() for c in ("contract_date", "placement_date",
                                                                        "overdue_since")}  # fmt: skip
            cols = ("id", "creditor_id", "debtor_id", "account_ref", "product", "currency", "loan_amount",
                    "contract_date", "term_months", "annual_rate", "daily_penalty_rate", "placement_date",
                    "overdue_since", "agency_code", "region", "status", "principal", "interest", "fees", "credit",
                    "extra", "created_at", "updated_at")  # fmt: skip
            self.bulk.insert(
                "accounts", cols,
                zip(new["account_id"].to_list(), [self.creditor.id] * n, new["debtor_id"].to_list(),
                    new["account_ref"].to_list(), new["product"].fill_null("consumer_loan").to_list(),
                    new["currency"].to_list(), new["loan_amount"].to_list(), d["contract_date"],
                    new["term_months"].to_list(), new["annual_rate"].to_list(),
                    new["daily_penalty_rate"].fill_null("0").to_list(), d["placement_date"], d["overdue_since"],
                    new["agency_code"].to_list(), new["region"].to_list(), new["status"].to_list(),
                    new["principal"].to_list(), new["interest"].to_list(), new["fees"].to_list(), [0] * n,
                    new["extra"].to_list(), [self.ts] * n, [self.ts] * n, strict=True),
                size=n,
            )  # fmt: skip
            self.bulk.insert(
                "account_standing", STANDING_COLUMNS,
                zip(new["account_id"].to_list(), new["days_past_due"].to_list(), new["bucket"].to_list(),
                    new["penalty"].to_list(), d["placement_date"], d["placement_date"], strict=True),
                size=n, key="account_id",
            )  # fmt: skip
            self.out.imported = n
        old = df.filter(pl.col("account_id").is_not_null())
        if old.height:
            old = self._update_accounts(old, existing)
        parts = [p for p in (new, old) if p.height]
        return pl.concat(parts, how="diagonal_relaxed") if parts else df

    def _update_accounts(self, old: pl.DataFrame, existing: pl.DataFrame) -> pl.DataFrame:
        ex = existing.rename({c: f"{c}0" for c in existing.columns if c not in ("account_ref",)})
        j = old.join(ex, on="account_ref", how="left", maintain_order="left")
        j = j.with_columns(
            *(pl.coalesce(c, f"{c}0").alias(f"{c}1") for c in KEEP_IF_BLANK),
            *(pl.col(c).alias(f"{c}1") for c in FROM_FILE),
        )
        owed = pl.sum_horizontal(*(pl.col(f"{c}1") for c in COMPONENTS))
        j = j.with_columns(
            pl.when(pl.col("status0").is_in(OPEN_STATUSES))
            .then(pl.when(owed > 0).then(pl.lit("active")).otherwise(pl.lit("paid")))
            .otherwise(pl.col("status0"))
            .alias("status"),
        )
        j = j.with_columns(
            pl.when(pl.col("status") == "paid").then(pl.lit(0, pl.Int64)).otherwise(pl.col("days_past_due1"))
            .alias("days_past_due1"),
            pl.when(pl.col("status") == "paid").then(pl.lit("C")).otherwise(pl.col("bucket1")).alias("bucket1"),
        )  # fmt: skip
        fields = (*KEEP_IF_BLANK, *FROM_FILE)
        balance_changed = pl.any_horizontal([pl.col(f"{c}1") != pl.col(f"{c}0") for c in COMPONENTS])
        account_changed = pl.any_horizontal(
            [pl.col(f"{c}1").ne_missing(pl.col(f"{c}0")) for c in fields]
            + [pl.col("status") != pl.col("status0")]
        )
        extra_keys = sorted(self.touched)
        j = j.with_columns(
            balance_changed.alias("balance_changed"),
            (account_changed | pl.col("debtor_changed") | pl.col("debtor_key").is_in(extra_keys)).alias(
                "row_changed"
            ),
            account_changed.alias("account_changed"),
        )
        upd = j.filter(pl.col("account_changed"))
        if upd.height:
            cols = ("product", "loan_amount", "contract_date", "term_months", "annual_rate", "daily_penalty_rate",
                    "agency_code", "region", "extra", "placement_date", "overdue_since", "status", "principal",
                    "interest", "fees", "updated_at")  # fmt: skip
            d = {c: upd[f"{c}1"].dt.to_string("%Y-%m-%d").to_list() for c in ("contract_date", "placement_date",
                                                                              "overdue_since")}  # fmt: skip
            ids = upd["account_id"].to_list()
            self.bulk.update(
                "accounts", cols,
                zip(upd["product1"].to_list(), upd["loan_amount1"].to_list(), d["contract_date"],
                    upd["term_months1"].to_list(), upd["annual_rate1"].to_list(),
                    upd["daily_penalty_rate1"].to_list(), upd["agency_code1"].to_list(), upd["region1"].to_list(),
                    upd["extra1"].to_list(), d["placement_date"], d["overdue_since"], upd["status"].to_list(),
                    upd["principal1"].to_list(), upd["interest1"].to_list(), upd["fees1"].to_list(),
                    [self.ts] * upd.height, ids, strict=True),
            )  # fmt: skip
            self.bulk.update(
                "account_standing", STANDING_COLUMNS[1:],
                zip(upd["days_past_due1"].to_list(), upd["bucket1"].to_list(), upd["penalty1"].to_list(),
                    d["placement_date"], d["placement_date"], ids, strict=True),
                key="account_id",
            )  # fmt: skip
        self.out.updated = int(j["row_changed"].sum())
        self.out.unchanged = j.height - self.out.updated
        return j

    # -- ledger
    def _write_ledger(self, df: pl.DataFrame) -> None:
        """Opening transactions for new accounts, one restatement per changed account; each balances."""
        new = df.filter(pl.col("account_id").is_not_null() & pl.col("principal0").is_null()) \
            if "principal0" in df.columns else df  # fmt: skip
        new = new.filter(pl.sum_horizontal(*COMPONENTS) > 0)
        legs = []
        tx_frames = []
        reason_open = f"placement {self.file_name}"[:400]
        if new.height:
            start = self.bulk.reserve("ledger_transactions", new.height)
            new = new.with_columns(pl.int_range(start, start + new.height, dtype=pl.Int64).alias("tx_id"))
            tx_frames.append(
                new.select(
                    "tx_id",
                    "account_id",
                    "currency",
                    "placement_date",
                    pl.lit("opening").alias("kind"),
                    pl.lit(reason_open).alias("reason"),
                )
            )
            for i, c in enumerate(COMPONENTS):
                legs.append(new.select("tx_id", "account_id", pl.lit(i, pl.Int64).alias("ord"),
                                       pl.lit(c).alias("book"), pl.col(c).alias("amount")))  # fmt: skip
            legs.append(new.select("tx_id", "account_id", pl.lit(len(COMPONENTS), pl.Int64).alias("ord"),
                                   pl.lit("placement").alias("book"),
                                   (-pl.sum_horizontal(*COMPONENTS)).alias("amount")))  # fmt: skip
        if "balance_changed" in df.columns:
            changed = df.filter(pl.col("balance_changed").fill_null(False))
            if changed.height:
                start = self.bulk.reserve("ledger_transactions", changed.height)
                changed = changed.with_columns(
                    pl.int_range(start, start + changed.height, dtype=pl.Int64).alias("tx_id")
                )
                reason = f"placement restated by {self.file_name}"[:400]
                tx_frames.append(
                    changed.select(
                        "tx_id",
                        "account_id",
                        "currency",
                        "placement_date",
                        pl.lit("adjustment").alias("kind"),
                        pl.lit(reason).alias("reason"),
                    )
                )
                for i, c in enumerate(
                    COMPONENTS
                ):  # as ledger.service.restate: component delta, then its counter
                    delta = pl.col(f"{c}1") - pl.col(f"{c}0")
                    legs.append(
                        changed.select(
                            "tx_id",
                            "account_id",
                            pl.lit(2 * i, pl.Int64).alias("ord"),
                            pl.lit(c).alias("book"),
                            delta.alias("amount"),
                        )
                    )
                    legs.append(
                        changed.select(
                            "tx_id",
                            "account_id",
                            pl.lit(2 * i + 1, pl.Int64).alias("ord"),
                            pl.lit("adjustment").alias("book"),
                            (-delta).alias("amount"),
                        )
                    )
                self.out.restated = changed.height  # fmt: skip
        if not tx_frames:
            return
        tx = pl.concat(tx_frames)
        entries = pl.concat(legs).filter(pl.col("amount") != 0).sort("tx_id", "ord")
        sums = entries.group_by("tx_id").agg(pl.col("amount").sum(), pl.len().alias("n"))
        bad = sums.filter(pl.col("amount") != 0)
        if bad.height:  # double entry: every transaction sums to zero
            raise LedgerImbalance(f"{bad.height} placement transactions do not balance")
        if sums.height != tx.height:
            raise LedgerImbalance("a placement transaction has no entries")
        n = tx.height
        self.bulk.insert(
            "ledger_transactions",
            ("id", "creditor_id", "account_id", "kind", "amount", "currency", "effective_date", "posted_at", "reason"),
            zip(tx["tx_id"].to_list(), [self.creditor.id] * n, tx["account_id"].to_list(), tx["kind"].to_list(),
                [0] * n, tx["currency"].to_list(), tx["placement_date"].dt.to_string("%Y-%m-%d").to_list(),
                [self.ts] * n, tx["reason"].to_list(), strict=True),
            size=n,
        )  # fmt: skip
        m = entries.height
        start = self.bulk.reserve("ledger_entries", m)
        self.bulk.insert(
            "ledger_entries", ("id", "transaction_id", "account_id", "book", "amount"),
            zip(range(start, start + m), entries["tx_id"].to_list(), entries["account_id"].to_list(),
                entries["book"].to_list(), entries["amount"].to_list(), strict=True),
            size=m,
        )  # fmt: skip
        self.out.ledger_transactions = n

    # -- cases and bucket spells
    def _write_cases_and_buckets(self, df: pl.DataFrame) -> None:
        is_old = pl.col("status0").is_not_null() if "status0" in df.columns else pl.lit(False)
        new = df.filter(~is_old)
        old = df.filter(is_old)
        open_cases: set[int] = set()
        open_spells: dict[int, str] = {}
        if old.height:
            ids = old["account_id"].to_list()
            open_cases = {
                r[0]
                for r in self.bulk.select_in(
                    "SELECT account_id FROM cases WHERE status = 'open' AND account_id IN :ids", "ids", ids
                )
            }
            open_spells = dict(self.bulk.select_in(
                "SELECT account_id, bucket FROM bucket_history WHERE left_on IS NULL AND account_id IN :ids",
                "ids", ids))  # fmt: skip
        # R5: every active account has exactly one open case.
        want_case = new.filter(pl.col("status") == "active")["account_id"].to_list()
        want_case += [a for a, s in old.select("account_id", "status").iter_rows()
                      if s == "active" and a not in open_cases]  # fmt: skip
        close = [
            a for a, s in old.select("account_id", "status").iter_rows() if s != "active" and a in open_cases
        ]
        if close:
            self.bulk.conn.execute(
                text("UPDATE cases SET status = 'closed', closed_at = :at, close_reason = 'paid' "
                     "WHERE status = 'open' AND account_id IN :ids").bindparams(bindparam("ids", expanding=True)),
                {"at": self.ts, "ids": close},
            )  # fmt: skip
        if want_case:
            start = self.bulk.reserve("cases", len(want_case))
            n = len(want_case)
            self.bulk.insert(
                "cases", ("id", "account_id", "status", "opened_at", "priority"),
                zip(range(start, start + n), want_case, ["open"] * n, [self.ts] * n, [0] * n, strict=True),
                size=n,
            )  # fmt: skip
            self.out.cases_opened = n
        spells = new.select("account_id", "bucket", "placement_date")
        if old.height:
            moved = old.filter(
                pl.col("account_id").replace_strict(open_spells, default=None, return_dtype=pl.String)
                .ne_missing(pl.col("bucket1"))
            )  # fmt: skip
            if moved.height:
                leave = [
                    (d, a)
                    for a, d in moved.select(
                        "account_id", pl.col("placement_date").dt.to_string("%Y-%m-%d")
                    ).iter_rows()
                    if a in open_spells
                ]
                if leave:
                    mark = "?" if self.bulk.dialect == "sqlite" else "%s"
                    cur = self.bulk.raw.cursor()
                    try:
                        cur.executemany(
                            f"UPDATE bucket_history SET left_on = {mark} WHERE account_id = {mark} AND left_on IS NULL",
                            leave,
                        )
                    finally:
                        cur.close()
                spells = pl.concat([spells, moved.select("account_id", pl.col("bucket1").alias("bucket"),
                                                         "placement_date")])  # fmt: skip
        if spells.height:
            start = self.bulk.reserve("bucket_history", spells.height)
            n = spells.height
            self.bulk.insert(
                "bucket_history", ("id", "account_id", "bucket", "entered_on"),
                zip(range(start, start + n), spells["account_id"].to_list(), spells["bucket"].to_list(),
                    spells["placement_date"].dt.to_string("%Y-%m-%d").to_list(), strict=True),
                size=n,
            )  # fmt: skip


def _with_product_name(df: pl.DataFrame) -> pl.DataFrame:
    """An unrecognised product is stored as `other`, its name as written kept in `extra`."""
    named = df.filter(pl.col("product_name").is_not_null())
    if named.height == 0:
        return df
    merged = {}
    for row, extra, name in named.select(ROW, "extra", "product_name").iter_rows():
        body = json.loads(extra) if extra else {}
        body["product_name"] = name
        merged[row] = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return df.with_columns(
        pl.col(ROW)
        .replace_strict(merged, default=None, return_dtype=pl.String)
        .fill_null(pl.col("extra"))
        .alias("extra")
    )
