"""Automatic scoring of every interaction against a scorecard (100% machine QC).  # R23, R24, R27

Each scorecard item is decided with evidence (turn index, character span, text) and a confidence.
The work is done once per interaction: the turns are normalised (lower case, half-width, offsets kept),
two Aho-Corasick automatons built from the scorecard's cue lexicon — one for the agent's groups, one
for the debtor's (affirm, deny, neutral, hardship) — find every cue turn by turn, a few regular
expressions that start on a digit, a currency sign or a Chinese numeral read the amounts, dates and
rates the agent states, and the content screening (arrears.compliance.screening) runs once over the
agent's turns for the conduct items (and over the debtor's only when asked, R18). The checks then
work on those hits. Screening findings that block fail their fatal item; findings the screening only
marks for review leave the item undecided (`needs_review`) for an inspector.

Pure: no I/O, no database. `score_interaction` returns plain values; `apply_decisions` replaces
machine decisions by an inspector's (review, appeal) and recomputes the score.

Checks and the lexicon groups they read:
- identification: `self_id` and `purpose` in the first `window` agent turns.
- identity_before_debt: `verify` (agent asks), the debtor's next reply (`affirm` / `deny`, `neutral`
  masks look-alikes such as 对不起), and the first agent turn with a `debt` cue: confirmation must come
  first, and nothing about the debt may follow a denial.  # CN-P2, US-P1
- amount_terms / figures_match: amounts, dates and rates stated by the agent, classified by the cue in
  the same clause (`claim_*`, `plan_instalment`, `plan`, `due`, `rate`), compared with the account's
  true figures when the interaction carries them; `terms` for contract terms.  # R2, US-C2 (1692e(2)(A))
- empathy: `empathy` cues (not negated), a reply that acknowledges `hardship`, talk share, interruptions.
- solution_offered: `solution` cues, not negated.  # R13
- summary_next_step: `summary` cues in the last `window` agent turns.
- tone: raised-voice markers and `rude` cues in agent turns.  # R10
- collector_disclosure: `collector_disclosure` no later than the first discussion of the debt.  # 1692e(11)
- conduct: screening flags of one category in agent turns (fatal).  # R20, CN-C1, US-C1, US-C2
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from functools import lru_cache, partial
from itertools import compress, repeat
from operator import attrgetter, itemgetter
from typing import Any, Generic, Literal, NamedTuple, Protocol, TypeVar, overload

import ahocorasick

from arrears.core.money import format_major, minor_units
from arrears.quality.conversation import (
    TURN_SEPARATOR,
    ConversationFeatures,
    Interaction,
    conversation_features,
    join_turns,
    normalise,
    primary_language,
    round_half_even,
)
from arrears.quality.matching import WORD_CHARS, PhraseMatcher
from arrears.quality.scorecards import CHECKS, Scorecard, ScorecardItem

# ---------------------------------------------------------------------------------------------
# Results.


class Evidence(NamedTuple):
    """Where an item was decided: a span of one turn. (Tuples: a transcript makes dozens.)"""

    turn: int
    speaker: str
    start: int  # character offsets inside the turn's text
    end: int
    text: str
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "turn": self.turn,
            "speaker": self.speaker,
            "start": self.start,
            "end": self.end,
            "text": self.text,
        }
        if self.note:
            d["note"] = self.note
        return d


Source = Literal["machine", "inspector"]


class ItemResult(NamedTuple):
    """One scorecard item decided (or left to an inspector), with evidence and a confidence."""

    item: str
    title: str
    passed: bool | None  # None: a manual item not yet decided
    fatal_item: bool
    weight: float
    confidence: float
    reason: str
    evidence: tuple[Evidence, ...] = ()
    source: Source = "machine"
    manual: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "title": self.title,
            "passed": self.passed,
            "fatal_item": self.fatal_item,
            "weight": self.weight,
            "confidence": round(self.confidence, 2),
            "reason": self.reason,
            "source": self.source,
            "manual": self.manual,
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass(frozen=True, slots=True)
class ScoreResult:
    id: str
    scorecard: str  # name@version
    fingerprint: str
    score: float  # 0–100, weighted over the decided non-fatal items; 0 when a fatal item failed
    fatal: bool
    meets_standard: bool  # score ≥ the scorecard's pass mark and no fatal item failed
    items: tuple[ItemResult, ...]
    features: ConversationFeatures
    debtor_conduct: Mapping[str, int] = field(default_factory=dict)  # R18: findings in debtor turns, if asked

    @property
    def pending(self) -> tuple[str, ...]:
        """Items without a decision: manual items, and automatic ones the machine leaves to an inspector."""
        return tuple(i.item for i in self.items if i.passed is None)

    @property
    def needs_review(self) -> tuple[str, ...]:
        """Automatic items the machine could not decide (e.g. a screening finding marked for review)."""
        return tuple(i.item for i in self.items if i.passed is None and not i.manual)

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(i.item for i in self.items if i.passed is False)

    @property
    def min_confidence(self) -> float:
        decided = [i.confidence for i in self.items if i.passed is not None]
        return min(decided) if decided else 0.0

    def to_dict(self, *, features: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "scorecard": self.scorecard,
            "score": self.score,
            "fatal": self.fatal,
            "meets_standard": self.meets_standard,
            "pending": list(self.pending),
            "needs_review": list(self.needs_review),
            "items": [i.to_dict() for i in self.items],
        }
        if features:
            d["features"] = self.features.to_dict()
            d["debtor_conduct"] = dict(self.debtor_conduct)
        return d


def compute_score(items: Sequence[ItemResult], pass_mark: float) -> tuple[float, bool, bool]:
    """(score, fatal, meets_standard): 100 × passed weight ÷ decided weight; a failed fatal item zeroes it."""
    fatal = False
    decided_weights: list[float] = []
    passed_weights: list[float] = []
    for i in items:  # one pass; the weights are summed in item order by sum(), as before
        if i.fatal_item:
            if i.passed is False:
                fatal = True
        elif i.passed is not None:
            decided_weights.append(i.weight)
            if i.passed:
                passed_weights.append(i.weight)
    decided = sum(decided_weights)
    passed = sum(passed_weights)
    score = 0.0 if fatal or decided <= 0 else round_half_even(100.0 * passed / decided, 1)
    return score, fatal, (not fatal and decided > 0 and score >= pass_mark)


def apply_decisions(result: ScoreResult, decisions: Mapping[str, bool], pass_mark: float) -> ScoreResult:
    """An inspector's decisions (item id → passed) replace the machine's; the score is recomputed.  # R24, R25"""
    known = {i.item for i in result.items}
    unknown = sorted(set(decisions) - known)
    if unknown:
        raise KeyError(f"no item {unknown[0]!r} in {result.scorecard}")
    items = tuple(
        i._replace(
            passed=decisions[i.item], confidence=1.0, source="inspector", reason="decided by an inspector"
        )
        if i.item in decisions
        else i
        for i in result.items
    )
    score, fatal, meets = compute_score(items, pass_mark)
    return replace(result, items=items, score=score, fatal=fatal, meets_standard=meets)


