"""Authority limits (R13): the shipped data is valid, bad documents are refused with the field named,
and a concession is measured and matched to the least senior approver who may grant it."""

from __future__ import annotations

from datetime import date

import pytest

from arrears.plans.authority import (
    AuthorityError,
    Limits,
    concession,
    discount_bps,
    exceeded,
    lowest_approver,
    parse_limits,
    shipped,
)


def test_shipped_limits_rise_with_the_role() -> None:
    d = shipped().defaults
    assert set(d) == {"collector", "agency", "team_lead", "manager"}
    for low, high in (("collector", "team_lead"), ("team_lead", "manager")):
        assert all(getattr(d[high], k) >= v for k, v in d[low].as_dict().items())
    assert d["collector"].max_discount_bps < d["team_lead"].max_discount_bps < d["manager"].max_discount_bps


def _doc(**collector: object) -> dict[str, object]:
    base = {k: dict(v.as_dict()) for k, v in shipped().defaults.items()}
    base["collector"].update(collector)
    return {"version": 1, "defaults": base}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"max_discount_bps": -1}, "defaults.collector.max_discount_bps: must be a non-negative integer"),
        ({"max_discount_bps": 10_001}, "at most 10000"),
        ({"max_instalments": "6"}, "max_instalments: must be a non-negative integer"),
        ({"max_waiver_minor": 99_999_999}, "team_lead.max_waiver_minor"),  # above the lead: not rising
        ({"colour": 1}, "unknown field 'colour'"),
    ],
)
def test_invalid_documents_name_the_field(change: dict[str, object], message: str) -> None:
    with pytest.raises(AuthorityError, match=message.replace(".", r"\.").replace("(", r"\(")):
        parse_limits(_doc(**change), "limits.yaml")


def test_creditor_sections_merge_over_the_defaults_and_are_checked() -> None:
    doc = parse_limits(
        {"creditors": {"BANK1": {"collector": {"max_discount_bps": 0, "max_instalments": 3, "max_waiver_minor": 0,
                                               "max_deferral_days": 7}}}},
        "bank1.yaml",
        base=shipped().defaults,
    )  # fmt: skip
    bank = doc.creditors["BANK1"]
    assert bank["collector"] == Limits(0, 3, 0, 7) and bank["manager"] == shipped().defaults["manager"]
    with pytest.raises(AuthorityError, match=r"creditors\.BANK1\.intern: unknown role"):
        parse_limits({"creditors": {"BANK1": {"intern": {}}}}, "x.yaml", base=shipped().defaults)
    with pytest.raises(AuthorityError, match="unknown key 'limits'"):
        parse_limits({"limits": {}}, "x.yaml")


def test_concession_measure_and_approver() -> None:
    assert discount_bps(1, 3) == 3334  # rounded up, never understated
    assert discount_bps(0, 100) == 0
    today = date(2026, 11, 28)
    c = concession(owed=1_000_000, waiver=150_000, instalments=9, first_date=date(2027, 1, 7), today=today)
    assert c.as_dict() == {"discount_bps": 1500, "instalments": 9, "waiver": 150_000, "deferral_days": 40}
    d = shipped().defaults
    over = exceeded(d["collector"], c)
    assert {e.limit for e in over} == {"max_discount_bps", "max_instalments", "max_deferral_days"}
    assert lowest_approver(d, c) == "team_lead"
    big = concession(owed=1_000_000, waiver=300_000, instalments=1, first_date=today, today=today)
    assert lowest_approver(d, big) == "manager"
    huge = concession(owed=1_000_000, waiver=600_000, instalments=1, first_date=today, today=today)
    assert lowest_approver(d, huge) is None
