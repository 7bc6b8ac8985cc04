"""Request plumbing shared by the API and the pages: database session, principal, permission marker.

Every API route declares exactly one action through `requires(action)`; the dependency
authenticates the bearer token and applies the role-level rule from
`arrears.security.permissions.PERMISSIONS`. Scope checks (404 for resources outside the principal's
portfolio) happen in the services, which receive the principal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from arrears.core.context import AppContext
from arrears.core.errors import Forbidden, Unauthorized
from arrears.security.auth import principal_for_token
from arrears.security.permissions import allowed, rule_for
from arrears.security.principal import Principal

bearer = HTTPBearer(auto_error=False, description="A token from POST /api/v1/auth/token.")


def app_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def db_session(request: Request) -> Iterator[Session]:
    """One session per request; handlers that change state commit explicitly before answering."""
    session = app_ctx(request).sessions()
    try:
        yield session
    finally:
        session.close()


Db = Annotated[Session, Depends(db_session, scope="function")]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def requires(action: str) -> Callable[..., Any]:
    """A dependency that authenticates and checks the role rule for `action` (marks the route too)."""
    rule = rule_for(action)
    if rule.public:

        def public() -> None:
            return None

        dep: Callable[..., Any] = public
    else:

        def authenticated(
            request: Request,
            session: Db,
            credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
        ) -> Principal:
            principal = None
            if credentials is not None and credentials.scheme.lower() == "bearer":
                principal = principal_for_token(
                    session, credentials.credentials, now=app_ctx(request).clock()
                )
            if principal is None:
                raise Unauthorized("a valid bearer token is required")
            if not allowed(principal, action):
                raise Forbidden(f"role {principal.role!r} may not perform {action!r}")
            request.state.principal = principal
            return principal

        dep = authenticated
    dep.__name__ = "requires_" + action.replace(".", "_")
    dep.arrears_action = action  # type: ignore[attr-defined]
    return dep


def route_action(route: Any) -> str | None:
    """The action a route declared through `requires` (None when it declared none)."""
    stack = list(getattr(getattr(route, "dependant", None), "dependencies", []))
    while stack:
        d = stack.pop()
        action = getattr(d.call, "arrears_action", None)
        if action is not None:
            return str(action)
        stack.extend(d.dependencies)
    return None


def app_routes(app: Any) -> list[tuple[str, str, Any]]:
    """(method, full path, route) for every HTTP route of the app, included routers flattened."""
    from fastapi.routing import APIRoute, iter_route_contexts

    out: list[tuple[str, str, Any]] = []
    for rc in iter_route_contexts(app.routes):
        route = rc.original_route
        if isinstance(route, APIRoute) and rc.path:
            out.extend((method, rc.path, route) for method in sorted(route.methods or ()))
    return out
