"""The contact guard: every proposed contact, automated or by hand, is decided here (R20–R22).

Pure: the guard reads only the proposed contact, the contact history before it and the rule pack.
It answers allowed / blocked with rule ids, citations and plain-language reasons in zh-CN and English.

Interpretations (each cited where it is applied):
- "Day" is the debtor's local calendar day: the person's default zone when known, else the first zone
  of the contact point. Day windows are compared as UTC instants (local midnight → UTC).
- CN-F1 counts connected calls per person per local day over all accounts and agencies; CN-F2 counts
  unanswered attempts per phone number per local day. The next call is blocked once a cap is reached.
- US-F1 counts calls to a person about a debt in the 7 consecutive local days ending on the proposed
  day, less those US-F3 excludes; the 8th counted call is blocked. US-F2 blocks a call up to day 7
  after a telephone conversation (its day is day 1). A call placed with consent (US-F3) is exempt.
- Third parties (CN-P2, US-P2) only while the debtor is unreachable (pack parameters), never after
  they refused, and under US-P2 each person once unless they asked to be contacted again.
- Holds (bankruptcy, death, cease, attorney, unverified dispute, opt-out) come from the pack's table.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from arrears.compliance.packs import Hold, Pack, minutes
from arrears.compliance.rules import (
    CHANNELS,
    DAY_US,
    EVENT_KINDS,
    OUTCOMES,
    PARTIES,
    THIRD_PARTIES,
    UNKNOWN_OUTCOME,
    Reason,
    ScreenFn,
    TextChecker,
    consent_classes,
    ordered,
    reason,
    text_violations,
    time_consent_covers,
    window_contains,
)
from arrears.compliance.timezones import (
    candidate_zones,
    day_start,
    local_day,
    local_minute,
    normalize_contact,
    to_us,
)

__all__ = [
    "Attempt",
    "ContactHistory",
    "ContactPoint",
    "Decision",
    "Event",
    "Guard",
    "ProposedContact",
    "Reason",
]

_END = 1 << 62


@dataclass(frozen=True)
class ContactPoint:
    value: str
    kind: str = "phone"
    timezone: str | None = None


@dataclass(frozen=True)
class Attempt:
    at: datetime
    account: str
    person: str
    party: str
    channel: str
    contact: str
    outcome: str | None = None
    consent: bool = False


@dataclass(frozen=True)
class Event:
    at: datetime
    account: str
    person: str
    kind: str
    scope: str | None = None


@dataclass(frozen=True)
class ProposedContact:
    at: datetime
    account: str
    person: str
    party: str
    channel: str
    contact: ContactPoint
    text: str | None = None
    consent: bool = False
    staff_count: int | None = None
    ids_shown: bool | None = None  # CN-V1: None when not yet known (a warning, not a block)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rules: tuple[str, ...]
    reasons: tuple[Reason, ...]
    citations: tuple[str, ...]
    warnings: tuple[Reason, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "rules": list(self.rules),
            "reasons": [r.to_dict() for r in self.reasons],
            "citations": list(self.citations),
            "warnings": [r.to_dict() for r in self.warnings],
        }


# ---------------------------------------------------------------------------------------------- history


class _Series:
    """Items of one index key, ordered by (time µs, insertion sequence)."""

    __slots__ = ("items", "keys")

    def __init__(self) -> None:
        self.keys: list[tuple[int, int]] = []
        self.items: list[Any] = []

    def add(self, key: tuple[int, int], item: Any) -> None:
        if not self.keys or key >= self.keys[-1]:
            self.keys.append(key)
            self.items.append(item)
        else:
            i = bisect_right(self.keys, key)
            self.keys.insert(i, key)
            self.items.insert(i, item)

    def upto(self, at_us: int) -> int:
        """Number of items at or before `at_us`."""
        return bisect_right(self.keys, (at_us, _END))

    def since(self, at_us: int) -> int:
        """Index of the first item at or after `at_us`."""
        return bisect_left(self.keys, (at_us, -1))


def _classes(ev: Event) -> tuple[str, ...]:
    """Index kinds of an event; consent events are indexed by what they consent to."""
    if ev.kind == "consent":
        return tuple(f"consent.{c}" for c in sorted(consent_classes(ev.scope)))
    return (ev.kind,)


class ContactHistory:
    """Attempts and events, indexed by person, account, (person, account) and contact point.

    `person_zones` maps a person to their default zone (the debtor record's zone); it fixes the
    local "day" used by the daily and 7-day counts.
    """

    def __init__(
        self, items: Iterable[Attempt | Event] = (), person_zones: Mapping[str, str] | None = None
    ) -> None:
        self.person_zones: dict[str, str] = dict(person_zones or {})
        self._seq = 0
        self._all: list[tuple[tuple[int, int], Attempt | Event]] = []
        self._att_person: dict[str, _Series] = defaultdict(_Series)
        self._att_pa: dict[tuple[str, str], _Series] = defaultdict(_Series)
        self._att_account: dict[str, _Series] = defaultdict(_Series)
        self._ev: dict[tuple[str, str], dict[Any, _Series]] = defaultdict(lambda: defaultdict(_Series))
        self._by_contact: dict[str | None, dict[str, _Series]] = {}
        self._optout_by_contact: dict[str | None, dict[str, _Series]] = {}
        for item in items:
            self.add(item)

    def __len__(self) -> int:
        return len(self._all)

    def __iter__(self) -> Iterator[Attempt | Event]:
        return (item for _, item in sorted(self._all, key=lambda p: p[0]))

    @property
    def attempts(self) -> list[Attempt]:
        return [i for i in self if isinstance(i, Attempt)]

    @property
    def events(self) -> list[Event]:
        return [i for i in self if isinstance(i, Event)]

    def zone_of(self, person: str) -> str | None:
        return self.person_zones.get(person)

    def add(self, item: Attempt | Event) -> None:
        """Record an attempt or event (in any order; ties in time keep the order of adding)."""
        if item.at.tzinfo is None:
            raise ValueError(
                f"{type(item).__name__} at {item.at.isoformat()}: a timezone-aware time is required"
            )
        key = (to_us(item.at), self._seq)
        self._seq += 1
        self._all.append((key, item))
        if isinstance(item, Attempt):
            if item.party not in PARTIES:
                raise ValueError(f"attempt: unknown party {item.party!r}")
            if item.channel not in CHANNELS:
                raise ValueError(f"attempt: unknown channel {item.channel!r}")
            if item.outcome is not None and item.outcome not in OUTCOMES:
                raise ValueError(f"attempt: unknown outcome {item.outcome!r}")
            self._att_person[item.person].add(key, item)
            self._att_pa[(item.person, item.account)].add(key, item)
            self._att_account[item.account].add(key, item)
            for region, idx in self._by_contact.items():
                idx.setdefault(normalize_contact(item.contact, None, region), _Series()).add(key, item)
        else:
            if item.kind not in EVENT_KINDS:
                raise ValueError(f"event: unknown kind {item.kind!r}")
            for cls in _classes(item):
                self._ev[(cls, "person")][item.person].add(key, item)
                self._ev[(cls, "account")][item.account].add(key, item)
                self._ev[(cls, "person_account")][(item.person, item.account)].add(key, item)
            if item.kind == "opt_out" and item.scope and item.scope not in CHANNELS:
                for region, idx in self._optout_by_contact.items():
                    idx.setdefault(normalize_contact(item.scope, None, region), _Series()).add(key, item)

    # -- queries used by the guard

    def events_for(self, kind: str, match: str, key: Any) -> _Series | None:
        return self._ev.get((kind, match), {}).get(key)

    def attempts_by_person(self, person: str) -> _Series | None:
        return self._att_person.get(person)

    def attempts_by_person_account(self, person: str, account: str) -> _Series | None:
        return self._att_pa.get((person, account))

    def attempts_by_account(self, account: str) -> _Series | None:
        return self._att_account.get(account)

    def attempts_by_contact(self, contact: str, region: str | None) -> _Series | None:
        if region not in self._by_contact:
            idx: dict[str, _Series] = {}
            for key, item in sorted(self._all, key=lambda p: p[0]):
                if isinstance(item, Attempt):
                    idx.setdefault(normalize_contact(item.contact, None, region), _Series()).add(key, item)
            self._by_contact[region] = idx
        return self._by_contact[region].get(contact)

    def opt_outs_by_contact(self, contact: str, region: str | None) -> _Series | None:
        if region not in self._optout_by_contact:
            idx: dict[str, _Series] = {}
            for key, item in sorted(self._all, key=lambda p: p[0]):
                if (
                    isinstance(item, Event)
                    and item.kind == "opt_out"
                    and item.scope
                    and item.scope not in CHANNELS
                ):
                    idx.setdefault(normalize_contact(item.scope, None, region), _Series()).add(key, item)
            self._optout_by_contact[region] = idx
        return self._optout_by_contact[region].get(contact)


# ------------------------------------------------------------------------------------------------ guard


@dataclass
class _Ctx:
    """Everything about one proposed contact that several rules need."""

    p: ProposedContact
    at_us: int
    zones: tuple[str, ...]
    day_zone: str
    contact: str
    found: dict[tuple[str, str], Reason] = field(default_factory=dict)
    warnings: dict[tuple[str, str], Reason] = field(default_factory=dict)


class Guard:
    """Decides one proposed contact against the history before it. Safe to share between threads."""

    def __init__(self, pack: Pack, screen: ScreenFn | None = None) -> None:
        self.pack = pack
        self.text = TextChecker(pack, screen)
        self._effective = {r.id: r.effective_from for r in pack.rules}

    def decide(self, proposed: ProposedContact, history: ContactHistory) -> Decision:
        p = proposed
        _validate(p)
        pack = self.pack
        at_us = to_us(p.at)
        utc_day = p.at.astimezone(UTC).date()
        effective = self._effective

        def active(rid: str) -> bool:  # the rule is in the pack and had taken effect on the contact's day
            eff = effective.get(rid)
            return eff is not None and eff <= utc_day

        person_zone = history.zone_of(p.person)
        fallback = (person_zone,) if person_zone else pack.default_timezones
        zones = candidate_zones(
            p.contact.value, p.contact.kind, p.contact.timezone, fallback, pack.default_region
        )
        c = _Ctx(
            p=p,
            at_us=at_us,
            zones=zones,
            day_zone=person_zone or zones[0],
            contact=normalize_contact(p.contact.value, p.contact.kind, pack.default_region),
        )

        for hold in pack.holds:
            if active(hold.rule) and (hold.rule, hold.code) not in c.found and self._hold(hold, c, history):
                c.found[(hold.rule, hold.code)] = reason(pack, hold.rule, hold.code)
        for rid, code in (("CN-T1", "night"), ("US-T1", "hours")):
            if active(rid):
                self._contact_hours(rid, code, c, history)
        if active("CN-F1"):
            self._cn_connected_cap(c, history)
        if active("CN-F2"):
            self._cn_unanswered_cap(c, history)
        for rid in ("CN-P2", "US-P2"):
            if active(rid) and p.party in THIRD_PARTIES:
                self._third_party(rid, c, history)
        if active("US-F1") or active("US-F2"):
            self._us_call_frequency(c, history, active)
        if active("CN-V1") and p.channel == "visit":
            self._visit(c)
        if p.text:
            findings = self.text.findings(p.text, p.channel)
            time_barred = _any_upto(history.events_for("time_barred", "account", p.account), at_us)
            found, warnings = text_violations(pack, findings, p.party, p.channel, time_barred, active)
            c.found.update(found)
            c.warnings.update(warnings)
        return decision_from(pack, c.found, c.warnings)

    # -- holds (pack table: bankruptcy, deceased, cease, attorney, dispute until verified, opt-out)

    def _hold(self, hold: Hold, c: _Ctx, h: ContactHistory) -> bool:
        p = c.p
        if p.party in hold.except_parties:  # US-T2: the consumer's attorney may be contacted
            return False
        for match in hold.match:
            if match == "opt_out":
                if self._opted_out(hold, c, h):
                    return True
                continue
            if hold.channels and p.channel not in hold.channels:
                continue
            key: Any = {"person": p.person, "account": p.account, "person_account": (p.person, p.account)}[
                match
            ]
            s = h.events_for(hold.kind, match, key)
            n = s.upto(c.at_us) if s else 0
            if not n:
                continue
            assert s is not None
            last = s.keys[n - 1]
            if hold.lifted_by:  # US-V1: a dispute holds until a later verification
                ls = h.events_for(hold.lifted_by, match, key)
                m = ls.upto(c.at_us) if ls else 0
                if m and ls is not None and ls.keys[m - 1] > last:
                    continue
            return True
        return False

    def _opted_out(self, hold: Hold, c: _Ctx, h: ContactHistory) -> bool:
        """US-E1 (1006.6(e)): an opt-out of this person (all hold channels), this channel, or this address."""
        p = c.p
        s = h.events_for(hold.kind, "person", p.person)
        if s:
            for ev in s.items[: s.upto(c.at_us)]:
                if (not ev.scope and p.channel in hold.channels) or ev.scope == p.channel:
                    return True
        if p.channel in hold.channels:
            s = h.opt_outs_by_contact(c.contact, self.pack.default_region)
            if s and s.upto(c.at_us):
                return True
        return False

    # -- CN-T1 / US-T1: local contact hours in every candidate zone, unless the person consented

    def _contact_hours(self, rid: str, code: str, c: _Ctx, h: ContactHistory) -> None:
        r = self.pack.rule(rid)
        p = c.p
        if p.channel not in r["channels"]:
            return
        local = [local_minute(p.at, z) for z in c.zones]
        if r["consent_lifts"]:
            if p.consent:
                return
            s = h.events_for("consent.time", "person_account", (p.person, p.account))
            n = s.upto(c.at_us) if s else 0
            if n and s is not None and time_consent_covers(s.items[n - 1].scope, local):
                return
        lo, hi = minutes(r["allowed_from"]), minutes(r["allowed_until"])
        if not all(window_contains(m, lo, hi) for m in local):
            c.found[(rid, code)] = reason(self.pack, rid, code)

    # -- CN-F1: connected calls per debtor per local day (all agencies together)

    def _cn_connected_cap(self, c: _Ctx, h: ContactHistory) -> None:
        r = self.pack.rule("CN-F1")
        if c.p.channel not in r["call_channels"]:
            return
        s = h.attempts_by_person(c.p.person)
        if not s:
            return
        start = to_us(day_start(c.day_zone, local_day(c.p.at, c.day_zone)))
        channels, connected = r["call_channels"], r["connected_outcomes"]
        n = sum(
            1
            for a in s.items[s.since(start) : s.upto(c.at_us)]
            if a.channel in channels and a.outcome in connected
        )
        if n >= r["max_connected_calls_per_day"]:
            c.found[("CN-F1", "cap")] = reason(self.pack, "CN-F1", "cap")

    # -- CN-F2: unanswered attempts per phone number per local day

    def _cn_unanswered_cap(self, c: _Ctx, h: ContactHistory) -> None:
        r = self.pack.rule("CN-F2")
        if c.p.channel not in r["call_channels"] or c.p.contact.kind != "phone":
            return
        s = h.attempts_by_contact(c.contact, self.pack.default_region)
        if not s:
            return
        start = to_us(day_start(c.day_zone, local_day(c.p.at, c.day_zone)))
        channels, unanswered = r["call_channels"], r["unanswered_outcomes"]
        n = sum(
            1
            for a in s.items[s.since(start) : s.upto(c.at_us)]
            if a.channel in channels and (a.outcome or UNKNOWN_OUTCOME) in unanswered
        )
        if n >= r["max_unanswered_per_number_per_day"]:
            c.found[("CN-F2", "cap")] = reason(self.pack, "CN-F2", "cap")

    # -- CN-P2 / US-P2: third parties only while the debtor is unreachable; US-P2 once per person

    def _third_party(self, rid: str, c: _Ctx, h: ContactHistory) -> None:
        r = self.pack.rule(rid)
        p = c.p
        if not _debtor_unreachable(r, p.account, c.at_us, h):
            c.found[(rid, "reachable")] = reason(self.pack, rid, "reachable")
        if "max_contacts_per_person" in r.parameters:  # US-P2 (1692b(3)): once unless asked
            s = h.attempts_by_person(p.person)
            silent = r["not_communicated_outcomes"]
            n = 0
            if s:
                n = sum(
                    1
                    for a in s.items[: s.upto(c.at_us)]
                    if a.party in THIRD_PARTIES and (a.outcome is None or a.outcome not in silent)
                )
            if n >= r["max_contacts_per_person"]:
                asked = p.consent or _any_upto(h.events_for("consent.recontact", "person", p.person), c.at_us)
                if not asked:
                    c.found[(rid, "repeat")] = reason(self.pack, rid, "repeat")

    # -- US-F1 / US-F2 with the US-F3 exclusions (12 CFR 1006.14(b))

    def _us_call_frequency(self, c: _Ctx, h: ContactHistory, active: Callable[[str], bool]) -> None:
        pack, p = self.pack, c.p
        f3 = pack.get("US-F3") if active("US-F3") else None
        consents = h.events_for("consent.call", "person_account", (p.person, p.account))
        consent_us = f3["consent_days"] * DAY_US if f3 else 0
        if f3 is not None and (p.consent or _within(consents, c.at_us, (c.at_us, _END), consent_us)):
            return  # US-F3 (1006.14(b)(3)): a call placed with consent given within 7 days does not count
        s = h.attempts_by_person_account(p.person, p.account)
        if not s:
            return
        today = local_day(p.at, c.day_zone)
        upto = s.upto(c.at_us)
        if active("US-F1") and p.channel in pack.rule("US-F1")["call_channels"]:
            r = pack.rule("US-F1")
            start = to_us(day_start(c.day_zone, today - timedelta(days=r["window_days"] - 1)))
            not_connected = f3["not_connected_outcomes"] if f3 else ()
            n = 0
            for i in range(s.since(start), upto):
                a = s.items[i]
                if a.channel not in r["call_channels"]:
                    continue
                if f3 is not None and (
                    a.consent
                    or a.outcome in not_connected
                    or _within(consents, s.keys[i][0], s.keys[i], consent_us)
                ):
                    continue  # US-F3: consented or not connected to the dialed number
                n += 1
            if n >= r["max_calls"]:  # US-F1 (1006.14(b)(2)(i)(A)): the 8th call in 7 days
                c.found[("US-F1", "cap")] = reason(pack, "US-F1", "cap")
        if active("US-F2") and p.channel in pack.rule("US-F2")["call_channels"]:
            r = pack.rule("US-F2")
            start = to_us(day_start(c.day_zone, today - timedelta(days=r["window_days"] - 1)))
            for i in range(s.since(start), upto):
                a = s.items[i]
                if a.outcome == "conversation" and a.channel in r["call_channels"]:
                    # US-F2 (1006.14(b)(2)(i)(B)): the conversation's day is day 1
                    c.found[("US-F2", "after_conversation")] = reason(pack, "US-F2", "after_conversation")
                    break

    # -- CN-V1: field visits

    def _visit(self, c: _Ctx) -> None:
        r = self.pack.rule("CN-V1")
        if c.p.staff_count is None or c.p.staff_count < r["min_staff"]:
            c.found[("CN-V1", "staff")] = reason(self.pack, "CN-V1", "staff")
        if c.p.ids_shown is False:
            c.found[("CN-V1", "ids")] = reason(self.pack, "CN-V1", "ids")
        elif c.p.ids_shown is None:
            c.warnings[("CN-V1", "ids_unknown")] = reason(self.pack, "CN-V1", "ids_unknown")


def _debtor_unreachable(r: Any, account: str, at_us: int, h: ContactHistory) -> bool:
    """CN-P2 / US-P2: enough attempts to the debtor on the account in the window, none of them reached."""
    s = h.attempts_by_account(account)
    if not s:
        return r["unreachable_min_attempts"] <= 0
    start = at_us - r["unreachable_days"] * DAY_US
    channels, reached = r["unreachable_channels"], r["reached_outcomes"]
    n = 0
    for a in s.items[s.since(start) : s.upto(at_us)]:
        if a.party == "debtor" and a.channel in channels:
            if a.outcome in reached:
                return False
            n += 1
    return bool(n >= r["unreachable_min_attempts"])


def _any_upto(s: _Series | None, at_us: int) -> bool:
    return bool(s and s.upto(at_us))


def _within(s: _Series | None, at_us: int, before: tuple[int, int], span_us: int) -> bool:
    """Whether the last item strictly before `before` (time, seq) lies within `span_us` of `at_us`."""
    if not s:
        return False
    i = bisect_left(s.keys, before)
    return i > 0 and at_us - s.keys[i - 1][0] <= span_us


def _validate(p: ProposedContact) -> None:
    if p.at.tzinfo is None or p.at.utcoffset() is None:
        raise ValueError(f"proposed contact at {p.at.isoformat()}: a timezone-aware time is required")
    if p.party not in PARTIES:
        raise ValueError(f"proposed contact: unknown party {p.party!r} (one of {', '.join(PARTIES)})")
    if p.channel not in CHANNELS:
        raise ValueError(f"proposed contact: unknown channel {p.channel!r} (one of {', '.join(CHANNELS)})")
    if p.contact.kind not in ("phone", "email", "address"):
        raise ValueError(f"proposed contact: unknown contact kind {p.contact.kind!r}")


def decision_from(
    pack: Pack, found: Mapping[tuple[str, str], Reason], warnings: Mapping[tuple[str, str], Reason]
) -> Decision:
    """The decision from the (rule, code) reasons found, ordered as the pack lists them."""
    reasons = ordered(pack, found)
    rules = tuple(dict.fromkeys(r.rule for r in reasons))
    return Decision(
        allowed=not reasons,
        rules=rules,
        reasons=reasons,
        citations=tuple(pack.citation(r) for r in rules),
        warnings=ordered(pack, warnings),
    )
