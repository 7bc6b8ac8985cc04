"""Case work pages (Jinja2 + htmx, zh-CN and English): the collector's queue, the case view with the
log-a-contact and record-a-promise forms, and the lead's assignment board.

Forms carry the session's CSRF token, checked before anything else (path parameters are read after
it, so a forged post is refused the same way whatever it names). With htmx the forms swap the
history panel in place — a guard refusal is shown there with its rule ids and reasons; without
htmx the whole page is rendered again.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from arrears.cases import service, views
from arrears.cases.outcomes import EVENT_LABELS, OUTCOMES
from arrears.cases.schemas import ContactIn, EventIn, PromiseIn
from arrears.core.errors import ArrearsError, Forbidden, NotFound
from arrears.security.models import User
from arrears.security.permissions import allowed
from arrears.security.principal import Principal
from arrears.web.deps import Db, app_ctx
from arrears.web.pages import WebState, check_csrf, render, web_state

router = APIRouter(include_in_schema=False)

PAGE_EVENTS = ("attorney", "bankruptcy", "deceased", "opt_out:sms", "opt_out:email", "consent:call")
Text = Annotated[str, Form(max_length=4000)]


def _signed_in(request: Request, session: Session) -> tuple[WebState, Principal | None]:
    state = web_state(request, session)
    return state, state.principal


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _id(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 2**62:
        raise NotFound(f"case {raw} not found")
    return int(raw)


def _local(value: str, tz: str) -> datetime | None:
    """A `datetime-local` field, read in the operation's zone."""
    if not value.strip():
        return None
    try:
        naive = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ArrearsError(f"callback: {value!r} is not a date and time") from None
    return naive.replace(tzinfo=ZoneInfo(tz)) if naive.tzinfo is None else naive


def _labels(locale: str) -> dict[str, Any]:
    zh = locale == "zh_CN"
    return {
        "outcomes": {k: (o.zh if zh else o.en) for k, o in OUTCOMES.items()},
        "events": {k: (v[0] if zh else v[1]) for k, v in EVENT_LABELS.items()},
        "reason_lang": "zh" if zh else "en",
    }


def _case_context(
    request: Request, session: Session, state: WebState, principal: Principal, case_id: int
) -> dict[str, Any]:
    ctx = app_ctx(request)
    detail = views.case_detail(session, principal, case_id, keys=ctx.keys)
    return {
        "case": detail,
        "can_contact": allowed(principal, "cases.contact"),
        "can_promise": allowed(principal, "cases.promise"),
        "page_events": PAGE_EVENTS,
        "today": service.local_today(ctx.clock(), ctx.settings.default_timezone).isoformat(),
        **_labels(state.locale),
    }


def _respond(
    request: Request,
    session: Session,
    state: WebState,
    principal: Principal,
    case_id: int,
    notice: dict[str, Any],
    status: int = 200,
) -> Response:
    context = {**_case_context(request, session, state, principal, case_id), "notice": notice}
    if request.headers.get("hx-request") == "true":  # htmx swaps 2xx answers only
        return render(request, state, "cases/_history.html", context)
    return render(request, state, "cases/case.html", context, status=status)


@router.get("/queue", response_class=HTMLResponse)
def queue_page(request: Request, session: Db) -> Response:
    state, principal = _signed_in(request, session)
    if principal is None:
        return _redirect("/login")
    ctx = app_ctx(request)
    queue = views.build_queue(
        session, principal, keys=ctx.keys, now=ctx.clock(), tz=ctx.settings.default_timezone
    )
    session.commit()
    return render(request, state, "cases/queue.html", {"queue": queue, **_labels(state.locale)})


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: str, session: Db) -> Response:
    state, principal = _signed_in(request, session)
    if principal is None:
        return _redirect("/login")
    context = _case_context(request, session, state, principal, _id(case_id))
    return render(request, state, "cases/case.html", {**context, "notice": None})


