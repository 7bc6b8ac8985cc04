"""The columnar audit gives exactly the answers of replaying the scalar guard row by row.

Logs are generated with the edges the rules care about: times a minute either side of every contact
hour, local midnights, a daylight-saving change, area codes spanning two zones, bursts of calls to one
person and one number, equal timestamps, consents of every scope, holds and their lifting, opt-outs by
person, channel and address, third parties, visits, letters and screened texts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrears.compliance.audit import audit_columnar, audit_scalar, normalise_log
from arrears.compliance.packs import load_pack
from arrears.compliance.rules import EVENT_KINDS

PACKS = {"cn": load_pack("cn", as_of=date(2026, 6, 1)), "us": load_pack("us", as_of=date(2026, 6, 1))}


@dataclass(frozen=True)
class Flag:
    category: str
    start: int
    end: int
    match: str
    rule: str


@dataclass(frozen=True)
class Screened:
    verdict: str
    flags: tuple[Flag, ...] = field(default=())


def fake_screen(
    text: str, language: str | None = None, channel: str | None = None, pack: object = None
) -> Screened:
    words = {
        "打断你的腿": "threat",
        "公安局": "impersonation",
        "hurt you": "threat",
        "arrested": "false_legal",
    }
    flags = tuple(Flag(c, 0, 1, w, "") for w, c in words.items() if w in text)
    if flags:
        return Screened("block", flags)
    if "maybe" in text or "可能" in text:
        return Screened("review", (Flag("pressure", 0, 1, "maybe", ""),))
    return Screened("pass")


TEXTS = {
    "cn": [
        "您好，请尽快回电。",
        "您的借款已逾期，请尽快还款。",
        "请你替他还这笔钱。",
        "再不还就打断你的腿",
        "我们是公安局的",
        "您可能需要考虑一下",
        "尊敬的 {{ name }}：欠款金额 {{ amount_owed }}。",
        "尊敬的 {{ name }}：欠款金额 {{ amount_owed }}，欠款原因：消费，依据合同。您有权利和义务。"
        "请查询账户。还款方式：转账。如有异议请申诉。联系电话 95500。",
    ],
    "us": [
        "Please call Jane at 212-555-0100. Reply STOP to opt out.",
        "Your overdue balance is $420.",
        "This is Jane from ACME, please call me back.",
        "We will file a lawsuit. Reply STOP to opt out.",
        "Pay or we will hurt you.",
        "You will be arrested. Text STOP to unsubscribe.",
        "maybe you should pay",
        "John owes us money.",
    ],
}
PHONES = {
    "cn": ["+8613800138000", "13900139000", "+86 137-0013-7000", "+8613600136000", "+8615000150000"],
    "us": ["+12125550123", "+12085550123", "(208) 555-0199", "+16055550123", "+13125550123", "+14155550123"],
}
ZONES = {
    "cn": ["Asia/Shanghai"],
    "us": ["America/New_York", "America/Boise", "America/Los_Angeles", "America/Chicago"],
}
START = {"cn": datetime(2026, 1, 26), "us": datetime(2026, 3, 3)}  # CN-F2 takes effect 01-30; US DST on 03-08
EDGES = [(7, 59), (8, 0), (8, 1), (20, 59), (21, 0), (21, 1), (21, 59), (22, 0), (23, 59), (0, 0), (0, 1)]
OUTCOMES = [
    "conversation",
    "connected",
    "no_answer",
    "voicemail",
    "busy",
    "wrong_number",
    "failed",
    "refused",
    "",
]
SCOPES = ["", "call", "recontact", "time_of_day", "time_of_day:21:00-23:00", "time_of_day:22:30-01:00"]


def generate_log(seed: int, pack: str, n: int) -> pl.DataFrame:
    rnd = random.Random(seed)
    persons = [f"D{i}" for i in range(12)]
    thirds = [f"T{i}" for i in range(5)]
    accounts = [f"A{i}" for i in range(14)]
    phone_of = {p: rnd.sample(PHONES[pack], 2) for p in persons + thirds}
    rows: list[dict[str, str]] = []
    last_at: tuple[str, str] | None = None
    hot = rnd.choice(persons)
    for i in range(n):
        person = hot if rnd.random() < 0.25 else rnd.choice(persons)
        account = (
            accounts[persons.index(person) % len(accounts)] if rnd.random() < 0.8 else rnd.choice(accounts)
        )
        day = START[pack] + timedelta(days=rnd.randrange(12))
        hh, mm = rnd.choice(EDGES) if rnd.random() < 0.5 else (rnd.randrange(24), rnd.randrange(60))
        local = day.replace(hour=hh, minute=mm, second=rnd.choice([0, 0, 30]))
        zone_name = rnd.choice(ZONES[pack])
        aware = local.replace(tzinfo=ZoneInfo(zone_name))
        style = rnd.random()
        tz = ""
        if style < 0.15:
            at_text, tz = local.isoformat(), zone_name
        elif style < 0.25:
            at_text = aware.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")
        else:
            at_text = aware.isoformat()
        if rnd.random() < 0.05 and last_at:
            at_text, tz = last_at  # an equal timestamp
        row = {"id": f"r{i}", "at": at_text, "account": account, "person": person, "tz": tz}
        if rnd.random() < 0.13:
            kind = rnd.choice(EVENT_KINDS)
            scope = ""
            if kind == "consent":
                scope = rnd.choice(SCOPES)
            elif kind == "opt_out":
                scope = rnd.choice(["", "sms", "email", phone_of[person][0]])
            if kind == "third_party_refused":
                row["person"] = rnd.choice(thirds)
            channel = rnd.choice(["", "call", "sms"])
            row |= {
                "kind": kind,
                "scope": scope,
                "channel": channel,
                "contact": rnd.choice(["", phone_of[person][0]]),
            }
        else:
            party = rnd.choices(
                ["debtor", "guarantor", "third_party", "employer", "attorney"], [75, 5, 10, 5, 5]
            )[0]
            if party in ("third_party", "employer"):
                row["person"] = rnd.choice(thirds)
            channel = rnd.choices(
                ["call", "voicemail", "sms", "email", "visit", "letter"], [60, 8, 12, 8, 6, 6]
            )[0]
            who = row["person"]
            contact = {
                "email": f"{who.lower()}@example.com",
                "visit": f"{who} home address",
                "letter": f"{who} home address",
            }.get(channel, rnd.choice(phone_of[who]))
            row |= {
                "kind": "attempt" if rnd.random() < 0.5 else "",
                "party": party,
                "channel": channel,
                "contact": contact,
                "outcome": rnd.choice(OUTCOMES)
                if channel in ("call", "voicemail")
                else rnd.choice(["delivered", ""]),
                "consent": rnd.choice(["yes"] + ["no"] * 9),
                "text": rnd.choice(TEXTS[pack]) if rnd.random() < 0.2 else "",
            }
            if channel == "visit":
                row |= {
                    "staff_count": rnd.choice(["", "1", "2", "3"]),
                    "ids_shown": rnd.choice(["", "yes", "no"]),
                }
        last_at = (at_text, tz)
        rows.append(row)
    columns = [
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
    ]
    return pl.DataFrame(
        [{c: r.get(c, "") for c in columns} for r in rows], schema={c: pl.String for c in columns}
    )


def _first_difference(columnar: list[dict[str, Any]], scalar: list[dict[str, Any]]) -> str:
    for a, b in zip(columnar, scalar, strict=True):
        if a != b:
            return (
                f"id {a['id']}: columnar {a['rules']} {a['warnings']} vs scalar {b['rules']} {b['warnings']}"
            )
    return ""


@pytest.mark.parametrize("pack", ["cn", "us"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_columnar_audit_equals_scalar_replay(pack: str, seed: int) -> None:
    log = normalise_log(generate_log(seed, pack, 3000))
    columnar = audit_columnar(log, PACKS[pack], fake_screen).to_dicts()
    scalar = audit_scalar(log, PACKS[pack], fake_screen)
    assert len(columnar) == len(scalar) == log.filter(pl.col("kind") == "attempt").height
    assert columnar == scalar, _first_difference(columnar, scalar)
    # the generated log really exercises the rules: most of them block something
    blocked = {r for row in scalar for r in row["rules"]}
    expected = {
        "cn": {"CN-H1", "CN-T1", "CN-F1", "CN-F2", "CN-P2", "CN-C1", "CN-V1", "CN-L1"},
        "us": {"US-H1", "US-T1", "US-T2", "US-F1", "US-F2", "US-P2", "US-V1", "US-E1", "US-C1"},
    }
    assert expected[pack] <= blocked


@pytest.mark.parametrize("pack", ["cn", "us"])
def test_tightened_pack_equivalence(pack: str) -> None:
    overrides = {
        "cn": {
            "CN-T1.allowed_from": "09:00",
            "CN-F1.max_connected_calls_per_day": 1,
            "CN-P2.unreachable_days": 10,
        },
        "us": {"US-T1.allowed_until": "20:00", "US-F1.max_calls": 3, "US-F3.consent_days": 2},
    }[pack]
    tightened = load_pack(pack, overrides, as_of=date(2026, 6, 1))
    log = normalise_log(generate_log(11, pack, 1500))
    columnar = audit_columnar(log, tightened, fake_screen).to_dicts()
    scalar = audit_scalar(log, tightened, fake_screen)
    assert columnar == scalar, _first_difference(columnar, scalar)
    base = audit_scalar(log, PACKS[pack], fake_screen)
    assert sum(not r["allowed"] for r in scalar) > sum(not r["allowed"] for r in base)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**9), st.sampled_from(["cn", "us"]), st.integers(1, 250))
def test_columnar_equals_scalar_on_random_small_logs(seed: int, pack: str, n: int) -> None:
    log = normalise_log(generate_log(seed, pack, n))
    columnar = audit_columnar(log, PACKS[pack], fake_screen).to_dicts()
    scalar = audit_scalar(log, PACKS[pack], fake_screen)
    assert columnar == scalar, _first_difference(columnar, scalar)


def test_violations_that_happened_still_count_toward_caps() -> None:
    ny = "America/New_York"
    times = [(f"c{d}", f"2026-05-{d:02d}T10:00:00") for d in range(5, 12)]
    times += [("c11b", "2026-05-11T15:00:00"), ("c12", "2026-05-12T10:00:00")]
    raw = pl.DataFrame(
        [
            {
                "id": i,
                "at": t,
                "tz": ny,
                "account": "A1",
                "person": "C1",
                "party": "debtor",
                "channel": "call",
                "contact": "+12125550123",
                "outcome": "no_answer",
            }
            for i, t in times
        ]
    )
    out = {r["id"]: r["rules"] for r in audit_columnar(normalise_log(raw), PACKS["us"]).to_dicts()}
    assert all(out[f"c{d}"] == [] for d in range(5, 12))
    assert out["c11b"] == ["US-F1"]  # the 8th call in 7 days
    # 6th–12th: six lawful calls and the violation make seven, so the 12th is blocked too
    assert out["c12"] == ["US-F1"]


@pytest.mark.parametrize("pack", ["cn", "us"])
def test_tiny_logs(pack: str) -> None:
    events_only = pl.DataFrame(
        {
            "id": ["e1"],
            "at": ["2026-05-11T10:00:00+08:00"],
            "account": ["A1"],
            "person": ["D1"],
            "kind": ["cease"],
        }
    )
    assert audit_columnar(normalise_log(events_only), PACKS[pack], fake_screen).height == 0
    assert audit_scalar(normalise_log(events_only), PACKS[pack], fake_screen) == []
    one_letter = events_only.with_columns(
        pl.lit("l1").alias("id"),
        pl.lit("attempt").alias("kind"),
        pl.lit("debtor").alias("party"),
        pl.lit("letter").alias("channel"),
        pl.lit("1 Main St").alias("contact"),
    )
    log = normalise_log(one_letter)
    assert audit_columnar(log, PACKS[pack], fake_screen).to_dicts() == audit_scalar(
        log, PACKS[pack], fake_screen
    )
