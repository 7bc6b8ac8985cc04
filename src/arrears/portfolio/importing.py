"""The import use cases: placement, payment and instalment-schedule files (R1–R4).

Each import reads the whole file, validates every row, then writes in ONE database transaction:
by default all-or-nothing (one bad row → nothing written, every bad row reported); with
`skip_invalid` the good rows are written and the bad ones go to a rejects file with their reasons,
so every data row ends up imported or rejected. Re-importing a file updates, never duplicates.
Row numbers are spreadsheet rows: the header is row 1, the first data row is row 2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from arrears.core.context import AppContext
from arrears.core.errors import ArrearsError, Conflict, NotFound, ValidationFailed
from arrears.core.money import is_known_currency
from arrears.ledger.service import post_payment
from arrears.portfolio import parsing
from arrears.portfolio.columns import MappingFileError, load_mapping, resolve_headers
from arrears.portfolio.models import Account, Creditor, ImportRun, Instalment
from arrears.portfolio.parsing import ROW, FileError, RowError, Validation, make_error
from arrears.portfolio.service import (
    Bulk,
    PlacementWriter,
    creditor_region,
    ensure_creditor,
    existing_accounts,
    placement_conflicts,
)
from arrears.security import audit

Progress = Callable[[int], None]
DEFAULT_ACTOR = "system:import"


class ImportFileError(ValidationFailed):
    """The file (or its mapping file) cannot be read at all: nothing is imported."""


@dataclass
class ImportResult:
    """What an import did. `to_dict()` is the CLI's `--json` body."""

    kind: str
    file: str
    rows: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    committed: bool = False
    rejects_file: str | None = None
    import_run_id: int | None = None
    encoding: str | None = None
    sha256: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Committed and every row accounted for without error (a --skip-invalid run with rejects is not ok)."""
        return self.committed and not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": self.file,
            "rows": self.rows,
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "committed": self.committed,
            "errors": [e.as_dict() for e in self.errors],
            "warnings": self.warnings,
            "rejects_file": self.rejects_file,
            "import_run_id": self.import_run_id,
            "encoding": self.encoding,
            "sha256": self.sha256,
            "details": self.details,
        }


class _Abort(Exception):
    """Roll the transaction back: rows failed a database check and the import is all-or-nothing."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} row errors")
        self.errors = errors


# --- shared steps ---------------------------------------------------------------------------------


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise ImportFileError(f"file not found: {path}") from exc
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _source(path: Path, data: bytes) -> parsing.SourceTable:
    try:
        return parsing.read_source(data, name=path.name)
    except FileError as exc:
        raise ImportFileError(f"{path.name}: {exc}") from exc


def _mapping(mapping_path: Path | None, kind: str) -> dict[str, str] | None:
    if mapping_path is None:
        return None
    try:
        return load_mapping(mapping_path, kind)
    except MappingFileError as exc:
        raise ImportFileError(str(exc)) from exc


def default_rejects_path(path: Path) -> Path:
    """placements.csv → placements.rejects.csv, next to the input."""
    return path.with_name(f"{path.stem}.rejects.csv")


def _write_rejects(table: parsing.SourceTable, errors: list[RowError], target: Path) -> None:
    frame = parsing.rejects_frame(table, errors)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        frame.write_csv(target, include_bom=True)  # a BOM so spreadsheet programs read the Chinese text
    except OSError as exc:
        raise ImportFileError(f"cannot write the rejects file {target}: {exc.strerror or exc}") from exc


def _local_today(ctx: AppContext, creditor: Creditor | None) -> date:
    tz = creditor.timezone if creditor is not None else ctx.settings.default_timezone
    return ctx.clock().astimezone(ZoneInfo(tz)).date()


def _find_creditor(ctx: AppContext, code: str) -> Creditor | None:
    with ctx.sessions() as s:
        return s.scalar(select(Creditor).where(Creditor.code == code))


