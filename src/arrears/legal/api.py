"""Legal route HTTP routes (R15, R19): formal notice, escalation → approval → hand-over with the case file,
stages with costs and outcome, case file download."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from arrears.core.errors import NotFound
from arrears.documents.models import Document
from arrears.documents.schemas import DocumentOut, document_out
from arrears.documents.storage import store_for
from arrears.legal import service
from arrears.legal.casefile import escalation_dict
from arrears.legal.models import Escalation
from arrears.legal.stages import CLOSING_OUTCOMES, COST_KINDS, STAGES
from arrears.plans.schemas import MAX_ID, Amount, major, minor
from arrears.security.principal import Principal
from arrears.web.deps import Db, app_ctx, requires

router = APIRouter(tags=["legal"])

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Ground = Literal[
    "deliberate_evasion", "malicious_refusal", "fraud_suspected", "broken_arrangements", "unreachable",
    "large_balance", "other",
]  # fmt: skip


class NoticeIn(BaseModel):
    language: Literal["zh", "en"] | None = None
    deadline_days: int = Field(service.NOTICE_DEADLINE_DAYS, ge=7, le=60)


class EscalationIn(BaseModel):
    grounds: list[Ground] = Field(min_length=1, max_length=7)
    reason: str = Field(min_length=1, max_length=4000)


class DecisionIn(BaseModel):
    note: str | None = Field(None, max_length=2000)


class RejectIn(BaseModel):
    note: str = Field(min_length=1, max_length=2000)


class HandOverIn(BaseModel):
    handler_kind: Literal["legal_department", "law_firm"]
    handler_name: str | None = Field(None, max_length=200)


class CostIn(BaseModel):
    kind: Literal[
        "court_fee", "lawyer_fee", "preservation_fee", "enforcement_fee", "notary_fee", "service_fee", "other"
    ]
    amount: Amount
    note: str | None = Field(None, max_length=400)


class StageIn(BaseModel):
    stage: Literal["pre_litigation", "filed", "hearing", "judgment", "enforcement", "closed"]
    on_date: date | None = None
    reference: str | None = Field(None, max_length=120)
    note: str | None = Field(None, max_length=4000)
    outcome: str | None = Field(
        None, max_length=32, description=f"at judgment or closing: {', '.join(CLOSING_OUTCOMES)}"
    )
    recovered: Amount | None = None
    costs: list[CostIn] = Field(default_factory=list, max_length=20)


class StageOut(BaseModel):
    stage: str
    on_date: date
    reference: str | None
    note: str | None
    outcome: str | None
    recovered: str | None
    by: str


class CostOut(BaseModel):
    stage: str
    kind: str
    amount: str
    incurred_on: date
    note: str | None


class EscalationOut(BaseModel):
    id: int
    case_id: int
    status: str
    grounds: list[str]
    reason: str
    currency: str
    owed_at_request: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    handler_kind: str | None
    handler_name: str | None
    handed_over_at: datetime | None
    stage: str | None
    outcome: str | None
    closed_at: datetime | None
    stages: list[StageOut]
    costs: list[CostOut]
    costs_total: str
    casefile_document_id: int | None
    casefile_sha256: str | None
    stage_order: list[str] = Field(default_factory=lambda: list(STAGES))
    cost_kinds: list[str] = Field(default_factory=lambda: list(COST_KINDS))


def escalation_out(session: Session, esc: Escalation) -> EscalationOut:
    d = escalation_dict(session, esc)
    cur = esc.currency
    doc = session.get(Document, esc.casefile_document_id) if esc.casefile_document_id else None
    return EscalationOut(
        id=esc.id,
        case_id=esc.case_id,
        status=esc.status,
        grounds=list(esc.grounds),
        reason=esc.reason,
        currency=cur,
        owed_at_request=major(esc.owed_at_request, cur),
        requested_by=esc.requested_by_name,
        requested_at=esc.requested_at,
        decided_by=esc.decided_by_name,
        decided_at=esc.decided_at,
        decision_note=esc.decision_note,
        handler_kind=esc.handler_kind,
        handler_name=esc.handler_name,
        handed_over_at=esc.handed_over_at,
        stage=esc.stage,
        outcome=esc.outcome,
        closed_at=esc.closed_at,
        stages=[
            StageOut(
                stage=s["stage"],
                on_date=s["on_date"],
                reference=s["reference"],
                note=s["note"],
                outcome=s["outcome"],
                recovered=major(s["recovered"], cur) if s["recovered"] is not None else None,
                by=s["by"],
            )
            for s in d["stages"]
        ],
        costs=[
            CostOut(
                stage=c["stage"],
                kind=c["kind"],
                amount=major(c["amount"], cur),
                incurred_on=c["incurred_on"],
                note=c["note"],
            )
            for c in d["costs"]
        ],
        costs_total=major(d["costs_total"], cur),
        casefile_document_id=esc.casefile_document_id,
        casefile_sha256=doc.sha256 if doc else None,
    )


@router.post(
    "/cases/{case_id}/notices",
    response_model=DocumentOut,
    status_code=201,
    summary="Issue the formal notice (CN-L1)",
)
def notice_route(
    request: Request,
    case_id: Id,
    session: Db,
    principal: Annotated[Principal, Depends(requires("legal.notice"))],
    body: NoticeIn | None = None,
) -> DocumentOut:
    ctx = app_ctx(request)
    b = body or NoticeIn()
    doc = service.formal_notice(
        session,
        principal,
        store_for(ctx),
        case_id,
        at=ctx.clock(),
        language=b.language,
        deadline_days=b.deadline_days,
    )
    session.commit()
    return document_out(doc)


@router.post(
    "/cases/{case_id}/escalations",
    response_model=EscalationOut,
    status_code=201,
    summary="Ask for the legal route",
)
def escalate_route(
    request: Request,
    case_id: Id,
    body: EscalationIn,
    session: Db,
    principal: Annotated[Principal, Depends(requires("legal.escalate"))],
) -> EscalationOut:
    esc = service.request_escalation(
        session,
        principal,
        case_id,
        grounds=list(body.grounds),
        reason=body.reason,
        at=app_ctx(request).clock(),
    )
    session.commit()
    return escalation_out(session, esc)


@router.get(
    "/cases/{case_id}/escalations", response_model=list[EscalationOut], summary="Escalations of a case"
)
def case_escalations_route(
    case_id: Id, session: Db, principal: Annotated[Principal, Depends(requires("legal.read"))]
) -> list[EscalationOut]:
    return [escalation_out(session, e) for e in service.list_escalations(session, principal, case_id)]


@router.get(
    "/approvals/escalations", response_model=list[EscalationOut], summary="Escalations waiting for you"
)
def pending_escalations_route(
    session: Db, principal: Annotated[Principal, Depends(requires("legal.approve"))]
) -> list[EscalationOut]:
    return [escalation_out(session, e) for e in service.pending_escalations(session, principal)]


@router.get(
    "/escalations/{escalation_id}", response_model=EscalationOut, summary="An escalation, stages and costs"
)
def escalation_route(
    escalation_id: Id, session: Db, principal: Annotated[Principal, Depends(requires("legal.read"))]
) -> EscalationOut:
    return escalation_out(
        session, service.visible_escalation(session, principal, "legal.read", escalation_id)
    )


@router.post(
    "/escalations/{escalation_id}/approve", response_model=EscalationOut, summary="Approve an escalation"
)
def approve_route(
    request: Request,
    escalation_id: Id,
    session: Db,
    principal: Annotated[Principal, Depends(requires("legal.approve"))],
    body: DecisionIn | None = None,
) -> EscalationOut:
    esc = service.approve_escalation(
        session, principal, escalation_id, at=app_ctx(request).clock(), note=(body or DecisionIn()).note
    )
    session.commit()
    return escalation_out(session, esc)


@router.post(
    "/escalations/{escalation_id}/reject", response_model=EscalationOut, summary="Reject an escalation"
)
def reject_route(
    request: Request,
    escalation_id: Id,
    body: RejectIn,
    session: Db,
    principal: Annotated[Principal, Depends(requires("legal.approve"))],
) -> EscalationOut:
    esc = service.reject_escalation(
        session, principal, escalation_id, at=app_ctx(request).clock(), note=body.note
    )
    session.commit()
    return escalation_out(session, esc)


@router.post(
    "/escalations/{escalation_id}/handover",
    response_model=EscalationOut,
    summary="Hand over to the legal department or a law firm with the case file",
)
def handover_route(
    request: Request,
    escalation_id: Id,
    body: HandOverIn,
    session: Db,
    principal: Annotated[Principal, Depends(requires("legal.handover"))],
) -> EscalationOut:
    ctx = app_ctx(request)
    out = service.hand_over(
        session,
        principal,
        store_for(ctx),
        escalation_id,
        handler_kind=body.handler_kind,
        handler_name=body.handler_name,
        at=ctx.clock(),
    )
    session.commit()
    return escalation_out(session, out.escalation)


@router.post(
    "/escalations/{escalation_id}/stages",
    response_model=EscalationOut,
    summary="Record a legal stage, costs, outcome",
)
def stage_route(
    request: Request,
    escalation_id: Id,
    body: StageIn,
    session: Db,
    principal: Annotated[Principal, Depends(requires("legal.stage"))],
) -> EscalationOut:
    now = app_ctx(request).clock()
    esc = service.visible_escalation(session, principal, "legal.stage", escalation_id)
    cur = esc.currency
    esc = service.record_stage(
        session,
        principal,
        escalation_id,
        stage=body.stage,
        on_date=body.on_date or now.date(),
        at=now,
        reference=body.reference,
        note=body.note,
        outcome=body.outcome,
        recovered=minor(body.recovered, cur, "body.recovered") if body.recovered is not None else None,
        costs=[
            service.CostIn(c.kind, minor(c.amount, cur, f"body.costs.{i}.amount"), c.note)
            for i, c in enumerate(body.costs)
        ],
    )
    session.commit()
    return escalation_out(session, esc)


def _zip(data: bytes, name: str, sha256: str) -> Response:
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Content-SHA256": sha256},
    )


@router.get(
    "/cases/{case_id}/casefile",
    summary="The case file as one archive (zip with a manifest of SHA-256 hashes; audited)",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
def casefile_route(
    request: Request,
    case_id: Id,
    session: Db,
    principal: Annotated[Principal, Depends(requires("cases.casefile"))],
) -> Response:
    ctx = app_ctx(request)
    archive = service.export_casefile(session, principal, store_for(ctx), case_id, at=ctx.clock())
    session.commit()
    return _zip(archive.data, archive.file_name, archive.sha256)


@router.get(
    "/escalations/{escalation_id}/casefile",
    summary="The case file handed over with an escalation (as stored at the hand-over)",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
def escalation_casefile_route(
    request: Request,
    escalation_id: Id,
    session: Db,
    principal: Annotated[Principal, Depends(requires("cases.casefile"))],
) -> Response:
    from arrears.documents.service import read_document

    ctx = app_ctx(request)
    esc = service.visible_escalation(session, principal, "cases.casefile", escalation_id)
    if esc.casefile_document_id is None:
        raise NotFound(f"escalation {escalation_id} has not been handed over yet")
    download = read_document(session, principal, store_for(ctx), esc.casefile_document_id, at=ctx.clock())
    session.commit()
    return _zip(download.data, download.document.file_name, download.document.sha256)
