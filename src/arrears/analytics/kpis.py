"""Key figures of the operation and of QC (R27, R28) — pure definitions on plain values.

Per account and period (amounts in minor units of one currency):

- amount due in the period = owed at the start + placed, accrued or adjusted onto it during the period;
- collected = net cash received in the period (payments less their reversals and refunds);
- written off = moved to the write-off book in the period (less reversed write-offs).

Rates:

- recovery rate (回款率) = collected ÷ amount due in the period;
- overdue rate (逾期率) = balance of overdue accounts at the end ÷ balance outstanding at the end
  (and, by count, overdue accounts ÷ accounts in the period's portfolio);
- bad-debt rate (坏账率) = written off in the period ÷ the portfolio, i.e. the amount due in the period;
- abnormal-collection rate (异常催收率) = abnormal events (violations upheld by QC review, upheld
  complaints alleging misconduct) per contact, and cases with at least one event per case worked.

A rate whose denominator is zero is undefined (None), never 0.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

Granularity = Literal["month", "week"]


@dataclass(frozen=True, slots=True)
class Ratio:
    numerator: float
    denominator: float

    @property
    def value(self) -> float | None:
        return None if self.denominator == 0 else self.numerator / self.denominator

    def to_dict(self) -> dict[str, Any]:
        v = self.value
        return {
            "numerator": self.numerator,
            "denominator": self.denominator,
            "rate": None if v is None else round(v, 6),
        }


@dataclass(frozen=True, slots=True)
class AccountPeriod:
    """One account over one period, attributed to the collector holding its case at the period's end."""

    account_id: int
    collector_id: int | None
    team_id: int | None
    owed_at_start: int
    added: int
    collected: int
    written_off: int
    owed_at_end: int
    overdue_at_end: bool

    @property
    def due(self) -> int:
        return self.owed_at_start + self.added

    @property
    def in_portfolio(self) -> bool:
        return self.due > 0 or self.owed_at_end > 0


@dataclass(frozen=True, slots=True)
class AbnormalEvent:
    kind: str  # violation | complaint
    case_id: int | None
    collector_id: int | None
    team_id: int | None
    ref: int  # the review or complaint id


@dataclass(frozen=True, slots=True)
class ContactTally:
    """Contacts one collector made on one case in the period (the contact log, plus interactions on
    record that no contact-log entry stands for)."""

    collector_id: int | None
    team_id: int | None
    case_id: int
    contacts: int


@dataclass
class KpiRow:
    key: Hashable
    accounts: int
    due: int
    collected: int
    written_off: int
    outstanding: int
    overdue_balance: int
    overdue_accounts: int
    contacts: int
    cases_worked: int
    violations: int
    complaints: int
    abnormal_cases: int
    recovery_rate: Ratio
    overdue_rate: Ratio
    overdue_count_rate: Ratio
    bad_debt_rate: Ratio
    abnormal_per_contact: Ratio
    abnormal_per_case: Ratio
    label: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "accounts": self.accounts,
            "due": self.due,
            "collected": self.collected,
            "written_off": self.written_off,
            "outstanding": self.outstanding,
            "overdue_balance": self.overdue_balance,
            "overdue_accounts": self.overdue_accounts,
            "contacts": self.contacts,
            "cases_worked": self.cases_worked,
            "violations": self.violations,
            "complaints": self.complaints,
            "abnormal_cases": self.abnormal_cases,
            "recovery_rate": self.recovery_rate.to_dict(),
            "overdue_rate": self.overdue_rate.to_dict(),
            "overdue_count_rate": self.overdue_count_rate.to_dict(),
            "bad_debt_rate": self.bad_debt_rate.to_dict(),
            "abnormal_per_contact": self.abnormal_per_contact.to_dict(),
            "abnormal_per_case": self.abnormal_per_case.to_dict(),
            **self.extra,
        }


def recovery_rate(rows: Iterable[AccountPeriod]) -> Ratio:
    rs = list(rows)
    return Ratio(sum(r.collected for r in rs), sum(r.due for r in rs))


def overdue_rate(rows: Iterable[AccountPeriod]) -> Ratio:
    rs = [r for r in rows if r.owed_at_end > 0]
    return Ratio(sum(r.owed_at_end for r in rs if r.overdue_at_end), sum(r.owed_at_end for r in rs))