def _refused(
    kind: str, path: Path, table: parsing.SourceTable, v: Validation, errors: list[RowError], sha: str
) -> ImportResult:
    """All-or-nothing: some rows are bad, so nothing was written."""
    return ImportResult(
        kind=kind, file=str(path), rows=v.rows, rejected=len({e.row for e in errors}), errors=errors,
        warnings=v.warnings, committed=False, encoding=table.encoding, sha256=sha,
    )  # fmt: skip


def _file_refused(kind: str, path: Path, table: parsing.SourceTable, v: Validation, sha: str) -> ImportResult:
    return ImportResult(
        kind=kind, file=str(path), rows=v.rows, rejected=v.rows, errors=v.file_errors, warnings=v.warnings,
        committed=False, encoding=table.encoding, sha256=sha,
    )  # fmt: skip


def _start_run(
    session: Session, creditor_id: int, kind: str, path: Path, sha: str, rows: int, at: datetime
) -> ImportRun:
    run = ImportRun(
        creditor_id=creditor_id, kind=kind, file_name=str(path.name)[:400], sha256=sha, rows=rows, imported=0,
        updated=0, rejected=0, started_at=at, finished_at=at,
    )  # fmt: skip
    session.add(run)
    session.flush()  # also takes SQLite's write lock before ids are reserved
    return run


def _finish_run(
    ctx: AppContext, session: Session, run: ImportRun, result: ImportResult, actor: str, kind: str
) -> None:
    run.imported, run.updated, run.rejected = result.imported, result.updated, result.rejected
    run.finished_at = ctx.clock()
    session.flush()
    audit.record(
        session, actor, f"import.{kind}", "import_run", run.id,
        after={"file": run.file_name, "sha256": run.sha256, "rows": result.rows, "imported": result.imported,
               "updated": result.updated, "unchanged": result.unchanged, "rejected": result.rejected},
        at=ctx.clock(),
    )  # fmt: skip


def _first_currency(table: parsing.SourceTable, hmap: Any) -> str | None:
    i = hmap.position_of("currency")
    if i is None:
        return None
    values = table.frame[f"c{i}"].drop_nulls().head(1).to_list()
    if not values:
        return None
    code = parsing.normalise_currency(values[0])
    return code if is_known_currency(code) else None


# --- placements -----------------------------------------------------------------------------------


