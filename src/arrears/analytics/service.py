"""KPIs and QC results from the database (R27, R28): the ledger, the case holders, the contact log, QC
reviews and complaints, aggregated in SQL per account and handed to the pure rules in `kpis`.

Attribution: an account's amounts go to the collector holding its case at the end of the period (the
assignment spell covering that moment, else the case's current holder) and to that collector's team.
Abnormal events go to the collector whose interaction or case they concern; contacts to the collector
who logged them. A team lead sees their own team's figures only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select, true
from sqlalchemy.orm import Session

from arrears.analytics.kpis import (
    AbnormalEvent,
    AccountPeriod,
    ContactTally,
    Granularity,
    KpiRow,
    grouped,
    periods,
)
from arrears.cases.models import CaseAssignment, Contact
from arrears.core.errors import ValidationFailed
from arrears.ledger.models import COMPONENTS, LedgerEntry, LedgerTransaction
from arrears.portfolio.models import Account, BucketHistory, Case, Creditor
from arrears.quality.models import (
    CLOSED_REVIEW_STATUSES,
    Complaint,
    ComplaintInteraction,
    QcInteraction,
    QcItemResult,
    QcReview,
    QcReviewDecision,
    QcRound,
)
from arrears.security.models import Team, User
from arrears.security.permissions import authorize, not_found
from arrears.security.principal import Principal

MAX_DAYS = 3 * 366


def _end_of(d: date) -> datetime:
    """The first instant after day `d` (UTC): a period [start, end] covers [start 00:00, end+1 00:00)."""
    return datetime.combine(d + timedelta(days=1), time(0), tzinfo=UTC)


def _start_of(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)


@dataclass(frozen=True)
class Scope:
    """Which collectors' figures a principal may read: None = everyone."""

    collectors: frozenset[int] | None
    team_id: int | None = None

    def allows(self, collector_id: int | None) -> bool:
        return self.collectors is None or (collector_id is not None and collector_id in self.collectors)


def scope_for(session: Session, principal: Principal) -> Scope:
    authorize(principal, "kpi.read")
    if principal.role != "team_lead":
        return Scope(None)
    if principal.team_id is None:
        return Scope(frozenset({principal.user_id}) if principal.user_id else frozenset())
    members = session.scalars(select(User.id).where(User.team_id == principal.team_id)).all()
    return Scope(frozenset(members), principal.team_id)


def _teams(session: Session, ids: Iterable[int | None]) -> dict[int, int | None]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {
        uid: team for uid, team in session.execute(select(User.id, User.team_id).where(User.id.in_(wanted)))
    }


# --------------------------------------------------------------------------------------------- accounts


def holders_at(session: Session, account_ids: Sequence[int], at: datetime) -> dict[int, int | None]:
    """Account → the collector holding its case at `at` (assignment spell, else the case's holder)."""
    if not account_ids:
        return {}
    latest: dict[int, tuple[int, int | None]] = {}
    for acc, cid, assigned in session.execute(
        select(Case.account_id, Case.id, Case.assigned_to)
        .where(Case.account_id.in_(account_ids), Case.opened_at < at)
        .order_by(Case.account_id, Case.opened_at, Case.id)
    ):
        latest[acc] = (cid, assigned)
    case_ids = [cid for cid, _ in latest.values()]
    spells: dict[int, int] = {}
    if case_ids:
        for cid, uid in session.execute(
            select(CaseAssignment.case_id, CaseAssignment.user_id).where(
                CaseAssignment.case_id.in_(case_ids),
                CaseAssignment.started_at < at,
                or_(CaseAssignment.ended_at.is_(None), CaseAssignment.ended_at >= at),
            )
        ):
            spells[cid] = uid
    return {acc: spells.get(cid, assigned) for acc, (cid, assigned) in latest.items()}


