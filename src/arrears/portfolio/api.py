"""Portfolio HTTP routes (read side), scoped to the principal and masked by role (R11, R21, CN-D1).

The query functions (`list_accounts`, `get_account`, …) take a `Principal` and call
`authorize`; the routes only translate HTTP. Balances are decimal strings in major units.
Personal data is masked in every answer; `POST /debtors/{id}/reveal` returns one field in plain
text to a role that dials or writes, and writes an audit event first.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arrears.core.errors import Conflict, ValidationFailed
from arrears.core.money import MoneyError, format_major
from arrears.portfolio.models import Account, Case, ContactPoint, Creditor, Debtor, ThirdParty
from arrears.security import audit
from arrears.security.masking import mask, mask_name, mask_national_id
from arrears.security.permissions import (
    account_scope,
    authorize,
    can_reveal,
    debtor_scope,
    not_found,
    shows_names,
)
from arrears.security.pii import KeyRing
from arrears.security.principal import Principal
from arrears.web.deps import Db, app_ctx, requires

router = APIRouter(tags=["portfolio"])

MAX_ID = 2**62


class Balances(BaseModel):
    principal: str
    interest: str
    penalty: str
    fees: str
    credit: str
    total: str


class AccountOut(BaseModel):
    ref: str
    creditor: str
    product: str
    currency: str
    status: str
    bucket: str
    days_past_due: int
    placement_date: date
    overdue_since: date | None
    agency_code: str | None
    balances: Balances
    debtor_id: int
    debtor_name: str
    case_id: int | None
    assigned_to: int | None


class AccountPage(BaseModel):
    items: list[AccountOut]
    total: int
    limit: int
    offset: int


def _amount(minor: int, currency: str) -> str:
    try:
        return format_major(minor, currency)
    except MoneyError:
        return str(minor)


def display_name(principal: Principal, name: str) -> str:
    return name if shows_names(principal) else mask_name(name)


def _account_out(
    principal: Principal, acc: Account, creditor: str, debtor: Debtor, case: Case | None
) -> AccountOut:
    cur = acc.currency
    return AccountOut(
        ref=acc.account_ref,
        creditor=creditor,
        product=acc.product,
        currency=cur,
        status=acc.status,
        bucket=acc.bucket,
        days_past_due=acc.days_past_due,
        placement_date=acc.placement_date,
        overdue_since=acc.overdue_since,
        agency_code=acc.agency_code,
        balances=Balances(
            principal=_amount(acc.principal, cur),
            interest=_amount(acc.interest, cur),
            penalty=_amount(acc.penalty, cur),
            fees=_amount(acc.fees, cur),
            credit=_amount(acc.credit, cur),
            total=_amount(acc.total, cur),
        ),
        debtor_id=debtor.id,
        debtor_name=display_name(principal, debtor.name),
        case_id=case.id if case else None,
        assigned_to=case.assigned_to if case else None,
    )


def _latest_case(session: Session, account_id: int) -> Case | None:
    return session.scalar(
        select(Case)
        .where(Case.account_id == account_id)
        .order_by(Case.status != "open", Case.id.desc())
        .limit(1)
    )


def list_accounts(
    session: Session,
    principal: Principal,
    *,
    bucket: str | None = None,
    status: str | None = None,
    creditor: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> AccountPage:
    authorize(principal, "accounts.list")
    q = (
        select(Account, Creditor.code, Debtor)
        .join(Creditor, Creditor.id == Account.creditor_id)
        .join(Debtor, Debtor.id == Account.debtor_id)
        .where(account_scope(principal))
    )
    if bucket:
        q = q.where(Account.bucket == bucket)
    if status:
        q = q.where(Account.status == status)
    if creditor:
        q = q.where(Creditor.code == creditor)
    total = int(session.scalar(select(func.count()).select_from(q.subquery())) or 0)
    rows = session.execute(q.order_by(Account.id).limit(limit).offset(offset)).all()
    items = [_account_out(principal, a, code, d, _latest_case(session, a.id)) for a, code, d in rows]
    return AccountPage(items=items, total=total, limit=limit, offset=offset)


def find_account(session: Session, principal: Principal, ref: str, creditor: str | None = None) -> Account:
    """One account by its reference, among those the principal may see (404 otherwise)."""
    authorize(principal, "accounts.read")
    q = (
        select(Account)
        .join(Creditor, Creditor.id == Account.creditor_id)
        .where(Account.account_ref == ref, account_scope(principal))
    )
    if creditor:
        q = q.where(Creditor.code == creditor)
    matches = session.scalars(q.limit(2)).all()
    if not matches:
        raise not_found("account", ref)
    if len(matches) > 1:
        raise Conflict(f"account {ref} exists for several creditors; add ?creditor=CODE")
    authorize(principal, "accounts.read", matches[0])
    return matches[0]


def get_account(session: Session, principal: Principal, ref: str, creditor: str | None = None) -> AccountOut:
    acc = find_account(session, principal, ref, creditor)
    code = session.scalar(select(Creditor.code).where(Creditor.id == acc.creditor_id)) or ""
    debtor = session.get(Debtor, acc.debtor_id)
    assert debtor is not None  # foreign key
    return _account_out(principal, acc, code, debtor, _latest_case(session, acc.id))


class ContactPointOut(BaseModel):
    id: int
    kind: str
    label: str | None
    value: str
    status: str
    timezone: str | None
    third_party_id: int | None


class ThirdPartyOut(BaseModel):
    id: int
    seq: int
    party: str
    relation: str | None
    name: str | None


class DebtorOut(BaseModel):
    id: int
    debtor_ref: str
    creditor: str
    name: str
    national_id: str | None
    language: str
    region: str | None
    timezone: str
    contact_points: list[ContactPointOut]
    third_parties: list[ThirdPartyOut]
    accounts: list[str]
    can_reveal: bool


def _debtor(session: Session, principal: Principal, debtor_id: int, action: str) -> Debtor:
    authorize(principal, action)
    debtor = session.get(Debtor, debtor_id)
    if debtor is None:
        raise not_found("debtor", debtor_id)
    authorize(principal, action, debtor)
    return debtor


def _masked(session: Session, kind: str, blob: bytes | None, keys: KeyRing) -> str | None:
    if blob is None:
        return None
    return mask(kind, keys.decrypt(blob))


def get_debtor(session: Session, principal: Principal, debtor_id: int, keys: KeyRing) -> DebtorOut:
    debtor = _debtor(session, principal, debtor_id, "debtors.read")
    creditor = session.scalar(select(Creditor.code).where(Creditor.id == debtor.creditor_id)) or ""
    points = session.scalars(
        select(ContactPoint).where(ContactPoint.debtor_id == debtor.id).order_by(ContactPoint.id)
    ).all()
    parties = session.scalars(
        select(ThirdParty).where(ThirdParty.debtor_id == debtor.id).order_by(ThirdParty.seq)
    ).all()
    refs = session.scalars(
        select(Account.account_ref)
        .where(Account.debtor_id == debtor.id, account_scope(principal))
        .order_by(Account.id)
    ).all()
    return DebtorOut(
        id=debtor.id,
        debtor_ref=debtor.debtor_ref,
        creditor=creditor,
        name=display_name(principal, debtor.name),
        national_id=_masked(session, "national_id", debtor.national_id_enc, keys),
        language=debtor.language,
        region=debtor.region,
        timezone=debtor.timezone,
        contact_points=[
            ContactPointOut(
                id=p.id,
                kind=p.kind,
                label=p.label,
                value=_masked(session, p.kind, p.value_enc, keys) or "",
                status=p.status,
                timezone=p.timezone,
                third_party_id=p.third_party_id,
            )
            for p in points
        ],
        third_parties=[
            ThirdPartyOut(
                id=t.id,
                seq=t.seq,
                party=t.party,
                relation=t.relation,
                name=_masked(session, "name", t.name_enc, keys),
            )
            for t in parties
        ],
        accounts=list(refs),
        can_reveal=can_reveal(principal),
    )


class DebtorMatch(BaseModel):
    id: int
    debtor_ref: str
    creditor: str
    name: str
    matched: Literal["debtor", "third_party"]


def search_debtors(
    session: Session,
    principal: Principal,
    keys: KeyRing,
    *,
    phone: str | None = None,
    national_id: str | None = None,
    email: str | None = None,
    region: str = "CN",
    at: datetime,
) -> list[DebtorMatch]:
    """Exact-match search through the blind index (no plaintext in the query or the database).

    Values are normalised as the import normalises them: phones to E.164, IDs trimmed and upper-cased,
    emails lower-cased. Only debtors in the principal's scope are returned; the search is audited with
    the kind searched, never the value (CN-D1).
    """
    from arrears.portfolio.identity import normalize_cn_national_id
    from arrears.portfolio.parsing import PhoneError, normalise_phone

    authorize(principal, "debtors.search")
    given = {k: v for k, v in (("phone", phone), ("national_id", national_id), ("email", email)) if v}
    if len(given) != 1:
        raise ValidationFailed(
            "query: give exactly one of phone, national_id, email",
            details=[{"field": "query", "reason": "exactly one of phone, national_id, email"}],
        )
    ((kind, value),) = given.items()
    matches: dict[int, str] = {}
    if kind == "national_id":
        digest = keys.blind_index("national_id", normalize_cn_national_id(value))
        for did in session.scalars(select(Debtor.id).where(Debtor.national_id_bidx == digest)):
            matches[did] = "debtor"
    else:
        if kind == "phone":
            try:
                normalised, _zone = normalise_phone(value, region)
            except PhoneError as exc:
                raise ValidationFailed(
                    f"query.phone: {exc}", details=[{"field": "query.phone", "reason": str(exc)}]
                ) from exc
        else:
            normalised = value.strip().lower()
        digest = keys.blind_index(kind, normalised)
        rows = session.execute(
            select(ContactPoint.debtor_id, ContactPoint.third_party_id).where(
                ContactPoint.kind == kind, ContactPoint.value_bidx == digest
            )
        ).all()
        for did, tp in rows:
            if tp is None or did not in matches:
                matches[did] = "third_party" if tp is not None else "debtor"
    found = []
    if matches:
        q = (
            select(Debtor, Creditor.code)
            .join(Creditor, Creditor.id == Debtor.creditor_id)
            .where(Debtor.id.in_(list(matches)), debtor_scope(principal))
            .order_by(Debtor.id)
        )
        for debtor, code in session.execute(q).all():
            found.append(
                DebtorMatch(
                    id=debtor.id,
                    debtor_ref=debtor.debtor_ref,
                    creditor=code,
                    name=display_name(principal, debtor.name),
                    matched="third_party" if matches[debtor.id] == "third_party" else "debtor",
                )
            )
    audit.record(
        session, principal, "debtor.search", "debtor", None, after={"by": kind, "found": len(found)}, at=at
    )
    session.commit()
    return found


class RevealIn(BaseModel):
    field: Literal["national_id", "contact_point", "third_party_name"]
    id: int | None = Field(default=None, ge=1, le=MAX_ID, description="contact point or third party id")
    reason: str = Field(min_length=1, max_length=200, description="why the plain value is needed")


class RevealOut(BaseModel):
    field: str
    id: int | None
    value: str


def reveal(
    session: Session, principal: Principal, debtor_id: int, body: RevealIn, keys: KeyRing, *, at: datetime
) -> RevealOut:
    """One field in plain text, audited in the same transaction before it is returned (R21, CN-D1)."""
    debtor = _debtor(session, principal, debtor_id, "debtors.reveal")
    blob: bytes | None
    kind: str
    if body.field == "national_id":
        blob, kind, ref_id = debtor.national_id_enc, "national_id", None
    elif body.id is None:
        raise ValidationFailed(
            "id: required for this field", details=[{"field": "body.id", "reason": "required"}]
        )
    elif body.field == "contact_point":
        point = session.get(ContactPoint, body.id)
        if point is None or point.debtor_id != debtor.id:
            raise not_found("contact point", body.id)
        blob, kind, ref_id = point.value_enc, point.kind, point.id
    else:
        party = session.get(ThirdParty, body.id)
        if party is None or party.debtor_id != debtor.id:
            raise not_found("third party", body.id)
        blob, kind, ref_id = party.name_enc, "name", party.id
    if blob is None:
        raise not_found(body.field.replace("_", " "), "value")
    value = keys.decrypt(blob)
    audit.record(
        session,
        principal,
        "debtor.reveal",
        "debtor",
        debtor.id,
        after={"field": body.field, "id": ref_id, "kind": kind, "reason": body.reason},
        at=at,
    )
    session.commit()
    return RevealOut(field=body.field, id=ref_id, value=value)


EXPORT_COLUMNS = (
    "creditor", "account_ref", "debtor_name", "national_id", "product", "currency", "status", "bucket",
    "days_past_due", "total",
)  # fmt: skip


def export_accounts(session: Session, principal: Principal, keys: KeyRing, *, at: datetime) -> Iterator[str]:
    """CSV of the principal's accounts, personal data masked; the export itself is audited."""
    authorize(principal, "accounts.export")
    q = (
        select(Account, Creditor.code, Debtor)
        .join(Creditor, Creditor.id == Account.creditor_id)
        .join(Debtor, Debtor.id == Account.debtor_id)
        .where(account_scope(principal))
        .order_by(Account.id)
    )
    rows = session.execute(q).all()
    audit.record(session, principal, "accounts.export", "account", None, after={"rows": len(rows)}, at=at)
    session.commit()
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(EXPORT_COLUMNS)
    yield buf.getvalue()
    for acc, code, debtor in rows:
        buf.seek(0)
        buf.truncate()
        nid = mask_national_id(keys.decrypt(debtor.national_id_enc)) if debtor.national_id_enc else ""
        writer.writerow(
            [
                code,
                acc.account_ref,
                mask_name(debtor.name),
                nid,
                acc.product,
                acc.currency,
                acc.status,
                acc.bucket,
                acc.days_past_due,
                _amount(acc.total, acc.currency),
            ]
        )
        yield buf.getvalue()


