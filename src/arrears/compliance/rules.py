"""Pure rule logic shared by the scalar guard and the columnar audit: vocabularies, reasons, text checks.

Nothing here reads a clock, a file or a database; every function works on plain values and a `Pack`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from arrears.compliance.packs import TERM_PARAMS, Pack
from arrears.core.errors import ArrearsError

PARTIES = ("debtor", "guarantor", "third_party", "employer", "attorney")
THIRD_PARTIES = frozenset({"third_party", "employer"})  # CN-P1/CN-P2, US-P1/US-P2: never collection targets
CHANNELS = ("call", "sms", "email", "letter", "visit", "voicemail")
OUTCOMES = (
    "conversation",
    "connected",
    "no_answer",
    "voicemail",
    "busy",
    "wrong_number",
    "delivered",
    "failed",
    "refused",
)
UNKNOWN_OUTCOME = "unknown"  # an attempt whose outcome was not recorded
EVENT_KINDS = (
    "cease",
    "dispute",
    "verified",
    "attorney",
    "opt_out",
    "third_party_refused",
    "bankruptcy",
    "deceased",
    "consent",
    "time_barred",  # US-B1: the account's debt is past the limitation period
)
TIME_CONSENT = "time_of_day"  # consent scope lifting CN-T1 / US-T1, optionally "time_of_day:21:00-23:00"
DAY_US = 86_400_000_000
_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")

ScreenFn = Callable[..., Any]


@dataclass(frozen=True)
class Reason:
    """Why a contact is blocked (or needs review), in plain zh-CN and English, with the rule id."""

    rule: str
    zh: str
    en: str

    def to_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "zh": self.zh, "en": self.en}


# ------------------------------------------------------------------------------------------ vocabularies


def consent_classes(scope: str | None) -> frozenset[str]:
    """What a consent event with this scope consents to.

    None (general consent) → calls (US-F3) and renewed third-party contact (US-P2);
    "call" → calls; "recontact" → renewed third-party contact; "time_of_day[:HH:MM-HH:MM]" → contact
    outside the normal hours (CN-T1 / US-T1). Anything else consents to nothing.
    """
    if scope is None or scope == "":
        return frozenset({"call", "recontact"})
    if scope == "call":
        return frozenset({"call"})
    if scope == "recontact":
        return frozenset({"recontact"})
    if scope == TIME_CONSENT or scope.startswith(TIME_CONSENT + ":"):
        return frozenset({"time"})
    return frozenset()


def valid_consent_scope(scope: str | None) -> bool:
    if scope is None or scope in ("", "call", "recontact", TIME_CONSENT):
        return True
    return scope.startswith(TIME_CONSENT + ":") and time_consent_window(scope) is not False


def time_consent_window(scope: str) -> tuple[int, int] | bool | None:
    """(start, end) minutes of a time-of-day consent; None for any time; False when malformed."""
    if scope == TIME_CONSENT:
        return None
    m = _WINDOW.match(scope[len(TIME_CONSENT) + 1 :])
    if not m:
        return False
    a, b, c, d = (int(x) for x in m.groups())
    return a * 60 + b, c * 60 + d


def window_contains(minute: int, start: int, end: int) -> bool:
    """Whether a local minute falls in [start, end), wrapping past midnight when end <= start."""
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end


def time_consent_covers(scope: str, minutes_local: list[int]) -> bool:
    """CN-T1 / US-T1: a time-of-day consent covers the contact in every candidate zone."""
    w = time_consent_window(scope)
    if w is None:
        return True
    if w is False:
        return False
    assert isinstance(w, tuple)
    return all(window_contains(m, w[0], w[1]) for m in minutes_local)


def in_force(pack: Pack, rule_id: str, day: date) -> bool:
    """A rule applies to a contact on `day` (UTC date) when the pack holds it and it had taken effect."""
    r = pack.get(rule_id)
    return r is not None and r.effective_from <= day


# ----------------------------------------------------------------------------------------------- reasons


@lru_cache(maxsize=4096)
def _template(pack: Pack, rule_id: str, code: str) -> tuple[str, str]:
    rule = pack.rule(rule_id)
    zh, en = rule.reasons[code]
    values = {k: _fmt(v) for k, v in rule.parameters.items()}
    return zh.replace("{detail}", "\0").format_map(values), en.replace("{detail}", "\0").format_map(values)


def _fmt(v: Any) -> str:
    if isinstance(v, tuple | list):
        return ", ".join(str(i) for i in v)
    return str(v)


def reason(pack: Pack, rule_id: str, code: str, detail: tuple[str, str] | None = None) -> Reason:
    """The pack's plain-language reason for (rule, code), with the rule's parameters filled in."""
    zh, en = _template(pack, rule_id, code)
    if detail is not None:
        zh, en = zh.replace("\0", detail[0]), en.replace("\0", detail[1])
    return Reason(rule_id, zh, en)


# --------------------------------------------------------------------------------------------- text checks


@lru_cache(maxsize=256)
def term_matcher(terms: tuple[str, ...]) -> re.Pattern[str]:
    """A case-insensitive pattern finding any of the terms; ASCII words match whole words only."""
    parts = []
    for t in sorted(terms, key=len, reverse=True):
        p = re.escape(t)
        if t[:1].isascii() and t[:1].isalnum():
            p = r"\b" + p
        if t[-1:].isascii() and t[-1:].isalnum():
            p = p + r"\b"
        parts.append(p)
    return re.compile("|".join(parts) if parts else r"(?!x)x", re.IGNORECASE)


@lru_cache(maxsize=64)
def _letter_patterns(pack: Pack) -> tuple[tuple[str, tuple[re.Pattern[str], ...]], ...]:
    out = []
    for item in pack.rule("CN-L1")["required_items"]:
        groups = tuple(re.compile("|".join(f"(?:{p})" for p in g), re.IGNORECASE) for g in item["patterns"])
        out.append((str(item["key"]), groups))
    return tuple(out)


def check_letter(template_text: str, pack: Pack) -> list[str]:
    """CN-L1: the required contents missing from a collection letter template, as item keys."""
    if pack.get("CN-L1") is None:
        return []
    return [key for key, groups in _letter_patterns(pack) if not all(g.search(template_text) for g in groups)]


def letter_labels(pack: Pack, keys: list[str] | tuple[str, ...]) -> tuple[str, str]:
    items = {str(i["key"]): i for i in pack.rule("CN-L1")["required_items"]}
    return "、".join(items[k]["zh"] for k in keys), ", ".join(items[k]["en"] for k in keys)


@dataclass(frozen=True)
class TextFindings:
    """What a message text contains, before the context (party, channel, holds) is applied."""

    conduct: tuple[tuple[str, str], ...] = ()  # (category, rule) flagged with verdict "block"
    review: tuple[tuple[str, str], ...] = ()  # (category, rule) flagged with verdict "review"
    terms: frozenset[str] = frozenset()  # rules whose term list (payment, disclosure, …) matched
    has_opt_out: bool = True
    letter_missing: tuple[str, ...] = ()


def default_screen() -> ScreenFn:
    """Content screening from arrears.compliance.screening (imported on first use)."""
    try:
        from arrears.compliance.screening import screen_text
    except ImportError as exc:
        raise ArrearsError(
            "content screening (arrears.compliance.screening) is not available, so message text cannot be checked"
        ) from exc
    return screen_text


def prefetch_screen() -> threading.Thread:
    """Load the shipped screening lexicons on a background thread, so that the work of reading and
    deciding a log (which mostly runs outside the GIL) overlaps with it; `default_screen()` then finds
    them loaded (or waits for the load under the screener's own lock). Failures surface later, there."""

    def load() -> None:
        try:
            from arrears.compliance.screening import Screener

            Screener.default()
        except Exception:  # reported by default_screen() when texts are screened
            pass

    thread = threading.Thread(target=load, name="screening-lexicons", daemon=True)
    thread.start()
    return thread


class TextChecker:
    """Finds what the pack's text rules look for in a message; results are cached per (text, channel)."""

    def __init__(self, pack: Pack, screen: ScreenFn | None = None, cache_size: int = 65_536) -> None:
        self.pack = pack
        self._screen = screen
        self._cache: dict[tuple[str, str], TextFindings] = {}
        self._cache_size = cache_size
        self._terms = [
            (r.id, term_matcher(tuple(r[p]))) for r in pack.rules for p in TERM_PARAMS if p in r.parameters
        ]
        e1 = pack.get("US-E1")
        self._opt_out = term_matcher(tuple(e1["opt_out_phrases"])) if e1 else None

    @property
    def screen(self) -> ScreenFn:
        if self._screen is None:
            self._screen = default_screen()
        return self._screen

    def findings(self, text: str, channel: str) -> TextFindings:
        key = (text, channel)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        result = self.screen(text, language=None, channel=channel, pack=self.pack.name)
        return self._store(key, self._read(text, channel, result))

    def prepare(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Screen many (text, channel) pairs ahead of `findings`, in one batch per channel where the
        screener has `screen_many` (which answers exactly as `screen` text by text); else nothing."""
        todo: dict[str, dict[str, None]] = {}  # distinct texts per channel, in first-seen order
        for text, channel in pairs:
            if (text, channel) not in self._cache:
                todo.setdefault(channel, {})[text] = None
        if not todo:
            return
        batch = self._batch_screen()
        if batch is None:
            return
        for channel, distinct in todo.items():
            texts = list(distinct)
            results = batch(texts, language=None, channel=channel, pack=self.pack.name)
            for text, result in zip(texts, results, strict=True):
                self._store((text, channel), self._read(text, channel, result))

    def _batch_screen(self) -> Callable[..., list[Any]] | None:
        """`screen_many` of the screener behind `screen`: a screener's own `screen`, or the shipped one
        (`screen_text`, the default); None for any other screening function."""
        screen = self._screen
        owner = getattr(screen, "__self__", None)
        if owner is not None and getattr(screen, "__name__", "") == "screen":
            return getattr(owner, "screen_many", None)
        shipped = getattr(screen, "__module__", "") == "arrears.compliance.screening" and (
            getattr(screen, "__name__", "") == "screen_text"
        )
        if screen is not None and not shipped:
            return None
        try:
            from arrears.compliance.screening import Screener
        except ImportError:
            return None
        return getattr(Screener.default(), "screen_many", None)

    def _store(self, key: tuple[str, str], found: TextFindings) -> TextFindings:
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[key] = found
        return found

    def _read(self, text: str, channel: str, result: Any) -> TextFindings:
        conduct: list[tuple[str, str]] = []
        review: list[tuple[str, str]] = []
        verdict = getattr(result, "verdict", "pass")
        for flag in getattr(result, "flags", ()):
            cat = self.pack.screening.get(flag.category)
            if cat is None:
                continue
            pair = (flag.category, cat.rule)
            target = conduct if verdict == "block" else review if verdict == "review" else None
            if target is not None and pair not in target:
                target.append(pair)
        return TextFindings(
            conduct=tuple(conduct),
            review=tuple(review),
            terms=frozenset(rid for rid, pat in self._terms if pat.search(text)),
            has_opt_out=bool(self._opt_out.search(text)) if self._opt_out is not None else True,
            letter_missing=tuple(check_letter(text, self.pack)) if channel == "letter" else (),
        )


def text_violations(
    pack: Pack,
    f: TextFindings,
    party: str,
    channel: str,
    time_barred: bool,
    active: Callable[[str], bool],
) -> tuple[dict[tuple[str, str], Reason], dict[tuple[str, str], Reason]]:
    """Violations and review warnings from a message text in its context (party, channel, account)."""
    found: dict[tuple[str, str], Reason] = {}
    warnings: dict[tuple[str, str], Reason] = {}
    for pairs, code, out in ((f.conduct, "conduct", found), (f.review, "review", warnings)):
        by_rule: dict[str, list[str]] = {}
        for cat, rule in pairs:
            by_rule.setdefault(rule, []).append(cat)
        for rule, cats in by_rule.items():
            if active(rule):
                labels = [pack.screening[c] for c in cats]
                detail = ("、".join(c.zh for c in labels), ", ".join(c.en for c in labels))
                out[(rule, code)] = reason(pack, rule, code, detail)
    if party in THIRD_PARTIES:
        for rid, code in (("CN-P1", "demand"), ("CN-P2", "disclosure"), ("US-P1", "disclosure")):
            if rid in f.terms and active(rid):  # CN-P1, CN-P2, US-P1 (1692c(b)): nothing about the debt
                found[(rid, code)] = reason(pack, rid, code)
    e1 = pack.get("US-E1")
    if e1 is not None and channel in e1["channels"] and not f.has_opt_out and active("US-E1"):
        found[("US-E1", "no_opt_out")] = reason(pack, "US-E1", "no_opt_out")  # 1006.6(e)
    if channel == "voicemail" and "US-E2" in f.terms and active("US-E2"):
        found[("US-E2", "content")] = reason(pack, "US-E2", "content")  # 1006.2(j)
    if time_barred and "US-B1" in f.terms and active("US-B1"):
        found[("US-B1", "suit")] = reason(pack, "US-B1", "suit")  # 1006.26(b)
    if channel == "letter" and f.letter_missing and active("CN-L1"):
        found[("CN-L1", "missing")] = reason(pack, "CN-L1", "missing", letter_labels(pack, f.letter_missing))
    return found, warnings


def ordered(pack: Pack, found: Mapping[tuple[str, str], Reason]) -> tuple[Reason, ...]:
    """Reasons in the pack's order of (rule, code), so every path reports them identically."""
    return tuple(found[k] for k in pack.check_order if k in found)
