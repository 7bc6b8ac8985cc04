"""Interactions as plain values, their parsing from JSON lines, and conversation features.

Pure: no I/O, no database. An interaction is a sequence of speaker turns (a call transcript, or an
SMS / e-mail / visit report as a single agent turn). Features are measured on the text only (audio is
out of scope): collector talk share by characters, interruptions, silences when turns carry times,
and raised-voice markers written into transcripts (R24: the evaluation standard is measurable).
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from itertools import accumulate, islice
from typing import Any, Literal

from arrears.core.money import is_known_currency

Speaker = Literal["agent", "debtor"]
SPEAKERS: frozenset[str] = frozenset({"agent", "debtor"})
CHANNELS: frozenset[str] = frozenset({"call", "sms", "email", "letter", "visit", "chat"})

# Money fields of the optional account metadata, all integer minor units (分/cents).  # R2
ACCOUNT_MONEY_FIELDS: tuple[str, ...] = (
    "balance_minor",
    "principal_minor",
    "interest_minor",
    "penalty_minor",
    "fees_minor",
    "instalment_minor",
    "minimum_due_minor",
)


class InteractionError(ValueError):
    """An interaction that cannot be read; `field` names the offending field, `reason` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Turn:
    speaker: Speaker
    text: str
    start: float | None = None  # seconds from the start of the call
    end: float | None = None
    interrupted: bool = False  # this turn was cut short by the other speaker (as marked by the transcriber)
    overlap: bool = False  # this turn overlapped the previous one (as marked by the transcriber)


@dataclass(frozen=True, slots=True)
class AccountFigures:
    """The account's true figures (R2), to check what the collector said against."""

    currency: str
    amounts: Mapping[str, int] = field(default_factory=dict)  # field name → minor units
    due_date: date | None = None
    annual_rate_percent: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Interaction:
    id: str
    language: str
    turns: tuple[Turn, ...]
    channel: str = "call"
    account: AccountFigures | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def primary_language(self) -> str:
        return primary_language(self.language)


def primary_language(tag: str) -> str:
    """`zh-CN` → `zh`, `en-US` → `en`."""
    return tag.replace("_", "-").split("-", 1)[0].lower()


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise InteractionError(name, "must be a non-negative number of seconds")
    return float(value)


def _parse_turn(raw: Any, index: int) -> Turn:
    where = f"turns[{index}]"
    if not isinstance(raw, Mapping):
        raise InteractionError(where, "must be an object")
    speaker = raw.get("speaker")
    if speaker not in SPEAKERS:
        raise InteractionError(f"{where}.speaker", f"must be 'agent' or 'debtor', got {speaker!r}")
    text = raw.get("text")
    if not isinstance(text, str):
        raise InteractionError(f"{where}.text", "must be a string")
    start = None if raw.get("start") is None else _number(raw["start"], f"{where}.start")
    end = None if raw.get("end") is None else _number(raw["end"], f"{where}.end")
    if start is not None and end is not None and end < start:
        raise InteractionError(f"{where}.end", f"{end} is before start {start}")
    flags = {}
    for key in ("interrupted", "overlap"):
        value = raw.get(key, False)
        if not isinstance(value, bool):
            raise InteractionError(f"{where}.{key}", "must be true or false")
        flags[key] = value
    return Turn(speaker, text, start, end, flags["interrupted"], flags["overlap"])


