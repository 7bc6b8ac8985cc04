"""FastAPI app factory."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from arrears import __version__
from arrears.core.context import AppContext
from arrears.core.errors import ArrearsError


def create_app(ctx: AppContext) -> FastAPI:
    app = FastAPI(title="Arrears", version=__version__, docs_url="/api/docs", openapi_url="/api/openapi.json")
    app.state.ctx = ctx

    @app.exception_handler(ArrearsError)
    async def _domain_error(_request: Request, exc: ArrearsError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=exc.status_code)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    from arrears.portfolio.api import router as portfolio_router

    app.include_router(portfolio_router, prefix="/api/v1")
    return app
