"""The case file handed over on the legal route (R19, R5): one zip archive with a manifest.

Contents (paths inside the archive):

    manifest.json            what is in the archive: every other file with its SHA-256 and size
    contract.json            the account's contract terms, contractual schedule and the debtor's name
    statement.json           paid and remaining per component (from the ledger), next due date
    ledger.csv               every ledger transaction and entry of the account
    plans.json               plans and concessions with their schedules
    contact_history.json     the case's contact history (from the contact log of the cases feature)
    escalation.json          the escalation, its stages and costs (when the file is for one)
    documents/<id>-<name>    letters and attachments of the case, each checked against its stored hash

The archive is deterministic for the same inputs (sorted entries, fixed timestamps), and
`verify_casefile` re-hashes every member against the manifest. National identity numbers are not
included (CN-D1, minimum necessary); the legal department reveals them through the audited reveal.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from arrears.core.money import format_major
from arrears.documents.service import documents_of
from arrears.documents.storage import DocumentStore
from arrears.ledger.models import LedgerEntry, LedgerTransaction
from arrears.legal.models import Escalation, LegalCost, LegalStageEvent
from arrears.plans.models import Plan
from arrears.plans.statement import build_statement
from arrears.portfolio.models import Account, Case, Creditor, Debtor, Instalment
from arrears.security.principal import Principal

MANIFEST = "manifest.json"
FORMAT = "arrears-casefile/1"

ContactHistorySource = Callable[[Session, Principal, Case, Account], list[dict[str, Any]]]
_contact_history_source: ContactHistorySource | None = None


def set_contact_history_source(source: ContactHistorySource | None) -> None:
    """Plug in where the contact history comes from (the cases feature's history by default)."""
    global _contact_history_source
    _contact_history_source = source


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def _cases_history(
    session: Session, principal: Principal, case: Case, account: Account
) -> list[dict[str, Any]] | None:
    """The cases feature's case history (contacts, events, promises, payments …), when it is installed."""
    try:
        views = importlib.import_module("arrears.cases.views")
        models = importlib.import_module("arrears.cases.models")
    except ImportError:
        return None
    history = getattr(views, "case_history", None)
    promise = getattr(models, "Promise", None)
    if history is None or promise is None:
        return None
    promises = list(session.scalars(select(promise).where(promise.case_id == case.id)))
    entries = history(session, principal, case, account, promises)
    return [
        {
            "at": e.at,
            "kind": e.kind,
            "summary": e.summary,
            "by": getattr(e, "by", None),
            "detail": getattr(e, "detail", None),
        }
        for e in entries
    ]


def contact_history(
    session: Session, principal: Principal, case: Case, account: Account
) -> tuple[str, list[dict[str, Any]]]:
    if _contact_history_source is not None:
        return "custom", _contact_history_source(session, principal, case, account)
    found = _cases_history(session, principal, case, account)
    if found is None:
        return "unavailable", []
    return "cases.case_history", found


def _contract(session: Session, account: Account) -> dict[str, Any]:
    creditor = session.get(Creditor, account.creditor_id)
    debtor = session.get(Debtor, account.debtor_id)
    assert creditor is not None and debtor is not None  # foreign keys
    schedule = session.scalars(
        select(Instalment).where(Instalment.account_id == account.id).order_by(Instalment.seq)
    ).all()
    return {
        "creditor": {"code": creditor.code, "name": creditor.name},
        "debtor": {
            "ref": debtor.debtor_ref,
            "name": debtor.name,
            "language": debtor.language,
            "region": debtor.region,
        },
        "account": {
            "ref": account.account_ref,
            "product": account.product,
            "currency": account.currency,
            "loan_amount": account.loan_amount,
            "contract_date": account.contract_date,
            "term_months": account.term_months,
            "annual_rate": account.annual_rate,
            "daily_penalty_rate": account.daily_penalty_rate,
            "placement_date": account.placement_date,
            "overdue_since": account.overdue_since,
            "days_past_due": account.days_past_due,
            "bucket": account.bucket,
            "status": account.status,
            "agency_code": account.agency_code,
        },
        "schedule": [
            {
                "seq": i.seq,
                "due_date": i.due_date,
                "principal_due": i.principal_due,
                "interest_due": i.interest_due,
            }
            for i in schedule
        ],
        "amounts": "integer minor units of the account's currency",
    }


def _statement(session: Session, account: Account, at: datetime) -> dict[str, Any]:
    st = build_statement(session, account, at.date())
    cur = st.currency
    return {
        "as_of": st.as_of,
        "currency": cur,
        "remaining": st.remaining.as_dict() | {"total": st.remaining.total},
        "paid": st.paid,
        "waived": st.waived,
        "total_paid": st.total_paid,
        "payments": st.payments,
        "last_payment_on": st.last_payment_on,
        "next_due": st.next_due,
        "next_amount": st.next_amount,
        "next_source": st.next_source,
        "display": {
            "total_remaining": format_major(st.remaining.total, cur),
            "total_paid": format_major(st.total_paid, cur),
        },
    }


def _ledger_csv(session: Session, account: Account) -> bytes:
    rows = session.execute(
        select(
            LedgerTransaction.id,
            LedgerTransaction.kind,
            LedgerTransaction.effective_date,
            LedgerTransaction.posted_at,
            LedgerTransaction.amount,
            LedgerTransaction.payment_ref,
            LedgerTransaction.reason,
            LedgerTransaction.reverses_id,
            LedgerEntry.book,
            LedgerEntry.amount,
        )
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .where(LedgerTransaction.account_id == account.id)
        .order_by(LedgerTransaction.id, LedgerEntry.id)
    ).all()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["transaction_id", "kind", "effective_date", "posted_at", "transaction_amount", "payment_ref",
                "reason", "reverses_id", "book", "entry_amount"])  # fmt: skip
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    return buf.getvalue().encode("utf-8")