@router.post("/cases/{case_id}/contacts", response_class=HTMLResponse)
def contact_form(
    request: Request,
    case_id: str,
    session: Db,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    channel: Annotated[str, Form(max_length=16)] = "call",
    contact_point_id: Annotated[str, Form(max_length=20)] = "",
    outcome: Annotated[str, Form(max_length=24)] = "",
    notes: Text = "",
    message: Text = "",
    callback_at: Annotated[str, Form(max_length=40)] = "",
    event: Annotated[str, Form(max_length=40)] = "",
    abuse: Annotated[str, Form(max_length=16)] = "",
    staff: Annotated[str, Form(max_length=400)] = "",
    ids_shown: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    state = web_state(request, session)
    check_csrf(request, state, csrf_token)
    principal = state.principal
    if principal is None:
        raise Forbidden("sign in first")
    cid = _id(case_id)
    ctx = app_ctx(request)
    tz = ctx.settings.default_timezone
    try:
        events = []
        if event:
            kind, _, scope = event.partition(":")
            events.append(EventIn(kind=kind, scope=scope or None))
        staff_ids = _staff_ids(session, staff, principal) if channel == "visit" else []
        body = ContactIn(
            channel=channel,
            outcome=outcome,
            contact_point_id=int(contact_point_id) if contact_point_id.isdigit() else None,
            notes=notes or None,
            message=message or None,
            callback_at=_local(callback_at, tz),
            events=events,
            abuse=abuse or None,
            staff_ids=staff_ids,
            ids_shown=True if ids_shown else None,
        )
    except (ValidationError, ArrearsError) as exc:
        session.rollback()
        return _respond(request, session, state, principal, cid, {"kind": "error", "text": _plain(exc)}, 422)
    try:
        result = service.log_contact(session, principal, cid, body, keys=ctx.keys, now=ctx.clock(), tz=tz)
    except (NotFound, Forbidden):
        raise
    except ArrearsError as exc:
        session.rollback()
        return _respond(
            request, session, state, principal, cid, {"kind": "error", "text": exc.message}, exc.status_code
        )
    session.commit()
    if result.blocked:
        assert result.decision is not None
        reasons = [r.to_dict() for r in result.decision.reasons]
        return _respond(request, session, state, principal, cid, {"kind": "blocked", "reasons": reasons}, 409)
    return _respond(request, session, state, principal, cid, {"kind": "logged"})


@router.post("/cases/{case_id}/promises", response_class=HTMLResponse)
def promise_form(
    request: Request,
    case_id: str,
    session: Db,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    amount: Annotated[str, Form(max_length=40)] = "",
    due_date: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    state = web_state(request, session)
    check_csrf(request, state, csrf_token)
    principal = state.principal
    if principal is None:
        raise Forbidden("sign in first")
    cid = _id(case_id)
    ctx = app_ctx(request)
    try:
        body = PromiseIn(
            amount=amount.strip(), due_date=date.fromisoformat(due_date.strip()), note=note or None
        )
        service.record_promise(
            session, principal, cid, body, now=ctx.clock(), tz=ctx.settings.default_timezone
        )
    except (NotFound, Forbidden):
        raise
    except (ValidationError, ValueError, ArrearsError) as exc:
        session.rollback()
        return _respond(request, session, state, principal, cid, {"kind": "error", "text": _plain(exc)}, 422)
    session.commit()
    return _respond(request, session, state, principal, cid, {"kind": "promised"})


def _plain(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    if isinstance(exc, ArrearsError):
        return exc.message
    return str(exc)


def _staff_ids(session: Session, text: str, principal: Principal) -> list[int]:
    """Visit staff typed as user names (the signed-in user is one of them)."""
    names = {n.strip().lower() for n in text.replace("，", ",").split(",") if n.strip()}
    names.add(principal.username)
    ids = dict(session.execute(select(User.username, User.id).where(User.username.in_(names))).all())
    unknown = sorted(names - set(ids))
    if unknown:
        raise ArrearsError(f"staff: no user {', '.join(unknown)}")
    return sorted(ids.values())


# ------------------------------------------------------------------------------------------------ board


def _board(
    request: Request, session: Session, state: WebState, principal: Principal, notice: dict[str, Any] | None
) -> Response:
    b = views.board(session, principal)
    users = views.assignable_users(session, principal)
    return render(request, state, "cases/board.html", {"board": b, "users": users, "notice": notice})


@router.get("/board", response_class=HTMLResponse)
def board_page(request: Request, session: Db) -> Response:
    state, principal = _signed_in(request, session)
    if principal is None:
        return _redirect("/login")
    return _board(request, session, state, principal, None)


def _board_post(request: Request, session: Session, csrf_token: str) -> tuple[WebState, Principal]:
    state = web_state(request, session)
    check_csrf(request, state, csrf_token)
    if state.principal is None:
        raise Forbidden("sign in first")
    return state, state.principal


@router.post("/board/assign", response_class=HTMLResponse)
def board_assign(
    request: Request,
    session: Db,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    case_id: Annotated[str, Form(max_length=20)] = "",
    user_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    state, principal = _board_post(request, session, csrf_token)
    ctx = app_ctx(request)
    try:
        result = service.assign_case(
            session,
            principal,
            _id(case_id),
            user_id=int(user_id) if user_id.isdigit() else None,
            reason="manual",
            now=ctx.clock(),
        )
    except (Forbidden, NotFound):
        raise
    except ArrearsError as exc:
        session.rollback()
        return _board(request, session, state, principal, {"kind": "error", "text": exc.message})
    session.commit()
    holder = session.get(User, result.case.assigned_to) if result.case.assigned_to else None
    notice = {"kind": "assigned", "case": result.case.id, "user": holder.username if holder else "—"}
    return _board(request, session, state, principal, notice)


@router.post("/board/handover", response_class=HTMLResponse)
def board_handover(
    request: Request,
    session: Db,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    user_id: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=16)] = "leave",
    to_user_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    state, principal = _board_post(request, session, csrf_token)
    ctx = app_ctx(request)
    if not user_id.isdigit():
        raise NotFound(f"user {user_id} not found")
    try:
        result = service.hand_over(
            session,
            principal,
            int(user_id),
            reason=reason,
            now=ctx.clock(),
            to_user_id=int(to_user_id) if to_user_id.isdigit() else None,
        )
    except (Forbidden, NotFound):
        raise
    except ArrearsError as exc:
        session.rollback()
        return _board(request, session, state, principal, {"kind": "error", "text": exc.message})
    session.commit()
    notice = {
        "kind": "handed_over",
        "moved": len(result.moved) - len(result.unplaced),
        "unplaced": len(result.unplaced),
    }
    return _board(request, session, state, principal, notice)


@router.post("/board/rebalance", response_class=HTMLResponse)
def board_rebalance(
    request: Request, session: Db, csrf_token: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    state, principal = _board_post(request, session, csrf_token)
    moved = service.rebalance(session, principal, now=app_ctx(request).clock())
    session.commit()
    return _board(request, session, state, principal, {"kind": "rebalanced", "moved": len(moved)})


@router.post("/board/flags/{flag_id}/ack", response_class=HTMLResponse)
def board_ack(
    request: Request, flag_id: str, session: Db, csrf_token: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    state, principal = _board_post(request, session, csrf_token)
    service.acknowledge_flag(session, principal, _id(flag_id), now=app_ctx(request).clock())
    session.commit()
    return _board(request, session, state, principal, None)
