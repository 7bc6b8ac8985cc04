"""ASGI middleware: request ids, security headers, and the last line of defence against stack traces."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("arrears.web")

# No inline script or style anywhere: htmx is a static file and its inline indicator styles are off.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def _internal_error_body(request_id: str, html: bool) -> tuple[bytes, bytes]:
    if html:
        body = (
            "<!doctype html><html><head><meta charset=utf-8><title>Error</title></head><body>"
            f"<h1>Internal error · 内部错误</h1><p>Request id · 请求编号: {request_id}</p></body></html>"
        )
        return body.encode(), b"text/html; charset=utf-8"
    payload = {
        "error": "internal_error",
        "message": f"internal error; quote request id {request_id}",
        "request_id": request_id,
    }
    return json.dumps(payload).encode(), b"application/json"


class ShellMiddleware:
    """Adds X-Request-ID and security headers to every response; turns any unhandled exception into a
    generic 500 naming only the request id (the trace goes to the log, scrubbed of personal data)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        https = scope.get("scheme") == "https"
        path: str = scope.get("path", "")
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers: list[Any] = list(message.get("headers", []))
                present = {k.decode().lower() for k, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name not in present:
                        headers.append((name.encode(), value.encode()))
                headers.append((b"x-request-id", request_id.encode()))
                if https:
                    headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                if not path.startswith("/static/") and "cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            log.exception("unhandled error, request id %s, %s %s", request_id, scope.get("method"), path)
            if started:
                raise
            body, ctype = _internal_error_body(request_id, html=not path.startswith("/api"))
            await send_wrapper(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
