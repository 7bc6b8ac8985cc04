"""Server-rendered pages: sign-in, sign-out, dashboard, language, API reference.

Browser sessions live in the database (`arrears.security.auth`): the cookie holds a random id
(HttpOnly, SameSite=Lax, Secure over HTTPS). Every state-changing form carries the session's CSRF
token (`csrf_token` field, or the `X-CSRF-Token` header for htmx requests) and is refused without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from arrears import __version__
from arrears.core.errors import Forbidden
from arrears.portfolio.ageing import DEFAULT_BUCKETS
from arrears.security import audit, auth
from arrears.security.models import User, WebSession
from arrears.security.permissions import allowed
from arrears.security.principal import Principal
from arrears.security.service import LANGUAGES, set_language
from arrears.web import i18n
from arrears.web.deps import Db, app_ctx, client_ip

COOKIE = "arrears_session"
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
TEMPLATES.env.globals["version"] = __version__

router = APIRouter(include_in_schema=False)


@dataclass
class WebState:
    ws: WebSession | None
    user: User | None
    locale: str
    new_cookie: str | None = None

    @property
    def principal(self) -> Principal | None:
        return Principal.of(self.user) if self.user else None

    @property
    def csrf(self) -> str:
        return self.ws.csrf_token if self.ws else ""


def _locale(request: Request, ws: WebSession | None, user: User | None) -> str:
    default = app_ctx(request).settings.default_locale
    return i18n.choose(
        user.language if user else None,
        ws.language if ws else None,
        i18n.from_accept_language(request.headers.get("accept-language")),
        default=default,
    )


def web_state(request: Request, session: Session, *, create: bool = False) -> WebState:
    """The browser session from the cookie; with `create`, an anonymous one is started if missing."""
    now = app_ctx(request).clock()
    ws = auth.load_session(session, request.cookies.get(COOKIE), now=now)
    new_cookie = None
    if ws is None and create:
        new_cookie, ws = auth.start_session(session, now=now)
        session.commit()
    user = auth.session_user(session, ws)
    return WebState(ws, user, _locale(request, ws, user), new_cookie)


def set_cookie(request: Request, response: Response, raw: str) -> None:
    response.set_cookie(
        COOKIE,
        raw,
        max_age=int(auth.SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def render(
    request: Request, state: WebState, name: str, context: dict[str, Any], status: int = 200
) -> Response:
    base = {
        "_": i18n.gettext_for(state.locale),
        "locale": state.locale,
        "html_lang": i18n.HTML_LANG[state.locale],
        "languages": LANGUAGES,
        "csrf_token": state.csrf,
        "user": state.user,
    }
    response = TEMPLATES.TemplateResponse(request, name, {**base, **context}, status_code=status)
    if state.new_cookie:
        set_cookie(request, response, state.new_cookie)
    return response


def render_error(request: Request, status: int, message: str) -> Response:
    locale = i18n.choose(i18n.from_accept_language(request.headers.get("accept-language")))
    state = WebState(None, None, locale)
    return render(request, state, "error.html", {"status": status, "message": message}, status=status)


def check_csrf(request: Request, state: WebState, submitted: str | None) -> None:
    token = submitted or request.headers.get("x-csrf-token")
    if not auth.csrf_matches(state.ws, token):
        raise Forbidden("the form has expired or did not come from this site; reload and try again")


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, session: Db) -> Response:
    state = web_state(request, session, create=True)
    if state.user is not None:
        return _redirect("/")
    return render(request, state, "login.html", {"error": None, "username": ""})


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    session: Db,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    state = web_state(request, session)
    check_csrf(request, state, csrf_token)
    ctx = app_ctx(request)
    now = ctx.clock()
    try:
        user = auth.authenticate(session, username, password, ip=client_ip(request), now=now)
    except auth.TooManyAttempts:
        session.rollback()
        return render(request, state, "login.html", {"error": "locked", "username": username}, status=429)
    if user is None:
        session.commit()
        return render(request, state, "login.html", {"error": "invalid", "username": username}, status=401)
    raw, _ws = auth.login_session(session, state.ws, user, now=now)  # new id: no fixation
    session.commit()
    response = _redirect("/")
    set_cookie(request, response, raw)
    return response


@router.post("/logout")
def logout(request: Request, session: Db, csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    state = web_state(request, session)
    check_csrf(request, state, csrf_token)
    if state.ws is not None:
        now = app_ctx(request).clock()
        auth.end_session(session, state.ws, now=now)
        if state.user is not None:
            audit.record(session, Principal.of(state.user), "auth.logout", "user", state.user.id, at=now)
        session.commit()
    response = _redirect("/login")
    response.delete_cookie(COOKIE, path="/")
    return response


@router.post("/language")
def language(
    request: Request,
    session: Db,
    language: Annotated[str, Form(max_length=8)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    state = web_state(request, session)
    check_csrf(request, state, csrf_token)
    chosen = i18n.normalise(language) or state.locale
    now = app_ctx(request).clock()
    principal = state.principal
    if principal is not None:
        set_language(session, principal, chosen, now=now)
    if state.ws is not None:
        state.ws.language = chosen
    session.commit()
    return _redirect("/" if principal else "/login")


def _buckets(session: Session, principal: Principal) -> list[tuple[str, int]]:
    from arrears.portfolio.api import bucket_counts

    counts = bucket_counts(session, principal)
    ordered = [(b.label, counts.pop(b.label, 0)) for b in DEFAULT_BUCKETS]
    return ordered + sorted(counts.items())


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: Db) -> Response:
    state = web_state(request, session)
    principal = state.principal
    if principal is None:
        return _redirect("/login")
    buckets = _buckets(session, principal)
    return render(
        request,
        state,
        "dashboard.html",
        {"buckets": buckets, "total": sum(n for _, n in buckets), "role": principal.role},
    )


@router.get("/dashboard/buckets", response_class=HTMLResponse)
def dashboard_buckets(request: Request, session: Db) -> Response:
    """The bucket table alone, for htmx refreshes."""
    state = web_state(request, session)
    principal = state.principal
    if principal is None or not allowed(principal, "dashboard.view"):
        return Response(status_code=401)
    buckets = _buckets(session, principal)
    return render(request, state, "_buckets.html", {"buckets": buckets, "total": sum(n for _, n in buckets)})


@router.get("/api/docs", response_class=HTMLResponse)
def api_docs(request: Request, session: Db) -> Response:
    """The API reference, rendered from the OpenAPI document (no external scripts)."""
    state = web_state(request, session)
    schema = request.app.openapi()
    operations = []
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "tags": ", ".join(op.get("tags", [])),
                    "params": [
                        f"{p.get('name')} ({p.get('in')}{', required' if p.get('required') else ''})"
                        for p in op.get("parameters", [])
                    ],
                    "secured": bool(op.get("security")),
                }
            )
    return render(request, state, "api_docs.html", {"operations": operations, "info": schema.get("info", {})})
