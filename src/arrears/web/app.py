"""FastAPI app factory: the JSON API under /api/v1, the pages, static files, one error format.

Feature routers are mounted under `/api/v1`; each route declares its action with
`arrears.web.deps.requires(action)`, and the action must exist in the permission table.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from arrears import __version__
from arrears.core.context import AppContext
from arrears.security.masking import install_log_filter
from arrears.web import errors
from arrears.web.middleware import ShellMiddleware

STATIC = Path(__file__).resolve().parent / "static"
API_PREFIX = "/api/v1"


def create_app(ctx: AppContext) -> FastAPI:
    app = FastAPI(
        title="Arrears",
        version=__version__,
        description="Collections platform API (催收管理系统). Sign in with POST /api/v1/auth/token.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.ctx = ctx
    install_log_filter()
    for name in ("uvicorn.error", "uvicorn.access", "arrears"):
        install_log_filter(logging.getLogger(name))
    errors.install(app)
    app.add_middleware(ShellMiddleware)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    from arrears.analytics.api import router as analytics_router
    from arrears.analytics.pages import router as analytics_pages
    from arrears.cases.api import router as cases_router
    from arrears.cases.pages import router as cases_pages
    from arrears.documents.api import router as documents_router
    from arrears.legal.api import router as legal_router
    from arrears.plans.api import router as plans_router
    from arrears.plans.pages import router as plans_pages
    from arrears.portfolio.api import router as portfolio_router
    from arrears.quality.api import router as quality_router
    from arrears.quality.pages import router as quality_pages
    from arrears.security.api import router as security_router
    from arrears.web.pages import router as pages_router

    app.include_router(security_router, prefix=API_PREFIX)
    app.include_router(
        cases_router, prefix=API_PREFIX
    )  # before portfolio: its GET /cases/{id} is the full view
    app.include_router(portfolio_router, prefix=API_PREFIX)
    for feature_router in (plans_router, legal_router, documents_router, quality_router, analytics_router):
        app.include_router(feature_router, prefix=API_PREFIX)
    app.include_router(pages_router)
    app.include_router(cases_pages)
    app.include_router(plans_pages)
    app.include_router(quality_pages)
    app.include_router(analytics_pages)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    return app