def import_placements(
    ctx: AppContext,
    path: Path | str,
    creditor_code: str,
    *,
    skip_invalid: bool = False,
    rejects_path: Path | str | None = None,
    placement_date: date | None = None,
    mapping_path: Path | str | None = None,
    progress: Progress | None = None,
    actor: str = DEFAULT_ACTOR,
) -> ImportResult:
    """Import a placement file for `creditor_code` (created if unknown). Balances are as of the placement
    date: the row's 委案日期, else `placement_date`, else today (the creditor's local date)."""
    path = Path(path)
    started = ctx.clock()
    data = _read(path)
    sha = parsing.file_sha256(data)
    table = _source(path, data)
    hmap = resolve_headers(table.headers, "placements", _mapping(Path(mapping_path) if mapping_path else None,
                                                                   "placements"))  # fmt: skip
    creditor = _find_creditor(ctx, creditor_code)
    currency = (
        creditor.default_currency
        if creditor
        else _first_currency(table, hmap) or ctx.settings.default_currency
    )
    today = _local_today(ctx, creditor)
    v = parsing.validate_placements(
        table, hmap, today=today, placement_date=placement_date or today, default_currency=currency,
        default_region=creditor_region(creditor, currency),
    )  # fmt: skip
    if v.file_errors:
        return _file_refused("placements", path, table, v, sha)
    if v.errors and not skip_invalid:
        return _refused("placements", path, table, v, v.errors, sha)
    keys = ctx.keys
    try:
        with ctx.engine.begin() as conn, Session(bind=conn) as session:
            cred, _created = ensure_creditor(session, creditor_code, currency=currency, at=started)
            run = _start_run(session, cred.id, "placements", path, sha, v.rows, started)
            bulk = Bulk(conn)
            clean = v.clean
            existing = existing_accounts(bulk, cred.id, clean["account_ref"].to_list())
            db_errors = [
                replace(e, header=hmap.header_of(e.column))
                for e in placement_conflicts(bulk, clean, existing)
            ]
            if db_errors and not skip_invalid:
                raise _Abort(db_errors)
            errors = sorted([*v.errors, *db_errors], key=lambda e: (e.row, e.column))
            if db_errors:
                clean = clean.filter(~pl.col(ROW).is_in(sorted({e.row for e in db_errors})))
            writer = PlacementWriter(
                bulk, keys, cred, now=ctx.clock(), file_name=path.name, progress=progress
            )
            outcome = writer.write(clean, existing)
            result = ImportResult(
                kind="placements", file=str(path), rows=v.rows, imported=outcome.imported, updated=outcome.updated,
                unchanged=outcome.unchanged, rejected=len({e.row for e in errors}), errors=errors,
                warnings=v.warnings, committed=True, encoding=table.encoding, sha256=sha,
                import_run_id=run.id, details=outcome.as_dict(),
            )  # fmt: skip
            if result.imported + result.updated + result.unchanged + result.rejected != result.rows:
                raise ArrearsError(
                    "internal error: rows were neither imported nor rejected"
                )  # pragma: no cover
            if errors:
                target = Path(rejects_path) if rejects_path else default_rejects_path(path)
                _write_rejects(table, errors, target)
                result.rejects_file = str(target)
            _finish_run(ctx, session, run, result, actor, "placements")
    except _Abort as abort:
        return _refused(
            "placements", path, table, v, sorted([*v.errors, *abort.errors], key=lambda e: e.row), sha
        )
    return result


# --- payments -------------------------------------------------------------------------------------


def _accounts_by_ref(session: Session, creditor_id: int, refs: list[str]) -> dict[str, Account]:
    out: dict[str, Account] = {}
    for i in range(0, len(refs), 5000):
        chunk = refs[i : i + 5000]
        for a in session.scalars(
            select(Account).where(Account.creditor_id == creditor_id, Account.account_ref.in_(chunk))
        ):
            out[a.account_ref] = a
    return out


