"""Sign-in: argon2, timing-safe for unknown users, lockout and rate limit, tokens, sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from arrears.core.db import transaction
from arrears.security import auth, passwords
from arrears.security.models import LoginAttempt, User
from tests.security.world import PASSWORD, World


def test_password_hash_is_argon2id_and_verifies() -> None:
    h = passwords.hash_password("a long passphrase")
    assert h.startswith("$argon2id$")
    assert passwords.verify_password(h, "a long passphrase")
    assert not passwords.verify_password(h, "a long passphrasE")
    assert not passwords.verify_password("not a hash", "x")


def test_unknown_user_costs_one_argon2_verify(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user enumeration by timing: an unknown name still runs the hash verify."""
    calls: list[str] = []
    real = passwords._hasher

    class Spy:
        def verify(self, h: str, pw: str) -> bool:
            calls.append(h)
            return real.verify(h, pw)

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

    monkeypatch.setattr(passwords, "_hasher", Spy())
    with transaction(world.ctx.sessions) as s:
        assert (
            auth.authenticate(s, "nobody", "whatever-password", ip="1.2.3.4", now=world.ctx.clock()) is None
        )
        assert auth.authenticate(s, "c_east", "wrong-password", ip="1.2.3.4", now=world.ctx.clock()) is None
    assert len(calls) == 2
    assert calls[0].startswith("$argon2id$")  # the dummy hash, same parameters as real ones


def test_lockout_after_repeated_failures(world: World) -> None:
    ctx = world.ctx
    now = ctx.clock()
    for i in range(auth.LOCKOUT_FAILURES):
        with transaction(ctx.sessions) as s:
            assert auth.authenticate(s, "c_east", f"guess-{i}", ip="10.0.0.1", now=now) is None
    # Locked: even the right password is refused, and without spending a hash.
    with transaction(ctx.sessions) as s, pytest.raises(auth.TooManyAttempts):
        auth.authenticate(s, "C_East ", PASSWORD, ip="10.0.0.2", now=now + timedelta(minutes=1))
    # Other users are not affected.
    with transaction(ctx.sessions) as s:
        assert auth.authenticate(s, "c_west", PASSWORD, ip="10.0.0.1", now=now) is not None
    # After the window the right password works, and success resets the count.
    later = now + auth.LOCKOUT_WINDOW + timedelta(seconds=1)
    with transaction(ctx.sessions) as s:
        assert auth.authenticate(s, "c_east", PASSWORD, ip="10.0.0.1", now=later) is not None
    with transaction(ctx.sessions) as s:
        assert auth.authenticate(s, "c_east", "wrong-again", ip="10.0.0.1", now=later) is None
        assert auth.authenticate(s, "c_east", PASSWORD, ip="10.0.0.1", now=later) is not None


def test_unknown_usernames_lock_the_same_way(world: World) -> None:
    ctx = world.ctx
    for i in range(auth.LOCKOUT_FAILURES):
        with transaction(ctx.sessions) as s:
            auth.authenticate(s, "ghost", f"guess-{i}", ip="10.0.0.9", now=ctx.clock())
    with transaction(ctx.sessions) as s, pytest.raises(auth.TooManyAttempts):
        auth.authenticate(s, "ghost", "guess", ip="10.0.0.9", now=ctx.clock())
    with ctx.sessions() as s:
        assert s.scalar(select(LoginAttempt.username).limit(1)) == "ghost"


def test_address_rate_limit(world: World) -> None:
    ctx = world.ctx
    with transaction(ctx.sessions) as s:
        for i in range(auth.IP_FAILURES):
            s.add(LoginAttempt(username=f"u{i}", ip="203.0.113.5", at=ctx.clock(), success=False))
    with transaction(ctx.sessions) as s, pytest.raises(auth.TooManyAttempts, match="address"):
        auth.authenticate(s, "c_east", PASSWORD, ip="203.0.113.5", now=ctx.clock())


def test_tokens_expire_and_revoke(world: World) -> None:
    ctx = world.ctx
    now = ctx.clock()
    with transaction(ctx.sessions) as s:
        user = s.get(User, world.users["c_east"])
        assert user is not None
        issued = auth.issue_token(s, user, now=now)
    with transaction(ctx.sessions) as s:
        p = auth.principal_for_token(s, issued.token, now=now + timedelta(minutes=5))
        assert p is not None and p.username == "c_east" and p.role == "collector"
        assert auth.principal_for_token(s, issued.token, now=issued.expires_at) is None
        assert auth.principal_for_token(s, issued.token + "x", now=now) is None
        assert auth.revoke_token(s, issued.token, now=now)
    with transaction(ctx.sessions) as s:
        assert auth.principal_for_token(s, issued.token, now=now) is None
        assert not auth.revoke_token(s, issued.token, now=now)


def test_tokens_and_sessions_are_stored_hashed(world: World) -> None:
    ctx = world.ctx
    with transaction(ctx.sessions) as s:
        user = s.get(User, world.users["c_east"])
        assert user is not None
        issued = auth.issue_token(s, user, now=ctx.clock())
        raw, ws = auth.start_session(s, now=ctx.clock(), user=user)
        assert ws.session_hash != raw and issued.token not in ws.session_hash
    with ctx.sessions() as s:
        from arrears.security.models import ApiToken

        assert s.scalar(select(ApiToken.id).where(ApiToken.token_hash == issued.token)) is None


def test_disabled_user_cannot_sign_in_or_use_a_token(world: World) -> None:
    ctx = world.ctx
    token = world.token("c_east")
    with transaction(ctx.sessions) as s:
        user = s.get(User, world.users["c_east"])
        assert user is not None
        user.active = False
    with transaction(ctx.sessions) as s:
        assert auth.authenticate(s, "c_east", PASSWORD, ip="x", now=ctx.clock()) is None
        assert auth.principal_for_token(s, token, now=ctx.clock()) is None