def account_periods(
    session: Session,
    start: date,
    end: date,
    *,
    currency: str,
    creditor: str | None = None,
    scope: Scope | None = None,
) -> list[AccountPeriod]:
    """Per account of `currency`: owed at the start, added, collected, written off and owed at the end of
    [start, end], whether it was overdue at the end, and who held it. Accounts with nothing owed in the
    period are left out."""
    e = LedgerEntry
    t = LedgerTransaction
    component = e.book.in_(COMPONENTS)
    before = t.effective_date < start
    within = and_(t.effective_date >= start, t.effective_date <= end)

    def total(cond: Any) -> Any:
        return func.coalesce(func.sum(case((cond, e.amount), else_=0)), 0)

    q = (
        select(
            e.account_id,
            total(and_(component, before)),
            total(and_(component, within, t.kind.in_(("opening", "accrual", "adjustment")))),
            total(and_(e.book == "cash", within)),
            total(and_(e.book == "write_off", within)),
            total(and_(component, t.effective_date <= end)),
        )
        .join(t, t.id == e.transaction_id)
        .join(Account, Account.id == e.account_id)
        .where(Account.currency == currency.upper(), t.effective_date <= end)
        .group_by(e.account_id)
    )
    if creditor:
        q = q.join(Creditor, Creditor.id == Account.creditor_id).where(Creditor.code == creditor)
    sums = {row[0]: tuple(int(v) for v in row[1:]) for row in session.execute(q)}
    ids = [a for a, v in sums.items() if v[0] + v[1] > 0 or v[4] > 0]
    if not ids:
        return []
    end_at = _end_of(end)
    holders = holders_at(session, ids, end_at)
    teams = _teams(session, holders.values())
    overdue_since = dict(
        session.execute(select(Account.id, Account.overdue_since).where(Account.id.in_(ids))).all()
    )
    bucket_at_end: dict[int, str] = {}
    for acc, bucket in session.execute(
        select(BucketHistory.account_id, BucketHistory.bucket)
        .where(
            BucketHistory.account_id.in_(ids),
            BucketHistory.entered_on <= end,
            or_(BucketHistory.left_on.is_(None), BucketHistory.left_on > end),
        )
        .order_by(BucketHistory.account_id, BucketHistory.entered_on, BucketHistory.id)
    ):
        bucket_at_end[acc] = bucket
    out = []
    for acc in sorted(ids):
        at_start, added, cash, written, at_end = sums[acc]
        collector = holders.get(acc)
        if scope is not None and not scope.allows(collector):
            continue
        if acc in bucket_at_end:
            overdue = bucket_at_end[acc] != "C"
        else:
            since = overdue_since.get(acc)
            overdue = since is not None and since <= end
        out.append(
            AccountPeriod(
                account_id=acc,
                collector_id=collector,
                team_id=teams.get(collector) if collector is not None else None,
                owed_at_start=at_start,
                added=added,
                collected=cash,
                written_off=written,
                owed_at_end=at_end,
                overdue_at_end=overdue and at_end > 0,
            )
        )
    return out


# --------------------------------------------------------------------------------------------- conduct


def abnormal_events(
    session: Session, start: date, end: date, *, scope: Scope | None = None
) -> list[AbnormalEvent]:
    """Violations upheld by QC review (closed with a fatal finding standing) on interactions of the period,
    and upheld complaints alleging misconduct received in the period; a complaint about an interaction
    already counted as a violation is not counted twice."""
    lo, hi = _start_of(start), _end_of(end)
    violations = session.execute(
        select(QcReview.id, QcInteraction.id, QcInteraction.case_id, QcInteraction.collector_id)
        .join(QcInteraction, QcInteraction.id == QcReview.interaction_id)
        .where(
            QcReview.status.in_(CLOSED_REVIEW_STATUSES),
            QcReview.final_fatal.is_(True),
            QcInteraction.occurred_at >= lo,
            QcInteraction.occurred_at < hi,
        )
    ).all()
    counted = {iid for _, iid, _, _ in violations}
    complaints = session.execute(
        select(Complaint.id, Complaint.case_id, Complaint.collector_id).where(
            Complaint.status == "closed",
            Complaint.outcome == "upheld",
            Complaint.conduct_final.is_(True),
            Complaint.received_at >= lo,
            Complaint.received_at < hi,
        )
    ).all()
    linked: dict[int, set[int]] = {}
    if complaints:
        for cid, iid in session.execute(
            select(ComplaintInteraction.complaint_id, ComplaintInteraction.interaction_id).where(
                ComplaintInteraction.complaint_id.in_([c[0] for c in complaints])
            )
        ):
            linked.setdefault(cid, set()).add(iid)
    teams = _teams(session, [v[3] for v in violations] + [c[2] for c in complaints])
    out = [
        AbnormalEvent("violation", case_id, collector, teams.get(collector) if collector else None, rid)
        for rid, _, case_id, collector in violations
    ]
    out += [
        AbnormalEvent("complaint", case_id, collector, teams.get(collector) if collector else None, cid)
        for cid, case_id, collector in complaints
        if not (linked.get(cid, set()) & counted)
    ]
    return [e for e in out if scope is None or scope.allows(e.collector_id)]