# ---------------------------------------------------------------------------------------------
# The screening interface used by the conduct items.


class _Flag(Protocol):
    @property
    def category(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def match(self) -> str: ...
    @property
    def rule(self) -> str: ...


class _Screened(Protocol):
    @property
    def verdict(self) -> str: ...
    @property
    def flags(self) -> Sequence[_Flag]: ...


# Called as screener(text, language=...) — the signature of arrears.compliance.screening.screen_text.
Screener = Callable[..., _Screened]


def default_screener() -> Screener:
    from arrears.compliance.screening import screen_text

    return screen_text


# ---------------------------------------------------------------------------------------------
# Cue scanning.

Hit = tuple[int, int, int]  # (turn, start, end) — offsets inside the turn
_SPEAKER = attrgetter("speaker")
_TEXT = attrgetter("text")
_AGENT = "agent".__eq__
_WORDISH = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.,")
# Clause punctuation; ASCII , and . only when a space or the end of the turn follows (1,234.56 is one figure).
# One character class first (the engine skips ahead in C), then a look-behind that drops a , or . not
# followed by a space or the end; the same matches as [，。；！？、：\n;!?:]|[,.](?= |\Z), found faster.
_CLAUSE_DELIM = re.compile(r"[，。；！？、：\n;!?:,.](?<![,.](?! |\Z))")
_DIGIT = re.compile(r"[0-9]")
_WORDS = re.compile(r"[a-z']+")
_FOUR_DIGITS = re.compile(r"\d{4}")
_FIGURE_CHAR = re.compile(r"[0-9元块]")  # a turn without one states no figure


# Groups read only in the debtor's turns; every other group is read only in the agent's.
DEBTOR_GROUPS = frozenset({"affirm", "deny", "neutral", "hardship"})
NOT_SCANNED = frozenset({"negation"})  # read by looking behind a cue, not searched for


class CompiledScorecard:
    """A scorecard with its lexicon compiled into two automatons (agent and debtor turns). Build once."""

    def __init__(self, card: Scorecard) -> None:
        self.card = card
        self.language = primary_language(card.language)
        for it in card.items:
            if it.mode == "auto" and it.check not in _CHECKS:
                raise ValueError(f"no automatic check {it.check!r}")  # CHECKS and _CHECKS are kept equal
        groups = {g: p for g, p in card.lexicon.items() if g not in NOT_SCANNED}
        self.agent_matcher: PhraseMatcher[str] = PhraseMatcher(
            (phrase, g) for g, phrases in groups.items() if g not in DEBTOR_GROUPS for phrase in phrases
        )
        self.debtor_matcher: PhraseMatcher[str] = PhraseMatcher(
            (phrase, g) for g, phrases in groups.items() if g in DEBTOR_GROUPS for phrase in phrases
        )
        self.negations = tuple(normalise(p) for p in card.lexicon.get("negation", ()))
        self.needs_screening = any(it.check == "conduct" for it in card.items)
        self.cjk = self.language in ("zh", "ja", "ko")
        # Groups numbered: the scan appends each hit to a list by index (cheaper than a dict per hit).
        self.group_names: tuple[str, ...] = tuple(groups)
        index = {g: i for i, g in enumerate(self.group_names)}
        self._agent_automaton = _packed(self.agent_matcher, index)
        self._debtor_automaton = _packed(self.debtor_matcher, index)
        # Results that depend on the item alone (manual items), made once and shared (they are tuples).
        self.manual_results: dict[str, ItemResult] = {
            it.id: _manual(it) for it in card.items if it.mode != "auto"
        }
        # Per item, in order: its check (a manual item's returns its fixed result) and the item.
        self.plan: tuple[tuple[Callable[[_Ctx, ScorecardItem], ItemResult], ScorecardItem], ...] = tuple(
            (_CHECKS[it.check] if it.mode == "auto" and it.check else _fixed(self.manual_results[it.id]), it)
            for it in card.items
        )
        self.clear_results: dict[str, ItemResult] = {
            it.id: _conduct_clear(it) for it in card.items if it.mode == "auto" and it.check == "conduct"
        }

    def scan(self, texts: Sequence[str], speakers: Sequence[str]) -> dict[str, list[Hit]]:
        """Every cue in the normalised turns, grouped, as (turn, start, end); agent and debtor lexicons apart."""
        names = self.group_names
        buckets: list[list[Hit]] = [[] for _ in names]
        word = WORD_CHARS
        # each turn's automaton: the agent's for agent turns, the debtor's for the others
        automata = map({"agent": self._agent_automaton}.get, speakers, repeat(self._debtor_automaton))
        for turn, (text, automaton) in enumerate(zip(texts, automata, strict=True)):
            if automaton is None:
                continue
            n1 = len(text) - 1
            # The hot loop (PhraseMatcher.matches inlined); payload (length - 1, left, right, first group
            # index, further group indices).
            for last, (length, left, right, g, more) in automaton.iter(text):
                s = last - length
                if left and s and text[s - 1] in word:
                    continue
                if right and last < n1 and text[last + 1] in word:
                    continue
                hit = (turn, s, last + 1)
                buckets[g].append(hit)
                if more:
                    for g in more:
                        buckets[g].append(hit)
        return {g: b for g, b in zip(names, buckets, strict=True) if b}


def _packed(matcher: PhraseMatcher[str], index: Mapping[str, int]) -> Any:
    """The matcher's automaton with plain-tuple values (length - 1, left, right, first group index, further
    group indices), for the scan's hot loop (a tuple unpacks faster than a dataclass reads); None if empty."""
    if matcher.automaton is None:
        return None
    automaton = ahocorasick.Automaton()
    for key, cue in matcher.automaton.items():
        first, *more = (index[g] for g in cue.payloads)
        automaton.add_word(key, (cue.length - 1, cue.left, cue.right, first, tuple(more)))
    automaton.make_automaton()
    return automaton


# ---------------------------------------------------------------------------------------------
# Figures stated by the collector: amounts, dates, rates.  # R2

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?"
_CN_NUM = r"[零〇一二两三四五六七八九十百千万亿][零〇一二两三四五六七八九十百千万亿]*"  # no leading repeat: keeps the fast scan
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_MONTH_RE = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
# Each expression starts with a character class or a literal, so the engine skips ahead in C.
_AMOUNT_SYMBOL = re.compile(rf"[¥￥$] ?(?P<n>{_NUM})(?: ?(?P<m>万|千|k\b|thousand\b))?(?: ?元)?")
_DIGIT_LED = re.compile(
    r"(?P<n>\d(?<![0-9.,a-z]\d)\d*+(?:,\d{3})*+(?:\.\d+)?+)(?:"
    r" ?(?P<m>万|千|thousand )?(?P<unit>元|块钱|块|美元|dollars?\b|bucks\b|usd\b|rmb\b)"
    r"| ?(?P<pct>%)"
    r"|年(?P<ym>\d{1,2})月(?P<yd>\d{1,2})[日号]"
    r"|月(?P<zd>\d{1,2})[日号]"
    r"|-(?P<im>\d{1,2})-(?P<id>\d{1,2})\b"
    r"|/(?P<ud>\d{1,2})(?:/(?P<uy>\d{4}|\d{2}))?\b"
    rf"|(?:st|nd|rd|th)? of (?P<dm>{_MONTH_RE})\b(?:,? (?P<dy>\d{{4}})\b)?"
    r"|(?P<day>(?:st|nd|rd|th)?\b(?:,? (?P<dayy>\d{4})\b)?)"  # a day number: a date if a month precedes it
    r")"
)
_CN_AMOUNT = re.compile(rf"(?P<n>{_CN_NUM})(?:元|块钱|块)")
_MONTH_BEFORE = re.compile(rf"(?:^|[^a-z])(?P<mon>{_MONTH_RE})\.? $")
_PERCENT_ZH = re.compile(r"百分之(?P<n>\d{1,2}(?:\.\d{1,3})?)")
_AMOUNT_NUMBER = re.compile(_NUM)
_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}


