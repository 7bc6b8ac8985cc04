"""The contact log as the compliance guard reads it (R20–R22): attempts and events from `contacts` and
`contact_events`, for one manual contact, a collector's queue, or the nightly batch's pre-check.

Keys match the nightly pre-check (`arrears.strategy.precheck`): `account` is the account reference,
`person` the debtor id (a third party is `t<id>`), `contact` the contact point's plain value. Plain
values need the key ring; without it (`keys=None`) contacts read `cp:<id>`, so person- and
account-level rules (hours, daily caps per person, holds) still apply but the per-number cap (CN-F2)
and opt-outs of one address cannot be matched against planned contacts.

What enters the history: every outbound contact is an attempt; an inbound *call* is one too (a
conversation the debtor started still starts US-F2's seven days, and the caps err on the strict
side); other inbound messages are not attempts. Every recorded event is an event, whatever its age;
attempts older than `history_attempt_days` (35 by default) are left out — no rule looks back further.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import polars as pl
from sqlalchemy import or_, select
from sqlalchemy.engine import Connection

from arrears.cases.config import get_case_settings
from arrears.cases.models import Contact, ContactEvent
from arrears.compliance.guard import Attempt, ContactHistory, Event
from arrears.compliance.rules import CHANNELS
from arrears.portfolio.models import Account, ContactPoint, Debtor
from arrears.security.pii import KeyRing

LOG_COLUMNS = (
    "id",
    "at",
    "account",
    "person",
    "party",
    "channel",
    "contact",
    "outcome",
    "consent",
    "kind",
    "text",
    "tz",
    "scope",
    "staff_count",
    "ids_shown",
)


@dataclass(frozen=True)
class Rows:
    attempts: list[Attempt]
    events: list[Event]
    # parallel to attempts: (contact id, zone of the contact point, staff count, ids shown)
    extras: list[tuple[int, str | None, int | None, bool | None]]
    event_ids: list[int]


class _Plain:
    """Contact point values in plain text (decrypted once each), or `cp:<id>` without keys."""

    def __init__(self, conn: Connection, keys: KeyRing | None) -> None:
        self.conn, self.keys = conn, keys
        self.cache: dict[int, str] = {}

    def of(self, point_id: int | None, blob: Any = None) -> str:
        if point_id is None:
            return "unknown"
        hit = self.cache.get(point_id)
        if hit is not None:
            return hit
        if self.keys is None:
            value = f"cp:{point_id}"
        else:
            if blob is None:
                blob = self.conn.execute(
                    select(ContactPoint.value_enc).where(ContactPoint.id == point_id)
                ).scalar_one_or_none()
            value = self.keys.decrypt(bytes(blob)) if blob is not None else f"cp:{point_id}"
        self.cache[point_id] = value
        return value

    def scope(self, scope: str | None) -> str | None:
        """An opt-out scoped to one contact point is stored as `cp:<id>`; the guard wants the value."""
        if scope and scope.startswith("cp:") and scope[3:].isdigit():
            return self.of(int(scope[3:]))
        return scope


def load_rows(
    conn: Connection,
    *,
    debtor_ids: Sequence[int] | None,
    until: datetime,
    since: datetime,
    keys: KeyRing | None,
) -> Rows:
    """Attempts (since `since`) and events (all) before `until`, for some debtors or for everyone."""
    plain = _Plain(conn, keys)
    attempts: list[Attempt] = []
    extras: list[tuple[int, str | None, int | None, bool | None]] = []
    events: list[Event] = []
    event_ids: list[int] = []
    chunks: list[Sequence[int] | None] = (
        [debtor_ids[i : i + 5000] for i in range(0, len(debtor_ids), 5000)]
        if debtor_ids is not None
        else [None]
    )
    for chunk in chunks:
        q = (
            select(
                Contact.id,
                Contact.at,
                Account.account_ref,
                Contact.person,
                Contact.party,
                Contact.channel,
                Contact.guard_outcome,
                Contact.consent,
                Contact.contact_point_id,
                ContactPoint.value_enc,
                ContactPoint.timezone,
                Contact.staff_ids,
                Contact.ids_shown,
            )
            .join(Account, Account.id == Contact.account_id)
            .outerjoin(ContactPoint, ContactPoint.id == Contact.contact_point_id)
            .where(
                Contact.at < until,
                Contact.at >= since,
                or_(Contact.direction == "outbound", Contact.channel == "call"),
            )
            .order_by(Contact.at, Contact.id)
        )
        ev = (
            select(ContactEvent.id, ContactEvent.at, Account.account_ref, ContactEvent.person, ContactEvent.kind,
                   ContactEvent.scope)
            .join(Account, Account.id == ContactEvent.account_id)
            .where(ContactEvent.at < until)
            .order_by(ContactEvent.at, ContactEvent.id)
        )  # fmt: skip
        if chunk is not None:
            q = q.where(Contact.debtor_id.in_(list(chunk)))
            ev = ev.where(ContactEvent.debtor_id.in_(list(chunk)))
        for (
            cid,
            at,
            ref,
            person,
            party,
            channel,
            outcome,
            consent,
            point_id,
            blob,
            tz,
            staff,
            shown,
        ) in conn.execute(q):
            if channel not in CHANNELS:
                continue
            attempts.append(
                Attempt(
                    at=at,
                    account=str(ref),
                    person=str(person),
                    party=str(party),
                    channel=str(channel),
                    contact=plain.of(point_id, blob),
                    outcome=outcome,
                    consent=bool(consent),
                )
            )
            extras.append((int(cid), tz, len(staff) if isinstance(staff, list) else None, shown))
        for eid, at, ref, person, kind, scope in conn.execute(ev):
            events.append(Event(at, str(ref), str(person), str(kind), plain.scope(scope)))
            event_ids.append(int(eid))
    return Rows(attempts, events, extras, event_ids)


def person_zones(conn: Connection, debtor_ids: Sequence[int]) -> dict[str, str]:
    """The debtor record's zone per person key (it fixes the guard's local "day")."""
    out: dict[str, str] = {}
    ids = list(debtor_ids)
    for i in range(0, len(ids), 5000):
        for did, tz in conn.execute(
            select(Debtor.id, Debtor.timezone).where(Debtor.id.in_(ids[i : i + 5000]))
        ):
            if tz:
                out[str(did)] = str(tz)
    return out


def guard_history(
    conn: Connection, debtor_ids: Sequence[int], *, now: datetime, keys: KeyRing | None
) -> ContactHistory:
    """The ContactHistory the guard needs to decide contacts with these debtors (and their third
    parties) at `now`."""
    days = get_case_settings().history_attempt_days
    rows = load_rows(
        conn,
        debtor_ids=debtor_ids,
        until=now + timedelta(microseconds=1),
        since=now - timedelta(days=days),
        keys=keys,
    )
    return ContactHistory([*rows.attempts, *rows.events], person_zones=person_zones(conn, debtor_ids))


def _bound(as_of: date) -> datetime:
    # the end of `as_of` in the easternmost zone (UTC+14) — every local clock has left that day
    return datetime.combine(as_of + timedelta(days=1), time(0), UTC) + timedelta(hours=14)


def contact_history(conn: Connection, as_of: date, keys: KeyRing | None = None) -> pl.DataFrame:
    """The contact log up to the end of `as_of`, in the columns of `arrears compliance check`
    (id, at, account, person, party, channel, contact, outcome, consent, kind, text, tz, plus scope,
    staff_count, ids_shown) — all text, `at` ISO 8601 in UTC. A `strategy.precheck.HistoryLoader`:
    wire it as `history=history_loader(ctx.keys)` (or this function itself, without plain contacts).
    """
    until = _bound(as_of)
    days = get_case_settings().history_attempt_days
    rows = load_rows(conn, debtor_ids=None, until=until, since=until - timedelta(days=days + 2), keys=keys)
    data: dict[str, list[str | None]] = {c: [] for c in LOG_COLUMNS}

    def put(**values: str | None) -> None:
        for c in LOG_COLUMNS:
            data[c].append(values.get(c))

    for a, (cid, tz, staff, shown) in zip(rows.attempts, rows.extras, strict=True):
        put(
            id=f"c{cid}",
            at=a.at.isoformat(),
            account=a.account,
            person=a.person,
            party=a.party,
            channel=a.channel,
            contact=a.contact,
            outcome=a.outcome,
            consent="yes" if a.consent else "no",
            kind="attempt",
            tz=tz,
            staff_count=None if staff is None else str(staff),
            ids_shown=None if shown is None else ("yes" if shown else "no"),
        )
    for e, eid in zip(rows.events, rows.event_ids, strict=True):
        put(
            id=f"e{eid}",
            at=e.at.isoformat(),
            account=e.account,
            person=e.person,
            consent="no",
            kind=e.kind,
            scope=e.scope,
        )
    return pl.DataFrame(data, schema={c: pl.String for c in LOG_COLUMNS})


Loader = Callable[[Connection, date], pl.DataFrame]


def history_loader(keys: KeyRing | None) -> Loader:
    """`contact_history` bound to a key ring, in the shape of `strategy.precheck.HistoryLoader`."""

    def load(conn: Connection, as_of: date) -> pl.DataFrame:
        return contact_history(conn, as_of, keys)

    return load
