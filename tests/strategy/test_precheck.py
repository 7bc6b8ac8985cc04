"""The nightly guard pre-check: planned contacts are decided by the compliance guard before any queue."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date

import polars as pl
from sqlalchemy import select
from tests import factories

from arrears.core.db import transaction
from arrears.portfolio.models import ContactPoint
from arrears.strategy.batch import run_batch
from arrears.strategy.models import PlannedContact


def _with_phone(s, ctx, acct, phone="+8613812345678"):
    s.add(
        ContactPoint(
            debtor_id=acct.debtor_id,
            kind="phone",
            label="mobile",
            value_enc=ctx.keys.encrypt(phone),
            value_bidx=ctx.keys.blind_index("phone", phone),
            timezone="Asia/Shanghai",
            status="active",
            created_at=ctx.clock(),
        )
    )


def test_planned_contacts_carry_the_guards_answer(ctx) -> None:
    with transaction(ctx.sessions) as s:
        a = factories.account(s, ctx, "G-1", dpd=0)  # early segment; enters its path today
        b = factories.account(s, ctx, "G-2", dpd=0)
        c = factories.account(s, ctx, "G-3", dpd=0)
        _with_phone(s, ctx, a)
        _with_phone(s, ctx, b, "+8613912345678")
        ids = {"a": a.id, "b": b.id, "c": c.id}

    with transaction(ctx.sessions) as s:
        from arrears.portfolio.models import Account

        debtor_b = s.get(Account, ids["b"]).debtor_id

    def history_b(_conn, _as_of):
        # G-2's debtor filed a dispute the day before (a hold until verified).
        return pl.DataFrame(
            {
                "id": ["h1"],
                "at": ["2026-11-27T10:00:00+08:00"],
                "account": ["G-2"],
                "person": [str(debtor_b)],
                "party": ["debtor"],
                "channel": [""],
                "contact": [""],
                "outcome": [""],
                "consent": [""],
                "kind": ["dispute"],
                "text": [""],
                "tz": [""],
            }
        )

    # Early path: 2 self-cure days, then an SMS on day 2 → run on the entry day and two days later.
    run_batch(ctx, date(2026, 11, 26), history=history_b)
    run_batch(ctx, date(2026, 11, 28), history=history_b)
    with transaction(ctx.sessions) as s:
        rows = {
            r.account_id: r
            for r in s.scalars(select(PlannedContact).where(PlannedContact.as_of == date(2026, 11, 28)))
        }
    assert set(rows) == set(ids.values())
    assert rows[ids["a"]].allowed and rows[ids["a"]].rules is None
    assert not rows[ids["b"]].allowed and "CN-H1" in rows[ids["b"]].rules
    assert not rows[ids["c"]].allowed and rows[ids["c"]].rules == "NO-CONTACT-POINT"


def test_contact_points_read_ahead_give_the_same_answers(sqlite_ctx, monkeypatch) -> None:
    # The batch reads every debtor's active points in a child during its snapshot; the pre-check's own
    # reads of the points it needs must give the same planned contacts: an inactive first phone, a
    # third party's phone only, a point without a zone (the debtor's zone then), a phone and an e-mail.
    from arrears.portfolio.models import ThirdParty
    from arrears.strategy import batch

    ctx = sqlite_ctx
    with transaction(ctx.sessions) as s:
        accts = [factories.account(s, ctx, f"P-{i}", dpd=0) for i in range(5)]
        _with_phone(s, ctx, accts[0], "+8613800000001")
        s.flush()
        first = s.scalars(select(ContactPoint).where(ContactPoint.debtor_id == accts[0].debtor_id)).one()
        first.status = "invalid"
        _with_phone(s, ctx, accts[0], "+8613800000002")
        tp = ThirdParty(debtor_id=accts[1].debtor_id, seq=1, party="third_party", relation="friend")
        s.add(tp)
        s.flush()
        _with_phone(s, ctx, accts[1], "+8613800000003")
        s.flush()
        s.scalars(
            select(ContactPoint).where(ContactPoint.debtor_id == accts[1].debtor_id)
        ).one().third_party_id = tp.id
        _with_phone(s, ctx, accts[2], "+8613800000004")
        s.flush()
        s.scalars(
            select(ContactPoint).where(ContactPoint.debtor_id == accts[2].debtor_id)
        ).one().timezone = None
        _with_phone(s, ctx, accts[3], "+8613800000005")
    day = date(2026, 11, 28)

    def planned() -> list[tuple[object, ...]]:
        with transaction(ctx.sessions) as s:
            return [
                (r.account_id, r.channel, r.allowed, r.rules)
                for r in s.scalars(
                    select(PlannedContact)
                    .where(PlannedContact.as_of == day)
                    .order_by(PlannedContact.account_id)
                )
            ]

    ahead_used = []
    real = batch._points_ahead

    def spy(c):
        cm = real(c)
        reader = cm.__enter__()
        ahead_used.append(reader is not None)
        try:
            yield reader
        finally:
            cm.__exit__(None, None, None)

    monkeypatch.setattr(batch, "_points_ahead", contextmanager(spy))
    run_batch(ctx, date(2026, 11, 26))
    run_batch(ctx, day)
    ahead = planned()
    monkeypatch.setattr(batch, "_points_ahead", contextmanager(lambda _c: iter([None])))
    run_batch(ctx, day)  # the same date again: today's planned contacts are replaced
    assert planned() == ahead and ahead_used == [True, True]
    assert len(ahead) == 5 and {r[3] for r in ahead} >= {None, "NO-CONTACT-POINT"}
