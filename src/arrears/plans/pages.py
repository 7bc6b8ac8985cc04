"""The lead's approvals inbox (R13, R19): plans above their maker's authority and escalations to the
legal route, each approved or rejected by a second person (maker-checker), in zh-CN and English.

Forms carry the session's CSRF token, checked before anything else. The page's own texts come from
`LABELS` (zh_CN and en side by side); the shared shell (header, footer) keeps its Babel catalogs.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from arrears.core.errors import ArrearsError
from arrears.documents.storage import store_for
from arrears.legal import service as legal
from arrears.legal.models import Escalation
from arrears.plans import service
from arrears.plans.models import Plan
from arrears.plans.schemas import major
from arrears.portfolio.models import Account
from arrears.security.permissions import allowed
from arrears.web.deps import Db, app_ctx
from arrears.web.pages import check_csrf, render, web_state

router = APIRouter(include_in_schema=False)

LABELS: dict[str, dict[str, str]] = {
    "title": {"zh_CN": "审批收件箱", "en": "Approvals inbox"},
    "plans": {"zh_CN": "待审批的还款计划", "en": "Plans waiting for approval"},
    "escalations": {"zh_CN": "待审批的法律升级", "en": "Escalations waiting for approval"},
    "none": {"zh_CN": "暂无待审批事项。", "en": "Nothing is waiting for you."},
    "plan": {"zh_CN": "计划", "en": "Plan"},
    "escalation": {"zh_CN": "法律升级", "en": "Escalation"},
    "case": {"zh_CN": "案件", "en": "Case"},
    "account": {"zh_CN": "账号", "en": "Account"},
    "kind": {"zh_CN": "类型", "en": "Kind"},
    "owed": {"zh_CN": "欠款", "en": "Owed"},
    "total": {"zh_CN": "计划总额", "en": "Plan total"},
    "concession": {"zh_CN": "让步", "en": "Concession"},
    "exceeds": {"zh_CN": "超出权限", "en": "Beyond the maker's authority"},
    "approver": {"zh_CN": "需审批角色", "en": "Approver"},
    "made_by": {"zh_CN": "提交人", "en": "Made by"},
    "reason": {"zh_CN": "理由", "en": "Reason"},
    "grounds": {"zh_CN": "依据", "en": "Grounds"},
    "note": {"zh_CN": "审批意见", "en": "Note"},
    "approve": {"zh_CN": "批准", "en": "Approve"},
    "reject": {"zh_CN": "驳回", "en": "Reject"},
    "own": {"zh_CN": "本人提交，需由他人审批", "en": "Made by you: another person decides"},
    "approved": {"zh_CN": "已批准", "en": "Approved"},
    "rejected": {"zh_CN": "已驳回", "en": "Rejected"},
    "instalments": {"zh_CN": "期", "en": "instalments"},
    "discount": {"zh_CN": "折让", "en": "discount"},
    "waiver": {"zh_CN": "减免", "en": "waived"},
    "days": {"zh_CN": "天延期", "en": "days deferred"},
}
KINDS = {
    "instalment": {"zh_CN": "分期还款", "en": "Instalments"},
    "deferral": {"zh_CN": "延期还款", "en": "Deferral"},
    "settlement": {"zh_CN": "和解结清", "en": "Settlement"},
    "relief": {"zh_CN": "减免", "en": "Relief"},
}
ROLES = {"team_lead": {"zh_CN": "组长", "en": "team lead"}, "manager": {"zh_CN": "经理", "en": "manager"}}


def labels(locale: str) -> dict[str, str]:
    return {k: v.get(locale, v["en"]) for k, v in LABELS.items()}


def _plan_row(session: Session, plan: Plan, locale: str, today: date, me: int | None) -> dict[str, Any]:
    account = session.get(Account, plan.account_id)
    cur = plan.currency
    c = plan.concession
    return {
        "id": plan.id,
        "case_id": plan.case_id,
        "account_ref": account.account_ref if account else "",
        "kind": KINDS.get(plan.kind, {}).get(locale, plan.kind),
        "owed": f"{major(plan.owed_at_start, cur)} {cur}",
        "total": f"{major(plan.total, cur)} {cur}" if plan.kind != "relief" else "—",
        "concession": {
            "discount_pct": f"{c['discount_bps'] / 100:.2f}",
            "instalments": c["instalments"],
            "waiver": f"{major(c['waiver'], cur)} {cur}",
            "deferral_days": c["deferral_days"],
        },
        "exceeded": [e["zh"] if locale == "zh_CN" else e["en"] for e in plan.exceeded or []],
        "approver": ROLES.get(plan.approver_role or "", {}).get(locale, plan.approver_role or ""),
        "made_by": plan.created_by_name,
        "reason": plan.reason,
        "own": me is not None and plan.created_by == me,
    }


def _escalation_row(session: Session, esc: Escalation, me: int | None) -> dict[str, Any]:
    account = session.get(Account, esc.account_id)
    return {
        "id": esc.id,
        "case_id": esc.case_id,
        "account_ref": account.account_ref if account else "",
        "owed": f"{major(esc.owed_at_request, esc.currency)} {esc.currency}",
        "grounds": ", ".join(esc.grounds),
        "made_by": esc.requested_by_name,
        "reason": esc.reason,
        "own": me is not None and esc.requested_by == me,
    }


def _inbox(
    request: Request, session: Session, notice: dict[str, str] | None = None, status: int = 200
) -> Response:
    state = web_state(request, session)
    principal = state.principal
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    today = app_ctx(request).clock().date()
    plans = (
        [
            _plan_row(session, p, state.locale, today, principal.user_id)
            for p in service.pending_approvals(session, principal)
        ]
        if allowed(principal, "plans.approve")
        else []
    )
    escalations = (
        [
            _escalation_row(session, e, principal.user_id)
            for e in legal.pending_escalations(session, principal)
        ]
        if allowed(principal, "legal.approve")
        else []
    )
    return render(
        request,
        state,
        "plans/approvals.html",
        {"t": labels(state.locale), "plans": plans, "escalations": escalations, "notice": notice},
        status=status,
    )


@router.get("/approvals", response_class=HTMLResponse)
def approvals_page(request: Request, session: Db) -> Response:
    return _inbox(request, session)


def _decide(
    request: Request, session: Session, csrf_token: str, decision: str, note: str, what: str, raw_id: str
) -> Response:
    state = web_state(request, session)
    check_csrf(request, state, csrf_token)
    principal = state.principal
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    t = labels(state.locale)
    ctx = app_ctx(request)
    now = ctx.clock()
    try:
        if not raw_id.isdigit() or not 1 <= int(raw_id) <= 2**62:
            raise ArrearsError(f"{what} {raw_id} not found")
        item_id = int(raw_id)
        if what == "plan" and decision == "approve":
            service.approve_plan(session, principal, item_id, at=now, note=note or None, store=store_for(ctx))
        elif what == "plan" and decision == "reject":
            service.reject_plan(session, principal, item_id, at=now, note=note)
        elif what == "escalation" and decision == "approve":
            legal.approve_escalation(session, principal, item_id, at=now, note=note or None)
        elif what == "escalation" and decision == "reject":
            legal.reject_escalation(session, principal, item_id, at=now, note=note)
        else:
            raise ArrearsError(f"unknown decision {decision!r}")
        session.commit()
    except ArrearsError as exc:
        session.rollback()
        return _inbox(request, session, {"kind": "bad", "text": exc.message}, status=exc.status_code)
    done = t["approved"] if decision == "approve" else t["rejected"]
    return _inbox(request, session, {"kind": "good", "text": f"{t[what]} {raw_id}: {done}"})


Field = Annotated[str, Form(max_length=2000)]


@router.post("/approvals/plans/{plan_id}", response_class=HTMLResponse)
def decide_plan(
    request: Request,
    plan_id: str,
    session: Db,
    csrf_token: Field = "",
    decision: Field = "",
    note: Field = "",
) -> Response:
    return _decide(request, session, csrf_token, decision, note, "plan", plan_id)


@router.post("/approvals/escalations/{escalation_id}", response_class=HTMLResponse)
def decide_escalation(
    request: Request,
    escalation_id: str,
    session: Db,
    csrf_token: Field = "",
    decision: Field = "",
    note: Field = "",
) -> Response:
    return _decide(request, session, csrf_token, decision, note, "escalation", escalation_id)
