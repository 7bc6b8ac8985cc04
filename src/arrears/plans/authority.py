"""Authority limits for concessions (R13): what a role may grant alone, and who may approve the rest.

A plan's concession is measured on four axes (discount share, instalments, amount waived, days of
deferral); it is within a role's authority when no axis exceeds the role's limit. Limits are data
(`authority.yaml`, shipped defaults; per-creditor documents of the same shape loaded into the
`authority_limits` table), validated here: every field a non-negative integer, discounts at most
100%, and limits rising with the role (collector and agency ≤ team lead ≤ manager).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import yaml

# Roles that hold concession authority, lowest first; approvers are the last two (maker-checker).
AUTHORITY_ROLES: tuple[str, ...] = ("collector", "agency", "team_lead", "manager")
APPROVER_ROLES: tuple[str, ...] = ("team_lead", "manager")
# (lower, higher): the higher role's limits must be at least the lower's on every axis.
HIERARCHY: tuple[tuple[str, str], ...] = (
    ("collector", "team_lead"),
    ("agency", "team_lead"),
    ("team_lead", "manager"),
)
LIMIT_LABELS = {
    "max_discount_bps": ("折让比例", "discount"),
    "max_instalments": ("分期期数", "instalments"),
    "max_waiver_minor": ("减免金额", "amount waived"),
    "max_deferral_days": ("延期天数", "days deferred"),
}


class AuthorityError(ValueError):
    """A limits document that is not valid: names the source, creditor, role and field."""


@dataclass(frozen=True)
class Limits:
    max_discount_bps: int
    max_instalments: int
    max_waiver_minor: int
    max_deferral_days: int

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


NO_AUTHORITY = Limits(0, 0, 0, 0)


@dataclass(frozen=True)
class Concession:
    """What a plan asks for, on the axes the limits measure."""

    discount_bps: int
    instalments: int
    waiver: int
    deferral_days: int

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Exceeded:
    limit: str  # a Limits field name
    requested: int
    allowed: int

    def as_dict(self) -> dict[str, Any]:
        zh, en = LIMIT_LABELS[self.limit]
        return {"limit": self.limit, "requested": self.requested, "allowed": self.allowed, "zh": zh, "en": en}


def discount_bps(waiver: int, owed: int) -> int:
    """The waived share of the amount owed in basis points, rounded up (never understated)."""
    if owed <= 0:
        return 0 if waiver <= 0 else 10_000
    return math.ceil(waiver * 10_000 / owed) if waiver > 0 else 0


def concession(
    *, owed: int, waiver: int, instalments: int, first_date: date | None, today: date
) -> Concession:
    days = max((first_date - today).days, 0) if first_date is not None else 0
    return Concession(discount_bps(waiver, owed), instalments, max(waiver, 0), days)


def exceeded(limits: Limits, c: Concession) -> list[Exceeded]:
    """The limits a concession goes beyond (empty: within authority)."""
    pairs = (
        ("max_discount_bps", c.discount_bps),
        ("max_instalments", c.instalments),
        ("max_waiver_minor", c.waiver),
        ("max_deferral_days", c.deferral_days),
    )
    return [
        Exceeded(name, value, getattr(limits, name)) for name, value in pairs if value > getattr(limits, name)
    ]


def within(limits: Limits, c: Concession) -> bool:
    return not exceeded(limits, c)


def lowest_approver(limits_by_role: Mapping[str, Limits], c: Concession) -> str | None:
    """The least senior approver role whose limits cover the concession (None: nobody may approve it)."""
    for role in APPROVER_ROLES:
        if within(limits_by_role.get(role, NO_AUTHORITY), c):
            return role
    return None


# --- limits documents ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LimitsDocument:
    defaults: dict[str, Limits]
    creditors: dict[str, dict[str, Limits]]  # creditor code → role → limits (merged over defaults)


def _limits(raw: Any, where: str) -> Limits:
    if not isinstance(raw, Mapping):
        raise AuthorityError(f"{where}: expected a mapping of limits")
    names = [f.name for f in fields(Limits)]
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise AuthorityError(f"{where}: unknown field {unknown[0]!r}; fields are {', '.join(names)}")
    values: dict[str, int] = {}
    for name in names:
        if name not in raw:
            raise AuthorityError(f"{where}.{name}: required")
        v = raw[name]
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise AuthorityError(f"{where}.{name}: must be a non-negative integer, got {v!r}")
        values[name] = v
    if values["max_discount_bps"] > 10_000:
        raise AuthorityError(
            f"{where}.max_discount_bps: at most 10000 (100%), got {values['max_discount_bps']}"
        )
    if values["max_instalments"] > 360:
        raise AuthorityError(f"{where}.max_instalments: at most 360, got {values['max_instalments']}")
    return Limits(**values)


def _roles(raw: Any, where: str, base: Mapping[str, Limits] | None) -> dict[str, Limits]:
    if not isinstance(raw, Mapping):
        raise AuthorityError(f"{where}: expected a mapping of role → limits")
    out = dict(base or {})
    for role, spec in raw.items():
        if role not in AUTHORITY_ROLES:
            raise AuthorityError(
                f"{where}.{role}: unknown role; roles with authority are {', '.join(AUTHORITY_ROLES)}"
            )
        out[str(role)] = _limits(spec, f"{where}.{role}")
    missing = [r for r in AUTHORITY_ROLES if r not in out]
    if missing:
        raise AuthorityError(f"{where}: limits missing for {', '.join(missing)}")
    for low, high in HIERARCHY:
        for name, value in out[low].as_dict().items():
            if getattr(out[high], name) < value:
                raise AuthorityError(
                    f"{where}.{high}.{name}: {getattr(out[high], name)} is below {low}'s {value}; "
                    "limits must rise with the role"
                )
    return out


def parse_limits(raw: Any, source: str, base: Mapping[str, Limits] | None = None) -> LimitsDocument:
    """Validate a limits document. `base` (the shipped defaults) fills roles a document leaves out."""
    if not isinstance(raw, Mapping):
        raise AuthorityError(f"{source}: expected a mapping with `defaults` and/or `creditors`")
    unknown = sorted(set(raw) - {"version", "defaults", "creditors"})
    if unknown:
        raise AuthorityError(f"{source}: unknown key {unknown[0]!r}")
    if raw.get("version", 1) != 1:
        raise AuthorityError(f"{source}.version: only version 1 is understood")
    defaults = _roles(raw["defaults"], f"{source}.defaults", base) if "defaults" in raw else dict(base or {})
    if not defaults:
        raise AuthorityError(f"{source}: `defaults` is required")
    creditors_raw = raw.get("creditors") or {}
    if not isinstance(creditors_raw, Mapping):
        raise AuthorityError(f"{source}.creditors: expected a mapping of creditor code → roles")
    creditors = {
        str(code): _roles(spec, f"{source}.creditors.{code}", defaults)
        for code, spec in creditors_raw.items()
    }
    return LimitsDocument(defaults, creditors)


def parse_limits_text(text: str, source: str, base: Mapping[str, Limits] | None = None) -> LimitsDocument:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AuthorityError(f"{source}: not valid YAML ({exc})") from None
    return parse_limits(raw, source, base)


@cache
def shipped() -> LimitsDocument:
    """The defaults shipped with Arrears (`arrears/plans/authority.yaml`)."""
    text = resources.files("arrears.plans").joinpath("authority.yaml").read_text(encoding="utf-8")
    return parse_limits_text(text, "authority.yaml")