def chinese_numeral(text: str) -> int | None:
    """一万零五百 → 10500, 十五 → 15, 三千五 → 3500 (spoken short form); None when it is not a numeral."""
    if not text or not (text[0] in _CN_DIGITS or text[0] == "十"):
        return None
    result = section = number = 0
    last_unit = 0
    after_unit = False
    for ch in text:
        if ch in _CN_DIGITS:
            number = _CN_DIGITS[ch]
            after_unit = after_unit and number != 0 and last_unit > 10
            if ch in "零〇":
                last_unit = 0
        elif ch in _CN_UNITS:
            unit = _CN_UNITS[ch]
            section += (number or 1) * unit
            number, last_unit, after_unit = 0, unit, True
        elif ch == "万":
            result += (section + number) * 10_000
            section = number = 0
            last_unit, after_unit = 10_000, True
        elif ch == "亿":
            result = (result + section + number) * 100_000_000
            section = number = 0
            last_unit, after_unit = 100_000_000, True
        else:
            return None
    if number and after_unit:  # 三千五: the trailing digit counts in the next lower unit
        number *= last_unit // 10
    return result + section + number


class Figure(NamedTuple):
    """An amount, date or rate stated by the agent (a tuple: thousands are made per second)."""

    kind: Literal["amount", "date", "rate"]
    turn: int
    start: int
    end: int
    amount_minor: int | None = None
    month: int | None = None
    day: int | None = None
    year: int | None = None
    rate: Decimal | None = None
    context: str | None = None  # the lexicon group that says what the figure is


# Figure from a full 10-tuple, without NamedTuple's keyword handling (16 figures per call on average).
_figure: Callable[[tuple[Any, ...]], Figure] = partial(tuple.__new__, Figure)
_FIG_START = itemgetter(2)


_AMOUNT_CONTEXTS = (
    "plan_instalment",
    "plan",
    "claim_principal",
    "claim_interest",
    "claim_penalty",
    "claim_minimum",
    "claim_balance",
)
_CONTEXT_GROUPS = (*_AMOUNT_CONTEXTS, "due", "rate")
# group → (figure kind it names: 0 amount, 1 due date, 2 rate; rank: plan cues first, in this order)
_CONTEXT_RANK: Mapping[str, tuple[int, int]] = {
    **{g: (0, i if g.startswith("plan") else len(_AMOUNT_CONTEXTS)) for i, g in enumerate(_AMOUNT_CONTEXTS)},
    "due": (1, len(_AMOUNT_CONTEXTS)),
    "rate": (2, len(_AMOUNT_CONTEXTS)),
}
_RankedCue = tuple[int, str, int, int]  # (rank, group, start, end)
_CONTEXT_ORDER = tuple((g, kind, rank) for g, (kind, rank) in _CONTEXT_RANK.items())
_CONTEXT_FIELDS: Mapping[str, tuple[str, ...]] = {
    "claim_balance": ("balance_minor",),
    "claim_principal": ("principal_minor",),
    "claim_interest": ("interest_minor",),
    "claim_penalty": ("penalty_minor", "fees_minor"),
    "claim_minimum": ("minimum_due_minor",),
}


def _minor(number: str, mult: str | None, places: int) -> int | None:
    digits = number.replace(",", "")
    whole, _, frac = digits.partition(".")
    if (
        mult is None
        and len(digits) <= 18  # well inside Decimal's 28 digits: the exact path below rounds nothing either
        and whole.isdecimal()
        and (not frac or frac.isdecimal())
        and len(frac) <= places
    ):  # plain digits: integer arithmetic, the same value as the Decimal path
        return int(whole) * 10**places + (int(frac) * 10 ** (places - len(frac)) if frac else 0)
    try:
        value = Decimal(number.replace(",", ""))
    except InvalidOperation:
        return None
    if mult in ("万",):
        value *= 10_000
    elif mult and mult.strip() in ("千", "k", "thousand"):
        value *= 1000
    return int((value * (10**places)).to_integral_value())


