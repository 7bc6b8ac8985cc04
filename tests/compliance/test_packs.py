"""Rule packs: the rule ids, citations and effective dates of RULES.md; creditors tighten, never loosen."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from arrears.compliance.packs import PackError, list_packs, load_pack, load_pack_file
from arrears.compliance.rules import reason

AS_OF = date(2026, 6, 1)
CN_IDS = {"CN-T1", "CN-F1", "CN-F2", "CN-P1", "CN-P2", "CN-C1", "CN-V1", "CN-L1"}
US_IDS = {
    "US-T1",
    "US-T2",
    "US-F1",
    "US-F2",
    "US-F3",
    "US-P1",
    "US-P2",
    "US-C1",
    "US-C2",
    "US-V1",
    "US-E1",
    "US-E2",
    "US-B1",
}


def test_shipped_packs_hold_every_rule_id_of_rules_md() -> None:
    assert {"cn", "us"} <= set(list_packs())
    assert set(load_pack("cn", as_of=AS_OF).rule_ids) >= CN_IDS
    assert set(load_pack("us", as_of=AS_OF).rule_ids) >= US_IDS


@pytest.mark.parametrize("name", ["cn", "us"])
def test_every_rule_has_titles_citation_date_and_renderable_reasons(name: str) -> None:
    pack = load_pack(name, as_of=AS_OF)
    for rule in pack.rules:
        assert rule.title_zh and rule.title_en and rule.citation
        assert isinstance(rule.effective_from, date) and rule.effective_from <= AS_OF
        assert isinstance(rule.reported, bool)
    for rule_id, code in pack.check_order:
        r = reason(pack, rule_id, code, ("细节", "detail"))
        assert r.rule == rule_id and r.zh and r.en
        assert "{" not in r.zh + r.en  # every placeholder was filled from the rule's parameters


def test_reported_figures_are_marked_as_reported() -> None:
    # RULES.md marks CN-T1, CN-F1, CN-F2, CN-V1 and CN-L1 as *reported*; nothing in the US pack is
    cn = load_pack("cn", as_of=AS_OF)
    assert {r.id for r in cn.rules if r.reported} == {"CN-T1", "CN-F1", "CN-F2", "CN-V1", "CN-L1"}
    assert "reported" in cn.rule("CN-F2").citation
    assert not any(r.reported for r in load_pack("us", as_of=AS_OF).rules)


def test_parameters_are_the_figures_of_the_rules() -> None:
    cn, us = load_pack("cn", as_of=AS_OF), load_pack("us", as_of=AS_OF)
    assert (cn.param("CN-T1", "allowed_from"), cn.param("CN-T1", "allowed_until")) == ("08:00", "22:00")
    assert cn.param("CN-F1", "max_connected_calls_per_day") == 3
    assert cn.param("CN-F2", "max_unanswered_per_number_per_day") == 6
    assert cn.param("CN-V1", "min_staff") == 2
    assert (us.param("US-T1", "allowed_from"), us.param("US-T1", "allowed_until")) == ("08:00", "21:00")
    assert (us.param("US-F1", "max_calls"), us.param("US-F1", "window_days")) == (7, 7)
    assert us.param("US-F2", "window_days") == 7
    assert us.param("US-F3", "consent_days") == 7
    assert set(us.param("US-F3", "not_connected_outcomes")) == {"busy", "failed"}


def test_rules_not_yet_in_force_are_left_out() -> None:
    # CN-F2 and CN-V1 come from the CBA guideline effective 2026-01-30
    before = load_pack("cn", as_of=date(2026, 1, 29))
    assert "CN-F2" not in before and "CN-V1" not in before
    assert "CN-F2" in load_pack("cn", as_of=date(2026, 1, 30))
    assert "US-F1" not in load_pack("us", as_of=date(2021, 11, 29))  # Regulation F took effect 2021-11-30
    assert "US-T1" in load_pack("us", as_of=date(2021, 11, 29))


def test_creditor_may_tighten_parameters() -> None:
    pack = load_pack(
        "cn",
        {
            "CN-T1": {"allowed_from": "09:00", "allowed_until": "20:00", "consent_lifts": False},
            "CN-F1.max_connected_calls_per_day": 2,
            "CN-P2.disclosure_terms": [
                *load_pack("cn", as_of=AS_OF).param("CN-P2", "disclosure_terms"),
                "钱",
            ],
        },
        as_of=AS_OF,
    )
    assert pack.param("CN-T1", "allowed_from") == "09:00"
    assert pack.param("CN-T1", "allowed_until") == "20:00"
    assert pack.param("CN-T1", "consent_lifts") is False
    assert pack.param("CN-F1", "max_connected_calls_per_day") == 2
    assert "钱" in pack.param("CN-P2", "disclosure_terms")
    assert pack.overrides["CN-F1"]["max_connected_calls_per_day"] == 2
    us = load_pack("us", {"US-F1.max_calls": 5, "US-F3.not_connected_outcomes": ["busy"]}, as_of=AS_OF)
    assert us.param("US-F1", "max_calls") == 5
    assert us.param("US-F3", "not_connected_outcomes") == ("busy",)


@pytest.mark.parametrize(
    ("name", "overrides", "parameter"),
    [
        ("cn", {"CN-F1.max_connected_calls_per_day": 4}, "CN-F1.max_connected_calls_per_day"),
        ("cn", {"CN-F2.max_unanswered_per_number_per_day": 10}, "CN-F2.max_unanswered_per_number_per_day"),
        ("cn", {"CN-T1.allowed_from": "07:30"}, "CN-T1.allowed_from"),
        ("cn", {"CN-T1.allowed_until": "22:30"}, "CN-T1.allowed_until"),
        ("cn", {"CN-V1.min_staff": 1}, "CN-V1.min_staff"),
        ("cn", {"CN-P2.unreachable_days": 3}, "CN-P2.unreachable_days"),
        ("cn", {"CN-P2.disclosure_terms": ["欠款"]}, "CN-P2.disclosure_terms"),
        ("us", {"US-T1.allowed_until": "21:30"}, "US-T1.allowed_until"),
        ("us", {"US-F1.window_days": 6}, "US-F1.window_days"),
        ("us", {"US-F3.consent_days": 10}, "US-F3.consent_days"),
        (
            "us",
            {"US-F3.not_connected_outcomes": ["busy", "failed", "no_answer"]},
            "US-F3.not_connected_outcomes",
        ),
        ("us", {"US-P2.max_contacts_per_person": 2}, "US-P2.max_contacts_per_person"),
    ],
)
def test_loosening_is_rejected_naming_the_parameter(
    name: str, overrides: dict[str, object], parameter: str
) -> None:
    with pytest.raises(PackError, match="loosen") as exc:
        load_pack(name, overrides, as_of=AS_OF)
    assert parameter in exc.value.message


def test_switches_may_only_be_turned_off() -> None:
    base = yaml.safe_load(
        (Path(__file__).parents[2] / "src/arrears/compliance/packs/us.yaml").read_text("utf-8")
    )
    for rule in base["rules"]:
        if rule["id"] == "US-T1":
            rule["versions"][0]["parameters"]["consent_lifts"]["value"] = False
    from arrears.compliance.packs import build_pack

    with pytest.raises(PackError, match=r"US-T1\.consent_lifts.*turned off"):
        build_pack(base, "us-test.yaml", {"US-T1.consent_lifts": True}, AS_OF)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"CN-F1.no_such_parameter": 1}, r"CN-F1\.no_such_parameter: no such parameter"),
        ({"CN-Z9.cap": 1}, r"CN-Z9: the rule does not exist"),
        (
            {"CN-F1.max_connected_calls_per_day": "two"},
            r"CN-F1\.max_connected_calls_per_day: must be a non-negative",
        ),
        ({"CN-T1.allowed_from": "9am"}, r"CN-T1\.allowed_from: must be a time of day"),
        ({"CN-T1": {"allowed_from": "21:00", "allowed_until": "20:00"}}, r"must be before allowed_until"),
        ({"CN-P2.unreachable_channels": ["call"]}, r"CN-P2\.unreachable_channels: this parameter is fixed"),
        ({"max_calls": 3}, r"use RULE\.parameter"),
    ],
)
def test_bad_overrides_are_explained(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(PackError, match=message):
        load_pack("cn", overrides, as_of=AS_OF)


def test_override_of_a_rule_not_yet_in_force_names_it() -> None:
    with pytest.raises(PackError, match=r"CN-F2: the rule is not in force"):
        load_pack("cn", {"CN-F2.max_unanswered_per_number_per_day": 5}, as_of=date(2025, 6, 1))


def test_unknown_pack() -> None:
    with pytest.raises(PackError, match="unknown rule pack 'xx'"):
        load_pack("xx")


def _pack_doc() -> dict[str, object]:
    return {
        "pack": "t",
        "version": "1",
        "jurisdiction": "T",
        "title_zh": "测试",
        "title_en": "Test",
        "default_region": "CN",
        "default_timezones": ["Asia/Shanghai"],
        "rules": [
            {
                "id": "TT-F1",
                "title_zh": "上限",
                "title_en": "Cap",
                "citation": "Test Act s 1",
                "reported": False,
                "versions": [
                    {
                        "effective_from": date(2020, 1, 1),
                        "parameters": {"cap": {"value": 5, "tighten": "lower"}},
                    },
                    {
                        "effective_from": date(2024, 1, 1),
                        "parameters": {"cap": {"value": 3, "tighten": "lower"}},
                    },
                ],
                "reasons": {"cap": {"zh": "上限 {cap}", "en": "cap {cap}"}},
            }
        ],
    }


def test_a_pack_file_picks_the_version_in_force(tmp_path: Path) -> None:
    f = tmp_path / "t.yaml"
    f.write_text(yaml.safe_dump(_pack_doc(), allow_unicode=True), "utf-8")
    assert load_pack_file(f, as_of=date(2023, 12, 31)).param("TT-F1", "cap") == 5
    newer = load_pack_file(f, as_of=date(2024, 1, 1))
    assert newer.param("TT-F1", "cap") == 3
    assert newer.rule("TT-F1").effective_from == date(2024, 1, 1)
    assert load_pack_file(f, as_of=date(2019, 1, 1)).rule_ids == ()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["rules"][0].pop("citation"), r"rules\[0\] \(TT-F1\): missing `citation`"),
        (lambda d: d["rules"][0].update(id="bad id"), r"rule id 'bad id' is not of the form"),
        (
            lambda d: d["rules"][0]["versions"][0].update(effective_from="soon"),
            r"effective_from must be a date",
        ),
        (
            lambda d: d["rules"][0]["versions"][0]["parameters"]["cap"].update(tighten="sideways"),
            r"parameter cap: tighten must be one of",
        ),
        (lambda d: d["rules"][0].update(reported="maybe"), r"`reported` must be true or false"),
        (lambda d: d.update(default_timezones=["Mars/Olympus"]), r"unknown time zone 'Mars/Olympus'"),
        (lambda d: d["rules"].append(dict(d["rules"][0])), r"rule TT-F1 appears twice"),
    ],
)
def test_malformed_pack_files_are_rejected(tmp_path: Path, mutate: object, message: str) -> None:
    doc = _pack_doc()
    mutate(doc)  # type: ignore[operator]
    f = tmp_path / "t.yaml"
    f.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    with pytest.raises(PackError, match=message):
        load_pack_file(f, as_of=AS_OF)