def contact_tallies(
    session: Session, start: date, end: date, *, scope: Scope | None = None
) -> list[ContactTally]:
    """Contacts per collector and case: the contact log, plus interactions linked to no logged contact."""
    lo, hi = _start_of(start), _end_of(end)
    counts: Counter[tuple[int | None, int]] = Counter()
    for who, case_id, n in session.execute(
        select(Contact.recorded_by, Contact.case_id, func.count())
        .where(Contact.at >= lo, Contact.at < hi)
        .group_by(Contact.recorded_by, Contact.case_id)
    ):
        counts[(int(who) if who is not None else None, case_id)] += int(n)
    for who, case_id, n in session.execute(
        select(QcInteraction.collector_id, QcInteraction.case_id, func.count())
        .where(
            QcInteraction.occurred_at >= lo,
            QcInteraction.occurred_at < hi,
            QcInteraction.contact_id.is_(None),
        )
        .group_by(QcInteraction.collector_id, QcInteraction.case_id)
    ):
        counts[(who, case_id)] += int(n)
    teams = _teams(session, [k[0] for k in counts])
    out = [
        ContactTally(who, teams.get(who) if who is not None else None, case_id, n)
        for (who, case_id), n in sorted(counts.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1]))
    ]
    return [t for t in out if scope is None or scope.allows(t.collector_id)]


# --------------------------------------------------------------------------------------------- reports


def _check_period(start: date, end: date) -> None:
    if end < start:
        raise ValidationFailed("end: before the start")
    if (end - start).days > MAX_DAYS:
        raise ValidationFailed(f"period: at most {MAX_DAYS} days")


def _labels(session: Session, by: str, rows: list[KpiRow]) -> list[KpiRow]:
    if by == "collector":
        ids = [r.key for r in rows if isinstance(r.key, int)]
        names = (
            dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all()) if ids else {}
        )
        for r in rows:
            r.label = names.get(r.key, "—") if r.key is not None else "—"  # type: ignore[call-overload]
    elif by == "team":
        ids = [r.key for r in rows if isinstance(r.key, int)]
        names = dict(session.execute(select(Team.id, Team.name).where(Team.id.in_(ids))).all()) if ids else {}
        for r in rows:
            r.label = names.get(r.key, "—") if r.key is not None else "—"  # type: ignore[call-overload]
    else:
        for r in rows:
            r.label = "all"
    return rows


def kpis(
    session: Session,
    principal: Principal,
    *,
    start: date,
    end: date,
    by: str = "overall",
    currency: str = "CNY",
    creditor: str | None = None,
) -> list[KpiRow]:
    """Recovery, overdue, bad-debt and abnormal-collection rates over [start, end], per `by`."""  # R27, R28
    scope = scope_for(session, principal)
    _check_period(start, end)
    rows = account_periods(session, start, end, currency=currency, creditor=creditor, scope=scope)
    events = abnormal_events(session, start, end, scope=scope)
    tallies = contact_tallies(session, start, end, scope=scope)
    try:
        return _labels(session, by, grouped(by, rows, events, tallies))
    except ValueError as exc:
        raise ValidationFailed(f"by: {exc}") from exc


def series(
    session: Session,
    principal: Principal,
    *,
    start: date,
    end: date,
    granularity: Granularity = "month",
    by: str = "overall",
    currency: str = "CNY",
    creditor: str | None = None,
) -> list[dict[str, Any]]:
    """The same figures period by period (months or weeks) — the trend over time (R28)."""
    _check_period(start, end)
    try:
        spans = periods(start, end, granularity)
    except ValueError as exc:
        raise ValidationFailed(f"granularity: {exc}") from exc
    out = []
    for lo, hi in spans:
        rows = kpis(session, principal, start=lo, end=hi, by=by, currency=currency, creditor=creditor)
        out.append({"start": lo, "end": hi, "rows": [r.to_dict() for r in rows]})
    return out


