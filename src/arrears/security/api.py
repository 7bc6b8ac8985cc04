"""Security HTTP routes: tokens, the current user, users (admin), the audit trail (compliance)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select

from arrears.core.errors import Unauthorized, ValidationFailed
from arrears.security import audit
from arrears.security.auth import BAD_CREDENTIALS, authenticate, issue_token, revoke_token
from arrears.security.models import AuditEvent
from arrears.security.permissions import PERMISSIONS, can_reveal
from arrears.security.principal import Principal
from arrears.security.service import list_users
from arrears.web.deps import Db, app_ctx, client_ip, requires

router = APIRouter()


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    expires_in: int


_CREDENTIALS_SCHEMA = Credentials.model_json_schema()
_TOKEN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _CREDENTIALS_SCHEMA},
            "application/x-www-form-urlencoded": {"schema": _CREDENTIALS_SCHEMA},
        },
    }
}


async def _read_credentials(request: Request) -> Credentials:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    data: Any
    if content_type == "application/x-www-form-urlencoded" or content_type.startswith("multipart/"):
        form = await request.form()
        data = {k: v for k, v in form.items() if isinstance(v, str)}
    else:
        raw = await request.body()
        try:
            data = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValidationFailed(
                "body: not valid JSON", details=[{"field": "body", "reason": "invalid JSON"}]
            ) from exc
    if not isinstance(data, dict):
        raise ValidationFailed(
            "body: an object with username and password is required",
            details=[{"field": "body", "reason": "expected an object"}],
        )
    try:
        return Credentials.model_validate(data)
    except ValidationError as exc:
        details = [
            {"field": ".".join(["body", *map(str, e["loc"])]), "reason": e["msg"]} for e in exc.errors()
        ]
        raise ValidationFailed(
            "; ".join(f"{d['field']}: {d['reason']}" for d in details), details=details
        ) from exc


@router.post(
    "/auth/token",
    response_model=TokenOut,
    tags=["auth"],
    summary="Sign in: username and password (JSON or form) → short-lived bearer token",
    openapi_extra=_TOKEN_BODY,
    responses={401: {"description": "invalid credentials"}, 429: {"description": "locked out"}},
)
async def token(request: Request, _: Annotated[None, Depends(requires("auth.token"))]) -> TokenOut:
    creds = await _read_credentials(request)
    ctx = app_ctx(request)
    ip = client_ip(request)

    def _sign_in() -> TokenOut | None:
        with ctx.sessions() as session:
            now = ctx.clock()
            user = authenticate(session, creds.username, creds.password, ip=ip, now=now)
            if user is None:
                session.commit()  # keep the failed attempt for the lockout count
                return None
            issued = issue_token(session, user, now=now)
            session.commit()
            return TokenOut(
                access_token=issued.token,
                expires_at=issued.expires_at,
                expires_in=int((issued.expires_at - now).total_seconds()),
            )

    from starlette.concurrency import run_in_threadpool

    out = await run_in_threadpool(_sign_in)
    if out is None:
        raise Unauthorized(BAD_CREDENTIALS)
    return out


class Revoked(BaseModel):
    revoked: bool


@router.post("/auth/revoke", response_model=Revoked, tags=["auth"], summary="Revoke the presented token")
def revoke(
    request: Request, session: Db, principal: Annotated[Principal, Depends(requires("auth.revoke"))]
) -> Revoked:
    raw = request.headers.get("authorization", "").partition(" ")[2].strip()
    now = app_ctx(request).clock()
    done = revoke_token(session, raw, now=now)
    if done:
        audit.record(session, principal, "auth.revoke", "user", principal.user_id, at=now)
    session.commit()
    return Revoked(revoked=done)


class MeOut(BaseModel):
    id: int | None
    username: str
    role: str
    team_id: int | None
    agency_code: str | None
    language: str | None
    can_reveal: bool
    actions: list[str]


@router.get("/me", response_model=MeOut, tags=["auth"], summary="The signed-in user and what they may do")
def me(principal: Annotated[Principal, Depends(requires("me.read"))]) -> MeOut:
    from arrears.security.permissions import allowed

    return MeOut(
        id=principal.user_id,
        username=principal.username,
        role=principal.role,
        team_id=principal.team_id,
        agency_code=principal.agency_code,
        language=principal.language,
        can_reveal=can_reveal(principal),
        actions=sorted(a for a in PERMISSIONS if not PERMISSIONS[a].public and allowed(principal, a)),
    )


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str | None
    role: str
    team: str | None
    agency_code: str | None
    language: str | None
    active: bool


@router.get("/users", response_model=list[UserOut], tags=["users"], summary="All users (admin)")
def users(session: Db, principal: Annotated[Principal, Depends(requires("users.list"))]) -> list[UserOut]:
    return [
        UserOut(
            id=u.id,
            username=u.username,
            display_name=u.display_name,
            role=u.role,
            team=team,
            agency_code=u.agency_code,
            language=u.language,
            active=u.active,
        )
        for u, team in list_users(session, principal)
    ]


class AuditEventOut(BaseModel):
    id: int
    at: datetime
    actor: str
    actor_id: int | None
    action: str
    entity: str
    entity_id: str | None
    before: Any = None
    after: Any = None
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    items: list[AuditEventOut]
    next_after_id: int | None


@router.get(
    "/audit/events", response_model=AuditPage, tags=["audit"], summary="The audit trail (oldest first)"
)
def audit_events(
    session: Db,
    principal: Annotated[Principal, Depends(requires("audit.read"))],
    after_id: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    action: Annotated[str | None, Query(max_length=80)] = None,
    entity: Annotated[str | None, Query(max_length=80)] = None,
    entity_id: Annotated[str | None, Query(max_length=120)] = None,
) -> AuditPage:
    q = select(AuditEvent).where(AuditEvent.id > after_id)
    if action:
        q = q.where(AuditEvent.action == action)
    if entity:
        q = q.where(AuditEvent.entity == entity)
    if entity_id:
        q = q.where(AuditEvent.entity_id == entity_id)
    rows = session.scalars(q.order_by(AuditEvent.id).limit(limit)).all()
    items = [AuditEventOut.model_validate(r, from_attributes=True) for r in rows]
    return AuditPage(items=items, next_after_id=rows[-1].id if len(rows) == limit else None)


class VerifyOut(BaseModel):
    ok: bool
    checked: int
    head: str
    broken_event: int | None
    reason: str | None


@router.get("/audit/verify", response_model=VerifyOut, tags=["audit"], summary="Check the audit hash chain")
def audit_verify(session: Db, principal: Annotated[Principal, Depends(requires("audit.read"))]) -> VerifyOut:
    result = audit.verify(session)
    return VerifyOut(
        ok=result.ok,
        checked=result.checked,
        head=result.head,
        broken_event=result.broken_id,
        reason=result.reason,
    )
