"""Who a command-line step is recorded for: the operator's login, or a named user (`--as`)."""

from __future__ import annotations

import getpass

from sqlalchemy import select
from sqlalchemy.orm import Session

from arrears.core.errors import ValidationFailed
from arrears.security.models import User
from arrears.security.principal import Principal


def operator() -> Principal:
    """The person at the terminal, as a system principal `cli:<login>`."""
    try:
        who = getpass.getuser()
    except Exception:  # no login name in some containers
        who = "operator"
    return Principal.system(f"cli:{who}")


def acting_user(session: Session, username: str | None, *, system: str, required: bool = False) -> Principal:
    """The active user named by `--as`; without one, the system principal `system` (or an error
    when the step must be recorded for a person)."""
    if not username:
        if required:
            raise ValidationFailed("--as: name the user this step is recorded for")
        return Principal.system(system)
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None or not user.active:
        raise ValidationFailed(f"--as: no active user {username!r}")
    return Principal.of(user)