@lru_cache(maxsize=64)
def _fields_of(carried: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """The account fields each context names, among those an account carries (the same few sets recur)."""
    return {c: tuple(k for k in ks if k in carried) for c, ks in _CONTEXT_FIELDS.items()}


def _within(stated: int, values: Iterable[int], tol: int) -> bool:
    """Some value within `tol` of `stated` (a plain loop: cheaper than any() over a generator)."""
    for v in values:  # noqa: SIM110 (a generator frame per figure costs more than the loop)
        if abs(stated - v) <= tol:
            return True
    return False


def _year(text: str | None) -> int | None:
    if not text:
        return None
    y = int(text)
    return y + 2000 if y < 100 else y


def _month(text: str) -> int:
    return _MONTHS.index(text[:3]) + 1


def _clause_cue(cues: list[_RankedCue], delims: list[int], length: int, start: int, end: int) -> str | None:
    """The group of the cue in the same clause as the span, nearest to it (the lowest rank wins: plan cues
    over claims; then the distance, a cue after the span counting double; then the group's name)."""
    i = bisect_right(delims, start - 1)
    a = delims[i - 1] + 1 if i else 0
    j = bisect_right(delims, end - 1)
    b = delims[j] if j < len(delims) else length
    # the least (rank, distance, group), compared field by field (no key tuple per cue)
    best: str | None = None
    best_rank = best_distance = 0
    for rank, g, s, e in cues:
        if s < a or e > b:
            continue
        distance = start - e if e <= start else (2 * (s - end) if s > end else 0)
        if (
            best is None
            or rank < best_rank
            or (rank == best_rank and (distance < best_distance or (distance == best_distance and g < best)))
        ):
            best, best_rank, best_distance = g, rank, distance
    return best


def _turn_figures(
    turn: int, text: str, places: int, cues: tuple[list[_RankedCue], ...], cjk: bool
) -> list[Figure]:
    """The figures of one agent turn, in the order the expressions find them; `cues` are the turn's context
    cues by kind (0 amount, 1 due date, 2 rate)."""
    found: list[Figure] = []
    amount_cues, date_cues, rate_cues = cues
    # Clause punctuation, read only when some cue may give a figure its context.
    delims = (
        [m.start() for m in _CLAUSE_DELIM.finditer(text)] if amount_cues or date_cues or rate_cues else []
    )
    n = len(text)
    scale = 10**places
    if _DIGIT.search(text) is not None:
        taken: set[int] = set()  # digit positions already read as part of a figure
        symbols = _AMOUNT_SYMBOL.finditer(text) if ("$" in text or "¥" in text or "￥" in text) else ()
        for m in symbols:
            value = _minor(m.group("n"), m.group("m"), places)
            if value is not None:
                s, e = m.span()
                ctx = _clause_cue(amount_cues, delims, n, s, e) if amount_cues else None
                found.append(_figure(("amount", turn, s, e, value, None, None, None, None, ctx)))
                taken.add(m.start("n"))
        for m in _PERCENT_ZH.finditer(text) if "百分之" in text else ():
            s, e = m.span()
            rate = Decimal(m.group("n"))
            ctx = _clause_cue(rate_cues, delims, n, s, e) if rate_cues else None
            found.append(_figure(("rate", turn, s, e, None, None, None, None, rate, ctx)))
            taken.add(m.start("n"))
        for m in _DIGIT_LED.finditer(text):
            start, end = m.span()
            if start in taken or (start and text[start - 1] in _WORDISH):
                continue
            number, mult, unit, pct = m.group("n", "m", "unit", "pct")
            if unit:
                if not (number.isdigit() or _AMOUNT_NUMBER.fullmatch(number)):  # plain digits always fit
                    continue
                # plain digits (most amounts): _minor's integer path, inlined
                plain = mult is None and len(number) <= 18 and number.isdecimal()
                value = int(number) * scale if plain else _minor(number, mult, places)
                if value is not None:
                    ctx = _clause_cue(amount_cues, delims, n, start, end) if amount_cues else None
                    found.append(_figure(("amount", turn, start, end, value, None, None, None, None, ctx)))
                continue
            if pct:
                try:
                    rate = Decimal(number)
                except InvalidOperation:
                    continue
                ctx = _clause_cue(rate_cues, delims, n, start, end) if rate_cues else None
                found.append(_figure(("rate", turn, start, end, None, None, None, None, rate, ctx)))
                continue
            if not number.isdigit():
                continue
            if m.group("day") is not None:
                if len(number) > 2 or cjk:
                    continue
                month = _MONTH_BEFORE.search(text, max(0, start - 11), start)
                if month is None:
                    continue
                start = month.start("mon")
                y, mo, d = _year(m.group("dayy")), _month(month.group("mon")), int(number)
            elif m.group("ym"):
                y, mo, d = _year(number) if len(number) == 4 else None, int(m.group("ym")), int(m.group("yd"))
            elif m.group("zd"):
                y, mo, d = None, int(number), int(m.group("zd"))
            elif m.group("im"):
                y, mo, d = _year(number), int(m.group("im")), int(m.group("id"))
            elif m.group("ud"):
                y, mo, d = _year(m.group("uy")), int(number), int(m.group("ud"))
            else:
                y, mo, d = _year(m.group("dy")), _month(m.group("dm")), int(number)
            if not (1 <= mo <= 12 and 1 <= d <= 31):
                continue
            ctx = _clause_cue(date_cues, delims, n, start, end) if date_cues else None
            found.append(_figure(("date", turn, start, end, None, mo, d, y, None, ctx)))
    for m in _CN_AMOUNT.finditer(text) if "元" in text or "块" in text else ():  # it ends in 元 or 块
        s, e = m.span()
        if s and text[s - 1].isdigit():
            continue  # the 万 of 1万元, read with the digits
        value = chinese_numeral(m.group("n"))
        if value is not None:
            ctx = _clause_cue(amount_cues, delims, n, s, e) if amount_cues else None
            found.append(_figure(("amount", turn, s, e, value * scale, None, None, None, None, ctx)))
    return found


# ---------------------------------------------------------------------------------------------
# The per-interaction context the checks read.

_T = TypeVar("_T")


class _once(Generic[_T]):  # lower case: used as a decorator, like cached_property
    """functools.cached_property without its lock (Python 3.11 takes one on every first read, a few per
    transcript); a _Ctx is used by one thread. The value is stored in the instance's __dict__."""

    def __init__(self, func: Callable[[Any], _T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _once[_T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> _T: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> _T | _once[_T]:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.func(obj)
        return value


class _Ctx:
    def __init__(
        self,
        interaction: Interaction,
        compiled: CompiledScorecard,
        screener: Screener | None,
        features: ConversationFeatures | None = None,
    ) -> None:
        self.interaction = interaction
        self.compiled = compiled
        self.turns = turns = interaction.turns
        self.speakers = speakers = list(map(_SPEAKER, turns))
        self.raw_texts = raw_texts = list(map(_TEXT, turns))
        self.raw = join_turns(raw_texts)
        self.norm = norm = normalise(self.raw.text)
        texts = norm.split(TURN_SEPARATOR)
        if len(texts) != len(turns):  # a turn holds a newline itself: cut by offsets instead
            texts = [norm[a : a + len(t)] for a, t in zip(self.raw.starts, raw_texts, strict=True)]
        self.texts = texts
        n = len(texts)
        self.agent_turns = list(compress(range(n), map(_AGENT, speakers)))
        self.hits = compiled.scan(texts, speakers)
        self.features = features or conversation_features(turns, self.raw)
        self._screener = screener
        self.cjk = compiled.cjk
        self._checked: dict[tuple[Any, str], tuple[list[Evidence], list[Evidence], int]] = {}
        self._by_turn: dict[str, dict[int, list[Hit]]] = {}
        self._affirmed: dict[tuple[str, int], Hit | None] = {}

    # -- hits ---------------------------------------------------------------------------------
    def agent(self, group: str) -> list[Hit]:
        """Hits of an agent-side group, in turn order (the debtor's turns are scanned with other groups)."""
        return [] if group in DEBTOR_GROUPS else self.hits.get(group, [])

    def debtor(self, group: str) -> list[Hit]:
        return self.hits.get(group, []) if group in DEBTOR_GROUPS else []

    def in_turn(self, group: str, turn: int) -> list[Hit]:
        return sorted([h for h in self.hits.get(group, ()) if h[0] == turn])

    def first_affirmed(self, group: str, turns: Iterable[int] | None = None) -> Hit | None:
        """The first agent hit of a group that no negation precedes (optionally within some turns)."""
        allowed = None if turns is None else set(turns)
        for h in self.agent(group):
            if (allowed is None or h[0] in allowed) and not self.negated(h):
                return h
        return None

    def first_affirmed_in(self, group: str, turn: int) -> Hit | None:
        """`first_affirmed(group, (turn,))`, with the group's hits indexed by turn once and the answer kept
        (the empathy check asks it for the reply to every hardship cue)."""
        key = (group, turn)
        if key in self._affirmed:
            return self._affirmed[key]
        index = self._by_turn.get(group)
        if index is None:
            index = self._by_turn[group] = {}
            for h in self.agent(group):
                index.setdefault(h[0], []).append(h)
        found = next((h for h in index.get(turn, ()) if not self.negated(h)), None)
        self._affirmed[key] = found
        return found

    def turn_norm(self, turn: int) -> str:
        return self.texts[turn]

    def next_turn(self, after: int, speaker: str) -> int | None:
        """The first turn after `after` spoken by `speaker`."""
        sp = self.speakers
        for i in range(after + 1, len(sp)):
            if sp[i] == speaker:
                return i
        return None

    def negated(self, hit: Hit) -> bool:
        """A negator right before the cue: 3 characters in Chinese, 3 words in English."""
        negations = self.compiled.negations
        if not negations:
            return False
        turn, start, _ = hit
        text = self.turn_norm(turn)
        if self.cjk:
            window = text[max(0, start - 3) : start]
            return any(n in window for n in negations)
        words = _WORDS.findall(text[max(0, start - 40) : start])[-3:]
        return any(w in negations or w.endswith("n't") for w in words)

    def evidence(self, hit: Hit, note: str | None = None) -> Evidence:
        turn, start, end = hit
        return _evidence((turn, self.speakers[turn], start, end, self.raw_texts[turn][start:end], note))

    def whole_turn(self, turn: int, note: str | None = None, limit: int = 80) -> Evidence:
        text = self.turns[turn].text
        return Evidence(turn, self.speakers[turn], 0, min(len(text), limit), text[:limit], note)

    @_once
    def identity(self) -> _Identity:
        return _identity(self)

    # -- screening ----------------------------------------------------------------------------
    def _screen(self, speaker: str) -> tuple[str, list[tuple[Hit, str, str, str]]]:
        """Screen one speaker's turns (joined by newlines) once: (verdict, [(hit, category, match, rule)])."""
        if self._screener is None:
            self._screener = default_screener()
        turns = (
            self.agent_turns
            if speaker == "agent"
            else [i for i, s in enumerate(self.speakers) if s == speaker]
        )
        if not turns:
            return "pass", []
        raw = self.raw_texts
        result = self._screener(
            TURN_SEPARATOR.join(map(raw.__getitem__, turns)), language=self.compiled.language
        )
        out = []
        if result.flags:  # the turn offsets are needed only to place findings
            joined = join_turns([raw[i] for i in turns])
            for f in result.flags:
                k, pos = joined.locate(f.start)
                turn = turns[k]
                end = min(pos + (f.end - f.start), len(raw[turn]))
                out.append(((turn, pos, end), f.category, f.match, f.rule))
        return str(result.verdict), out

    @_once
    def screening(self) -> tuple[dict[str, list[tuple[Hit, str, str]]], frozenset[str]]:
        """(agent findings by category as (hit, match, rule), the categories whose findings block).

        The screening gives one verdict per text; when it blocks and several categories were found, each
        category's matches are screened again on their own to tell the blocking findings from those the
        screening only marks for review (e.g. a bare legal word next to a threat).
        """
        verdict, flags = self._screen("agent")
        by_category: dict[str, list[tuple[Hit, str, str]]] = {}
        for hit, category, match, rule in flags:
            by_category.setdefault(category, []).append((hit, match, rule))
        if verdict != "block":
            return by_category, frozenset()
        if len(by_category) == 1:
            return by_category, frozenset(by_category)
        assert self._screener is not None
        blocking = set()
        for category, found in by_category.items():
            alone = self._screener("\n".join(m for _, m, _ in found), language=self.compiled.language)
            if alone.verdict == "block" and any(f.category == category for f in alone.flags):
                blocking.add(category)
        return by_category, frozenset(blocking or by_category)

    @_once
    def debtor_conduct(self) -> dict[str, int]:
        """R18: screening findings in the debtor's turns (abuse or threats toward the collector), by category."""
        counts: dict[str, int] = {}
        for _, category, _, _ in self._screen("debtor")[1]:
            counts[category] = counts.get(category, 0) + 1
        return counts

    # -- figures ------------------------------------------------------------------------------
    def _figure_cues(self, turns: Sequence[int]) -> dict[int, tuple[list[_RankedCue], ...]]:
        """The context cues of the given turns by the kind of figure they name (amount, due date, rate), as
        (rank, group, start, end); only the turns that can state a figure are indexed."""
        by_turn: dict[int, tuple[list[_RankedCue], ...]] = {t: ([], [], []) for t in turns}
        hits = self.hits
        for g, kind, rank in _CONTEXT_ORDER:
            for t, s, e in hits.get(g, ()):
                cues = by_turn.get(t)
                if cues is not None:
                    cues[kind].append((rank, g, s, e))
        return by_turn

    @_once
    def figures(self) -> list[Figure]:
        """Amounts, dates and rates in agent turns, each with the cue that says what it is."""
        account = self.interaction.account
        places = minor_units(account.currency) if account is not None else 2
        texts = self.texts
        speakers = self.speakers
        starts = self.raw.starts
        norm = self.norm
        # Only the turns with a digit, 元 or 块 can state a figure: one search over the whole normalised
        # transcript finds the next such turn (most turns have none).
        turns: list[int] = []
        pos = 0
        last = len(starts) - 1
        while (found_at := _FIGURE_CHAR.search(norm, pos)) is not None:
            turn = bisect_right(starts, found_at.start()) - 1
            pos = starts[turn + 1] if turn < last else len(norm)
            if speakers[turn] == "agent":
                turns.append(turn)
        out: list[Figure] = []
        if not turns:
            return out
        cues_of = self._figure_cues(turns)
        for turn in turns:
            found = _turn_figures(turn, texts[turn], places, cues_of[turn], self.cjk)
            if len(found) > 1:
                found.sort(key=_FIG_START)
            out.extend(found)
        return out

    def check_figures(self, params: Mapping[str, Any]) -> tuple[list[Evidence], list[Evidence], int]:
        """(mismatches, the first three matches, unchecked count) of the stated figures against the account."""
        key = (params.get("amount_tolerance_minor", 100), str(params.get("rate_tolerance_percent", "0.01")))
        cached = self._checked.get(key)
        if cached is None:
            cached = self._checked[key] = self._check_figures(int(key[0]), Decimal(key[1]))
        return cached

    def _check_figures(self, tol: int, rate_tol: Decimal) -> tuple[list[Evidence], list[Evidence], int]:
        account = self.interaction.account
        if account is None:
            return [], [], len(self.figures)
        bad: list[Evidence] = []
        good: list[tuple[Hit, str]] = []  # evidence is made for the first few only
        unchecked = 0
        amounts = account.amounts
        cur = account.currency
        every = list(amounts.values())
        balance = amounts.get("balance_minor")
        fields_of = _fields_of(tuple(amounts))
        for f in self.figures:
            kind, turn, start, end, stated, month, day, year, rate, context = f
            hit = (turn, start, end)
            if kind == "amount" and stated is not None:
                fields = fields_of.get(context, ()) if context else ()
                if fields:
                    if (
                        abs(stated - amounts[fields[0]]) <= tol
                        if len(fields) == 1
                        else _within(stated, [amounts[k] for k in fields], tol)
                    ):
                        good.append((hit, "matches the account"))
                    else:
                        true = amounts[fields[0]]
                        note = f"stated {format_major(stated, cur)}; account {fields[0][:-6]} {format_major(true, cur)}"
                        bad.append(self.evidence(hit, note))
                elif _within(stated, every, tol):
                    good.append((hit, "matches the account"))
                elif context in ("plan", "plan_instalment") and balance is not None:
                    if stated > balance + tol:
                        note = f"offer of {format_major(stated, cur)} exceeds the balance {format_major(balance, cur)}"
                        bad.append(self.evidence(hit, note))
                    else:
                        good.append((hit, "within the balance"))
                else:
                    unchecked += 1
            elif kind == "date" and context == "due" and account.due_date is not None:
                due = account.due_date
                if month == due.month and day == due.day and year in (None, due.year):
                    good.append((hit, "matches the due date"))
                else:
                    bad.append(self.evidence(hit, f"account due date is {due.isoformat()}"))
            elif kind == "rate" and context == "rate" and account.annual_rate_percent is not None:
                assert rate is not None
                if abs(rate - account.annual_rate_percent) <= rate_tol:
                    good.append((hit, "matches the annual rate"))
                else:
                    bad.append(self.evidence(hit, f"account annual rate is {account.annual_rate_percent}%"))
            else:
                unchecked += 1
        return bad, [self.evidence(h, n) for h, n in good[:3]], unchecked


# ---------------------------------------------------------------------------------------------
# The checks.


def _result(
    item: ScorecardItem,
    passed: bool | None,
    confidence: float,
    reason: str,
    evidence: Iterable[Evidence] = (),
) -> ItemResult:
    return _item_result(
        (
            item.id,
            item.title,
            passed,
            item.fatal,
            item.weight,
            confidence,
            reason,
            tuple(evidence),
            "machine",
            False,
        )
    )


# ItemResult and Evidence from a full tuple, without NamedTuple's keyword handling (dozens per transcript).
_item_result: Callable[[tuple[Any, ...]], ItemResult] = partial(tuple.__new__, ItemResult)
_evidence: Callable[[tuple[Any, ...]], Evidence] = partial(tuple.__new__, Evidence)


_NAME_NEXT = re.compile(r"\s+(?!(?:A|An|The|It|I|Is|This|That)\b)[A-Z]")


def _names_someone(c: _Ctx, hit: Hit) -> bool:
    """'this is' identifies the caller only when a name follows (This is Dana …, not This is an attempt …)."""
    turn, start, end = hit
    if c.cjk or c.texts[turn][start:end] != "this is":
        return True
    return _NAME_NEXT.match(c.turns[turn].text, end) is not None


def _check_identification(c: _Ctx, item: ScorecardItem) -> ItemResult:
    window = set(c.agent_turns[: int(item.params.get("window", 3))])
    selfs = [h for h in c.agent("self_id") if h[0] in window and _names_someone(c, h)]
    purposes = [h for h in c.agent("purpose") if h[0] in window]
    if selfs and purposes:
        return _result(
            item,
            True,
            0.85,
            "the agent said who they are and why they call",
            [c.evidence(selfs[0], "identification"), c.evidence(purposes[0], "purpose")],
        )
    missing = " and ".join(w for w, ok in (("who they are", selfs), ("why they call", purposes)) if not ok)
    ev = [c.evidence(h) for h in (selfs[:1] + purposes[:1])]
    return _result(
        item, False, 0.75, f"in the first {len(window)} agent turns the agent did not say {missing}", ev
    )


def _reply_kind(c: _Ctx, turn: int) -> tuple[str, Hit | None]:
    """Classify a debtor reply by its first cue: affirm, deny or none (neutral phrases mask look-alikes)."""
    cues = [(h[1], -(h[2] - h[1]), g, h) for g in ("affirm", "deny", "neutral") for h in c.in_turn(g, turn)]
    cues.sort()
    for _, _, g, h in cues:
        if g == "neutral":
            # A neutral phrase masks the cues it contains; look for one after it.
            masked_end = h[2]
            rest = [x for x in cues if x[3][1] >= masked_end and x[2] != "neutral"]
            if rest:
                return rest[0][2], rest[0][3]
            return "none", None
        return g, h
    if _FOUR_DIGITS.search(c.turns[turn].text):  # answered a last-four-digits or date-of-birth question
        return "affirm", (turn, 0, len(c.turns[turn].text))
    return "none", None


@dataclass(frozen=True, slots=True)
class _Identity:
    first_debt: Hit | None  # the first agent mention of the debt
    confirmed: tuple[Hit, Hit] | None  # (verification question, the debtor's confirmation)
    denied: tuple[Hit, Hit] | None  # (verification question, the answer that it is someone else)
    told_third_party: Hit | None  # a mention of the debt after a denial and before any confirmation


def _identity(c: _Ctx) -> _Identity:
    debt = c.agent("debt")
    confirmed: tuple[Hit, Hit] | None = None
    denied: tuple[Hit, Hit] | None = None
    asked = sorted({h[0]: h for h in reversed(c.agent("verify"))}.values())
    for q in asked:
        reply = c.next_turn(q[0], "debtor")
        if reply is None:
            continue
        kind, hit = _reply_kind(c, reply)
        if kind == "affirm" and hit is not None:
            confirmed = (q, hit)
            break
        if kind == "deny" and hit is not None and denied is None:
            denied = (q, hit)
    told = None
    if denied is not None:
        until = confirmed[1][0] if confirmed is not None else len(c.turns)
        told = next((h for h in debt if denied[1][0] < h[0] < until), None)
    return _Identity(debt[0] if debt else None, confirmed, denied, told)


def _check_identity(c: _Ctx, item: ScorecardItem) -> ItemResult:
    facts = c.identity
    first_debt, confirmed, denied = facts.first_debt, facts.confirmed, facts.denied
    if first_debt is None:
        return _result(item, True, 0.5, "the debt was not discussed")
    d_turn = first_debt[0]
    if (
        denied is not None
        and facts.told_third_party is not None
        and (confirmed is None or confirmed[1][0] > d_turn)
    ):
        return _result(
            item,
            False,
            0.85,
            "the debt was discussed with a person who said they are not the debtor",
            [c.evidence(denied[1], "denial"), c.evidence(facts.told_third_party, "debt discussed")],
        )
    if confirmed is not None and confirmed[1][0] < d_turn:
        return _result(
            item,
            True,
            0.85,
            "identity confirmed before the debt was discussed",
            [
                c.evidence(confirmed[0], "verification"),
                c.evidence(confirmed[1], "confirmation"),
                c.evidence(first_debt, "debt first discussed"),
            ],
        )
    ev = [c.evidence(first_debt, "debt discussed before verification")]
    if confirmed is not None:
        ev.append(c.evidence(confirmed[1], "confirmation came later"))
    return _result(
        item, False, 0.8, f"the debt was discussed (turn {d_turn}) before the identity was verified", ev
    )


def _check_amount_terms(c: _Ctx, item: ScorecardItem) -> ItemResult:
    bad, good, _ = c.check_figures(item.params)
    if bad:
        return _result(item, False, 0.8, "a figure stated does not match the account", bad)
    amounts = [f for f in c.figures if f.kind == "amount" and f.context not in ("plan", "plan_instalment")]
    if not amounts:
        return _result(item, False, 0.7, "the agent did not state the amount owed")
    terms = c.agent("terms")
    dated = [f for f in c.figures if f.kind != "amount" and f.context]
    amount = c.evidence((amounts[0].turn, amounts[0].start, amounts[0].end), "amount")
    if not terms and not dated:
        return _result(
            item,
            False,
            0.6,
            "the amount was stated without any contract term (due date, interest, fees)",
            [amount],
        )
    term = (
        c.evidence(terms[0], "term")
        if terms
        else c.evidence((dated[0].turn, dated[0].start, dated[0].end), "term")
    )
    if c.interaction.account is None:
        return _result(
            item,
            True,
            0.65,
            "amount and terms stated (no account figures supplied to check them)",
            [amount, term],
        )
    if good:
        return _result(
            item, True, 0.9, "amount and terms stated and consistent with the account", [*good[:3], term]
        )
    return _result(
        item,
        True,
        0.6,
        "amount and terms stated; none of them could be checked against the account",
        [amount, term],
    )


def _check_figures_match(c: _Ctx, item: ScorecardItem) -> ItemResult:
    bad, good, _ = c.check_figures(item.params)
    if bad:
        return _result(item, False, 0.8, "a figure stated does not match the account", bad)
    if c.interaction.account is None:
        return _result(item, True, 0.3, "no account figures supplied; not checked")
    if not good:
        return _result(item, True, 0.6, "no figure stated that could be checked")
    return _result(item, True, 0.9, "every checked figure matches the account", good[:3])


def _check_empathy(c: _Ctx, item: ScorecardItem) -> ItemResult:
    max_share = float(item.params.get("max_talk_share", 0.85))
    max_interruptions = int(item.params.get("max_interruptions", 1))
    first = c.first_affirmed("empathy")
    problems: list[str] = []
    ev: list[Evidence] = []
    answered: tuple[Hit, Hit] | None = None
    unanswered: Hit | None = None
    for h in c.debtor("hardship"):
        reply = c.next_turn(h[0], "agent")
        if reply is None:
            continue
        ack = c.first_affirmed_in("empathy", reply) if first is not None else None
        if ack is not None:
            answered = (h, ack)
            break
        if unanswered is None:
            unanswered = h
        if first is None:
            break  # no empathy anywhere: no later reply can acknowledge, the outcome is settled
    if first is None:
        problems.append("no acknowledgement or empathy from the agent")
    if unanswered is not None and answered is None:
        problems.append(
            f"the debtor described hardship (turn {unanswered[0]}) and the reply did not acknowledge it"
        )
        ev.append(c.evidence(unanswered, "hardship not acknowledged"))
    share = c.features.agent_talk_share
    if share > max_share:
        problems.append(f"the agent did {share:.0%} of the talking (limit {max_share:.0%})")
    interruptions = c.features.interruptions
    if len(interruptions) > max_interruptions:
        problems.append(f"the agent interrupted the debtor {len(interruptions)} times")
        ev.extend(c.whole_turn(t, "interruption") for t in interruptions[:3])
    if problems:
        return _result(item, False, 0.7, "; ".join(problems), ev + ([c.evidence(first)] if first else []))
    assert first is not None
    if answered is not None:
        return _result(
            item,
            True,
            0.85,
            "the agent acknowledged the debtor's situation",
            [c.evidence(answered[0], "hardship"), c.evidence(answered[1], "acknowledged")],
        )
    return _result(item, True, 0.65, "the agent showed empathy and let the debtor speak", [c.evidence(first)])


def _check_solution(c: _Ctx, item: ScorecardItem) -> ItemResult:
    offer = c.first_affirmed("solution")
    if offer is not None:
        return _result(
            item, True, 0.8, "a repayment plan or relief was offered", [c.evidence(offer, "offer")]
        )
    refusals = c.agent("solution")
    if refusals:
        return _result(
            item,
            False,
            0.7,
            "the agent mentioned a plan only to refuse it",
            [c.evidence(refusals[0], "refused")],
        )
    return _result(item, False, 0.75, "no repayment plan, instalment, deferral or relief was offered")


def _check_summary(c: _Ctx, item: ScorecardItem) -> ItemResult:
    window = int(item.params.get("window", 2))
    last = set(c.agent_turns[-window:])
    found = [h for h in c.agent("summary") if h[0] in last]
    if found:
        return _result(item, True, 0.75, "the agent summarised and set the next step", [c.evidence(found[0])])
    return _result(item, False, 0.7, f"no summary or next step in the last {window} agent turns")


def _check_tone(c: _Ctx, item: ScorecardItem) -> ItemResult:
    marks = c.features.agent_raised_voice
    rude = [h for h in c.agent("rude") if not c.negated(h)]
    if not marks and not rude:
        return _result(item, True, 0.6, "no raised-voice markers or curt phrases in the agent's turns")
    ev = [Evidence(m.turn, "agent", m.start, m.end, m.text, f"raised voice ({m.kind})") for m in marks[:3]]
    ev.extend(c.evidence(h, "curt phrase") for h in rude[:3])
    reasons = []
    if marks:
        reasons.append(f"{len(marks)} raised-voice marker(s)")
    if rude:
        reasons.append(f"{len(rude)} curt phrase(s)")
    return _result(item, False, 0.8, " and ".join(reasons) + " in the agent's turns", ev)


def _check_collector_disclosure(c: _Ctx, item: ScorecardItem) -> ItemResult:
    said = c.agent("collector_disclosure")
    inside = {(t, s) for t, a, b in said for (tt, s, e) in c.agent("debt") if tt == t and a <= s and e <= b}
    debt = [h for h in c.agent("debt") if (h[0], h[1]) not in inside]
    if not said:
        ev = [c.evidence(debt[0], "debt discussed")] if debt else []
        return _result(item, False, 0.85, "the agent never said the call is from a debt collector", ev)
    if debt and debt[0][0] < said[0][0]:
        return _result(
            item,
            False,
            0.8,
            f"the debt was discussed (turn {debt[0][0]}) before the disclosure (turn {said[0][0]})",
            [c.evidence(debt[0], "debt discussed"), c.evidence(said[0])],
        )
    return _result(
        item, True, 0.85, "the agent disclosed the call is from a debt collector", [c.evidence(said[0])]
    )


def _check_conduct(c: _Ctx, item: ScorecardItem) -> ItemResult:
    category = str(item.params["category"])
    flags, blocking = c.screening
    found = flags.get(category, [])
    told = c.identity.told_third_party if category == "disclosure" else None
    if told is None and not found:
        return c.compiled.clear_results[item.id]  # the same result for every clean transcript, made once
    if told is not None and c.identity.denied is not None:  # CN-P2, US-P1: the listener said it is not them
        ev = [c.evidence(c.identity.denied[1], "not the debtor"), c.evidence(told, "debt disclosed")]
        return _result(
            item,
            False,
            0.85,
            "the debt was disclosed to a person who said they are not the debtor",
            ev + [c.evidence(h, f"disclosure ({rule})") for h, _m, rule in found[:3]],
        )
    if not found:
        return _result(item, True, 0.7, f"screening found no {category} in the agent's turns")
    ev = [c.evidence(hit, f"{category} ({rule})") for hit, _match, rule in found[:5]]
    if category in blocking:
        return _result(item, False, 0.9, f"screening found {category} in the agent's turns", ev)
    # A finding the screening leaves to a person: the item waits for an inspector instead of zeroing the score.
    return _result(item, None, 0.5, f"screening asks an inspector to review possible {category}", ev)


_CHECKS: Mapping[str, Callable[[_Ctx, ScorecardItem], ItemResult]] = {
    "identification": _check_identification,
    "identity_before_debt": _check_identity,
    "amount_terms": _check_amount_terms,
    "figures_match": _check_figures_match,
    "empathy": _check_empathy,
    "solution_offered": _check_solution,
    "summary_next_step": _check_summary,
    "tone": _check_tone,
    "collector_disclosure": _check_collector_disclosure,
    "conduct": _check_conduct,
}
assert set(_CHECKS) == CHECKS, "every check named in scorecards.CHECKS is implemented here"


def _fixed(result: ItemResult) -> Callable[[_Ctx, ScorecardItem], ItemResult]:
    return lambda _c, _item: result


def _conduct_clear(item: ScorecardItem) -> ItemResult:
    category = str(item.params["category"])
    return _result(item, True, 0.7, f"screening found no {category} in the agent's turns")


def _manual(item: ScorecardItem) -> ItemResult:
    return _result(item, None, 0.0, "manual item: awaiting an inspector")._replace(manual=True)


_COMPILED: dict[str, CompiledScorecard] = {}


def compile_scorecard(card: Scorecard) -> CompiledScorecard:
    """The compiled form of a scorecard, cached by content fingerprint."""
    key = card.fingerprint or f"{card.ref}:{id(card)}"
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = _COMPILED[key] = CompiledScorecard(card)
    return compiled


def score_interaction(
    interaction: Interaction,
    scorecard: Scorecard | CompiledScorecard,
    *,
    screener: Screener | None = None,
    decisions: Mapping[str, bool] | None = None,
    debtor_conduct: bool = False,
) -> ScoreResult:
    """Score one interaction: every automatic item decided with evidence; manual items left pending.

    `screener` defaults to arrears.compliance.screening.screen_text; `decisions` (item id → passed)
    are an inspector's and replace the machine's; `debtor_conduct` also screens the debtor's turns
    (R18: abuse or threats toward the collector), at the cost of a second screening pass.
    """
    compiled = scorecard if isinstance(scorecard, CompiledScorecard) else compile_scorecard(scorecard)
    card = compiled.card
    c = _Ctx(interaction, compiled, screener)
    items = tuple([check(c, it) for check, it in compiled.plan])
    debtor_findings = c.debtor_conduct if debtor_conduct else {}
    score, fatal, meets = compute_score(items, card.pass_mark)
    result = ScoreResult(
        id=interaction.id,
        scorecard=card.ref,
        fingerprint=card.fingerprint,
        score=score,
        fatal=fatal,
        meets_standard=meets,
        items=items,
        features=c.features,
        debtor_conduct=debtor_findings,
    )
    return apply_decisions(result, decisions, card.pass_mark) if decisions else result


__all__ = [
    "CompiledScorecard",
    "Evidence",
    "Figure",
    "ItemResult",
    "ScoreResult",
    "Screener",
    "apply_decisions",
    "chinese_numeral",
    "compile_scorecard",
    "compute_score",
    "score_interaction",
]
