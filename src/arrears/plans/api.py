"""Plans HTTP routes (R13, R14, R16): plans and concessions on a case, approval (maker-checker), the
approvals inbox, affordability, the account's progress statement (JSON or PDF).

The services take the principal and check scope (out of scope = 404); routes translate HTTP and commit.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from arrears.core.errors import Conflict
from arrears.documents import letters
from arrears.documents import service as documents
from arrears.documents.pdf import render
from arrears.documents.schemas import DocumentOut, document_out
from arrears.documents.storage import store_for
from arrears.plans import affordability, feedback, service
from arrears.plans.schemas import (
    FORMULA,
    MAX_ID,
    AffordabilityIn,
    AffordabilityOut,
    DecisionIn,
    InstalmentOut,
    LetterIn,
    PlanIn,
    PlanOut,
    ProposalOut,
    RejectIn,
    StatementOut,
    StatementPlanOut,
    components,
    major,
    minor,
    plan_out,
)
from arrears.plans.statement import build_statement
from arrears.portfolio.models import Account, Creditor
from arrears.security.permissions import account_scope, authorize, not_found
from arrears.security.principal import Principal
from arrears.web.deps import Db, app_ctx, requires

router = APIRouter(tags=["plans"])

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Ref = Annotated[str, Path(min_length=1, max_length=80, description="the account reference")]


def _case_currency(session: Session, principal: Principal, case_id: int, action: str) -> str:
    case = documents.visible_case(session, principal, action, case_id)
    return documents.case_account(session, case).currency


@router.post(
    "/cases/{case_id}/plans", response_model=PlanOut, status_code=201, summary="Make a plan or concession"
)
def create_plan_route(
    request: Request,
    case_id: Id,
    body: PlanIn,
    session: Db,
    principal: Annotated[Principal, Depends(requires("plans.create"))],
) -> PlanOut:
    ctx = app_ctx(request)
    cur = _case_currency(session, principal, case_id, "plans.create")
    req = service.PlanRequest(
        kind=body.kind,
        reason=body.reason,
        total=minor(body.total, cur, "body.total") if body.total is not None else None,
        count=body.count,
        frequency=body.frequency,
        first_due=body.first_due,
        deferred_to=body.deferred_to,
        waive={k: minor(v, cur, f"body.waive.{k}") for k, v in body.waive.items()} if body.waive else None,
        grace_days=body.grace_days,
        affordability_id=body.affordability_id,
        language=body.language,
    )
    now = ctx.clock()
    out = service.create_plan(session, principal, case_id, req, at=now, store=store_for(ctx))
    session.commit()
    return plan_out(
        out.plan, service.progress(session, out.plan, now.date()), letter=out.letter, notes=out.notes
    )


@router.get("/cases/{case_id}/plans", response_model=list[PlanOut], summary="Plans and concessions of a case")
def list_plans_route(
    request: Request,
    case_id: Id,
    session: Db,
    principal: Annotated[Principal, Depends(requires("plans.read"))],
) -> list[PlanOut]:
    today = app_ctx(request).clock().date()
    return [
        plan_out(p, service.progress(session, p, today))
        for p in service.list_plans(session, principal, case_id)
    ]


@router.get("/approvals/plans", response_model=list[PlanOut], summary="Plans waiting for your approval")
def pending_plans_route(
    request: Request, session: Db, principal: Annotated[Principal, Depends(requires("plans.approve"))]
) -> list[PlanOut]:
    today = app_ctx(request).clock().date()
    return [
        plan_out(p, service.progress(session, p, today))
        for p in service.pending_approvals(session, principal)
    ]


@router.get("/plans/{plan_id}", response_model=PlanOut, summary="A plan with its schedule and progress")
def plan_route(
    request: Request,
    plan_id: Id,
    session: Db,
    principal: Annotated[Principal, Depends(requires("plans.read"))],
) -> PlanOut:
    plan = service.visible_plan(session, principal, "plans.read", plan_id)
    return plan_out(plan, service.progress(session, plan, app_ctx(request).clock().date()))


@router.post("/plans/{plan_id}/approve", response_model=PlanOut, summary="Approve a plan (a second person)")
def approve_route(
    request: Request,
    plan_id: Id,
    session: Db,
    principal: Annotated[Principal, Depends(requires("plans.approve"))],
    body: DecisionIn | None = None,
) -> PlanOut:
    ctx = app_ctx(request)
    now = ctx.clock()
    b = body or DecisionIn()
    out = service.approve_plan(
        session, principal, plan_id, at=now, note=b.note, store=store_for(ctx), language=b.language
    )
    session.commit()
    return plan_out(
        out.plan, service.progress(session, out.plan, now.date()), letter=out.letter, notes=out.notes
    )


@router.post("/plans/{plan_id}/reject", response_model=PlanOut, summary="Reject a plan (a second person)")
def reject_route(
    request: Request,
    plan_id: Id,
    body: RejectIn,
    session: Db,
    principal: Annotated[Principal, Depends(requires("plans.approve"))],
) -> PlanOut:
    now = app_ctx(request).clock()
    plan = service.reject_plan(session, principal, plan_id, at=now, note=body.note)
    session.commit()
    return plan_out(plan, service.progress(session, plan, now.date()))


@router.post(
    "/plans/{plan_id}/letters",
    response_model=DocumentOut,
    status_code=201,
    summary="Issue a plan's agreement letter",
)
def plan_letter_route(
    request: Request,
    plan_id: Id,
    body: LetterIn,
    session: Db,
    principal: Annotated[Principal, Depends(requires("documents.generate"))],
) -> DocumentOut:
    ctx = app_ctx(request)
    doc = service.plan_letter(
        session, principal, store_for(ctx), plan_id, language=body.language, at=ctx.clock()
    )
    session.commit()
    return document_out(doc)


@router.post(
    "/cases/{case_id}/affordability",
    response_model=AffordabilityOut,
    status_code=201,
    summary="Assess affordability and propose a feasible plan",
)
def affordability_route(
    request: Request,
    case_id: Id,
    body: AffordabilityIn,
    session: Db,
    principal: Annotated[Principal, Depends(requires("affordability.assess"))],
) -> AffordabilityOut:
    cur = _case_currency(session, principal, case_id, "affordability.assess")
    means = affordability.Means(
        income=minor(body.monthly_income, cur, "body.monthly_income"),
        expenses=minor(body.monthly_expenses, cur, "body.monthly_expenses"),
        other_debt_payments=minor(body.other_debt_payments, cur, "body.other_debt_payments"),
        dependants=body.dependants,
    )
    out = service.assess_affordability(
        session, principal, case_id, means, at=app_ctx(request).clock(), notes=body.notes
    )
    session.commit()
    p = out.proposal
    return AffordabilityOut(
        id=out.row.id,
        case_id=case_id,
        currency=cur,
        owed=major(out.row.owed, cur),
        disposable=major(out.assessment.disposable, cur),
        capacity=major(out.assessment.capacity, cur),
        ability=out.assessment.ability,
        months_to_clear=out.assessment.months_to_clear,
        formula=FORMULA,
        proposal=ProposalOut(
            kind=p.kind,
            total=major(p.total, cur),
            count=p.count,
            frequency=p.frequency,
            first_due=p.first_due,
            discount=major(p.discount, cur),
            instalment_amount=major(p.schedule[0].amount, cur),
            schedule=[
                InstalmentOut(seq=s.seq, due_date=s.due_date, amount=major(s.amount, cur)) for s in p.schedule
            ],
            reasons=[{"zh": zh, "en": en} for zh, en in p.reasons],
            within_authority=out.within_authority,
            approver_role=out.approver_role,
        )
        if p is not None
        else None,
    )


def find_account(session: Session, principal: Principal, ref: str, creditor: str | None) -> Account:
    authorize(principal, "statements.read")
    q = (
        select(Account)
        .join(Creditor, Creditor.id == Account.creditor_id)
        .where(Account.account_ref == ref, account_scope(principal))
    )
    if creditor:
        q = q.where(Creditor.code == creditor)
    found = session.scalars(q.limit(2)).all()
    if not found:
        raise not_found("account", ref)
    if len(found) > 1:
        raise Conflict(f"account {ref} exists for several creditors; add ?creditor=CODE")
    return found[0]


@router.get(
    "/accounts/{ref}/statement",
    response_model=StatementOut,
    summary="Progress statement: paid and remaining per component, next due date (JSON or PDF)",
    responses={200: {"content": {"application/pdf": {}}}},
)
def statement_route(
    request: Request,
    ref: Ref,
    session: Db,
    principal: Annotated[Principal, Depends(requires("statements.read"))],
    format: Annotated[Literal["json", "pdf"], Query()] = "json",
    language: Annotated[Literal["zh", "en"] | None, Query()] = None,
    creditor: Annotated[str | None, Query(max_length=64)] = None,
) -> StatementOut | Response:
    account = find_account(session, principal, ref, creditor)
    as_of = app_ctx(request).clock().date()
    if format == "pdf":
        lang = language or documents.debtor_language(session, account)
        _st, letter = feedback.statement_letter(
            session, account, as_of=as_of, language=letters.language_of(lang)
        )
        name = f"statement-{account.account_ref}-{as_of.isoformat()}-{lang}.pdf"
        return Response(
            render(letter),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    st = build_statement(session, account, as_of)
    cur = st.currency
    return StatementOut(
        account_ref=st.account_ref,
        currency=cur,
        status=st.status,
        as_of=st.as_of,
        remaining=components(st.remaining, cur),
        remaining_total=major(st.remaining.total, cur),
        credit=major(st.remaining.credit, cur),
        paid=components(st.paid, cur),
        paid_to_credit=major(st.paid.get("credit", 0), cur),
        total_paid=major(st.total_paid, cur),
        waived=components(st.waived, cur),
        payments=st.payments,
        last_payment_on=st.last_payment_on,
        next_due=st.next_due,
        next_amount=major(st.next_amount, cur),
        next_source=st.next_source,
        plan=StatementPlanOut(
            id=st.plan.plan_id,
            kind=st.plan.kind,
            status=st.plan.status,
            total=major(st.plan.total, cur),
            paid=major(st.plan.paid, cur),
            remaining=major(st.plan.remaining, cur),
            shortfall=major(st.plan.shortfall, cur),
        )
        if st.plan
        else None,
    )
