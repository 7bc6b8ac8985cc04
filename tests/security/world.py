"""A small, real world for security tests: two teams, one user per role, three accounts with
encrypted personal data, each case assigned to a different collector.

    A1 → collector c_east (team east), placed with agency AG1   ← "own" for every scoped role
    A2 → collector c_east2 (team east)
    A3 → collector c_west (team west), placed with agency AG2  ← "other": out of scope for
                                                                   collector, team_lead, agency
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy.orm import Session

from arrears.core.context import AppContext
from arrears.core.db import transaction
from arrears.portfolio.models import Account, Case, ContactPoint, Debtor, ThirdParty
from arrears.security.auth import issue_token
from arrears.security.models import Team, User
from arrears.security.passwords import hash_password
from arrears.security.principal import ROLES, Principal
from tests import factories

PASSWORD = "correct-horse-battery"

# Plain personal data that must never appear unencrypted at rest.
PII = {
    "A1": {"national_id": "110101199003071234", "phone": "13812345678", "email": "zhang.san@example.com",
           "address": "北京市朝阳区建国路88号", "contact": "李四", "contact_phone": "13987654321"},
    "A2": {"national_id": "310104198512240018", "phone": "13700001111", "email": "wang.wu@example.org",
           "address": "上海市徐汇区漕溪北路1号", "contact": "赵六", "contact_phone": "13622223333"},
    "A3": {"national_id": "440305199201019876", "phone": "13566667777", "email": "chen.qi@example.net",
           "address": "深圳市南山区科技园南区", "contact": "周八", "contact_phone": "13499990000"},
}  # fmt: skip

# The user who plays each role in the authorization matrix.
ROLE_USER = {
    "collector": "c_east",
    "team_lead": "lead_east",
    "qc_inspector": "qc",
    "legal": "legal",
    "manager": "manager",
    "compliance_officer": "compliance",
    "admin": "admin",
    "agency": "ag1",
}
RESTRICTED = {"collector", "team_lead", "agency"}


@lru_cache(maxsize=1)
def _password_hash() -> str:
    return hash_password(PASSWORD)


@dataclass
class World:
    ctx: AppContext
    users: dict[str, int] = field(default_factory=dict)  # username → id
    accounts: dict[str, int] = field(default_factory=dict)  # ref → account id
    debtors: dict[str, int] = field(default_factory=dict)  # ref → debtor id
    cases: dict[str, int] = field(default_factory=dict)  # ref → case id
    contact_points: dict[str, int] = field(default_factory=dict)  # ref → debtor's phone contact point id
    third_parties: dict[str, int] = field(default_factory=dict)  # ref → third party id

    def user_for(self, role: str) -> str:
        return ROLE_USER[role]

    def token(self, username: str) -> str:
        with transaction(self.ctx.sessions) as s:
            user = s.get(User, self.users[username])
            assert user is not None
            return issue_token(s, user, now=self.ctx.clock()).token

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def principal(self, username: str) -> Principal:
        with self.ctx.sessions() as s:
            user = s.get(User, self.users[username])
            assert user is not None
            return Principal.of(user)


def _user(s: Session, ctx: AppContext, name: str, role: str, team: Team | None, agency: str | None) -> User:
    now = ctx.clock()
    u = User(
        username=name, role=role, team_id=team.id if team else None, agency_code=agency,
        password_hash=_password_hash(), active=True, created_at=now, updated_at=now,
    )  # fmt: skip
    s.add(u)
    s.flush()
    return u


def add_personal_data(s: Session, ctx: AppContext, debtor: Debtor, pii: dict[str, str]) -> tuple[int, int]:
    """Encrypt the debtor's national id, phone, email, address and an emergency contact (CN-D1).
    Blind indexes use the import's normal forms (phones in E.164)."""
    keys, now = ctx.keys, ctx.clock()
    debtor.national_id_enc = keys.encrypt(pii["national_id"])
    debtor.national_id_bidx = keys.blind_index("national_id", pii["national_id"])
    phone = ContactPoint(
        debtor_id=debtor.id, kind="phone", label="mobile", value_enc=keys.encrypt(pii["phone"]),
        value_bidx=keys.blind_index("phone", "+86" + pii["phone"]), timezone="Asia/Shanghai", created_at=now,
    )  # fmt: skip
    s.add(phone)
    for kind in ("email", "address"):
        s.add(
            ContactPoint(
                debtor_id=debtor.id,
                kind=kind,
                value_enc=keys.encrypt(pii[kind]),
                value_bidx=keys.blind_index(kind, pii[kind]),
                created_at=now,
            )
        )
    party = ThirdParty(
        debtor_id=debtor.id,
        seq=1,
        party="third_party",
        name_enc=keys.encrypt(pii["contact"]),
        relation="spouse",
    )
    s.add(party)
    s.flush()
    s.add(
        ContactPoint(
            debtor_id=debtor.id,
            third_party_id=party.id,
            kind="phone",
            label="emergency",
            value_enc=keys.encrypt(pii["contact_phone"]),
            value_bidx=keys.blind_index("phone", "+86" + pii["contact_phone"]),
            created_at=now,
        )
    )
    s.flush()
    return phone.id, party.id


def build_world(ctx: AppContext) -> World:
    w = World(ctx)
    now = ctx.clock()
    with transaction(ctx.sessions) as s:
        east = Team(name="east", created_at=now)
        west = Team(name="west", created_at=now)
        s.add_all([east, west])
        s.flush()
        spec = [
            ("c_east", "collector", east, None),
            ("c_east2", "collector", east, None),
            ("c_west", "collector", west, None),
            ("lead_east", "team_lead", east, None),
            ("qc", "qc_inspector", None, None),
            ("legal", "legal", None, None),
            ("manager", "manager", None, None),
            ("compliance", "compliance_officer", None, None),
            ("admin", "admin", None, None),
            ("ag1", "agency", None, "AG1"),
        ]
        for name, role, team, agency in spec:
            w.users[name] = _user(s, ctx, name, role, team, agency).id
        assert set(ROLE_USER) == set(ROLES)
        placement = [("A1", "c_east", "AG1", 10), ("A2", "c_east2", None, 45), ("A3", "c_west", "AG2", 100)]
        for ref, collector, agency, dpd in placement:
            acc: Account = factories.account(s, ctx, ref, dpd=dpd)
            acc.agency_code = agency
            case = s.query(Case).filter_by(account_id=acc.id).one()
            case.assigned_to = w.users[collector]
            debtor = s.get(Debtor, acc.debtor_id)
            assert debtor is not None
            phone_id, party_id = add_personal_data(s, ctx, debtor, PII[ref])
            w.accounts[ref], w.debtors[ref], w.cases[ref] = acc.id, debtor.id, case.id
            w.contact_points[ref], w.third_parties[ref] = phone_id, party_id
    return w