def _plans(session: Session, case: Case) -> list[dict[str, Any]]:
    out = []
    for p in session.scalars(select(Plan).where(Plan.case_id == case.id).order_by(Plan.id)):
        out.append(
            {
                "id": p.id, "kind": p.kind, "status": p.status, "owed_at_start": p.owed_at_start, "total": p.total,
                "count": p.instalment_count, "frequency": p.frequency, "first_due": p.first_due,
                "grace_days": p.grace_days, "waive": p.waive, "reason": p.reason, "concession": p.concession,
                "created_by": p.created_by_name, "created_at": p.created_at, "decided_by": p.decided_by_name,
                "decided_at": p.decided_at, "closed_at": p.closed_at, "broken_on": p.broken_on,
                "waiver_tx_id": p.waiver_tx_id,
                "schedule": [{"seq": i.seq, "due_date": i.due_date, "amount": i.amount} for i in p.instalments],
            }
        )  # fmt: skip
    return out


def escalation_dict(session: Session, esc: Escalation) -> dict[str, Any]:
    stages = session.scalars(
        select(LegalStageEvent).where(LegalStageEvent.escalation_id == esc.id).order_by(LegalStageEvent.id)
    ).all()
    costs = session.scalars(
        select(LegalCost).where(LegalCost.escalation_id == esc.id).order_by(LegalCost.id)
    ).all()
    return {
        "id": esc.id, "status": esc.status, "grounds": esc.grounds, "reason": esc.reason, "currency": esc.currency,
        "owed_at_request": esc.owed_at_request, "requested_by": esc.requested_by_name, "requested_at": esc.requested_at,
        "decided_by": esc.decided_by_name, "decided_at": esc.decided_at, "decision_note": esc.decision_note,
        "handler_kind": esc.handler_kind, "handler_name": esc.handler_name, "stage": esc.stage, "outcome": esc.outcome,
        "stages": [{"stage": s.stage, "on_date": s.on_date, "reference": s.reference, "note": s.note,
                    "outcome": s.outcome, "recovered": s.recovered, "by": s.recorded_by_name} for s in stages],
        "costs": [{"stage": c.stage, "kind": c.kind, "amount": c.amount, "incurred_on": c.incurred_on, "note": c.note}
                  for c in costs],
        "costs_total": sum(c.amount for c in costs),
    }  # fmt: skip


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^\w.\-]+", "_", name, flags=re.UNICODE).strip("._")
    return cleaned[:120] or "file"


