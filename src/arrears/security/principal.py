"""Who is acting: the principal every service receives, and the roles it may hold."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from arrears.security.models import User

# R17 and the roles: staff roles, plus `agency` for an outside collection agency's staff.
ROLES: tuple[str, ...] = (
    "collector",
    "team_lead",
    "qc_inspector",
    "legal",
    "manager",
    "compliance_officer",
    "admin",
    "agency",
)
# Not a login role: batch jobs and operators at the command line act as the system.
SYSTEM_ROLE = "system"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated actor. `user_id` is None only for the system principal."""

    user_id: int | None
    username: str
    role: str
    team_id: int | None = None
    agency_code: str | None = None
    language: str | None = None

    @classmethod
    def of(cls, user: User) -> Principal:
        return cls(
            user_id=user.id,
            username=user.username,
            role=user.role,
            team_id=user.team_id,
            agency_code=user.agency_code,
            language=user.language,
        )

    @classmethod
    def system(cls, name: str = "system") -> Principal:
        return cls(user_id=None, username=name, role=SYSTEM_ROLE)

    @property
    def is_system(self) -> bool:
        return self.role == SYSTEM_ROLE
