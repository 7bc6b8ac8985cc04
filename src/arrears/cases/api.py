"""Case work HTTP routes under /api/v1 (bearer auth): the queue, the case view, contacts (the guard
decides first: 409 with rule ids and zh/en reasons when it blocks), promises, idempotent payments and
assignment. The routes translate HTTP; the rules live in `cases.service` and `cases.views`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response
from sqlalchemy.orm import Session

from arrears.cases import service, views
from arrears.cases.schemas import (
    AllocationOut,
    AssignIn,
    AssignOut,
    CaseDetail,
    ContactIn,
    ContactOut,
    GuardOut,
    PaymentIn,
    PaymentOut,
    PromiseIn,
    PromiseOut,
    QueueOut,
    ReasonOut,
)
from arrears.core.context import AppContext
from arrears.documents.storage import store_for
from arrears.ledger.models import LedgerTransaction
from arrears.security.principal import Principal
from arrears.web.deps import Db, app_ctx, requires

router = APIRouter(tags=["cases"])

MAX_ID = 2**62
Id = Annotated[int, Path(ge=1, le=MAX_ID, description="the case id")]
Ref = Annotated[str, Path(min_length=1, max_length=80, description="the account reference")]
GUARD_409: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "The compliance guard blocked the contact (nothing recorded as sent), or a conflict",
        "content": {
            "application/json": {
                "example": {
                    "error": "guard_blocked",
                    "message": "the compliance guard blocked this contact: CN-T1: …",
                    "details": {
                        "allowed": False,
                        "rules": ["CN-T1"],
                        "reasons": [{"rule": "CN-T1", "zh": "…", "en": "…"}],
                        "decision_id": 1,
                    },
                }
            }
        },
    }
}


def _tz(ctx: AppContext) -> str:
    return ctx.settings.default_timezone


def contact_out(result: service.ContactResult) -> ContactOut:
    c = result.contact
    assert c is not None
    d = result.decision
    return ContactOut(
        id=c.id,
        case_id=c.case_id,
        at=c.at,
        direction=c.direction,
        channel=c.channel,
        party=c.party,
        outcome=c.outcome,
        contact_point_id=c.contact_point_id,
        callback_at=c.callback_at,
        events=[e.kind for e in result.events],
        flag_id=result.flag.id if result.flag else None,
        guard=None
        if d is None
        else GuardOut(
            decision_id=result.decision_id,
            allowed=d.allowed,
            rules=list(d.rules),
            reasons=[ReasonOut(**r.to_dict()) for r in d.reasons],
            warnings=[ReasonOut(**r.to_dict()) for r in d.warnings],
        ),
    )


def payment_out(
    tx: LedgerTransaction, account_ref: str, allocation: dict[str, int], credit: int
) -> PaymentOut:
    cur = tx.currency
    return PaymentOut(
        transaction_id=tx.id,
        account_ref=account_ref,
        payment_ref=tx.payment_ref or "",
        amount=views.money(tx.amount, cur),
        currency=cur,
        paid_on=tx.effective_date,
        posted_at=tx.posted_at,
        allocation=AllocationOut(
            principal=views.money(allocation.get("principal", 0), cur),
            interest=views.money(allocation.get("interest", 0), cur),
            penalty=views.money(allocation.get("penalty", 0), cur),
            fees=views.money(allocation.get("fees", 0), cur),
            credit=views.money(credit, cur),
        ),
    )


@router.get(
    "/queue", response_model=QueueOut, summary="Your work queue, in order (guard-blocked cases apart)"
)
def queue_route(
    request: Request,
    session: Db,
    principal: Annotated[Principal, Depends(requires("queue.read"))],
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> QueueOut:
    ctx = app_ctx(request)
    out = views.build_queue(session, principal, keys=ctx.keys, now=ctx.clock(), tz=_tz(ctx), limit=limit)
    session.commit()  # promise states brought up to date on the way
    return out


@router.get(
    "/cases/{case_id}",
    response_model=CaseDetail,
    summary="A case: debtor background, contract terms, balances, full history (masked by role)",
)
def case_detail_route(
    request: Request,
    case_id: Id,
    session: Db,
    principal: Annotated[Principal, Depends(requires("cases.read"))],
) -> CaseDetail:
    return views.case_detail(session, principal, case_id, keys=app_ctx(request).keys)


@router.post(
    "/cases/{case_id}/contacts",
    response_model=ContactOut,
    status_code=201,
    summary="Log a contact; an outbound one asks the compliance guard first",
    responses=GUARD_409,
)
def contact_route(
    request: Request,
    case_id: Id,
    body: ContactIn,
    session: Db,
    principal: Annotated[Principal, Depends(requires("cases.contact"))],
) -> ContactOut:
    ctx = app_ctx(request)
    result = service.log_contact(
        session, principal, case_id, body, keys=ctx.keys, now=ctx.clock(), tz=_tz(ctx)
    )
    session.commit()  # a blocked attempt stays recorded as the guard's decision
    result.raise_if_blocked()
    return contact_out(result)


@router.post(
    "/cases/{case_id}/promises", response_model=PromiseOut, status_code=201, summary="Record a promise to pay"
)
def promise_route(
    request: Request,
    case_id: Id,
    body: PromiseIn,
    session: Db,
    principal: Annotated[Principal, Depends(requires("cases.promise"))],
) -> PromiseOut:
    ctx = app_ctx(request)
    promise = service.record_promise(session, principal, case_id, body, now=ctx.clock(), tz=_tz(ctx))
    session.commit()
    return views.promise_out(promise)


@router.post(
    "/accounts/{ref}/payments",
    response_model=PaymentOut,
    status_code=201,
    summary="Post a payment; the Idempotency-Key makes a retry the same posting with the same answer",
)
def payment_route(
    request: Request,
    response: Response,
    ref: Ref,
    body: PaymentIn,
    session: Db,
    principal: Annotated[Principal, Depends(requires("payments.post"))],
    idempotency_key: Annotated[str, Header(min_length=1, max_length=120, alias="Idempotency-Key")],
    creditor: Annotated[str | None, Query(max_length=64)] = None,
) -> PaymentOut:
    ctx = app_ctx(request)
    result = service.post_payment(
        session,
        principal,
        ref,
        amount=body.amount,
        idempotency_key=idempotency_key,
        paid_on=body.paid_on,
        now=ctx.clock(),
        creditor=creditor,
        tz=_tz(ctx),
        store=store_for(ctx),
    )
    session.commit()
    if result.posting.duplicate:
        response.headers["Idempotent-Replayed"] = "true"
    alloc = result.posting.allocation
    out = payment_out(result.posting.transaction, result.account.account_ref, alloc.parts, alloc.credit)
    return out.model_copy(update={"statement_id": result.statement_id})


def _assign(
    session: Session, principal: Principal, case_id: int, body: AssignIn, ctx: AppContext
) -> AssignOut:
    result = service.assign_case(
        session,
        principal,
        case_id,
        user_id=body.user_id,
        reason=body.reason,
        note=body.note,
        override_cap=body.override_cap,
        now=ctx.clock(),
    )
    return AssignOut(
        case_id=result.case.id,
        assigned_to=result.case.assigned_to,
        previous=result.previous,
        reason=result.reason,
        changed=result.spell is not None,
        spell_id=result.spell.id if result.spell is not None else None,
    )


@router.post(
    "/cases/{case_id}/assign",
    response_model=AssignOut,
    summary="Assign a case to a collector, or by the rules when no user is named (lead or manager)",
)
def assign_route(
    request: Request,
    case_id: Id,
    session: Db,
    principal: Annotated[Principal, Depends(requires("cases.assign"))],
    body: Annotated[AssignIn | None, Body()] = None,
) -> AssignOut:
    ctx = app_ctx(request)
    out = _assign(session, principal, case_id, body or AssignIn(), ctx)
    session.commit()
    return out
