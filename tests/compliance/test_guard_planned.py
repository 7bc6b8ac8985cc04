"""The nightly batch checks a day's planned contacts at once; each answer equals `Guard.decide`."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from arrears.compliance.audit import check_planned, history_frame
from arrears.compliance.guard import Attempt, ContactHistory, ContactPoint, Event, Guard, ProposedContact
from arrears.compliance.packs import load_pack
from arrears.compliance.timezones import contact_kind

PACKS = {"cn": load_pack("cn", as_of=date(2026, 6, 1)), "us": load_pack("us", as_of=date(2026, 6, 1))}
PHONES = {
    "cn": ["+8613800138000", "13900139000", "+8613700137000"],
    "us": ["+12125550123", "+12085550123", "+16055550123", "+13125550123"],
}
ZONE = {"cn": "Asia/Shanghai", "us": "America/Denver"}


@dataclass(frozen=True)
class Screened:
    verdict: str
    flags: tuple[object, ...] = field(default=())


def clean_screen(
    text: str, language: str | None = None, channel: str | None = None, pack: object = None
) -> Screened:
    return Screened("pass")


def _history(rnd: random.Random, pack: str, day: datetime) -> ContactHistory:
    zone = ZoneInfo(ZONE[pack])
    h = ContactHistory(person_zones={f"D{i}": ZONE[pack] for i in range(0, 8, 2)})
    for _ in range(400):
        when = (day - timedelta(days=rnd.randrange(9), minutes=rnd.randrange(1440))).replace(tzinfo=zone)
        person = f"D{rnd.randrange(8)}"
        account = f"A{rnd.randrange(8)}"
        if rnd.random() < 0.1:
            kind = rnd.choice(
                ["cease", "dispute", "verified", "attorney", "consent", "bankruptcy", "opt_out"]
            )
            scope = rnd.choice([None, "call", "time_of_day"]) if kind == "consent" else None
            h.add(Event(when, account, person, kind, scope))
            continue
        party = rnd.choices(["debtor", "third_party"], [9, 1])[0]
        outcome = rnd.choice(["conversation", "connected", "no_answer", "busy", "failed", "voicemail", None])
        h.add(
            Attempt(
                when, account, person, party, "call", rnd.choice(PHONES[pack]), outcome, rnd.random() < 0.1
            )
        )
    return h


def _planned(rnd: random.Random, pack: str, day: datetime) -> pl.DataFrame:
    rows = []
    for i in range(300):
        minute = rnd.choice([479, 480, 1259, 1260, 1319, 1320]) if rnd.random() < 0.4 else rnd.randrange(1440)
        when = (day + timedelta(minutes=minute)).replace(tzinfo=ZoneInfo(ZONE[pack])).astimezone(UTC)
        rows.append(
            {
                "id": f"p{i}",
                "at": when,
                "account": f"A{rnd.randrange(8)}",
                "person": f"D{rnd.randrange(8)}",
                "party": rnd.choices(["debtor", "third_party", "attorney"], [8, 1, 1])[0],
                "channel": rnd.choice(["call", "call", "sms", "voicemail"]),
                "contact": rnd.choice(PHONES[pack]),
                "consent": rnd.random() < 0.1,
                "tz": rnd.choice([None, None, None, ZONE[pack]]),
            }
        )
    return pl.DataFrame(rows, schema_overrides={"at": pl.Datetime("us", "UTC")})


@pytest.mark.parametrize("pack", ["cn", "us"])
@pytest.mark.parametrize("seed", [5, 6])
def test_batch_check_agrees_with_the_scalar_guard(pack: str, seed: int) -> None:
    rnd = random.Random(seed)
    day = datetime(2026, 5, 11)
    history = _history(rnd, pack, day)
    planned = _planned(rnd, pack, day)
    checked = check_planned(planned, history, PACKS[pack], screen=clean_screen)
    assert checked.height == planned.height
    guard = Guard(PACKS[pack], clean_screen)
    blocked = 0
    for row in checked.iter_rows(named=True):
        p = ProposedContact(
            at=row["at"],
            account=row["account"],
            person=row["person"],
            party=row["party"],
            channel=row["channel"],
            contact=ContactPoint(row["contact"], contact_kind(row["contact"]), row["tz"]),
            consent=row["consent"],
        )
        d = guard.decide(p, history)
        assert (row["allowed"], tuple(row["rules"])) == (d.allowed, d.rules), row["id"]
        assert [r["en"] for r in row["reasons"]] == [r.en for r in d.reasons]
        blocked += not d.allowed
    assert 0 < blocked < planned.height
    # the history may also be given as a log frame, and the plan as a pyarrow table
    again = check_planned(
        planned.to_arrow(),
        history_frame(history),
        PACKS[pack],
        screen=clean_screen,
        person_zones=history.person_zones,
    )
    assert again["rules"].to_list() == checked["rules"].to_list()


def test_planned_contacts_do_not_count_against_each_other() -> None:
    # two connected calls today: each planned call is decided on the history alone, so both may go;
    # after a third connected call both are blocked by CN-F1
    sh = ZoneInfo("Asia/Shanghai")
    h = ContactHistory(
        [
            Attempt(
                datetime(2026, 5, 11, 9 + i, tzinfo=sh),
                "A1",
                "D1",
                "debtor",
                "call",
                "+8613800138000",
                "connected",
            )
            for i in range(2)
        ]
    )
    planned = pl.DataFrame(
        {
            "at": [datetime(2026, 5, 11, 14, tzinfo=sh), datetime(2026, 5, 11, 15, tzinfo=sh)],
            "account": ["A1", "A1"],
            "person": ["D1", "D1"],
            "party": ["debtor", "debtor"],
            "channel": ["call", "call"],
            "contact": ["+8613800138000", "+8613800138000"],
        }
    )
    out = check_planned(planned, h, PACKS["cn"])
    assert out["allowed"].to_list() == [True, True]
    h.add(
        Attempt(
            datetime(2026, 5, 11, 11, tzinfo=sh), "A1", "D1", "debtor", "call", "+8613800138000", "connected"
        )
    )
    assert check_planned(planned, h, PACKS["cn"])["rules"].to_list() == [["CN-F1"], ["CN-F1"]]


def test_planned_times_must_be_aware() -> None:
    from arrears.compliance.audit import LogError

    planned = pl.DataFrame(
        {
            "at": [datetime(2026, 5, 11, 14)],
            "account": ["A1"],
            "person": ["D1"],
            "party": ["debtor"],
            "channel": ["call"],
            "contact": ["+8613800138000"],
        }
    )
    with pytest.raises(LogError, match="timezone-aware"):
        check_planned(planned, None, PACKS["cn"])