@dataclass(frozen=True)
class CaseFile:
    data: bytes
    sha256: str
    manifest: dict[str, Any]
    file_name: str


def build_casefile(
    session: Session,
    store: DocumentStore,
    principal: Principal,
    case: Case,
    *,
    at: datetime,
    escalation: Escalation | None = None,
) -> CaseFile:
    """Gather the case file into one zip (the caller has checked the principal may export it)."""
    account = session.get(Account, case.account_id)
    assert account is not None  # foreign key
    files: dict[str, bytes] = {}

    def put_json(name: str, value: Any) -> None:
        files[name] = json.dumps(_jsonable(value), ensure_ascii=False, indent=2, sort_keys=True).encode(
            "utf-8"
        )

    put_json("contract.json", _contract(session, account))
    put_json("statement.json", _statement(session, account, at))
    files["ledger.csv"] = _ledger_csv(session, account)
    put_json("plans.json", _plans(session, case))
    source, history = contact_history(session, principal, case, account)
    put_json("contact_history.json", {"source": source, "entries": history})
    if escalation is not None:
        put_json("escalation.json", escalation_dict(session, escalation))
    kinds: dict[str, str] = {}
    for doc in documents_of(session, case.id):
        if doc.kind == "casefile":
            continue
        path = f"documents/{doc.id:06d}-{_safe_name(doc.file_name)}"
        files[path] = store.read(doc.storage_key, doc.sha256)
        kinds[path] = doc.kind
    manifest = {
        "format": FORMAT,
        "case_id": case.id,
        "account_ref": account.account_ref,
        "escalation_id": escalation.id if escalation is not None else None,
        "generated_at": at,
        "generated_by": principal.username,
        "files": [
            {
                "path": name,
                "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data),
                "kind": kinds.get(name, "record"),
            }
            for name, data in sorted(files.items())
        ],
    }
    manifest_bytes = json.dumps(_jsonable(manifest), ensure_ascii=False, indent=2, sort_keys=True).encode(
        "utf-8"
    )
    stamp = at.timetuple()[:6]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in [(MANIFEST, manifest_bytes), *sorted(files.items())]:
            info = zipfile.ZipInfo(name, date_time=(max(stamp[0], 1980), *stamp[1:]))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    data = buf.getvalue()
    name = f"casefile-{account.account_ref}-case{case.id}-{at.date().isoformat()}.zip"
    return CaseFile(data, hashlib.sha256(data).hexdigest(), _jsonable(manifest), _safe_name(name))


def verify_casefile(data: bytes) -> list[str]:
    """Problems found re-hashing an archive against its manifest (empty: every file matches)."""
    problems: list[str] = []
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return ["not a zip archive"]
    with zf:
        names = set(zf.namelist())
        if MANIFEST not in names:
            return ["no manifest.json"]
        manifest = json.loads(zf.read(MANIFEST))
        listed = {f["path"] for f in manifest.get("files", [])}
        for extra in sorted(names - listed - {MANIFEST}):
            problems.append(f"{extra}: in the archive but not in the manifest")
        for f in manifest.get("files", []):
            if f["path"] not in names:
                problems.append(f"{f['path']}: listed but missing")
                continue
            content = zf.read(f["path"])
            if hashlib.sha256(content).hexdigest() != f["sha256"]:
                problems.append(f"{f['path']}: SHA-256 does not match the manifest")
            if len(content) != f["size"]:
                problems.append(f"{f['path']}: size does not match the manifest")
    return problems