def bucket_counts(session: Session, principal: Principal) -> dict[str, int]:
    """Accounts by bucket in the principal's scope (the dashboard)."""
    authorize(principal, "dashboard.view")
    rows = session.execute(
        select(Account.bucket, func.count()).where(account_scope(principal)).group_by(Account.bucket)
    )
    return {b: int(n) for b, n in rows}


# --- routes ------------------------------------------------------------------------------------------

Ref = Annotated[str, Path(min_length=1, max_length=80, description="the account reference")]
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/accounts", response_model=AccountPage, summary="Accounts in your scope")
def accounts_route(
    session: Db,
    principal: Annotated[Principal, Depends(requires("accounts.list"))],
    bucket: Annotated[str | None, Query(max_length=8)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    creditor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AccountPage:
    return list_accounts(
        session, principal, bucket=bucket, status=status, creditor=creditor, limit=limit, offset=offset
    )


@router.get("/accounts/{ref}", response_model=AccountOut, summary="One account: terms, balances, case")
def account_route(
    ref: Ref,
    session: Db,
    principal: Annotated[Principal, Depends(requires("accounts.read"))],
    creditor: Annotated[str | None, Query(max_length=64)] = None,
) -> AccountOut:
    return get_account(session, principal, ref, creditor)


@router.get(
    "/debtors", response_model=list[DebtorMatch], summary="Find debtors by exact phone, national ID or email"
)
def debtor_search_route(
    request: Request,
    session: Db,
    principal: Annotated[Principal, Depends(requires("debtors.search"))],
    phone: Annotated[str | None, Query(max_length=40)] = None,
    national_id: Annotated[str | None, Query(max_length=40)] = None,
    email: Annotated[str | None, Query(max_length=200)] = None,
    region: Annotated[str, Query(min_length=2, max_length=2, description="default region for phones")] = "CN",
) -> list[DebtorMatch]:
    ctx = app_ctx(request)
    return search_debtors(
        session,
        principal,
        ctx.keys,
        phone=phone,
        national_id=national_id,
        email=email,
        region=region,
        at=ctx.clock(),
    )


@router.get("/debtors/{debtor_id}", response_model=DebtorOut, summary="A debtor, personal data masked")
def debtor_route(
    request: Request,
    debtor_id: Id,
    session: Db,
    principal: Annotated[Principal, Depends(requires("debtors.read"))],
) -> DebtorOut:
    return get_debtor(session, principal, debtor_id, app_ctx(request).keys)


@router.post(
    "/debtors/{debtor_id}/reveal",
    response_model=RevealOut,
    summary="Reveal one personal-data field in plain text (audited)",
)
def reveal_route(
    request: Request,
    debtor_id: Id,
    body: RevealIn,
    session: Db,
    principal: Annotated[Principal, Depends(requires("debtors.reveal"))],
) -> RevealOut:
    ctx = app_ctx(request)
    return reveal(session, principal, debtor_id, body, ctx.keys, at=ctx.clock())


@router.get(
    "/exports/accounts.csv",
    summary="CSV export of your accounts (personal data masked; audited)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_route(
    request: Request, session: Db, principal: Annotated[Principal, Depends(requires("accounts.export"))]
) -> StreamingResponse:
    ctx = app_ctx(request)
    lines = list(export_accounts(session, principal, ctx.keys, at=ctx.clock()))
    return StreamingResponse(
        iter(lines),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="accounts.csv"'},
    )
