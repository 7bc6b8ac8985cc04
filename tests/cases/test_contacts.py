"""Contacts through the compliance guard (R12, R18, R20–R22): the guard decides first with the case's
full history and events; a refusal is a 409 with rule ids and zh/en reasons and nothing is logged as
sent; outcomes and events become holds the guard honours from then on."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
from sqlalchemy import func, select

from arrears.cases.history import contact_history, history_loader
from arrears.cases.models import Contact, ContactEvent, GuardDecisionRecord, StaffFlag
from arrears.cases.views import board
from arrears.compliance.audit import check_planned
from arrears.compliance.packs import load_pack
from arrears.portfolio.models import Creditor
from arrears.security.models import AuditEvent
from tests.cases.conftest import Api, Clock
from tests.conftest import FIXED_NOW
from tests.security.world import World

UTC8_NIGHT = datetime.fromisoformat("2026-11-28T14:30:00+00:00")  # 22:30 in Shanghai
UTC8_MORNING = datetime.fromisoformat("2026-11-29T01:00:00+00:00")  # 09:00 in Shanghai


def count(world: World, model: type, **where: object) -> int:
    with world.ctx.sessions() as s:
        q = select(func.count()).select_from(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return int(s.scalar(q) or 0)


def test_a_call_at_night_local_time_is_refused_with_the_rule_and_nothing_is_logged(
    api: Api, world: World, clock: Clock
) -> None:
    clock.set(UTC8_NIGHT)
    r = api.call("c_east", "A1", "right_party_contact", notes="tried at night")
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error"] == "guard_blocked" and body["details"]["rules"] == ["CN-T1"]
    reason = body["details"]["reasons"][0]
    assert reason["rule"] == "CN-T1" and "22:00" in reason["zh"] and "22:00" in reason["en"]
    assert count(world, Contact) == 0  # nothing recorded as sent
    with world.ctx.sessions() as s:
        rec = s.scalars(select(GuardDecisionRecord)).one()
        assert (rec.allowed, rec.rules, rec.requested_by_name) == (False, "CN-T1", "c_east")
        assert rec.id == body["details"]["decision_id"]
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "contact.blocked")).one()
        assert ev.after["rules"] == ["CN-T1"] and ev.actor == "c_east"
    clock.set(UTC8_MORNING)
    ok = api.call("c_east", "A1", "right_party_contact")
    assert ok.status_code == 201 and ok.json()["guard"]["allowed"] is True
    assert count(world, Contact) == 1


def test_after_a_dispute_the_account_is_on_hold_until_verified(api: Api, world: World, clock: Clock) -> None:
    first = api.call(
        "c_east", "A1", "dispute", notes="says the amount is wrong", at="2026-11-28T08:00:00+00:00"
    )
    assert first.status_code == 201 and first.json()["events"] == ["dispute"]
    blocked = api.call("c_east", "A1", "no_answer")
    assert blocked.status_code == 409 and blocked.json()["details"]["rules"] == ["CN-H1"]
    assert "异议" in blocked.json()["details"]["reasons"][0]["zh"]
    sms = api.contact(
        "c_east",
        world.cases["A1"],
        channel="sms",
        contact_point_id=world.contact_points["A1"],
        outcome="delivered",
    )
    assert sms.status_code == 409  # the hold covers every channel
    # Only a lead (or legal, compliance) may record the verification that lifts it.
    verify = {
        "channel": "letter",
        "direction": "inbound",
        "outcome": "delivered",
        "events": [{"kind": "verified"}],
    }
    assert api.contact("c_east", world.cases["A1"], **verify).status_code == 403
    assert api.contact("lead_east", world.cases["A1"], **verify).status_code == 201
    clock.advance(minutes=5)
    assert api.call("c_east", "A1", "no_answer").status_code == 201


def test_under_the_us_pack_a_dispute_is_us_v1(api: Api, world: World) -> None:
    with world.ctx.sessions() as s:
        s.execute(Creditor.__table__.update().values(rule_pack="us"))
        s.commit()
    assert api.call("c_east", "A1", "dispute", at="2026-11-28T08:00:00+00:00").status_code == 201
    r = api.call("c_east", "A1", "no_answer")
    assert r.status_code == 409 and "US-V1" in r.json()["details"]["rules"]


def test_message_text_is_screened(api: Api, world: World) -> None:
    bad = api.contact(
        "c_east",
        world.cases["A1"],
        channel="sms",
        contact_point_id=world.contact_points["A1"],
        outcome="delivered",
        message="再不还钱就打爆你",
    )
    assert bad.status_code == 409 and bad.json()["details"]["rules"] == ["CN-C1"]
    good = api.contact(
        "c_east",
        world.cases["A1"],
        channel="sms",
        contact_point_id=world.contact_points["A1"],
        outcome="delivered",
        message="您好，您的账单已逾期，请方便时回电。",
    )
    assert good.status_code == 201


def test_an_sms_opt_out_stops_sms_but_not_calls(api: Api, world: World) -> None:
    r = api.call(
        "c_east",
        "A1",
        "right_party_contact",
        at="2026-11-28T08:00:00+00:00",
        events=[{"kind": "opt_out", "scope": "sms"}],
    )
    assert r.status_code == 201 and r.json()["events"] == ["opt_out"]
    sms = api.contact(
        "c_east",
        world.cases["A1"],
        channel="sms",
        contact_point_id=world.contact_points["A1"],
        outcome="delivered",
    )
    assert sms.status_code == 409 and sms.json()["details"]["rules"] == ["CN-H1"]
    assert api.call("c_east", "A1", "no_answer").status_code == 201


def test_third_parties_only_while_the_debtor_is_unreachable_and_a_refusal_is_permanent(
    api: Api, world: World, clock: Clock
) -> None:
    with world.ctx.sessions() as s:
        from arrears.portfolio.models import ContactPoint

        tp_point = s.scalar(
            select(ContactPoint.id).where(ContactPoint.third_party_id == world.third_parties["A1"])
        )
    tp = {"channel": "call", "contact_point_id": tp_point}
    r = api.contact("c_east", world.cases["A1"], outcome="third_party", **tp)
    assert r.status_code == 409 and r.json()["details"]["rules"] == ["CN-P2"]
    for hour in (1, 3, 5):  # three unanswered calls to the debtor (09:00, 11:00, 13:00 local)
        assert api.call("c_east", "A1", "no_answer", at=f"2026-11-28T0{hour}:00:00+00:00").status_code == 201
    wrong = api.contact("c_east", world.cases["A1"], outcome="promise_to_pay", **tp)
    assert wrong.status_code == 422  # CN-P1: never negotiate with a third party
    r = api.contact("c_east", world.cases["A1"], outcome="refused", notes="does not want calls", **tp)
    assert (
        r.status_code == 201
        and r.json()["party"] == "third_party"
        and r.json()["events"] == ["third_party_refused"]
    )
    again = api.contact("c_east", world.cases["A1"], outcome="third_party", **tp)
    assert again.status_code == 409 and again.json()["details"]["rules"] == ["CN-P2"]
    assert "拒绝" in again.json()["details"]["reasons"][0]["zh"]


def test_field_visits_need_two_staff_who_show_identification(api: Api, world: World) -> None:
    with world.ctx.sessions() as s:
        from arrears.portfolio.models import ContactPoint

        address = s.scalar(
            select(ContactPoint.id).where(
                ContactPoint.debtor_id == world.debtors["A1"], ContactPoint.kind == "address"
            )
        )
    visit = {"channel": "visit", "contact_point_id": address, "outcome": "not_home"}
    alone = api.contact(
        "c_east", world.cases["A1"], staff_ids=[world.users["c_east"]], ids_shown=True, **visit
    )
    assert alone.status_code == 409 and alone.json()["details"]["rules"] == ["CN-V1"]
    assert api.contact("c_east", world.cases["A1"], staff_ids=[], **visit).status_code == 422
    two = [world.users["c_east"], world.users["c_east2"]]
    ok = api.contact("c_east", world.cases["A1"], staff_ids=two, ids_shown=True, **visit)
    assert ok.status_code == 201
    with world.ctx.sessions() as s:
        assert s.get(Contact, ok.json()["id"]).staff_ids == sorted(two)  # type: ignore[union-attr]
    unknown = api.contact("c_east", world.cases["A1"], staff_ids=[987654, two[0]], ids_shown=True, **visit)
    assert unknown.status_code == 422


def test_abuse_toward_staff_is_flagged_to_the_lead(api: Api, world: World) -> None:
    r = api.call("c_east", "A1", "abusive_to_staff", notes="shouted insults and threatened the collector")
    assert r.status_code == 201 and r.json()["flag_id"] is not None
    threat = api.call("c_east", "A1", "right_party_contact", abuse="threat", at="2026-11-28T08:00:00+00:00")
    assert threat.status_code == 201 and threat.json()["flag_id"] is not None
    assert count(world, StaffFlag, status="open") == 2
    with world.ctx.sessions() as s:
        lead_board = board(s, world.principal("lead_east"))
        assert sorted(f.kind for f in lead_board.flags) == ["abuse", "threat"]
        assert all(f.account_ref == "A1" and f.staff == "c_east" for f in lead_board.flags)
        assert {c.username for c in lead_board.collectors} == {"c_east", "c_east2"}
    detail = api.client.get(f"/api/v1/cases/{world.cases['A1']}", headers=api.h("lead_east")).json()
    assert detail["open_flags"] == 2 and "abusive_to_staff" in detail["assessment"]["flags"]


def test_bad_input_names_the_field(api: Api, world: World) -> None:
    other_point = world.contact_points["A2"]
    r = api.contact(
        "c_east", world.cases["A1"], channel="call", contact_point_id=other_point, outcome="no_answer"
    )
    assert r.status_code == 404
    r = api.contact(
        "c_east",
        world.cases["A1"],
        channel="email",
        contact_point_id=world.contact_points["A1"],
        outcome="delivered",
    )
    assert r.status_code == 422 and "contact_point_id" in r.json()["message"]
    assert api.contact("c_east", world.cases["A1"], channel="call", outcome="no_answer").status_code == 422
    r = api.call("c_east", "A1", "shrugged")
    assert r.status_code == 422 and "body.outcome" in r.json()["message"]
    r = api.call("c_east", "A1", "no_answer", at=(FIXED_NOW + timedelta(hours=1)).isoformat())
    assert r.status_code == 422 and "future" in r.json()["message"]
    r = api.call("c_east", "A1", "no_answer", at="2026-11-28T08:00:00")
    assert r.status_code == 422 and "offset" in r.text
    r = api.call("c_east", "A1", "no_answer", events=[{"kind": "consent", "scope": "whenever"}])
    assert r.status_code == 422 and "scope" in r.json()["message"]
    assert count(world, Contact) == 0 and count(world, GuardDecisionRecord) == 0


def test_a_consent_to_evening_calls_lifts_the_night_rule_for_that_window(
    api: Api, world: World, clock: Clock
) -> None:
    r = api.call(
        "c_east",
        "A1",
        "right_party_contact",
        at="2026-11-28T08:00:00+00:00",
        events=[{"kind": "consent", "scope": "time_of_day:22:00-23:00"}],
    )
    assert r.status_code == 201
    clock.set(UTC8_NIGHT)  # 22:30 local, inside the agreed window
    assert api.call("c_east", "A1", "no_answer").status_code == 201
    clock.set(datetime.fromisoformat("2026-11-28T15:30:00+00:00"))  # 23:30 local, outside it
    assert api.call("c_east", "A1", "no_answer").status_code == 409


def test_the_contact_log_feeds_the_nightly_pre_check(api: Api, world: World) -> None:
    assert api.call("c_east", "A1", "dispute", at="2026-11-28T08:00:00+00:00").status_code == 201
    assert (
        api.call("c_east", "A2", "no_answer", at="2026-11-28T08:05:00+00:00").status_code == 404
    )  # not theirs
    assert api.call("c_east2", "A2", "no_answer", at="2026-11-28T08:05:00+00:00").status_code == 201
    with world.ctx.engine.connect() as conn:
        log = contact_history(conn, date(2026, 11, 28), world.ctx.keys)
        without_keys = contact_history(conn, date(2026, 11, 28))
        assert history_loader(world.ctx.keys)(conn, date(2026, 11, 28)).equals(log)
        earlier = contact_history(conn, date(2026, 11, 26), world.ctx.keys)
    assert log.columns[:12] == ["id", "at", "account", "person", "party", "channel", "contact", "outcome",
                                "consent", "kind", "text", "tz"]  # fmt: skip
    assert log.height == 3 and earlier.height == 0
    assert sorted(log["kind"].to_list()) == ["attempt", "attempt", "dispute"]
    assert set(log.filter(pl.col("kind") == "attempt")["contact"].to_list()) == {"13812345678", "13700001111"}
    assert set(without_keys.filter(pl.col("kind") == "attempt")["contact"].to_list()) == {
        f"cp:{world.contact_points['A1']}", f"cp:{world.contact_points['A2']}",
    }  # fmt: skip
    planned = pl.DataFrame(
        {
            "at": [datetime.fromisoformat("2026-11-29T01:00:00+00:00")] * 2,
            "account": ["A1", "A2"],
            "person": [str(world.debtors["A1"]), str(world.debtors["A2"])],
            "party": ["debtor", "debtor"],
            "channel": ["call", "call"],
            "contact": ["13812345678", "13700001111"],
        }
    )
    decided = check_planned(planned, log, load_pack("cn"))
    assert decided["allowed"].to_list() == [False, True]
    assert decided["rules"].to_list()[0] == ["CN-H1"]


def test_events_are_stored_against_the_right_person(api: Api, world: World) -> None:
    r = api.call("c_east", "A1", "cease_request", at="2026-11-28T08:00:00+00:00")
    assert r.status_code == 201 and r.json()["events"] == ["cease"]
    with world.ctx.sessions() as s:
        ev = s.scalars(select(ContactEvent)).one()
        assert (ev.kind, ev.person, ev.contact_id) == ("cease", str(world.debtors["A1"]), r.json()["id"])
    assert api.call("c_east", "A1", "no_answer").json()["details"]["rules"] == ["CN-H1"]
