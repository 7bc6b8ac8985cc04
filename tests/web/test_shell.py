"""The shell: one error format, no traces, security headers, static assets, API reference."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from arrears.core.context import AppContext
from arrears.core.errors import Conflict
from arrears.web.app import STATIC, create_app
from arrears.web.middleware import CSP
from tests.security.world import World


@pytest.fixture
def client(sqlite_ctx: AppContext) -> TestClient:
    return TestClient(create_app(sqlite_ctx))


def test_security_headers_on_pages_api_and_errors(client: TestClient) -> None:
    for path in ("/login", "/api/openapi.json", "/api/v1/me", "/no-such-page", "/static/app.css"):
        r = client.get(path)
        h = r.headers
        assert h["content-security-policy"] == CSP, path
        assert "frame-ancestors 'none'" in CSP and "script-src 'self'" in CSP and "unsafe-inline" not in CSP
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "same-origin"
        assert h["x-frame-options"] == "DENY"
        assert len(h["x-request-id"]) == 32
    assert client.get("/api/v1/me").headers["cache-control"] == "no-store"


def test_pages_have_no_inline_script_and_ship_htmx_locally(client: TestClient) -> None:
    html = client.get("/login").text
    assert '<script src="/static/htmx.min.js"' in html
    assert "<script>" not in html and "style=" not in html and "onclick" not in html
    assert "http://" not in html and "https://" not in html  # no CDN
    js = client.get("/static/htmx.min.js")
    assert js.status_code == 200 and js.text.startswith("var htmx=function()")
    # htmx.org 2.0.11 from the npm registry, copied verbatim.
    digest = hashlib.sha256((STATIC / "htmx.min.js").read_bytes()).hexdigest()
    assert digest == "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"


def test_error_format(client: TestClient) -> None:
    r = client.get("/api/v1/nope")
    assert r.status_code == 404
    assert set(r.json()) == {"error", "message", "request_id"} and r.json()["error"] == "not_found"
    r = client.delete("/api/v1/me")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"
    r = client.get("/api/v1/me")
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    assert r.json()["request_id"] == r.headers["x-request-id"]
    r = client.post("/api/v1/auth/token", json={"username": "x"})
    body = r.json()
    assert r.status_code == 422 and body["error"] == "validation_failed"
    assert body["details"] == [{"field": "body.password", "reason": "Field required"}]
    assert "body.password" in body["message"]
    r = client.post("/api/v1/auth/token", content=b"\xff\xfe", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["details"][0]["field"] == "body"


def test_query_validation_names_the_field(world: World) -> None:
    client = TestClient(create_app(world.ctx))
    r = client.get("/api/v1/accounts?limit=5000", headers=world.headers("manager"))
    assert r.status_code == 422
    assert r.json()["details"][0]["field"] == "query.limit"
    r = client.get("/api/v1/debtors/abc", headers=world.headers("manager"))
    assert r.status_code == 422 and r.json()["details"][0]["field"] == "path.debtor_id"


def test_unexpected_errors_are_generic_with_a_request_id(
    sqlite_ctx: AppContext, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(sqlite_ctx)
    boom = APIRouter()

    @boom.get("/api/v1/_boom")
    def _boom() -> None:
        raise RuntimeError("secret detail: debtor 13812345678 at /srv/app.py line 12")

    @boom.get("/api/v1/_conflict")
    def _conflict() -> None:
        raise Conflict("account A1 exists for several creditors")

    @boom.get("/_page_boom")
    def _page_boom() -> None:
        raise RuntimeError("page failure")

    app.include_router(boom)
    client = TestClient(app)
    with caplog.at_level(logging.ERROR, logger="arrears.web"):
        r = client.get("/api/v1/_boom")
    assert r.status_code == 500
    body = r.json()
    assert body["error"] == "internal_error" and body["request_id"] == r.headers["x-request-id"]
    assert "secret" not in r.text and "Traceback" not in r.text and "13812345678" not in r.text
    assert r.headers["content-security-policy"] == CSP
    assert body["request_id"] in caplog.text  # the log has it, for the operator
    r = client.get("/api/v1/_conflict")
    assert r.status_code == 409 and r.json()["message"] == "account A1 exists for several creditors"
    r = client.get("/_page_boom")
    assert r.status_code == 500 and "page failure" not in r.text and r.headers["x-request-id"] in r.text


def test_openapi_and_reference_page(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    assert "/api/v1/accounts/{ref}" in schema["paths"]
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    token_op = schema["paths"]["/api/v1/auth/token"]["post"]
    assert set(token_op["requestBody"]["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
    }
    page = client.get("/api/docs", headers={"accept-language": "en"})
    assert page.status_code == 200 and "/api/v1/debtors/{debtor_id}/reveal" in page.text


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"


def test_static_files_are_inside_the_package() -> None:
    assert Path(STATIC).is_relative_to(Path(__file__).resolve().parents[2] / "src" / "arrears")
