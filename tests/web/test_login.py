"""Browser sign-in: session cookies, CSRF on every state-changing form, fixation, lockout."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from arrears.security.auth import LOCKOUT_FAILURES
from arrears.security.models import User, WebSession
from arrears.web.app import create_app
from arrears.web.deps import app_routes
from arrears.web.pages import COOKIE
from tests.security.world import PASSWORD, World

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _client(world: World, base_url: str = "http://testserver") -> TestClient:
    return TestClient(create_app(world.ctx), base_url=base_url, follow_redirects=False)


def _login_form(client: TestClient) -> str:
    r = client.get("/login")
    assert r.status_code == 200
    m = CSRF.search(r.text)
    assert m is not None
    return m.group(1)


def _sign_in(client: TestClient, username: str = "c_east", password: str = PASSWORD) -> str:
    token = _login_form(client)
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/", r.text
    return r.cookies[COOKIE]


def test_cookie_flags_over_http_and_https(world: World) -> None:
    for base, secure in (("http://testserver", False), ("https://testserver", True)):
        client = _client(world, base)
        r = client.get("/login")
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert ("Secure" in cookie) is secure
        if secure:
            assert "strict-transport-security" in r.headers


def test_sign_in_shows_the_dashboard_and_sign_out_ends_the_session(world: World) -> None:
    client = _client(world)
    assert client.get("/").headers["location"] == "/login"
    _sign_in(client)
    page = client.get("/", headers={"accept-language": "en"})
    assert page.status_code == 200 and "Accounts by bucket" in page.text and "c_east" in page.text
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    out = client.post("/logout", data={"csrf_token": token})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/").status_code == 303


def test_session_fixation_the_pre_login_id_is_never_promoted(world: World) -> None:
    client = _client(world)
    token = _login_form(client)
    planted = client.cookies[COOKIE]  # what an attacker could have fixed in the victim's browser
    r = client.post("/login", data={"username": "c_east", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303
    fresh = r.cookies[COOKIE]
    assert fresh != planted
    # The planted id is dead: presenting it does not give the signed-in session.
    attacker = _client(world)
    attacker.cookies.set(COOKIE, planted)
    assert attacker.get("/").status_code == 303
    victim = _client(world)
    victim.cookies.set(COOKIE, fresh)
    assert victim.get("/").status_code == 200
    # An id invented by the client is never adopted either.
    forged = _client(world)
    forged.cookies.set(COOKIE, "attacker-chosen-id")
    r = forged.get("/login")
    assert r.cookies[COOKIE] != "attacker-chosen-id"
    with world.ctx.sessions() as s:
        rows = s.scalars(select(WebSession).order_by(WebSession.id)).all()
        assert all(row.session_hash not in {planted, fresh} for row in rows)  # only hashes are stored
        assert sum(1 for row in rows if row.user_id and row.revoked_at is None) == 1


def test_csrf_is_required_on_every_state_changing_form(world: World) -> None:
    client = _client(world)
    _sign_in(client)
    page = client.get("/")
    good = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    unsafe = [(m, p) for m, p, _ in app_routes(client.app) if m != "GET" and not p.startswith("/api/")]
    assert {"/login", "/logout", "/language"} <= {p for _, p in unsafe}
    for method, route_path in unsafe:
        path = re.sub(r"{\w+}", "1", route_path)  # the token is checked before the resource is looked up
        for token in ("", "forged-token", good[:-1] + ("A" if good[-1] != "A" else "B")):
            r = client.request(method, path, data={"csrf_token": token, "language": "en", "username": "x"})
            assert r.status_code == 403, (path, token, r.status_code)
    # Still signed in: the forged sign-out did nothing; the real one works.
    assert client.get("/").status_code == 200
    # A cross-site login POST without the victim's session cookie fails too (login CSRF).
    stranger = _client(world)
    r = stranger.post("/login", data={"username": "c_east", "password": PASSWORD, "csrf_token": good})
    assert r.status_code == 403
    # The htmx header form of the token is accepted.
    r = client.post("/language", data={"language": "en"}, headers={"X-CSRF-Token": good})
    assert r.status_code == 303


def test_brute_force_locks_the_account(world: World) -> None:
    client = _client(world)
    token = _login_form(client)
    for i in range(LOCKOUT_FAILURES):
        r = client.post("/login", data={"username": "c_east", "password": f"guess-{i}", "csrf_token": token})
        assert r.status_code == 401
        assert "Invalid username or password" in r.text or "用户名或密码错误" in r.text
    r = client.post("/login", data={"username": "c_east", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 429
    assert COOKIE not in r.cookies or r.cookies[COOKIE] == client.cookies[COOKIE]
    api = client.post("/api/v1/auth/token", json={"username": "c_east", "password": PASSWORD})
    assert api.status_code == 429 and api.json()["error"] == "too_many_attempts"
    # The lockout is per username: another user signs in normally.
    other = _client(world)
    _sign_in(other, "c_west")


def test_unknown_user_and_wrong_password_look_the_same(world: World) -> None:
    client = _client(world)
    a = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "whatever-123"})
    b = client.post("/api/v1/auth/token", json={"username": "c_east", "password": "whatever-123"})
    assert a.status_code == b.status_code == 401
    assert a.json()["message"] == b.json()["message"]


def test_language_follows_the_user_setting(world: World) -> None:
    client = _client(world)
    _sign_in(client)
    page = client.get("/", headers={"accept-language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in page.text
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    client.post("/language", data={"language": "zh_CN", "csrf_token": token})
    page = client.get("/", headers={"accept-language": "en-US,en;q=0.9"})
    assert '<html lang="zh-CN">' in page.text and "各账龄段账户数" in page.text
    with world.ctx.sessions() as s:
        assert s.scalars(select(User.language).where(User.username == "c_east")).one() == "zh_CN"
