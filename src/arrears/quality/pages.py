"""Quality inspection pages (Jinja2, zh-CN and English): the QC desk (worklist, feedback, alerts), a
review with the inspector's, the collector's and the arbiter's forms, the coaching library, and the
complaints desk. Forms carry the session's CSRF token, checked before anything else.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from arrears.core.errors import ArrearsError, Forbidden, NotFound
from arrears.quality import coaching, review
from arrears.quality import complaints_service as cs
from arrears.quality.interactions import usernames
from arrears.security.permissions import allowed
from arrears.security.principal import Principal
from arrears.web.deps import Db, app_ctx
from arrears.web.pages import WebState, check_csrf, render, web_state

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=4000)]
Token = Annotated[str, Form(max_length=200)]
Choices = Annotated[list[str], Form(max_length=200)]


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _id(raw: str, kind: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 2**62:
        raise NotFound(f"{kind} {raw} not found")
    return int(raw)


def _signed_in(request: Request, session: Session) -> tuple[WebState, Principal | None]:
    state = web_state(request, session)
    return state, state.principal


def _posted(request: Request, session: Session, token: str) -> tuple[WebState, Principal]:
    state = web_state(request, session)
    check_csrf(request, state, token)
    if state.principal is None:
        raise Forbidden("sign in first")
    return state, state.principal


def _choices(values: list[str]) -> dict[str, bool]:
    """`item:pass` / `item:fail` form values → decisions; empty values (confirm the machine) are skipped."""
    out: dict[str, bool] = {}
    for v in values:
        item, _, verdict = v.partition(":")
        if verdict in ("pass", "fail") and item:
            out[item] = verdict == "pass"
    return out


def _can(principal: Principal) -> dict[str, bool]:
    return {
        "alerts": allowed(principal, "qc.alerts.read"),
        "reviews": allowed(principal, "qc.reviews.read"),
        "complaints": allowed(principal, "complaints.read"),
        "complaints_create": allowed(principal, "complaints.create"),
        "investigate": allowed(principal, "complaints.investigate"),
        "results": allowed(principal, "kpi.read"),
        "publish": allowed(principal, "coaching.publish"),
    }


# --------------------------------------------------------------------------------------------- desk


@router.get("/qc", response_class=HTMLResponse)
def desk_page(request: Request, session: Db) -> Response:
    state, principal = _signed_in(request, session)
    if principal is None:
        return _redirect("/login")
    can = _can(principal)
    now = app_ctx(request).clock()
    alerts: list[dict[str, Any]] = []
    if can["alerts"]:
        found = review.overdue_items(session, principal, as_of=now)
        names = usernames(session, [x for a in found for x in (a.owner_id, a.collector_id)])
        alerts = [a.to_dict(names) for a in found]
    reviews: list[dict[str, Any]] = []
    if can["reviews"]:
        mine = principal.role in ("qc_inspector", "collector", "agency")
        reviews, _ = review.list_reviews(session, principal, mine=mine, limit=100)
    return render(request, state, "quality/desk.html", {"alerts": alerts, "reviews": reviews, "can": can})


# --------------------------------------------------------------------------------------------- review


def _review_context(
    request: Request, session: Session, principal: Principal, review_id: int
) -> dict[str, Any]:
    ctx = app_ctx(request)
    detail = review.review_detail(session, principal, review_id, keys=ctx.keys, now=ctx.clock())
    mine = principal.user_id is not None and detail["collector"] == principal.username
    if principal.role in ("collector", "agency") and detail["status"] == "pending":
        raise NotFound(f"review {review_id} not found")
    session.commit()  # the read is audited
    return {
        "r": detail,
        "can": _can(principal),
        "can_decide": allowed(principal, "qc.review") and detail["status"] == "pending",
        "can_respond": mine and allowed(principal, "qc.respond") and detail["status"] == "awaiting_response",
        "can_arbitrate": allowed(principal, "qc.arbitrate")
        and detail["status"] == "appealed"
        and review.is_qc_lead(session, principal),
        "failed_items": [i for i in detail["items"] if i["inspector_passed"] is False],
        "appealed": [i for i in detail["items"] if i["item"] in (detail["appeal_items"] or [])],
    }


def _review_response(
    request: Request,
    session: Session,
    state: WebState,
    principal: Principal,
    review_id: int,
    notice: Any,
    status: int = 200,
) -> Response:
    context = {**_review_context(request, session, principal, review_id), "notice": notice}
    return render(request, state, "quality/review.html", context, status=status)


@router.get("/qc/reviews/{review_id}", response_class=HTMLResponse)
def review_page(request: Request, review_id: str, session: Db, done: str = "") -> Response:
    state, principal = _signed_in(request, session)
    if principal is None:
        return _redirect("/login")
    notice = (
        {"kind": "done", "text": done}
        if done in ("decided", "acknowledged", "appealed", "arbitrated")
        else None
    )
    return _review_response(request, session, state, principal, _id(review_id, "review"), notice)


def _run(
    request: Request,
    session: Session,
    state: WebState,
    principal: Principal,
    review_id: int,
    step: str,
    fn: Any,
) -> Response:
    try:
        fn()
    except (NotFound, Forbidden):
        raise
    except ArrearsError as exc:
        session.rollback()
        notice = {"kind": "error", "text": exc.message}
        return _review_response(request, session, state, principal, review_id, notice, exc.status_code)
    session.commit()
    return _redirect(f"/qc/reviews/{review_id}?done={step}")


@router.post("/qc/reviews/{review_id}/decide", response_class=HTMLResponse)
def decide_form(
    request: Request,
    review_id: str,
    session: Db,
    csrf_token: Token = "",
    decision: Choices = [],  # noqa: B006 - FastAPI copies defaults
    feedback: Text = "",
) -> Response:
    state, principal = _posted(request, session, csrf_token)
    rid = _id(review_id, "review")
    now = app_ctx(request).clock()
    return _run(request, session, state, principal, rid, "decided",
                lambda: review.decide(session, principal, rid, decisions=_choices(decision), feedback=feedback, now=now))  # fmt: skip


@router.post("/qc/reviews/{review_id}/respond", response_class=HTMLResponse)
def respond_form(
    request: Request,
    review_id: str,
    session: Db,
    csrf_token: Token = "",
    action: Annotated[str, Form(max_length=16)] = "acknowledge",
    reason: Text = "",
    items: Choices = [],  # noqa: B006
) -> Response:
    state, principal = _posted(request, session, csrf_token)
    rid = _id(review_id, "review")
    now = app_ctx(request).clock()
    appeal = action == "appeal"
    return _run(request, session, state, principal, rid, "appealed" if appeal else "acknowledged",
                lambda: review.respond(session, principal, rid, appeal=appeal, reason=reason or None,
                                       items=items or None, now=now))  # fmt: skip


@router.post("/qc/reviews/{review_id}/arbitrate", response_class=HTMLResponse)
def arbitrate_form(
    request: Request,
    review_id: str,
    session: Db,
    csrf_token: Token = "",
    decision: Choices = [],  # noqa: B006
    note: Text = "",
) -> Response:
    state, principal = _posted(request, session, csrf_token)
    rid = _id(review_id, "review")
    now = app_ctx(request).clock()
    return _run(request, session, state, principal, rid, "arbitrated",
                lambda: review.arbitrate(session, principal, rid, decisions=_choices(decision), note=note, now=now))  # fmt: skip


# --------------------------------------------------------------------------------------------- coaching


@router.get("/qc/coaching", response_class=HTMLResponse)
def coaching_page(request: Request, session: Db, kind: str = "", item: str = "") -> Response:
    state, principal = _signed_in(request, session)
    if principal is None:
        return _redirect("/login")
    examples = coaching.library(
        session, principal, kind=kind if kind in ("good", "bad") else None, item=item[:64] or None
    )
    groups: dict[str, dict[str, Any]] = {}
    for e in examples:
        g = groups.setdefault(e["item"], {"title": e["item_title"], "good": [], "bad": []})
        g[e["kind"]].append(e)
    return render(
        request, state, "quality/coaching.html", {"groups": groups, "can": _can(principal), "kind": kind}
    )


# --------------------------------------------------------------------------------------------- complaints


def _complaints_context(request: Request, session: Session, principal: Principal) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    if allowed(principal, "complaints.read"):
        rows, _ = cs.list_complaints(session, principal, limit=200)
    return {"complaints": rows, "can": _can(principal), "now": app_ctx(request).clock()}


@router.get("/qc/complaints", response_class=HTMLResponse)
def complaints_page(request: Request, session: Db, done: str = "") -> Response:
    state, principal = _signed_in(request, session)
    if principal is None:
        return _redirect("/login")
    if not (allowed(principal, "complaints.read") or allowed(principal, "complaints.create")):
        raise Forbidden(f"role {principal.role!r} may not perform 'complaints.read'")
    notice = {"kind": "done", "text": done} if done else None
    return render(
        request,
        state,
        "quality/complaints.html",
        {**_complaints_context(request, session, principal), "notice": notice},
    )


@router.post("/qc/complaints", response_class=HTMLResponse)
def complaint_form(
    request: Request,
    session: Db,
    csrf_token: Token = "",
    channel: Annotated[str, Form(max_length=16)] = "phone",
    text: Annotated[str, Form(max_length=20_000)] = "",
    case_id: Annotated[str, Form(max_length=20)] = "",
    account_ref: Annotated[str, Form(max_length=80)] = "",
    regulator_ref: Annotated[str, Form(max_length=120)] = "",
) -> Response:
    state, principal = _posted(request, session, csrf_token)
    ctx = app_ctx(request)
    try:
        data = cs.ComplaintIn(
            channel=channel, text=text, case_id=int(case_id) if case_id.strip().isdigit() else None,
            account_ref=account_ref.strip() or None, regulator_ref=regulator_ref.strip() or None,
        )  # fmt: skip
        c = cs.intake(session, principal, data, keys=ctx.keys, now=ctx.clock())
    except ArrearsError as exc:
        session.rollback()
        context = {
            **_complaints_context(request, session, principal),
            "notice": {"kind": "error", "text": exc.message},
        }
        return render(request, state, "quality/complaints.html", context, status=exc.status_code)
    session.commit()
    return _redirect(f"/qc/complaints?done={c.ref}")


@router.get("/qc/complaints/{complaint_id}", response_class=HTMLResponse)
def complaint_page(request: Request, complaint_id: str, session: Db, done: str = "") -> Response:
    state, principal = _signed_in(request, session)
    if principal is None:
        return _redirect("/login")
    ctx = app_ctx(request)
    detail = cs.complaint_detail(
        session, principal, _id(complaint_id, "complaint"), keys=ctx.keys, now=ctx.clock()
    )
    session.commit()
    notice = {"kind": "done", "text": done} if done in ("assigned", "closed") else None
    return render(request, state, "quality/complaint.html", {"c": detail, "can": _can(principal), "notice": notice,
                                                             "now": ctx.clock()})  # fmt: skip


@router.post("/qc/complaints/{complaint_id}/assign", response_class=HTMLResponse)
def complaint_assign_form(
    request: Request, complaint_id: str, session: Db, csrf_token: Token = ""
) -> Response:
    _, principal = _posted(request, session, csrf_token)
    cid = _id(complaint_id, "complaint")
    cs.assign(session, principal, cid, investigator=None, now=app_ctx(request).clock())
    session.commit()
    return _redirect(f"/qc/complaints/{cid}?done=assigned")


@router.post("/qc/complaints/{complaint_id}/close", response_class=HTMLResponse)
def complaint_close_form(
    request: Request,
    complaint_id: str,
    session: Db,
    csrf_token: Token = "",
    outcome: Annotated[str, Form(max_length=16)] = "",
    note: Text = "",
) -> Response:
    state, principal = _posted(request, session, csrf_token)
    cid = _id(complaint_id, "complaint")
    ctx = app_ctx(request)
    try:
        cs.close(session, principal, cid, outcome=outcome, note=note, keys=ctx.keys, now=ctx.clock())
    except (NotFound, Forbidden):
        raise
    except ArrearsError as exc:
        session.rollback()
        detail = cs.complaint_detail(session, principal, cid, keys=ctx.keys, now=ctx.clock())
        session.commit()
        context = {
            "c": detail,
            "can": _can(principal),
            "notice": {"kind": "error", "text": exc.message},
            "now": ctx.clock(),
        }
        return render(request, state, "quality/complaint.html", context, status=exc.status_code)
    session.commit()
    return _redirect(f"/qc/complaints/{cid}?done=closed")
