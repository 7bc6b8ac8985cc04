"""Security use cases: teams, users, the first admin, language, key rotation. Every change is audited."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from arrears.core.context import AppContext
from arrears.core.db import transaction
from arrears.core.errors import Conflict, NotFound, ValidationFailed
from arrears.portfolio.models import ContactPoint, Debtor, ThirdParty
from arrears.security import audit
from arrears.security.models import Team, User
from arrears.security.passwords import check_policy, generate_password, hash_password
from arrears.security.permissions import authorize
from arrears.security.principal import ROLES, Principal

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")
LANGUAGES = ("zh_CN", "en")


def _team(session: Session, actor: Principal, name: str, now: datetime) -> Team:
    team = session.scalar(select(Team).where(Team.name == name))
    if team is None:
        if not name.strip() or len(name) > 80:
            raise ValidationFailed("team: a name of 1–80 characters is required")
        team = Team(name=name.strip(), created_at=now)
        session.add(team)
        session.flush()
        audit.record(session, actor, "team.create", "team", team.id, after={"name": team.name}, at=now)
    return team


def create_user(
    session: Session,
    actor: Principal,
    *,
    username: str,
    role: str,
    password: str,
    now: datetime,
    team: str | None = None,
    agency_code: str | None = None,
    display_name: str | None = None,
    language: str | None = None,
) -> User:
    """Add a user (admin only). A named team that does not exist yet is created."""
    authorize(actor, "users.create")
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise ValidationFailed(
            f"username {username!r}: 2–80 characters, lower-case letters, digits, '.', '_' or '-'"
        )
    if role not in ROLES:
        raise ValidationFailed(f"role {role!r}: must be one of {', '.join(ROLES)}")
    if role == "agency" and not agency_code:
        raise ValidationFailed("agency: agency staff need --agency (the agency code on their accounts)")
    if role == "team_lead" and not team:
        raise ValidationFailed("team: a team lead needs --team")
    if language is not None and language not in LANGUAGES:
        raise ValidationFailed(f"language {language!r}: must be one of {', '.join(LANGUAGES)}")
    check_policy(password)
    if session.scalar(select(User.id).where(User.username == name)) is not None:
        raise Conflict(f"user {name} already exists")
    team_row = _team(session, actor, team, now) if team else None
    user = User(
        username=name,
        display_name=display_name,
        role=role,
        team_id=team_row.id if team_row else None,
        agency_code=agency_code,
        password_hash=hash_password(password),
        language=language,
        active=True,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    after = {"username": name, "role": role, "team": team, "agency_code": agency_code}
    audit.record(session, actor, "user.create", "user", user.id, after=after, at=now)
    return user


def list_users(session: Session, actor: Principal) -> list[tuple[User, str | None]]:
    authorize(actor, "users.list")
    rows = session.execute(select(User, Team.name).outerjoin(Team, Team.id == User.team_id).order_by(User.id))
    return [(u, t) for u, t in rows]


def set_language(session: Session, actor: Principal, language: str, *, now: datetime) -> User:
    """A user's own display language (zh_CN or en)."""
    authorize(actor, "me.update")
    if language not in LANGUAGES:
        raise ValidationFailed(f"language {language!r}: must be one of {', '.join(LANGUAGES)}")
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise NotFound("user not found")
    before = user.language
    user.language = language
    user.updated_at = now
    audit.record(
        session, actor, "user.language", "user", user.id, {"language": before}, {"language": language}, at=now
    )
    return user


@dataclass
class FirstAdmin:
    created: bool
    username: str
    password: str | None = None  # only when created with a generated password: shown once


def ensure_first_admin(
    session: Session, *, username: str = "admin", password: str | None = None, now: datetime
) -> FirstAdmin:
    """`arrears init`: create the first admin unless an admin exists (idempotent)."""
    existing = session.scalar(select(User).where(User.role == "admin").order_by(User.id).limit(1))
    if existing is not None:
        return FirstAdmin(False, existing.username)
    generated = password is None
    pw = password if password is not None else generate_password()
    create_user(session, Principal.system("init"), username=username, role="admin", password=pw, now=now)
    return FirstAdmin(True, username, pw if generated else None)


# --- personal-data key rotation --------------------------------------------------------------------

# Every encrypted column. Features that add one register it so rotation re-encrypts it too.
ENCRYPTED_COLUMNS: list[InstrumentedAttribute[Any]] = [
    Debtor.national_id_enc,
    ContactPoint.value_enc,
    ThirdParty.name_enc,
]


def register_encrypted_column(column: InstrumentedAttribute[Any]) -> None:
    if column not in ENCRYPTED_COLUMNS:
        ENCRYPTED_COLUMNS.append(column)


@dataclass
class Rotation:
    new_key: str
    retired: list[str]
    reencrypted: dict[str, int] = field(default_factory=dict)


def rotate_keys(ctx: AppContext, actor: Principal, *, retire_old: bool = True, batch: int = 1000) -> Rotation:
    """Add a new data key, re-encrypt every encrypted column with it, then retire the old keys.

    Crash-safe order: the key file gains the new key first (old keys kept), the re-encryption is one
    transaction, and old keys leave the file only after it commits. Processes holding the old key
    ring (a running server) must be restarted afterwards. The blind-index key is not rotated.
    """
    authorize(actor, "keys.rotate")
    ring = ctx.keys
    old = sorted(ring.keys)
    new = ring.rotate()
    ring.save(ctx.key_file)
    result = Rotation(new_key=new, retired=[])
    with transaction(ctx.sessions) as session:
        for column in ENCRYPTED_COLUMNS:
            model = column.class_
            pk = model.__mapper__.primary_key[0]
            label = f"{model.__tablename__}.{column.key}"
            done = 0
            last = 0
            while True:
                rows = session.execute(
                    select(pk, column).where(pk > last, column.is_not(None)).order_by(pk).limit(batch)
                ).all()
                if not rows:
                    break
                for row_id, blob in rows:
                    if ring.key_id_of(blob) != new:
                        session.execute(
                            model.__table__.update()
                            .where(model.__table__.c.id == row_id)
                            .values({column.key: ring.encrypt(ring.decrypt(blob))})
                        )
                        done += 1
                last = rows[-1][0]
            result.reencrypted[label] = done
        audit.record(
            session,
            actor,
            "keys.rotate",
            "key_ring",
            new,
            before={"keys": old},
            after={"current": new, "reencrypted": result.reencrypted},
            at=ctx.clock(),
        )
    if retire_old:
        result.retired = ring.retire(old)
        ring.save(ctx.key_file)
    return result
