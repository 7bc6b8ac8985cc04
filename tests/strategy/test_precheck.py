"""The nightly guard pre-check: planned contacts are decided by the compliance guard before any queue."""

from __future__ import annotations

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