def import_payments(
    ctx: AppContext,
    path: Path | str,
    creditor_code: str,
    *,
    skip_invalid: bool = False,
    rejects_path: Path | str | None = None,
    mapping_path: Path | str | None = None,
    progress: Progress | None = None,
    actor: str = DEFAULT_ACTOR,
) -> ImportResult:
    """Post a payment file through the ledger (allocation by the creditor's waterfall), idempotent on
    payment_ref: a ref already posted with the same account and amount is `unchanged`; reused for a
    different payment it is a row error, as is an unknown account."""
    path = Path(path)
    started = ctx.clock()
    data = _read(path)
    sha = parsing.file_sha256(data)
    table = _source(path, data)
    hmap = resolve_headers(table.headers, "payments", _mapping(Path(mapping_path) if mapping_path else None,
                                                                 "payments"))  # fmt: skip
    creditor = _find_creditor(ctx, creditor_code)
    if creditor is None:
        raise NotFound(f"unknown creditor {creditor_code}: import its placements first")
    v = parsing.validate_payments(table, hmap, today=_local_today(ctx, creditor),
                                  default_currency=creditor.default_currency)  # fmt: skip
    if v.file_errors:
        return _file_refused("payments", path, table, v, sha)
    if v.errors and not skip_invalid:
        return _refused("payments", path, table, v, v.errors, sha)
    advance = progress or (lambda n: None)
    try:
        with ctx.sessions() as session, session.begin():
            run = _start_run(session, creditor.id, "payments", path, sha, v.rows, started)
            accounts = _accounts_by_ref(session, creditor.id, v.clean["account_ref"].unique().to_list())
            errors: list[RowError] = []
            imported = unchanged = 0
            now = ctx.clock()
            # Oldest first, so penalty accrues up to each payment in date order.
            for row, ref, account_ref, amount, paid_on, currency in v.clean.sort("paid_on", ROW).select(
                ROW, "payment_ref", "account_ref", "amount", "paid_on", "currency"
            ).iter_rows():  # fmt: skip
                advance(1)
                account = accounts.get(account_ref)
                if account is None:
                    errors.append(make_error(row, "account_ref", "unknown_account", value=account_ref,
                                             header=hmap.header_of("account_ref")))  # fmt: skip
                    continue
                if currency is not None and currency != account.currency:
                    errors.append(make_error(row, "currency", f"currency_mismatch|account_currency={account.currency}",
                                             value=currency, header=hmap.header_of("currency")))  # fmt: skip
                    continue
                try:
                    with session.begin_nested():
                        posting = post_payment(session, account, amount=amount, payment_ref=ref, paid_on=paid_on,
                                               posted_at=now, posted_by=actor)  # fmt: skip
                except Conflict as exc:
                    session.refresh(account)
                    code = "ref_conflict" if "already used" in exc.message else "account_not_payable"
                    column = "payment_ref" if code == "ref_conflict" else "account_ref"
                    errors.append(make_error(row, column, code, value=ref if code == "ref_conflict" else account_ref,
                                             reason=exc.message, header=hmap.header_of(column)))  # fmt: skip
                    continue
                except ValidationFailed as exc:
                    session.refresh(account)
                    errors.append(make_error(row, "amount", "account_not_payable", reason=exc.message,
                                             header=hmap.header_of("amount")))  # fmt: skip
                    continue
                if posting.duplicate:
                    unchanged += 1
                else:
                    imported += 1
            if errors and not skip_invalid:
                raise _Abort(errors)
            all_errors = sorted([*v.errors, *errors], key=lambda e: (e.row, e.column))
            result = ImportResult(
                kind="payments", file=str(path), rows=v.rows, imported=imported, unchanged=unchanged,
                rejected=len({e.row for e in all_errors}), errors=all_errors, warnings=v.warnings, committed=True,
                encoding=table.encoding, sha256=sha, import_run_id=run.id,
            )  # fmt: skip
            if all_errors:
                target = Path(rejects_path) if rejects_path else default_rejects_path(path)
                _write_rejects(table, all_errors, target)
                result.rejects_file = str(target)
            _finish_run(ctx, session, run, result, actor, "payments")
    except _Abort as abort:
        return _refused(
            "payments", path, table, v, sorted([*v.errors, *abort.errors], key=lambda e: e.row), sha
        )
    return result


# --- instalment schedules -------------------------------------------------------------------------


