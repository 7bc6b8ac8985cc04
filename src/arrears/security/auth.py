"""Authentication: password sign-in with lockout, bearer tokens, browser sessions.

- Sign-in is timing-safe: an unknown username still costs one argon2 verify, and the answer is the
  same for an unknown user and a wrong password (no enumeration).
- Lockout: after `LOCKOUT_FAILURES` failed attempts for a username within `LOCKOUT_WINDOW` (counted
  whether or not the user exists), further attempts are refused until the window passes; an
  address with `IP_FAILURES` failures in the window is refused as well (rate limit).
- Tokens and session ids are random; only their SHA-256 is stored.
- A browser session is anonymous until sign-in (it carries the login form's CSRF token); signing
  in revokes it and issues a new id, so a planted id is never promoted (session fixation).

`authenticate` records the attempt in the caller's session and returns the user or None: the caller
commits *before* raising, so failed attempts are kept.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from arrears.core.errors import ArrearsError, Unauthorized
from arrears.security import audit
from arrears.security.models import ApiToken, LoginAttempt, User, WebSession
from arrears.security.passwords import hash_password, needs_rehash, verify_dummy, verify_password
from arrears.security.principal import Principal

TOKEN_TTL = timedelta(minutes=30)
SESSION_TTL = timedelta(hours=8)
LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
IP_FAILURES = 50

BAD_CREDENTIALS = "invalid username or password"


class TooManyAttempts(ArrearsError):
    status_code = 429
    code = "too_many_attempts"


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def normalise_username(username: str) -> str:
    return username.strip().lower()[:80]


def _failures_since(session: Session, column: InstrumentedAttribute[str], value: str, since: datetime) -> int:
    last_success = (
        select(func.max(LoginAttempt.at))
        .where(column == value, LoginAttempt.success.is_(True))
        .scalar_subquery()
    )
    q = select(func.count()).where(
        column == value,
        LoginAttempt.success.is_(False),
        LoginAttempt.at > since,
        LoginAttempt.at > func.coalesce(last_success, since),
    )
    return int(session.scalar(q) or 0)


def check_rate(session: Session, username: str, ip: str, now: datetime) -> None:
    """Refuse before any password work when the username is locked or the address is throttled."""
    since = now - LOCKOUT_WINDOW
    if _failures_since(session, LoginAttempt.username, username, since) >= LOCKOUT_FAILURES:
        raise TooManyAttempts("too many failed sign-in attempts; try again later")
    if _failures_since(session, LoginAttempt.ip, ip, since) >= IP_FAILURES:
        raise TooManyAttempts("too many failed sign-in attempts from this address; try again later")


def authenticate(session: Session, username: str, password: str, *, ip: str, now: datetime) -> User | None:
    """Check a password; record the attempt. Raises TooManyAttempts when locked; None when wrong."""
    name = normalise_username(username)
    ip = (ip or "unknown")[:64]
    check_rate(session, name, ip, now)
    user = session.scalar(select(User).where(User.username == name)) if name else None
    if user is None or not user.active:
        ok = verify_dummy(password)
    else:
        ok = verify_password(user.password_hash, password)
    session.add(LoginAttempt(username=name or "-", ip=ip, at=now, success=ok))
    if not ok or user is None:
        session.flush()
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit.record(session, Principal.of(user), "auth.login", "user", user.id, at=now)
    return user


# --- bearer tokens -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


def issue_token(session: Session, user: User, *, now: datetime, ttl: timedelta = TOKEN_TTL) -> IssuedToken:
    raw = "arr_" + secrets.token_urlsafe(32)
    session.add(ApiToken(token_hash=_digest(raw), user_id=user.id, created_at=now, expires_at=now + ttl))
    session.flush()
    return IssuedToken(raw, now + ttl)


def principal_for_token(session: Session, raw: str, *, now: datetime) -> Principal | None:
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == _digest(raw))
    ).first()
    if row is None:
        return None
    token, user = row
    if token.revoked_at is not None or token.expires_at <= now or not user.active:
        return None
    return Principal.of(user)


def revoke_token(session: Session, raw: str, *, now: datetime) -> bool:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(raw)))
    if token is None or token.revoked_at is not None:
        return False
    token.revoked_at = now
    return True


def require_principal(session: Session, raw: str | None, *, now: datetime) -> Principal:
    principal = principal_for_token(session, raw, now=now) if raw else None
    if principal is None:
        raise Unauthorized("a valid bearer token is required")
    return principal


# --- browser sessions ----------------------------------------------------------------------------


def start_session(
    session: Session, *, now: datetime, user: User | None = None, language: str | None = None
) -> tuple[str, WebSession]:
    raw = secrets.token_urlsafe(32)
    ws = WebSession(
        session_hash=_digest(raw),
        user_id=user.id if user else None,
        csrf_token=secrets.token_urlsafe(32),
        language=language,
        created_at=now,
        expires_at=now + SESSION_TTL,
    )
    session.add(ws)
    session.flush()
    return raw, ws


def load_session(session: Session, raw: str | None, *, now: datetime) -> WebSession | None:
    if not raw:
        return None
    ws = session.scalar(select(WebSession).where(WebSession.session_hash == _digest(raw)))
    if ws is None or ws.revoked_at is not None or ws.expires_at <= now:
        return None
    return ws


def session_user(session: Session, ws: WebSession | None) -> User | None:
    if ws is None or ws.user_id is None:
        return None
    user = session.get(User, ws.user_id)
    return user if user is not None and user.active else None


def login_session(
    session: Session, old: WebSession | None, user: User, *, now: datetime
) -> tuple[str, WebSession]:
    """Sign-in: the pre-login session is revoked and a fresh id (and CSRF token) issued."""
    language = old.language if old else None
    if old is not None:
        old.revoked_at = now
    return start_session(session, now=now, user=user, language=language)


def end_session(session: Session, ws: WebSession, *, now: datetime) -> None:
    ws.revoked_at = now


def csrf_matches(ws: WebSession | None, submitted: str | None) -> bool:
    if ws is None or not submitted:
        return False
    return hmac.compare_digest(ws.csrf_token.encode(), submitted.encode())
