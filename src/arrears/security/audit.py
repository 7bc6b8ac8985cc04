"""The audit trail: an append-only, hash-chained log of every state change and every reveal (R21, CN-R1).

How to write an event (from any service, inside the same transaction as the change)::

    from arrears.security import audit

    audit.record(session, actor, "account.adjust", "account", account.id,
                 before={"fees": 100}, after={"fees": 0}, at=ctx.clock())

- `actor`: a `Principal` (or a plain name such as "system" or "cli:ops" for unattended work).
- `action`: a dotted verb, `<entity>.<verb>`; `entity` / `entity_id`: what changed.
- `before` / `after`: JSON-able values (dates, Decimals become strings). Never put plain personal
  data here — say *which* field changed or was revealed, not its value.
- `at`: the service's clock (UTC-aware); defaults to now.

Each event's hash is sha256(prev_hash + canonical JSON of the event), where canonical JSON has sorted
keys and no spaces; the first event's prev_hash is 64 zeros. `prev_hash` is unique in the table, so
the chain cannot fork, and triggers refuse UPDATE and DELETE. `verify(session)` walks the chain and
names the first event whose link or content does not match (`arrears audit verify`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from arrears.core.clock import ensure_aware, utc_now
from arrears.security.models import AuditEvent
from arrears.security.principal import Principal

GENESIS = "0" * 64


def _jsonable(value: Any) -> Any:
    """The value as it will come back from the JSON column, so the hash covers exactly what is stored."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def canonical(
    *,
    at: datetime,
    actor: str,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: str | None,
    before: Any,
    after: Any,
) -> str:
    body = {
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "actor_id": actor_id,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "before": before,
        "after": after,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, canonical_json: str) -> str:
    return hashlib.sha256((prev_hash + canonical_json).encode("utf-8")).hexdigest()


def event_hash(ev: Any) -> str:
    """The hash an event *should* have, recomputed from its stored fields (an AuditEvent or a row)."""
    return chain_hash(
        ev.prev_hash,
        canonical(
            at=ev.at,
            actor=ev.actor,
            actor_id=ev.actor_id,
            action=ev.action,
            entity=ev.entity,
            entity_id=ev.entity_id,
            before=ev.before,
            after=ev.after,
        ),
    )


def _lock_chain(session: Session) -> None:
    """Serialise appenders so two transactions never read the same head."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext('arrears.audit_events'))"))
    elif dialect == "sqlite":
        # A write statement that touches no row takes SQLite's write lock before the head is read.
        session.execute(text("DELETE FROM audit_events WHERE 0"))


def head(session: Session) -> str:
    last = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    return last or GENESIS


def record(
    session: Session,
    actor: Principal | str,
    action: str,
    entity: str,
    entity_id: object = None,
    before: Any = None,
    after: Any = None,
    *,
    at: datetime | None = None,
) -> AuditEvent:
    """Append one event to the chain in the caller's transaction (committed or rolled back with it)."""
    if isinstance(actor, Principal):
        actor_name, actor_id = actor.username, actor.user_id
    else:
        actor_name, actor_id = str(actor), None
    when = ensure_aware(at) if at is not None else utc_now()
    when = when.astimezone(UTC)
    eid = None if entity_id is None else str(entity_id)
    before_j, after_j = _jsonable(before), _jsonable(after)
    _lock_chain(session)
    prev = head(session)
    digest = chain_hash(
        prev,
        canonical(
            at=when,
            actor=actor_name,
            actor_id=actor_id,
            action=action,
            entity=entity,
            entity_id=eid,
            before=before_j,
            after=after_j,
        ),
    )
    ev = AuditEvent(
        at=when,
        actor=actor_name[:120],
        actor_id=actor_id,
        action=action,
        entity=entity,
        entity_id=eid,
        before=before_j,
        after=after_j,
        prev_hash=prev,
        hash=digest,
    )
    if ev.actor != actor_name:  # truncated: hash what is stored
        raise ValueError("actor name longer than 120 characters")
    session.add(ev)
    session.flush()
    return ev


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    head: str
    broken_id: int | None = None
    reason: str | None = None


def _events(session: Session, batch: int = 5000) -> Iterator[Any]:
    """Rows (not ORM objects, which verify does not need) in id order, a batch at a time."""
    table = AuditEvent.__table__
    last_id = 0
    while True:
        rows = session.execute(
            select(table).where(table.c.id > last_id).order_by(table.c.id).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


def verify(session: Session, *, expect_head: str | None = None) -> Verification:
    """Walk the chain in id order; stop at the first event whose link or content does not match.

    `expect_head`: a hash recorded earlier (e.g. printed by a previous verify); the chain must still
    contain it, which catches a truncated tail that a chain alone cannot.
    """
    prev = GENESIS
    checked = 0
    seen_expected = expect_head is None or expect_head == GENESIS
    for ev in _events(session):
        if ev.prev_hash != prev:
            return Verification(
                False, checked, prev, ev.id, "its previous-hash link does not match the event before it"
            )
        if event_hash(ev) != ev.hash:
            return Verification(False, checked, prev, ev.id, "its content does not match its hash")
        prev = ev.hash
        checked += 1
        if ev.hash == expect_head:
            seen_expected = True
    if not seen_expected:
        return Verification(False, checked, prev, None, f"the expected head {expect_head} is missing")
    return Verification(True, checked, prev)
