"""Strategies as data (R6–R8): segments → treatment paths of steps, with champion/challenger arms.

A strategy file (YAML) is versioned and validated on load; every reference (path ids, arm shares,
time windows) is checked so a bad file is refused with the place and the reason.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from arrears.core.errors import ValidationFailed

Channel = Literal["call", "sms", "email", "letter", "visit", "voicemail"]
Tone = Literal["reminder", "affinity", "ask_reply", "inform", "formal_notice"]  # R10
Level = Literal["high", "medium", "low", "unknown"]


class StrategyError(ValidationFailed):
    """A strategy file that cannot be used, with where and why."""


def _hhmm(value: str) -> int:
    h, _, m = value.partition(":")
    if (
        not (h.isdigit() and m.isdigit())
        or not (0 <= int(h) <= 24 and 0 <= int(m) < 60)
        or int(h) * 60 + int(m) > 1440
    ):
        raise ValueError(f"{value!r} is not a time of day HH:MM")
    return int(h) * 60 + int(m)


class Condition(BaseModel):
    """Conditions on an account's features; all given ones must hold (an empty condition matches all)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    buckets: tuple[str, ...] | None = None
    dpd_min: int | None = None
    dpd_max: int | None = None
    balance_min: Decimal | None = None  # major units of the account's currency
    balance_max: Decimal | None = None
    score_min: float | None = None
    score_max: float | None = None
    ability: tuple[Level, ...] | None = None  # 还款能力
    willingness: tuple[Level, ...] | None = None  # 还款意愿
    products: tuple[str, ...] | None = None
    creditors: tuple[str, ...] | None = None
    flags_any: tuple[str, ...] | None = None
    flags_none: tuple[str, ...] | None = None
    no_contact_days: int | None = Field(default=None, ge=1)  # no contact attempt for at least N days


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    day: int = Field(ge=0)  # days after the account entered the path (after any self-cure wait)
    channel: Channel
    template: str | None = None
    tone: Tone = "reminder"
    window: tuple[str, str] = ("09:00", "20:00")  # debtor's local time
    repeat_every: int | None = Field(default=None, ge=1)  # repeat until the next step's day
    when: Condition | None = None

    @field_validator("window")
    @classmethod
    def _window(cls, v: tuple[str, str]) -> tuple[str, str]:
        start, end = _hhmm(v[0]), _hhmm(v[1])
        if start >= end:
            raise ValueError(f"window {v[0]}–{v[1]} must start before it ends")
        return v

    @property
    def window_minutes(self) -> tuple[int, int]:
        return _hhmm(self.window[0]), _hhmm(self.window[1])


class TreatmentPath(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    label_zh: str
    label_en: str
    self_cure_days: int = Field(default=0, ge=0)  # wait for self-cure before the first step
    steps: tuple[Step, ...] = ()
    agency_after_days: int | None = Field(default=None, ge=1)  # place with an outside agency
    legal_after_days: int | None = Field(default=None, ge=1)  # R7, R15, R19: legal route

    @model_validator(mode="after")
    def _ordered(self) -> TreatmentPath:
        days = [s.day for s in self.steps]
        if days != sorted(days):
            raise ValueError(f"path {self.id}: steps must be in day order, got {days}")
        return self


class Arm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    share: float = Field(gt=0, le=1)
    path: str


class Segment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    label_zh: str
    label_en: str
    when: Condition = Condition()
    path: str | None = None
    arms: tuple[Arm, ...] | None = None  # champion/challenger: the first arm is the champion

    @model_validator(mode="after")
    def _one_of(self) -> Segment:
        if (self.path is None) == (self.arms is None):
            raise ValueError(f"segment {self.id}: give either `path` or `arms`")
        if self.arms is not None:
            total = sum(a.share for a in self.arms)
            if abs(total - 1.0) > 1e-9:
                raise ValueError(f"segment {self.id}: arm shares sum to {total}, not 1")
            ids = [a.id for a in self.arms]
            if len(set(ids)) != len(ids):
                raise ValueError(f"segment {self.id}: arm ids must be unique")
        return self

    def resolved_arms(self) -> tuple[Arm, ...]:
        return self.arms if self.arms is not None else (Arm(id="champion", share=1.0, path=self.path or ""),)


class Strategy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: str
    effective_from: date
    description_zh: str = ""
    description_en: str = ""
    segments: tuple[Segment, ...]
    paths: tuple[TreatmentPath, ...]

    @model_validator(mode="after")
    def _references(self) -> Strategy:
        path_ids = [p.id for p in self.paths]
        if len(set(path_ids)) != len(path_ids):
            raise ValueError("path ids must be unique")
        seg_ids = [s.id for s in self.segments]
        if len(set(seg_ids)) != len(seg_ids):
            raise ValueError("segment ids must be unique")
        for seg in self.segments:
            for arm in seg.resolved_arms():
                if arm.path not in path_ids:
                    raise ValueError(f"segment {seg.id}: unknown path {arm.path!r}")
        if self.segments and self.segments[-1].when != Condition():
            raise ValueError(
                "the last segment must match every account (an empty `when`), so none is left out"
            )
        return self

    def path(self, path_id: str) -> TreatmentPath:
        for p in self.paths:
            if p.id == path_id:
                return p
        raise KeyError(path_id)

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"


def parse_strategy(raw: Any, source: str) -> Strategy:
    try:
        return Strategy.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()[:10]
        )
        raise StrategyError(f"{source}: {problems}") from exc


def load_strategy(path: str | Path) -> Strategy:
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StrategyError(f"cannot read strategy file {p}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise StrategyError(f"{p}: not valid YAML ({exc})") from exc
    return parse_strategy(raw, str(p))


def dump_strategy(strategy: Strategy) -> str:
    return yaml.safe_dump(
        strategy.model_dump(mode="json", exclude_none=True), allow_unicode=True, sort_keys=False
    )


@lru_cache
def default_strategy() -> Strategy:
    """The shipped default (R7 treatments and a bucket progression)."""
    text = resources.files("arrears.strategy").joinpath("strategies/default.yaml").read_text(encoding="utf-8")
    return parse_strategy(yaml.safe_load(text), "default.yaml")