def overdue_count_rate(rows: Iterable[AccountPeriod]) -> Ratio:
    rs = [r for r in rows if r.in_portfolio]
    return Ratio(sum(1 for r in rs if r.overdue_at_end and r.owed_at_end > 0), len(rs))


def bad_debt_rate(rows: Iterable[AccountPeriod]) -> Ratio:
    rs = list(rows)
    return Ratio(sum(r.written_off for r in rs), sum(r.due for r in rs))


def abnormal_rates(
    events: Iterable[AbnormalEvent], tallies: Iterable[ContactTally]
) -> tuple[Ratio, Ratio, int]:
    """(events per contact, abnormal cases per case worked, abnormal cases). A case with an event counts
    as worked even if no contact of the period is on record."""
    evs = list(events)
    ts = list(tallies)
    contacts = sum(t.contacts for t in ts)
    abnormal = {e.case_id for e in evs if e.case_id is not None}
    worked = {t.case_id for t in ts if t.contacts > 0} | abnormal
    return Ratio(len(evs), contacts), Ratio(len(abnormal), len(worked)), len(abnormal)


def kpi_row(
    key: Hashable,
    rows: Sequence[AccountPeriod],
    events: Sequence[AbnormalEvent],
    tallies: Sequence[ContactTally],
    label: str = "",
) -> KpiRow:
    portfolio = [r for r in rows if r.in_portfolio]
    per_contact, per_case, abnormal_cases = abnormal_rates(events, tallies)
    worked = {t.case_id for t in tallies if t.contacts > 0} | {
        e.case_id for e in events if e.case_id is not None
    }
    return KpiRow(
        key=key,
        label=label or str(key),
        accounts=len(portfolio),
        due=sum(r.due for r in portfolio),
        collected=sum(r.collected for r in portfolio),
        written_off=sum(r.written_off for r in portfolio),
        outstanding=sum(r.owed_at_end for r in portfolio if r.owed_at_end > 0),
        overdue_balance=sum(r.owed_at_end for r in portfolio if r.overdue_at_end and r.owed_at_end > 0),
        overdue_accounts=sum(1 for r in portfolio if r.overdue_at_end and r.owed_at_end > 0),
        contacts=sum(t.contacts for t in tallies),
        cases_worked=len(worked),
        violations=sum(1 for e in events if e.kind == "violation"),
        complaints=sum(1 for e in events if e.kind == "complaint"),
        abnormal_cases=abnormal_cases,
        recovery_rate=recovery_rate(portfolio),
        overdue_rate=overdue_rate(portfolio),
        overdue_count_rate=overdue_count_rate(portfolio),
        bad_debt_rate=bad_debt_rate(portfolio),
        abnormal_per_contact=per_contact,
        abnormal_per_case=per_case,
    )


Key = Callable[[Any], Hashable]
GROUPINGS: dict[str, Key] = {
    "overall": lambda x: "all",
    "team": lambda x: x.team_id,
    "collector": lambda x: x.collector_id,
}


def grouped(
    by: str,
    rows: Sequence[AccountPeriod],
    events: Sequence[AbnormalEvent],
    tallies: Sequence[ContactTally],
) -> list[KpiRow]:
    """One KpiRow per team, collector, or for everything; groups ordered by key (unassigned last)."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}")
    key = GROUPINGS[by]
    keys = {key(x) for x in (*rows, *events, *tallies)} or ({"all"} if by == "overall" else set())
    out = []
    for k in sorted(keys, key=lambda k: (k is None, str(k))):
        out.append(
            kpi_row(
                k,
                [r for r in rows if key(r) == k],
                [e for e in events if key(e) == k],
                [t for t in tallies if key(t) == k],
            )
        )
    return out


def periods(start: date, end: date, granularity: Granularity = "month") -> list[tuple[date, date]]:
    """Consecutive periods covering [start, end]: calendar months or ISO weeks, clipped to the range."""
    if end < start:
        raise ValueError("the end is before the start")
    out: list[tuple[date, date]] = []
    cur = start
    while cur <= end:
        if granularity == "month":
            nxt = date(cur.year + (cur.month == 12), cur.month % 12 + 1, 1)
        elif granularity == "week":
            nxt = cur + timedelta(days=7 - cur.weekday())
        else:
            raise ValueError("granularity must be month or week")
        out.append((cur, min(nxt - timedelta(days=1), end)))
        cur = nxt
    return out
