"""Strategy use cases: the active strategy, activation behind the cadence proof (R8, R22)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import yaml
from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from arrears.core.clock import Clock
from arrears.core.errors import ValidationFailed
from arrears.strategy.definition import Strategy, default_strategy, dump_strategy, parse_strategy
from arrears.strategy.models import StrategyActivation
from arrears.strategy.verify import Violation, verify


class CadenceViolation(ValidationFailed):
    """The strategy could break a pack's time or frequency rules; it cannot be activated."""


def active_strategy(conn: Connection | Session) -> Strategy:
    """The live strategy: the latest activation, else the shipped default."""
    row = conn.execute(
        select(StrategyActivation.content)
        .where(StrategyActivation.active.is_(True))
        .order_by(StrategyActivation.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if row is None:
        return default_strategy()
    return parse_strategy(yaml.safe_load(row), "active strategy")


def verify_for_packs(strategy: Strategy, packs: Sequence[str]) -> dict[str, list[Violation]]:
    from arrears.compliance.packs import load_pack

    return {name: verify(strategy, load_pack(name)) for name in packs}


def activate(
    session: Session, strategy: Strategy, packs: Sequence[str], *, clock: Clock, actor: str | None = None
) -> StrategyActivation:
    """Make a strategy live — only after its cadence proof passes for every pack in use."""
    results = verify_for_packs(strategy, packs)
    failing = {p: v for p, v in results.items() if v}
    if failing:
        first_pack, violations = next(iter(failing.items()))
        raise CadenceViolation(
            f"strategy {strategy.key} fails pack {first_pack}: {violations[0].rule} on path "
            f"{violations[0].path}: {violations[0].message}",
            details={p: [v.to_dict() for v in vs] for p, vs in failing.items()},
        )
    content = dump_strategy(strategy)
    session.execute(update(StrategyActivation).values(active=False))
    row = StrategyActivation(
        name=strategy.name,
        version=strategy.version,
        sha256=hashlib.sha256(content.encode()).hexdigest(),
        content=content,
        packs=",".join(packs),
        activated_at=clock(),
        activated_by=actor,
        active=True,
    )
    session.add(row)
    session.flush()
    return row
