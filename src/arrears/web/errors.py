"""One error format for the API: {"error", "message", "details"?, "request_id"}.

Typed domain errors carry their status; validation errors name the field (`query.limit`,
`body.username`); HTTP errors from routing (404, 405) take the same shape. Pages get a small HTML
page instead. Unexpected exceptions are handled by `ShellMiddleware` (generic 500, request id).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from arrears.core.errors import ArrearsError

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_attempts",
}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


def error_response(request: Request, status: int, code: str, message: str, details: Any = None) -> Response:
    request_id = getattr(request.state, "request_id", None)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if not _is_api(request):
        from arrears.web.pages import render_error

        return render_error(request, status, message)
    body: dict[str, Any] = {"error": code, "message": message}
    if details is not None:
        body["details"] = details
    body["request_id"] = request_id
    return JSONResponse(body, status_code=status, headers=headers)


def field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc) or "request"


def install(app: FastAPI) -> None:
    @app.exception_handler(ArrearsError)
    async def _domain(request: Request, exc: ArrearsError) -> Response:
        return error_response(request, exc.status_code, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        details = [
            {"field": field_name(e.get("loc", ())), "reason": str(e.get("msg", "invalid"))}
            for e in exc.errors()
        ]
        message = "; ".join(f"{d['field']}: {d['reason']}" for d in details) or "invalid request"
        return error_response(request, 422, "validation_failed", message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        response = error_response(request, exc.status_code, code, message)
        if exc.headers:
            response.headers.update(exc.headers)
        return response
