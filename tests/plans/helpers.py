"""Shared set-up for plans, legal and documents tests: the security world plus extra leads, a document
store in a temporary directory and the creditor's letterhead."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from arrears.core.context import AppContext
from arrears.core.db import transaction
from arrears.documents import service as documents
from arrears.documents.storage import DocumentStore
from arrears.portfolio.models import Account, Case
from arrears.security.models import Team, User
from arrears.security.principal import Principal
from tests.security.world import World, _password_hash

LETTERHEAD = {
    "phone": "400-800-1234",
    "email": "service@bank1.example",
    "address_zh": "北京市西城区金融大街1号",
    "address_en": "1 Finance Street, Xicheng, Beijing",
    "website": "www.bank1.example",
    "repayment_zh": "通过本行手机银行、网点柜台或转账至本行还款账户 6222 0000 1111 2222（户名：BANK1 银行）",
    "repayment_en": "through our mobile app, at any branch, or by transfer to repayment account 6222 0000 1111 2222",
}


def at(y: int, m: int, d: int, hh: int = 10) -> datetime:
    return datetime(y, m, d, hh, 0, tzinfo=UTC)


def add_user(w: World, name: str, role: str, team: str | None) -> Principal:
    """Another member of staff in the world (e.g. a second lead of team east, a lead of team west)."""
    now = w.ctx.clock()
    with transaction(w.ctx.sessions) as s:
        team_id = s.query(Team.id).filter_by(name=team).scalar() if team else None
        u = User(
            username=name, role=role, team_id=team_id, password_hash=_password_hash(), active=True,
            created_at=now, updated_at=now,
        )  # fmt: skip
        s.add(u)
        s.flush()
        w.users[name] = u.id
        return Principal.of(u)


def set_letterhead(ctx: AppContext) -> None:
    with transaction(ctx.sessions) as s:
        documents.set_letterhead(s, "test-setup", "BANK1", at=ctx.clock(), **LETTERHEAD)


def store(tmp_path: Path) -> DocumentStore:
    return DocumentStore(tmp_path / "documents", max_bytes=64 * 1024)


def account(s: Session, w: World, ref: str) -> Account:
    acc = s.get(Account, w.accounts[ref])
    assert acc is not None
    return acc


def case(s: Session, w: World, ref: str) -> Case:
    c = s.get(Case, w.cases[ref])
    assert c is not None
    return c
