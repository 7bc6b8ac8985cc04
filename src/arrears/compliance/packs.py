"""Rule packs: versioned YAML files with effective dates, parameters and citations (R22).

A pack is loaded as of a date (the version of each rule in force then) and may be tightened by a
creditor — a shorter contact window, lower caps, longer term lists — but never loosened: an override
that would loosen a rule raises `PackError` naming the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache, cached_property, lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from arrears.core.clock import Clock, utc_now
from arrears.core.errors import ValidationFailed

TIGHTEN = frozenset(
    {"lower", "higher", "earlier", "later", "switch_off", "switch_on", "superset", "subset", "fixed"}
)
HOLD_MATCHES = frozenset({"person", "account", "person_account", "opt_out"})
# Parameters that are lists of terms looked for in message text.
TERM_PARAMS = ("payment_terms", "disclosure_terms", "forbidden_terms", "suit_terms")
_RULE_ID = re.compile(r"^[A-Z]{2}-[A-Z]\d{1,2}$")
_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


class PackError(ValidationFailed):
    """A pack file that does not validate, or an override that would loosen a rule."""

    code = "pack_invalid"


@dataclass(frozen=True)
class Rule:
    """One rule of a pack, in the version in force on the pack's `as_of` date."""

    id: str
    title_zh: str
    title_en: str
    citation: str
    effective_from: date
    parameters: Mapping[str, Any]
    reported: bool
    note: str | None = None
    source: str = "law"
    tighten: Mapping[str, str] = field(default_factory=dict)
    reasons: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.parameters[name]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title_zh": self.title_zh,
            "title_en": self.title_en,
            "citation": self.citation,
            "effective_from": self.effective_from.isoformat(),
            "reported": self.reported,
            "source": self.source,
            "note": self.note,
            "parameters": _plain(self.parameters),
        }


@dataclass(frozen=True)
class Hold:
    """An event kind that stops contact while active (R22): `kind` recorded → `rule`/`code` blocks."""

    kind: str
    rule: str
    code: str
    match: tuple[str, ...]
    lifted_by: str | None = None
    except_parties: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ScreeningCategory:
    rule: str
    zh: str
    en: str


@dataclass(frozen=True, eq=False)
class Pack:
    name: str
    version: str
    jurisdiction: str
    title_zh: str
    title_en: str
    default_region: str
    default_timezones: tuple[str, ...]
    as_of: date
    rules: tuple[Rule, ...]
    holds: tuple[Hold, ...]
    screening: Mapping[str, ScreeningCategory]
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    _by_id: Mapping[str, Rule] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {r.id: r for r in self.rules})

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._by_id

    def rule(self, rule_id: str) -> Rule:
        try:
            return self._by_id[rule_id]
        except KeyError:
            raise PackError(f"pack {self.name}: no rule {rule_id} in force on {self.as_of}") from None

    def get(self, rule_id: str) -> Rule | None:
        return self._by_id.get(rule_id)

    def param(self, rule_id: str, name: str) -> Any:
        return self.rule(rule_id).parameters[name]

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.rules)

    @cached_property
    def check_order(self) -> tuple[tuple[str, str], ...]:
        """Every (rule, reason code) in the pack's order: reasons are always reported in this order."""
        return tuple((r.id, code) for r in self.rules for code in r.reasons)

    def citation(self, rule_id: str) -> str:
        return f"{rule_id}: {self.rule(rule_id).citation}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "pack": self.name,
            "version": self.version,
            "jurisdiction": self.jurisdiction,
            "title_zh": self.title_zh,
            "title_en": self.title_en,
            "as_of": self.as_of.isoformat(),
            "default_timezones": list(self.default_timezones),
            "overrides": _plain(self.overrides),
            "rules": [r.to_dict() for r in self.rules],
        }


# ---------------------------------------------------------------------------------------------- loading