def most_failed(
    session: Session, principal: Principal, *, start: date, end: date, limit: int = 10
) -> dict[str, list[dict[str, Any]]]:
    """The scorecard items most often failed in the period: as reviews settled them, and as the machine
    found them on every interaction (100% automatic QC)."""  # R27
    scope = scope_for(session, principal)
    _check_period(start, end)
    lo, hi = _start_of(start), _end_of(end)
    in_period = and_(QcInteraction.occurred_at >= lo, QcInteraction.occurred_at < hi)
    collector_ok = (
        QcInteraction.collector_id.in_(scope.collectors) if scope.collectors is not None else true()
    )
    titles: dict[str, str] = {}
    machine: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for item, title, passed, n in session.execute(
        select(QcItemResult.item, QcItemResult.title, QcItemResult.passed, func.count())
        .join(QcInteraction, QcInteraction.id == QcItemResult.interaction_id)
        .where(in_period, collector_ok, QcItemResult.passed.is_not(None))
        .group_by(QcItemResult.item, QcItemResult.title, QcItemResult.passed)
    ):
        titles.setdefault(item, title)
        totals[item] += int(n)
        if passed is False:
            machine[item] += int(n)
    reviewed: Counter[str] = Counter()
    reviewed_totals: Counter[str] = Counter()
    standing: dict[tuple[int, str], tuple[int, bool]] = {}
    stage_rank = {"inspector": 0, "arbitration": 1}
    for rid, item, stage, passed in session.execute(
        select(
            QcReviewDecision.review_id, QcReviewDecision.item, QcReviewDecision.stage, QcReviewDecision.passed
        )
        .join(QcReview, QcReview.id == QcReviewDecision.review_id)
        .join(QcInteraction, QcInteraction.id == QcReview.interaction_id)
        .where(in_period, collector_ok, QcReview.status.in_(CLOSED_REVIEW_STATUSES))
    ):
        rank = stage_rank.get(stage, 0)
        prior = standing.get((rid, item))
        if prior is None or rank >= prior[0]:
            standing[(rid, item)] = (rank, bool(passed))
    for (_, item), (_, passed) in standing.items():
        reviewed_totals[item] += 1
        if not passed:
            reviewed[item] += 1

    def rows(counter: Counter[str], denominators: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"item": item, "title": titles.get(item, item), "failed": n, "decided": denominators[item],
             "share": round(n / denominators[item], 4) if denominators[item] else None}
            for item, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        ]  # fmt: skip

    return {"reviewed": rows(reviewed, reviewed_totals), "machine": rows(machine, totals)}


def round_results(
    session: Session, principal: Principal, round_id: int, *, currency: str = "CNY"
) -> dict[str, Any]:
    """A QC round judged by effect (R27): the rates over the round's period for the collectors it
    sampled, per collector and overall, with the round's own QC figures."""
    from arrears.quality.review import round_summary

    scope = scope_for(session, principal)
    qc_round = session.get(QcRound, round_id)
    if qc_round is None:
        raise not_found("round", round_id)
    sampled = set(
        session.scalars(
            select(QcReview.collector_id).where(
                QcReview.round_id == round_id, QcReview.collector_id.is_not(None)
            )
        )
    )
    collectors = frozenset(c for c in sampled if c is not None and scope.allows(c))
    restricted = Scope(collectors)
    start, end = qc_round.period_start, qc_round.period_end
    rows = account_periods(session, start, end, currency=currency, scope=restricted)
    events = abnormal_events(session, start, end, scope=restricted)
    tallies = contact_tallies(session, start, end, scope=restricted)
    overall = grouped("overall", rows, events, tallies)
    per_collector = _labels(session, "collector", grouped("collector", rows, events, tallies))
    summary = round_summary(session, principal, round_id)
    return {
        "round": {
            "id": qc_round.id,
            "name": qc_round.name,
            "period": [start, end],
            "sampled": qc_round.sampled,
        },
        "overall": overall[0].to_dict() if overall else None,
        "collectors": [r.to_dict() for r in per_collector],
        "qc": summary,
    }


def list_rounds(session: Session, principal: Principal, limit: int = 50) -> list[dict[str, Any]]:
    authorize(principal, "kpi.read")
    return [
        {"id": r.id, "name": r.name, "period": [r.period_start, r.period_end], "considered": r.considered,
         "sampled": r.sampled, "created_at": r.created_at}
        for r in session.scalars(select(QcRound).order_by(QcRound.id.desc()).limit(limit))
    ]  # fmt: skip