def _parse_account(raw: Any) -> AccountFigures:
    where = "metadata.account"
    if not isinstance(raw, Mapping):
        raise InteractionError(where, "must be an object")
    currency = raw.get("currency")
    if not isinstance(currency, str) or not is_known_currency(currency):
        raise InteractionError(f"{where}.currency", f"unknown currency {currency!r}")
    amounts: dict[str, int] = {}
    for key in ACCOUNT_MONEY_FIELDS:
        if key in raw and raw[key] is not None:
            value = raw[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InteractionError(f"{where}.{key}", "must be a non-negative integer of minor units")
            amounts[key] = value
    unknown = sorted(
        k for k in raw if k not in (*ACCOUNT_MONEY_FIELDS, "currency", "due_date", "annual_rate_percent")
    )
    if unknown:
        raise InteractionError(f"{where}.{unknown[0]}", "unknown field (money fields end in _minor)")
    due: date | None = None
    if raw.get("due_date") is not None:
        try:
            due = date.fromisoformat(str(raw["due_date"]))
        except ValueError as exc:
            raise InteractionError(f"{where}.due_date", "must be an ISO date YYYY-MM-DD") from exc
    rate: Decimal | None = None
    if raw.get("annual_rate_percent") is not None:
        value = raw["annual_rate_percent"]
        try:
            rate = Decimal(str(value)) if not isinstance(value, bool) else None
        except InvalidOperation:
            rate = None
        if rate is None or not rate.is_finite() or rate < 0:
            raise InteractionError(f"{where}.annual_rate_percent", "must be a non-negative number")
    return AccountFigures(currency.upper(), amounts, due, rate)


def parse_interaction(raw: Any) -> Interaction:
    """One decoded JSON object → an Interaction; raises InteractionError naming the field."""
    if not isinstance(raw, Mapping):
        raise InteractionError("(line)", "must be a JSON object")
    ident = raw.get("id")
    if isinstance(ident, bool) or not isinstance(ident, str | int) or str(ident) == "":
        raise InteractionError("id", "must be a non-empty string or integer")
    language = raw.get("language")
    if not isinstance(language, str) or not re.fullmatch(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*", language):
        raise InteractionError("language", f"must be a language tag such as zh-CN or en-US, got {language!r}")
    turns_raw = raw.get("turns")
    if not isinstance(turns_raw, list) or not turns_raw:
        raise InteractionError("turns", "must be a non-empty list")
    turns = tuple(_parse_turn(t, i) for i, t in enumerate(turns_raw))
    channel = raw.get("channel", "call")
    if channel not in CHANNELS:
        raise InteractionError("channel", f"must be one of {', '.join(sorted(CHANNELS))}")
    metadata = raw.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise InteractionError("metadata", "must be an object")
    account = _parse_account(metadata["account"]) if metadata.get("account") is not None else None
    return Interaction(str(ident), language, turns, channel, account, dict(metadata))


# ---------------------------------------------------------------------------------------------
# Text plumbing shared with the scorer: one normalised string per interaction, turn offsets.

# Full-width letters, digits, $ % . → ASCII, the ideographic space → space, curly apostrophes → ': the
# same length, so offsets stay valid. Full-width punctuation (，？！) is kept: it marks Chinese clauses.
_WIDTH_CHARS = "\uff04\uff05\uff0e\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u3000\u2018\u2019"
_FULLWIDTH = {
    cp: cp - 0xFEE0
    for cp in (0xFF04, 0xFF05, 0xFF0E, *range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B))
} | {0x3000: 0x20, 0x2018: 0x27, 0x2019: 0x27}
_NEEDS_WIDTH = re.compile(f"[{_WIDTH_CHARS}]")
TURN_SEPARATOR = "\n"


def normalise(text: str) -> str:
    """Lower case and half-width, length-preserving (offsets into the result are offsets into `text`)."""
    if not text.isascii() and _NEEDS_WIDTH.search(text) is not None:  # isascii reads a flag: no scan
        text = text.translate(_FULLWIDTH)
    out = text.lower()
    if len(out) != len(text):  # a few characters lower-case to two; keep one so offsets hold
        out = "".join(c.lower()[0] for c in text)
    return out


@dataclass(frozen=True, slots=True)
class Joined:
    """The turns joined by newlines; `starts[i]` is turn i's offset in `text`."""

    text: str
    starts: tuple[int, ...]

    def locate(self, offset: int) -> tuple[int, int]:
        """Offset in the joined text → (turn index, offset inside that turn)."""
        i = bisect_right(self.starts, offset) - 1
        return i, offset - self.starts[i]


def join_turns(texts: Sequence[str]) -> Joined:
    n = len(texts)
    if not n:
        return Joined("", ())
    # starts[i] = Σ (len(texts[j]) + 1) for j < i, summed in C
    starts = tuple(accumulate([len(t) + 1 for t in islice(texts, n - 1)], initial=0))
    return Joined(TURN_SEPARATOR.join(texts), starts)


# ---------------------------------------------------------------------------------------------
# Conversation features.


def round_half_even(x: float, ndigits: int) -> float:
    """`round(x, ndigits)`, exactly, without its decimal conversion in the common case (a silence list
    rounds a dozen gaps per call; `round` with digits costs as much as scanning a turn).

    x × 10ⁿ is rounded to the nearest integer k, and k / 10ⁿ is the double nearest to that decimal, as
    `round` returns, whenever the float product is far from a tie (more than its own rounding error
    away from k ± ½) and k is small and not zero (`round` keeps the sign of a zero); otherwise `round`.
    tests/quality/test_conversation.py compares the two on random and tie values.
    """
    scale = _SCALES[ndigits] if 0 <= ndigits < len(_SCALES) else None
    if scale is not None:
        y = x * scale
        if -1e12 < y < 1e12:
            k = round(y)
            if k and abs(abs(y - k) - 0.5) > 1e-3:
                return k / scale
    return round(x, ndigits)


_SCALES = (1.0, 10.0, 100.0, 1000.0, 10000.0)

# Annotations written by transcribers. Raised voice: 【大声】, [shouting], (yelling) …
RAISED_VOICE_TAGS = (
    r"[【\[(（]\s*(?:大声|吼|怒吼|喊|大喊|提高音量|提高嗓门|咆哮|shouting|shouts|yelling|yells|raised voice|"
    r"raises voice|screaming|angrily)\s*[】\])）]"
)
OVERLAP_TAGS = r"[【\[(（]\s*(?:插话|抢话|打断|重叠|overlap|overlapping|crosstalk|cross-talk|interrupts|interrupting)\s*[】\])）]"
SILENCE_TAGS = r"[【\[(（]\s*(?:静音|沉默|停顿|silence|pause|long pause|dead air)[^】\])）]{0,12}[】\])）]"
# Acronyms that are not shouting.
_CAPS_ALLOWED = frozenset(
    [
        "I",
        "A",
        "OK",
        "ID",
        "PIN",
        "SSN",
        "APR",
        "USD",
        "CNY",
        "RMB",
        "LLC",
        "INC",
        "LTD",
        "CO",
        "NA",
        "USA",
        "US",
        "UK",
        "PM",
        "AM",
        "FDCPA",
        "CFPB",
        "ACH",
        "ATM",
        "IRS",
        "DOB",
        "PO",
    ]
)
# Each expression starts with a character class, so the engine skips ahead in C.
_RAISED_TAG = re.compile(RAISED_VOICE_TAGS, re.IGNORECASE)
_BANG = re.compile(r"[!！][!！]+")
_CAPS = re.compile(r"[A-Z][A-Z']*(?:[ ,]+[A-Z][A-Z']*)+")
# Necessary for a _CAPS match: [A-Z'] then [ ,] then [ ,]* [A-Z]; each starts with a literal, so the engine
# looks for that character alone (a tight loop) instead of testing a character class at every offset.
_CAPS_HINT_SPACE = re.compile(r" (?<=[A-Z'] )[ ,]*[A-Z]")
_CAPS_HINT_COMMA = re.compile(r",(?<=[A-Z'],)[ ,]*[A-Z]")


def _has_bracket(text: str) -> bool:
    return "【" in text or "[" in text or "(" in text or "（" in text


_OVERLAP = re.compile(OVERLAP_TAGS, re.IGNORECASE)
_SILENCE = re.compile(SILENCE_TAGS, re.IGNORECASE)
_ANNOTATION = re.compile(r"【[^】]{0,16}】|\[[^\]]{0,24}\]")
_CUT_OFF = ("--", "—", "-")


@dataclass(frozen=True, slots=True)
class RaisedVoice:
    turn: int
    speaker: Speaker
    start: int
    end: int
    text: str
    kind: Literal["annotation", "exclamation", "caps"]


@dataclass(frozen=True, slots=True)
class ConversationFeatures:
    turns: int
    agent_turns: int
    debtor_turns: int
    agent_chars: int
    debtor_chars: int
    agent_talk_share: float  # agent characters ÷ all spoken characters (whitespace and annotations excluded)
    interruptions: tuple[int, ...]  # agent turns that cut the debtor short or talked over them
    debtor_interruptions: int
    silences: tuple[tuple[int, float], ...]  # (turn after the gap, gap seconds) for gaps ≥ the threshold
    silence_annotations: int
    longest_gap_seconds: float | None  # None when the turns carry no times
    duration_seconds: float | None
    raised_voice: tuple[RaisedVoice, ...]

    @property
    def agent_raised_voice(self) -> tuple[RaisedVoice, ...]:
        if not self.raised_voice:  # the usual case: no generator to start
            return ()
        return tuple(r for r in self.raised_voice if r.speaker == "agent")

    def to_dict(self) -> dict[str, Any]:
        agent_raised = self.agent_raised_voice
        return {
            "turns": self.turns,
            "agent_talk_share": round(self.agent_talk_share, 3),
            "interruptions": len(self.interruptions),
            "interruption_turns": list(self.interruptions),
            "debtor_interruptions": self.debtor_interruptions,
            "silences": len(self.silences) + self.silence_annotations,
            "longest_gap_seconds": self.longest_gap_seconds,
            "duration_seconds": self.duration_seconds,
            "raised_voice_agent": len(agent_raised),
            "raised_voice_debtor": len(self.raised_voice) - len(agent_raised),
        }


def _is_caps_shouting(run: str) -> bool:
    words = [w.strip("'") for w in re.split(r"[ ,]+", run) if w]
    loud = [w for w in words if w not in _CAPS_ALLOWED and len(w) >= 2]
    return len(loud) >= 2 and sum(len(w) for w in loud) >= 6


def raised_voice_marks(turns: Sequence[Turn], joined: Joined) -> list[RaisedVoice]:
    """Raised-voice markers in the raw joined text: annotations, runs of !!, runs of ALL-CAPS words."""
    text = joined.text
    found: list[tuple[int, int, Literal["annotation", "exclamation", "caps"]]] = []
    if _has_bracket(text):
        found.extend((m.start(), m.end(), "annotation") for m in _RAISED_TAG.finditer(text))
    # str search beats a regex scan; a one-character search (memchr) first rules out most texts
    if ("!" in text or "！" in text) and ("!!" in text or "！！" in text or "!！" in text or "！!" in text):
        found.extend((m.start(), m.end(), "exclamation") for m in _BANG.finditer(text))
    n = len(text)
    # A run of capitals needs a capital or ' right before a space or comma that leads to the next capital
    # word; the hint finds that with a literal-led search (fast) and rules out the slow scan for most texts.
    caps = _CAPS.finditer(text) if _CAPS_HINT_SPACE.search(text) or _CAPS_HINT_COMMA.search(text) else ()
    for m in caps:
        s, e = m.start(), m.end()
        if (s and text[s - 1].isalpha()) or (e < n and text[e].isalpha()) or not _is_caps_shouting(m.group()):
            continue
        found.append((s, e, "caps"))
    marks = []
    for s, e, kind in sorted(found):
        turn, pos = joined.locate(s)
        marks.append(RaisedVoice(turn, turns[turn].speaker, pos, pos + e - s, text[s:e], kind))
    return marks


def conversation_features(
    turns: Sequence[Turn],
    joined: Joined | None = None,
    *,
    silence_threshold: float = 5.0,
    overlap_tolerance: float = 0.2,
) -> ConversationFeatures:
    """Talk share, interruptions, silences and raised-voice markers of a transcript."""
    if joined is None:
        joined = join_turns([t.text for t in turns])
    text = joined.text
    annotated: set[int] = set()
    overlap_turns: set[int] = set()
    silence_annotations = 0
    if _has_bracket(text):
        annotated = {joined.locate(m.start())[0] for m in _ANNOTATION.finditer(text)}
        overlap_turns = {joined.locate(m.start())[0] for m in _OVERLAP.finditer(text)}
        silence_annotations = len(_SILENCE.findall(text))

    agent_chars = debtor_chars = agent_turns = 0
    interruptions: list[int] = []
    debtor_interruptions = 0
    silences: list[tuple[int, float]] = []
    longest: float | None = None
    prev: Turn | None = None
    dashes = "-" in text or "—" in text  # no dash anywhere: no turn ends cut off by one
    for i, t in enumerate(turns):
        body = t.text
        if annotated and i in annotated:
            body = _ANNOTATION.sub("", body)
        n = len(body) - body.count(" ")
        speaker = t.speaker
        if speaker == "agent":
            agent_chars += n
            agent_turns += 1
        else:
            debtor_chars += n
        if prev is not None:
            start, prev_end = t.start, prev.end
            timed = start is not None and prev_end is not None
            if prev.speaker != speaker and (
                prev.interrupted  # cut short …
                or (dashes and prev.text.rstrip().endswith(_CUT_OFF))
                or t.overlap  # … or talked over
                or i in overlap_turns
                or (timed and start < prev_end - overlap_tolerance)  # type: ignore[operator]
            ):
                if speaker == "agent":
                    interruptions.append(i)
                else:
                    debtor_interruptions += 1
            if timed:
                gap = start - prev_end  # type: ignore[operator]
                if longest is None or gap > longest:
                    longest = gap
                if gap >= silence_threshold:
                    # round_half_even(gap, 3) inlined (a dozen silences per call): the same value
                    y = gap * 1000.0
                    k = round(y) if -1e12 < y < 1e12 else 0
                    silences.append((i, k / 1000.0 if k and abs(abs(y - k) - 0.5) > 1e-3 else round(gap, 3)))
        prev = t
    total = agent_chars + debtor_chars
    starts = [t.start for t in turns if t.start is not None]
    ends = [t.end for t in turns if t.end is not None]
    duration = round_half_even(max(ends) - min(starts), 3) if starts and ends else None
    return ConversationFeatures(
        turns=len(turns),
        agent_turns=agent_turns,
        debtor_turns=len(turns) - agent_turns,
        agent_chars=agent_chars,
        debtor_chars=debtor_chars,
        agent_talk_share=agent_chars / total if total else 0.0,
        interruptions=tuple(interruptions),
        debtor_interruptions=debtor_interruptions,
        silences=tuple(silences),
        silence_annotations=silence_annotations,
        longest_gap_seconds=None if longest is None else round_half_even(max(longest, 0.0), 3),
        duration_seconds=duration,
        raised_voice=tuple(raised_voice_marks(turns, joined)),
    )