def import_schedule(
    ctx: AppContext,
    path: Path | str,
    creditor_code: str,
    *,
    skip_invalid: bool = False,
    rejects_path: Path | str | None = None,
    mapping_path: Path | str | None = None,
    progress: Progress | None = None,
    actor: str = DEFAULT_ACTOR,
) -> ImportResult:
    """Replace the instalment schedules (分期) of the accounts in the file: account_ref, seq, due_date,
    principal, interest. `imported` counts instalment rows written; a schedule identical to the stored
    one is `unchanged`."""
    path = Path(path)
    started = ctx.clock()
    data = _read(path)
    sha = parsing.file_sha256(data)
    table = _source(path, data)
    hmap = resolve_headers(table.headers, "schedule", _mapping(Path(mapping_path) if mapping_path else None,
                                                                 "schedule"))  # fmt: skip
    creditor = _find_creditor(ctx, creditor_code)
    if creditor is None:
        raise NotFound(f"unknown creditor {creditor_code}: import its placements first")
    v = parsing.validate_schedule(table, hmap, default_currency=creditor.default_currency)
    if v.file_errors:
        return _file_refused("schedule", path, table, v, sha)
    if v.errors and not skip_invalid:
        return _refused("schedule", path, table, v, v.errors, sha)
    try:
        with ctx.engine.begin() as conn, Session(bind=conn) as session:
            run = _start_run(session, creditor.id, "schedule", path, sha, v.rows, started)
            bulk = Bulk(conn)
            refs = v.clean["account_ref"].unique().to_list()
            ids = dict(bulk.select_in("SELECT account_ref, id FROM accounts WHERE creditor_id = :c AND account_ref IN :r",
                                      "r", refs, c=creditor.id))  # fmt: skip
            unknown = v.clean.filter(~pl.col("account_ref").is_in(list(ids)))
            errors = [
                make_error(
                    row, "account_ref", "unknown_account", value=ref, header=hmap.header_of("account_ref")
                )
                for row, ref in unknown.select(ROW, "account_ref").iter_rows()
            ]
            if errors and not skip_invalid:
                raise _Abort(errors)
            clean = v.clean.filter(pl.col("account_ref").is_in(list(ids))).with_columns(
                pl.col("account_ref").replace_strict(ids, return_dtype=pl.Int64).alias("account_id")
            )
            current = bulk.select_in(
                "SELECT account_id, seq, due_date, principal_due, interest_due FROM instalments WHERE account_id IN :a",
                "a", sorted(set(ids.values()) & set(clean["account_id"].to_list())),
            )  # fmt: skip
            stored: dict[int, set[tuple[int, str, int, int]]] = {}
            for a, seq, due, p, i in current:
                stored.setdefault(a, set()).add((seq, str(due)[:10], p, i))
            wanted: dict[int, set[tuple[int, str, int, int]]] = {}
            for a, seq, due, p, i in clean.select(
                "account_id", "seq", pl.col("due_date").dt.to_string("%Y-%m-%d"), "principal_due", "interest_due"
            ).iter_rows():  # fmt: skip
                wanted.setdefault(a, set()).add((seq, due, p, i))
            replace = sorted(a for a, rows in wanted.items() if stored.get(a) != rows)
            same_rows = sum(len(rows) for a, rows in wanted.items() if stored.get(a) == rows)
            if replace:
                session.execute(delete(Instalment).where(Instalment.account_id.in_(replace)))
                new = clean.filter(pl.col("account_id").is_in(replace)).sort("account_id", "seq")
                start = bulk.reserve("instalments", new.height)
                bulk.insert(
                    "instalments", ("id", "account_id", "seq", "due_date", "principal_due", "interest_due"),
                    zip(range(start, start + new.height), new["account_id"].to_list(), new["seq"].to_list(),
                        new["due_date"].dt.to_string("%Y-%m-%d").to_list(), new["principal_due"].to_list(),
                        new["interest_due"].to_list(), strict=True),
                )  # fmt: skip
                written = new.height
            else:
                written = 0
            if progress:
                progress(v.rows)
            all_errors = sorted([*v.errors, *errors], key=lambda e: (e.row, e.column))
            result = ImportResult(
                kind="schedule", file=str(path), rows=v.rows, imported=written, unchanged=same_rows,
                rejected=len({e.row for e in all_errors}), errors=all_errors, warnings=v.warnings, committed=True,
                encoding=table.encoding, sha256=sha, import_run_id=run.id,
                details={"accounts_replaced": len(replace), "replaced_had_schedule": sum(1 for a in replace if a in stored)},
            )  # fmt: skip
            if all_errors:
                target = Path(rejects_path) if rejects_path else default_rejects_path(path)
                _write_rejects(table, all_errors, target)
                result.rejects_file = str(target)
            _finish_run(ctx, session, run, result, actor, "schedule")
    except _Abort as abort:
        return _refused(
            "schedule", path, table, v, sorted([*v.errors, *abort.errors], key=lambda e: e.row), sha
        )
    return result