@cache
def _pack_names() -> tuple[str, ...]:
    folder = resources.files("arrears.compliance").joinpath("packs")
    return tuple(sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml")))


def list_packs() -> list[str]:
    """Names of the packs shipped with Arrears."""
    return list(_pack_names())


def load_pack(
    name: str,
    overrides: Mapping[str, Any] | None = None,
    as_of: date | None = None,
    *,
    clock: Clock = utc_now,
) -> Pack:
    """The shipped pack `name` as of `as_of` (default: today), tightened by `overrides`.

    `overrides` is `{"CN-F1": {"max_connected_calls_per_day": 2}}` or flat
    `{"CN-F1.max_connected_calls_per_day": 2}`; a loosening value raises `PackError`.
    """
    if name not in list_packs():
        raise PackError(f"unknown rule pack {name!r}; available: {', '.join(list_packs())}")
    day = as_of or clock().date()
    if not overrides:
        return _shipped_pack(name, day)  # packs are immutable: one per (name, day) is shared
    return build_pack(_read_shipped(name), f"{name}.yaml", overrides, day)


@lru_cache(maxsize=256)
def _shipped_pack(name: str, as_of: date) -> Pack:
    return build_pack(_read_shipped(name), f"{name}.yaml", None, as_of)


def load_pack_file(
    path: str | Path,
    overrides: Mapping[str, Any] | None = None,
    as_of: date | None = None,
    *,
    clock: Clock = utc_now,
) -> Pack:
    """A pack from a YAML file outside the package (validated exactly like the shipped ones)."""
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PackError(f"{p}: cannot read the pack file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise PackError(f"{p}: not valid YAML ({exc})") from None
    return build_pack(raw, str(p), overrides, as_of or clock().date())


@cache
def _read_shipped(name: str) -> Any:
    text = resources.files("arrears.compliance").joinpath("packs", f"{name}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def build_pack(raw: Any, source: str, overrides: Mapping[str, Any] | None, as_of: date) -> Pack:
    """Validate a parsed pack document and select the rule versions in force on `as_of`."""
    doc = _require_map(raw, source)
    where = source
    name = _require_str(doc, "pack", where)
    default_tz = tuple(_require_list(doc, "default_timezones", where))
    for z in default_tz:
        _check_zone(z, f"{where}: default_timezones")
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, item in enumerate(_require_list(doc, "rules", where)):
        rule = _parse_rule(item, f"{where}: rules[{i}]", as_of)
        rid = _require_str(_require_map(item, where), "id", where)
        if rid in seen:
            raise PackError(f"{where}: rule {rid} appears twice")
        seen.add(rid)
        if rule is not None:
            rules.append(rule)
    all_ids = seen
    holds = tuple(
        _parse_hold(h, f"{where}: holds[{i}]", all_ids) for i, h in enumerate(doc.get("holds") or [])
    )
    screening = {
        str(cat): _parse_category(v, f"{where}: screening.{cat}", all_ids)
        for cat, v in _require_map(doc.get("screening") or {}, f"{where}: screening").items()
    }
    by_id = {r.id: r for r in rules}
    for cat, sc in screening.items():
        rule = by_id.get(sc.rule)
        if rule is not None and not {"conduct", "review"} <= set(rule.reasons):
            raise PackError(
                f"{where}: screening.{cat} maps to {sc.rule}, which has no conduct/review reasons"
            )
    for h in holds:
        rule = by_id.get(h.rule)
        if rule is not None and h.code not in rule.reasons:
            raise PackError(f"{where}: hold {h.kind} uses reason {h.rule}.{h.code}, which is not defined")
    applied = _normalise_overrides(overrides or {}, name)
    rules = [_apply_overrides(r, applied.get(r.id, {}), name) for r in rules]
    unknown = set(applied) - {r.id for r in rules}
    if unknown:
        rid = sorted(unknown)[0]
        state = "is not in force" if rid in all_ids else "does not exist"
        raise PackError(f"override for {rid}: the rule {state} in pack {name} on {as_of}")
    return Pack(
        name=name,
        version=str(_require(doc, "version", where)),
        jurisdiction=_require_str(doc, "jurisdiction", where),
        title_zh=_require_str(doc, "title_zh", where),
        title_en=_require_str(doc, "title_en", where),
        default_region=_require_str(doc, "default_region", where),
        default_timezones=default_tz,
        as_of=as_of,
        rules=tuple(rules),
        holds=holds,
        screening=MappingProxyType(screening),
        overrides=MappingProxyType({k: MappingProxyType(dict(v)) for k, v in applied.items()}),
    )


def _parse_rule(item: Any, where: str, as_of: date) -> Rule | None:
    d = _require_map(item, where)
    rid = _require_str(d, "id", where)
    if not _RULE_ID.match(rid):
        raise PackError(f"{where}: rule id {rid!r} is not of the form CN-T1")
    where = f"{where} ({rid})"
    versions = []
    for j, v in enumerate(_require_list(d, "versions", where)):
        vd = _require_map(v, f"{where}: versions[{j}]")
        eff = vd.get("effective_from")
        if not isinstance(eff, date):
            raise PackError(f"{where}: versions[{j}].effective_from must be a date (YYYY-MM-DD)")
        vparams = _require_map(vd.get("parameters") or {}, f"{where}: versions[{j}].parameters")
        versions.append((eff, vparams))
    if not versions:
        raise PackError(f"{where}: a rule needs at least one version")
    versions.sort(key=lambda v: v[0])
    in_force = [v for v in versions if v[0] <= as_of]
    reasons: dict[str, tuple[str, str]] = {}
    for code, texts in _require_map(d.get("reasons") or {}, f"{where}: reasons").items():
        t = _require_map(texts, f"{where}: reasons.{code}")
        reasons[str(code)] = (_require_str(t, "zh", f"{where}: reasons.{code}"), _require_str(t, "en", where))
    reported = d.get("reported")
    if not isinstance(reported, bool):
        raise PackError(f"{where}: `reported` must be true or false")
    title_zh = _require_str(d, "title_zh", where)
    title_en = _require_str(d, "title_en", where)
    citation = _require_str(d, "citation", where)
    parsed = [(eff, _parse_parameters(raw, f"{where}: versions from {eff}")) for eff, raw in versions]
    if not in_force:
        return None
    eff, (params, tighten) = parsed[len(in_force) - 1]
    rule = Rule(
        id=rid,
        title_zh=title_zh,
        title_en=title_en,
        citation=citation,
        effective_from=eff,
        parameters=MappingProxyType(params),
        reported=reported,
        note=d.get("note"),
        source=str(d.get("source", "law")),
        tighten=MappingProxyType(tighten),
        reasons=MappingProxyType(reasons),
    )
    _check_window(rule, where)
    return rule


def _parse_parameters(raw: Mapping[str, Any], where: str) -> tuple[dict[str, Any], dict[str, str]]:
    params: dict[str, Any] = {}
    tighten: dict[str, str] = {}
    for pname, spec in raw.items():
        pwhere = f"{where}: parameter {pname}"
        s = _require_map(spec, pwhere)
        if "value" not in s:
            raise PackError(f"{pwhere}: needs a value")
        direction = s.get("tighten", "fixed")
        if direction not in TIGHTEN:
            raise PackError(f"{pwhere}: tighten must be one of {', '.join(sorted(TIGHTEN))}")
        _check_value(s["value"], direction, pwhere)
        params[str(pname)] = _freeze(s["value"])
        tighten[str(pname)] = direction
    return params, tighten


def _parse_hold(item: Any, where: str, rule_ids: set[str]) -> Hold:
    d = _require_map(item, where)
    match = tuple(_require_list(d, "match", where))
    bad = [m for m in match if m not in HOLD_MATCHES]
    if bad or not match:
        raise PackError(f"{where}: match must be a non-empty list of {', '.join(sorted(HOLD_MATCHES))}")
    rule = _require_str(d, "rule", where)
    if rule not in rule_ids:
        raise PackError(f"{where}: hold refers to unknown rule {rule}")
    return Hold(
        kind=_require_str(d, "kind", where),
        rule=rule,
        code=_require_str(d, "code", where),
        match=match,
        lifted_by=d.get("lifted_by"),
        except_parties=frozenset(d.get("except_parties") or ()),
        channels=frozenset(d.get("channels") or ()),
    )


def _parse_category(item: Any, where: str, rule_ids: set[str]) -> ScreeningCategory:
    d = _require_map(item, where)
    rule = _require_str(d, "rule", where)
    if rule not in rule_ids:
        raise PackError(f"{where}: unknown rule {rule}")
    return ScreeningCategory(rule=rule, zh=_require_str(d, "zh", where), en=_require_str(d, "en", where))


def _check_window(rule: Rule, where: str) -> None:
    p = rule.parameters
    if (
        "allowed_from" in p
        and "allowed_until" in p
        and minutes(p["allowed_from"]) >= minutes(p["allowed_until"])
    ):
        raise PackError(
            f"{where}: allowed_from {p['allowed_from']} must be before allowed_until {p['allowed_until']}"
        )


# -------------------------------------------------------------------------------------------- overrides


def _normalise_overrides(overrides: Mapping[str, Any], pack: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, value in overrides.items():
        if isinstance(value, Mapping):
            for pname, v in value.items():
                out.setdefault(str(key), {})[str(pname)] = v
        elif "." in str(key):
            rid, pname = str(key).split(".", 1)
            out.setdefault(rid, {})[pname] = value
        else:
            raise PackError(f"override {key!r} for pack {pack}: use RULE.parameter or a mapping per rule")
    return out


def _apply_overrides(rule: Rule, values: Mapping[str, Any], pack: str) -> Rule:
    if not values:
        return rule
    params = dict(rule.parameters)
    for pname, new in values.items():
        label = f"{rule.id}.{pname}"
        if pname not in params:
            known = ", ".join(sorted(params)) or "none"
            raise PackError(f"override {label}: no such parameter in pack {pack} (parameters: {known})")
        base = params[pname]
        direction = rule.tighten[pname]
        _check_value(new, direction, f"override {label}")
        _check_tightens(label, base, new, direction)
        params[pname] = _freeze(new)
    tightened = Rule(
        id=rule.id,
        title_zh=rule.title_zh,
        title_en=rule.title_en,
        citation=rule.citation,
        effective_from=rule.effective_from,
        parameters=MappingProxyType(params),
        reported=rule.reported,
        note=rule.note,
        source=rule.source,
        tighten=rule.tighten,
        reasons=rule.reasons,
    )
    _check_window(tightened, f"override {rule.id}")
    return tightened


def _check_tightens(label: str, base: Any, new: Any, direction: str) -> None:
    def loosen(how: str) -> PackError:
        shown = "" if isinstance(base, tuple) else f"; pack value {_show(base)}"
        return PackError(
            f"override {label}: {_show(new)} would loosen the rule ({how}{shown}) — "
            "a creditor may tighten a rule, never loosen it"
        )

    if direction == "fixed":
        if _freeze(new) != base:
            raise PackError(f"override {label}: this parameter is fixed by the pack ({_show(base)})")
    elif direction == "lower" and new > base:
        raise loosen("it may only be lowered")
    elif direction == "higher" and new < base:
        raise loosen("it may only be raised")
    elif direction == "earlier" and minutes(new) > minutes(base):
        raise loosen("it may only move earlier")
    elif direction == "later" and minutes(new) < minutes(base):
        raise loosen("it may only move later")
    elif direction == "switch_off" and new and not base:
        raise loosen("it may only be turned off")
    elif direction == "switch_on" and base and not new:
        raise loosen("it may only be turned on")
    elif direction == "superset":
        missing = _keys(base) - _keys(new)
        if missing:
            raise loosen(f"it may only grow; it drops {', '.join(sorted(missing))}")
    elif direction == "subset":
        extra = _keys(new) - _keys(base)
        if extra:
            raise loosen(f"it may only shrink; it adds {', '.join(sorted(extra))}")


def _check_value(value: Any, direction: str, where: str) -> None:
    if direction in ("lower", "higher"):
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise PackError(f"{where}: must be a non-negative number, not {_show(value)}")
    elif direction in ("earlier", "later"):
        if not isinstance(value, str) or not _HHMM.match(value) or minutes(value) > 24 * 60:
            raise PackError(f"{where}: must be a time of day HH:MM, not {_show(value)}")
    elif direction in ("switch_off", "switch_on"):
        if not isinstance(value, bool):
            raise PackError(f"{where}: must be true or false, not {_show(value)}")
    elif direction in ("superset", "subset") and not isinstance(value, list | tuple):
        raise PackError(f"{where}: must be a list, not {_show(value)}")


def _keys(items: Any) -> set[str]:
    return {str(i["key"]) if isinstance(i, Mapping) else str(i) for i in items}


def minutes(hhmm: str) -> int:
    """Minutes after midnight of an HH:MM time."""
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


# -------------------------------------------------------------------------------------------- helpers


def _check_zone(name: Any, where: str) -> None:
    try:
        ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise PackError(f"{where}: unknown time zone {name!r}") from None


def _require(d: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in d or d[key] is None:
        raise PackError(f"{where}: missing `{key}`")
    return d[key]


def _require_str(d: Mapping[str, Any], key: str, where: str) -> str:
    v = _require(d, key, where)
    if not isinstance(v, str) or not v.strip():
        raise PackError(f"{where}: `{key}` must be a non-empty text")
    return v


def _require_list(d: Mapping[str, Any], key: str, where: str) -> list[Any]:
    v = _require(d, key, where)
    if not isinstance(v, list):
        raise PackError(f"{where}: `{key}` must be a list")
    return v


def _require_map(v: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(v, Mapping):
        raise PackError(f"{where}: expected a mapping")
    return v


def _freeze(v: Any) -> Any:
    if isinstance(v, list | tuple):
        return tuple(_freeze(i) for i in v)
    if isinstance(v, Mapping):
        return MappingProxyType({str(k): _freeze(i) for k, i in v.items()})
    return v


def _plain(v: Any) -> Any:
    if isinstance(v, list | tuple):
        return [_plain(i) for i in v]
    if isinstance(v, Mapping):
        return {str(k): _plain(i) for k, i in v.items()}
    return v


def _show(v: Any) -> str:
    return repr(_plain(v))
