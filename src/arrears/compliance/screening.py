"""Content screening: messages, templates, scripts and call transcripts (zh and en) checked for
forbidden conduct before they are sent, and after the fact for quality inspection.

Rules: CN-C1 (forbidden conduct), US-C1 (harassment), US-C2 (false representation), US-P2
(third parties), US-E1 (opt-out in electronic messages), US-E2 (limited-content voicemail);
R20, R21 in the requirements digest.

How a text is screened
----------------------
1. The text is normalised (`arrears.compliance.normalise`): full-width forms, case,
   traditional characters, spacing and punctuation inserted between characters, spaced-out
   Latin letters. Every view keeps a map back to the original, so each `Flag` reports
   `start`/`end` in the ORIGINAL text and ``text[start:end] == flag.match``.
2. ONE Aho-Corasick automaton (pyahocorasick) holds every lexicon key of both languages —
   conduct terms, their generated variants (templates, homophones, pinyin initials, masked and
   stretched English spellings), allow-listed lawful phrases, opt-out wording and the
   traditional characters that send a text to the folding path. Keys that are nothing but
   voicemail items (debt, owe, 欠款, 逾期 … — common in every collection text) live in a second
   automaton that runs only for the voicemail channel. The automaton runs
   over the UTF-8 bytes of the views (read as Latin-1), which keeps the trie's fan-out small.
   Latin keys are padded with spaces, so they match whole tokens only ("sb" never inside
   "subway"). Both lexicons are always screened: mixed-language evasion is common.
3. A few compiled regular expressions cover what a list cannot (a named organ in "我是XX法院",
   a lawful notice of a filed case, ID, card and social-security numbers, amounts in a
   voicemail). Each runs only when a trigger term was found (or the automaton saw a digit
   shape — a nine-digit run, ddd-dd-dddd, dddd dddd dddd — or the channel is a voicemail), so
   the common path is one automaton pass. ID numbers are checked with the GB 11643 check digit and
   card numbers with Luhn before they count.

Verdict policy
--------------
* ``block`` — any blocking finding: `threat`, `abuse`, `impersonation`, `shaming`,
  `disclosure`, `privacy`, a clearly false legal claim (`false_legal`: jail or arrest for a
  civil debt, children barred from school, a debt that "never expires"), and the channel
  findings `opt_out_missing` and `voicemail_content`.
* ``review`` — softer or ambiguous findings for a person to judge: `pressure`, `deception`
  cues, a bare legal word (起诉, 法院, lawsuit, attorney, garnish) outside an allow-listed
  lawful phrase, a lawyer or mediator claim.
* ``pass`` — nothing found.

Severity is data: each lexicon file gives its category's default and an entry may override it
(a few softer wordings of a blocking category are `review`, e.g. "contact your employer" or
"我是律师"). `BLOCKING_CATEGORIES` names the categories whose default is `block`.

Flags: one per stretch of text and category (overlapping findings of one category are merged
into one span); ordered by position. `match` is always ``text[start:end]`` of the original.

Allow list: a conduct finding lying wholly inside an allow-listed lawful phrase is dropped —
the legally required disclosures ("this is an attempt to collect a debt", validation-notice
wording, "because of the age of your debt, we will not sue you"), a factual notice of a suit
filed with a court ("已向XX人民法院提起诉讼", "a lawsuit has been filed against you in ...
court, case number ..."), the consumer's right to a lawyer or to dispute, negated statements
("我们不会联系您的家人", "we will not contact your employer") and anti-fraud reminders. Such
factual mentions pass; the same words elsewhere are `review`. Findings outside the allowed
span are never hidden.

Rule ids: each finding carries the rule of the pack that applies — the `pack` argument, or,
when it is None, the language's pack (zh → cn, en → us; language None → CJK present → zh,
else en). Under `cn` every conduct category is CN-C1; under `us` the lexicon says which of
US-C1, US-C2 or US-P2 fits each term.

Channels (when `channel` is given)
----------------------------------
* ``sms``/``email`` under pack ``us``: a message without an opt-out ("Reply STOP to opt out",
  "unsubscribe", "回复TD退订") gets `opt_out_missing` (US-E1, block), reported as an empty
  span at the end of the text (where the opt-out belongs). Under pack ``cn`` nothing is
  flagged: no rule of the cn pack requires an opt-out in a collection message (the 退订
  requirement of 工信部 applies to commercial messages), so its absence is not a finding.
* ``voicemail``: any item beyond the limited content — a mention of a debt, an amount, a
  payment, being overdue or collection (debt, owe, overdue, collection, 欠款, 逾期, ¥500 …) —
  is flagged `voicemail_content` (block) at its span: US-E2 under pack us; under pack cn the
  rule is CN-P2, because a voicemail may be heard by a third party and the debt must not be
  disclosed to one. The allow list does not apply here: a mini-Miranda in a voicemail still
  reveals the debt.
"""

from __future__ import annotations

import itertools
import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from importlib.abc import Traversable
from operator import itemgetter
from pathlib import Path
from typing import Any

import ahocorasick
import numpy as np
import yaml

from arrears.compliance.normalise import (
    CLASS_TABLE,
    CONTINUATION,
    SINGLE_RUN,
    WORD_TABLE,
    cjk_view,
    fold,
    is_cjk,
    trad_to_simp,
    word_text,
    word_text_from_bytes,
)
from arrears.core.errors import ValidationFailed

__all__ = [
    "BLOCKING_CATEGORIES",
    "CATEGORIES",
    "CHANNELS",
    "CHANNEL_CATEGORIES",
    "PACKS",
    "Flag",
    "LexiconError",
    "LexiconInfo",
    "ScreenResult",
    "Screener",
    "check_channel",
    "check_language",
    "check_pack",
    "screen_text",
]

CATEGORIES = (
    "threat",
    "abuse",
    "impersonation",
    "disclosure",
    "shaming",
    "false_legal",
    "pressure",
    "deception",
    "privacy",
)
CHANNEL_CATEGORIES = ("opt_out_missing", "voicemail_content")
BLOCKING_CATEGORIES = frozenset(
    {"threat", "abuse", "impersonation", "disclosure", "shaming", "privacy", *CHANNEL_CATEGORIES}
)
PACKS = ("cn", "us")
LANGUAGES = ("zh", "en")
CHANNELS = frozenset(
    {
        "sms",
        "email",
        "voicemail",
        "call",
        "phone",
        "letter",
        "visit",
        "chat",
        "app",
        "push",
        "wechat",
        "transcript",
    }
)
ELECTRONIC_CHANNELS = frozenset({"sms", "email"})  # US-E1 (12 CFR 1006.6(e))
_HOME_PACK = {"zh": "cn", "en": "us"}
_SEVERITY_RANK = {"review": 1, "block": 2}
_MAX_TEMPLATE_EXPANSION = 20_000

# Common full-width punctuation: NFKC maps each to one ASCII character, so replacing them keeps
# positions and lets ordinary Chinese text stay on the fast path.
_FULLWIDTH_PUNCT = (
    ("，", ","),
    ("！", "!"),
    ("？", "?"),
    ("：", ":"),
    ("；", ";"),
    ("（", "("),
    ("）", ")"),
    ("～", "~"),
    ("％", "%"),
    ("￥", "¥"),
    ("\u3000", " "),
)
_ASCII_LOWER = bytes(b + 32 if 65 <= b <= 90 else b for b in range(256))
# A separator run touching a CJK character next to a one-character segment (see cjk_view).
_CJK_JOIN = re.compile(rb"(?<![^ ])c +[^ ]|c +[^ ](?![^ ])|(?<![^ ])[^ ] +c|[^ ] +c(?![^ ])")
_SEPARATORS = re.compile(rb" +")
# From about this many characters walking the separator runs beats the expression above (measured on
# zh texts: at 60 the expression 0.2 µs against 0.6; at 120 the walk 2.2 µs against 5.9; at 700 12 against 35)
_LONG_TEXT = 100
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_EDGE_STARS = re.compile(rb"(?<![^ ])\*+|\*+(?![^ ])")  # '*' runs at a token's edge: emphasis
_ESCAPE = re.compile(r"\\[^xuUN]")
_ASCII_LETTER = re.compile(r"[A-Za-z]")
_SLOT = re.compile(r"\{([a-z_]+)\}")
# Dropping the apostrophe from these would make an ordinary word ("we'll" → "well").
_APOSTROPHE_STOP = frozenset(
    {"were", "well", "hell", "shell", "ill", "its", "id", "wed", "shed", "hes", "shes", "cant"}
)


class LexiconError(ValueError):
    """A shipped or supplied lexicon file is malformed (names the file and the reason)."""


@dataclass(frozen=True)
class Flag:
    category: str
    start: int
    end: int
    match: str
    rule: str


@dataclass(frozen=True)
class ScreenResult:
    verdict: str  # "pass" | "review" | "block"
    flags: tuple[Flag, ...]


@dataclass(frozen=True, slots=True)
class _Entry:
    kind: str  # conduct | allow | opt_out | voicemail
    category: str
    severity: str
    rules: tuple[tuple[str, str], ...]
    source: str

    def rule(self, pack: str) -> str:
        for p, r in self.rules:
            if p == pack:
                return r
        return self.rules[0][1] if self.rules else ""


@dataclass(frozen=True, slots=True)
class _Pattern:
    id: str
    kind: str  # conduct | allow | voicemail
    category: str
    severity: str
    rules: tuple[tuple[str, str], ...]
    regex: re.Pattern[str]
    when: str  # "" (triggered by terms) | digits | voicemail
    validate: str  # "" | cn_id | luhn

    def rule(self, pack: str) -> str:
        for p, r in self.rules:
            if p == pack:
                return r
        return self.rules[0][1] if self.rules else ""


@dataclass
class _Key:
    region: str  # "W" (Latin view, padded) or "C" (Chinese view)
    entries: list[_Entry] = field(default_factory=list)
    patterns: list[_Pattern] = field(default_factory=list)
    trad: bool = False
    digits: bool = False


@dataclass(frozen=True)
class LexiconInfo:
    version: str
    files: tuple[tuple[str, str], ...]  # (relative path, version)
    terms: int  # base entries written in the files (templates count once)
    expanded_terms: int  # distinct phrases once templates are expanded (before generated variants)
    keys: int  # distinct automaton keys, generated variants included


# --------------------------------------------------------------------------- lexicon loading


def _rules_of(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise LexiconError(f"{where}: 'rules' must map a pack (cn, us) to a rule id")
    unknown = set(value) - set(PACKS)
    if unknown:
        raise LexiconError(f"{where}: unknown pack(s) in 'rules': {sorted(unknown)}")
    return dict(value)


def _str_list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list):
        raise LexiconError(f"{where}: expected a list of strings")
    for item in value:
        if not isinstance(item, str):  # e.g. an unquoted off/no/yes, which YAML reads as a boolean
            raise LexiconError(f"{where}: {item!r} is not a string (quote it)")
    return value


def _expand_template(template: str, slots: dict[str, list[str]], where: str) -> list[str]:
    names = _SLOT.findall(template)
    if not names:
        return [template]
    for name in names:
        if name not in slots:
            raise LexiconError(f"{where}: template {template!r} uses unknown slot {{{name}}}")
    parts = _SLOT.split(template)  # literal, name, literal, name, ..., literal
    choices: list[list[str]] = []
    total = 1
    for i, part in enumerate(parts):
        options = slots[part] if i % 2 else [part]
        choices.append(options)
        total *= len(options)
    if total > _MAX_TEMPLATE_EXPANSION:
        raise LexiconError(
            f"{where}: template {template!r} expands to {total} terms (limit {_MAX_TEMPLATE_EXPANSION})"
        )
    return ["".join(combo) for combo in itertools.product(*choices)]


def _homophones(term: str, table: dict[str, list[str]], exclude: set[str], limit: int) -> list[str]:
    options = [[ch, *table.get(ch, [])] for ch in term]
    out: list[str] = []
    for combo in itertools.product(*options):
        variant = "".join(combo)
        if variant not in exclude:
            out.append(variant)
        if len(out) >= limit:
            break
    return out


_VOWELS = "aeiou"


def _english_variants(term: str) -> list[str]:
    """Plural, masked ("f*ck", "f**k") and stretched ("fuuck") spellings of a one-word term."""
    if " " in term or not term.isalpha():
        return [term]
    out = {term}
    out.add(term + ("es" if term.endswith(("s", "sh", "ch", "x")) else "s"))
    if len(term) >= 3:
        for i in range(1, len(term) - 1):  # inner letters only: an edge '*' is emphasis, not a mask
            out.add(term[:i] + "*" + term[i + 1 :])
        out.add(term[0] + "*" * (len(term) - 2) + term[-1])
    for i, ch in enumerate(term):
        if ch in _VOWELS:
            out.add(term[: i + 1] + ch + term[i + 1 :])
            out.add(term[: i + 1] + ch * 2 + term[i + 1 :])
            break
    return sorted(out)


def _apostrophe_variants(term: str) -> list[str]:
    term = term.replace("’", "'")
    if "'" not in term:
        return [term]
    tokens = term.split(" ")
    joined = [
        t.replace("'", "") if "'" in t and t.replace("'", "") not in _APOSTROPHE_STOP else t for t in tokens
    ]
    variant = " ".join(joined)
    return [term] if variant == term else [term, variant]


def _scan_key(term: str) -> tuple[str, str] | None:
    """(region, automaton key) for a lexicon term, normalised exactly as texts are."""
    folded, _ = fold(term)
    if any(is_cjk(ch) for ch in folded):
        view, _ = cjk_view(folded)
        view = view.strip()
        if not view:
            return None
        return "C", view.encode("utf-8", "surrogatepass").translate(_ASCII_LOWER).decode("latin-1")
    words = word_text(folded)
    if not words.strip():
        return None
    return "W", words


@dataclass
class _Builder:
    keys: dict[str, _Key] = field(default_factory=dict)
    patterns: list[_Pattern] = field(default_factory=list)
    files: list[tuple[str, str]] = field(default_factory=list)
    terms: int = 0
    expanded: set[str] = field(default_factory=set)
    cache: dict[str, tuple[str, str] | None] = field(default_factory=dict)

    def add(
        self, term: str, entry: _Entry | None = None, pattern: _Pattern | None = None, trad: bool = False
    ) -> None:
        scanned = self.cache[term] if term in self.cache else self.cache.setdefault(term, _scan_key(term))
        if scanned is None:
            return
        region, key = scanned
        slot = self.keys.get(key)
        if slot is None:
            slot = self.keys[key] = _Key(region)
        if entry is not None and entry not in slot.entries:
            slot.entries.append(entry)
        if pattern is not None and pattern not in slot.patterns:
            slot.patterns.append(pattern)


def _read_yaml(path: Traversable, rel: str) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text("utf-8"), Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise LexiconError(f"{rel}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise LexiconError(f"{rel}: expected a mapping at the top level")
    for key in ("version", "language", "effective", "citations"):
        if key not in data:
            raise LexiconError(f"{rel}: missing '{key}'")
    if data["language"] not in LANGUAGES:
        raise LexiconError(f"{rel}: language must be one of {LANGUAGES}, got {data['language']!r}")
    _str_list(data["citations"], f"{rel}: citations")
    return data


def _compile_pattern(raw: Any, defaults: dict[str, Any], rel: str) -> tuple[_Pattern, list[str]]:
    if not isinstance(raw, dict) or "id" not in raw or "regex" not in raw:
        raise LexiconError(f"{rel}: each pattern needs 'id' and 'regex'")
    where = f"{rel}: pattern {raw['id']}"
    try:
        # case-insensitive only where the pattern has a letter outside its escapes (\s, \d …;
        # a letter written as \x41 or \u0041 counts as one):
        # the flag changes nothing for CJK-only patterns but makes every match attempt slower
        letters = _ASCII_LETTER.search(_ESCAPE.sub("", str(raw["regex"])))
        regex = re.compile(raw["regex"], re.IGNORECASE if letters else 0)
    except re.error as exc:
        raise LexiconError(f"{where}: bad regex ({exc})") from exc
    when = raw.get("when", "")
    if when not in ("", "digits", "voicemail"):
        raise LexiconError(f"{where}: 'when' must be digits or voicemail")
    validate = raw.get("validate", "")
    if validate not in ("", "cn_id", "luhn"):
        raise LexiconError(f"{where}: 'validate' must be cn_id or luhn")
    triggers = _str_list(raw.get("triggers", []), f"{where}: triggers")
    if not when and not triggers:
        raise LexiconError(f"{where}: needs 'triggers' or 'when'")
    rules = {**defaults["rules"], **_rules_of(raw.get("rules"), where)}
    severity = raw.get("severity", defaults["severity"])
    if defaults["kind"] == "conduct" and severity not in _SEVERITY_RANK:
        raise LexiconError(f"{where}: severity must be block or review")
    pattern = _Pattern(
        id=str(raw["id"]),
        kind=defaults["kind"],
        category=raw.get("category", defaults["category"]),
        severity=severity,
        rules=tuple(sorted(rules.items())),
        regex=regex,
        when=when,
        validate=validate,
    )
    return pattern, triggers


def _load_language(root: Traversable, lang: str, builder: _Builder) -> None:
    folder = root.joinpath(lang)
    files = sorted((p for p in folder.iterdir() if p.name.endswith(".yaml")), key=lambda p: p.name)
    docs = {p.name: _read_yaml(p, f"{lang}/{p.name}") for p in files}
    shared_slots: dict[str, list[str]] = {}
    homophone_table: dict[str, list[str]] = {}
    homophone_exclude: set[str] = set()
    homophone_limit = 400
    for name, doc in docs.items():
        rel = f"{lang}/{name}"
        if doc["language"] != lang:
            raise LexiconError(f"{rel}: language {doc['language']!r} does not match its folder")
        builder.files.append((rel, str(doc["version"])))
        if doc.get("kind") == "slots":
            for slot, values in (doc.get("slots") or {}).items():
                shared_slots[slot] = _str_list(values, f"{rel}: slot {slot}")
        elif doc.get("kind") == "homophones":
            for ch, values in (doc.get("chars") or {}).items():
                homophone_table[str(ch)] = _str_list(values, f"{rel}: chars {ch}")
            homophone_exclude = set(_str_list(doc.get("exclude", []), f"{rel}: exclude"))
            homophone_limit = int(doc.get("max_variants", homophone_limit))
    for name, doc in docs.items():
        rel = f"{lang}/{name}"
        kind = doc.get("kind", "conduct")
        if kind in ("slots", "homophones"):
            continue
        if kind == "channel":
            _load_channel(doc, rel, lang, builder)
            continue
        if kind not in ("conduct", "allow"):
            raise LexiconError(f"{rel}: unknown kind {kind!r}")
        category = doc.get("category", "" if kind == "allow" else None)
        if kind == "conduct" and category not in CATEGORIES:
            raise LexiconError(f"{rel}: category must be one of {CATEGORIES}, got {category!r}")
        severity = doc.get("severity", "" if kind == "allow" else None)
        if kind == "conduct" and severity not in _SEVERITY_RANK:
            raise LexiconError(f"{rel}: severity must be block or review")
        rules = _rules_of(doc.get("rules"), rel)
        if kind == "conduct" and set(rules) != set(PACKS):
            raise LexiconError(f"{rel}: 'rules' must name the rule id for every pack {PACKS}")
        slots = {**shared_slots}
        for slot, values in (doc.get("slots") or {}).items():
            slots[slot] = _str_list(values, f"{rel}: slot {slot}")
        terms = doc.get("terms") or []
        if not isinstance(terms, list):
            raise LexiconError(f"{rel}: 'terms' must be a list")
        for n, raw in enumerate(terms, 1):
            where = f"{rel}: term {n}"
            if isinstance(raw, str):
                spec: dict[str, Any] = {"term": raw}
            elif isinstance(raw, dict) and isinstance(raw.get("term"), str):
                spec = raw
            else:
                raise LexiconError(f"{where}: expected a string or a mapping with 'term'")
            entry_sev = spec.get("severity", severity)
            if kind == "conduct" and entry_sev not in _SEVERITY_RANK:
                raise LexiconError(f"{where}: severity must be block or review")
            entry_rules = {**rules, **_rules_of(spec.get("rules"), where)}
            entry = _Entry(
                kind=kind,
                category=category or "",
                severity=entry_sev or "",
                rules=tuple(sorted(entry_rules.items())),
                source=f"{rel}: {spec['term']}",
            )
            builder.terms += 1
            for expanded in _expand_template(spec["term"], slots, where):
                builder.expanded.add(expanded)
                variants = [expanded]
                if spec.get("homophones"):
                    variants = _homophones(expanded, homophone_table, homophone_exclude, homophone_limit)
                if spec.get("variants"):
                    variants = [v for t in variants for v in _english_variants(t)]
                if lang == "en":
                    variants = [v for t in variants for v in _apostrophe_variants(t)]
                for variant in variants:
                    builder.add(variant, entry=entry)
        defaults = {"kind": kind, "category": category or "", "severity": severity or "", "rules": rules}
        for raw in doc.get("patterns") or []:
            pattern, triggers = _compile_pattern(raw, defaults, rel)
            builder.patterns.append(pattern)
            for trigger in triggers:
                builder.add(trigger, pattern=pattern)


def _load_channel(doc: dict[str, Any], rel: str, lang: str, builder: _Builder) -> None:
    for kind in ("opt_out", "voicemail"):
        category = "voicemail_content" if kind == "voicemail" else ""
        rules = (("cn", "CN-P2"), ("us", "US-E2")) if kind == "voicemail" else (("us", "US-E1"),)
        for term in _str_list(doc.get(kind, []), f"{rel}: {kind}"):
            builder.terms += 1
            builder.expanded.add(term)
            entry = _Entry(kind, category, "block", rules, f"{rel}: {term}")
            for variant in _apostrophe_variants(term) if lang == "en" else [term]:
                builder.add(variant, entry=entry)
    defaults = {
        "kind": "voicemail",
        "category": "voicemail_content",
        "severity": "block",
        "rules": {"cn": "CN-P2", "us": "US-E2"},
    }
    for raw in doc.get("patterns") or []:
        pattern, triggers = _compile_pattern(raw, defaults, rel)
        builder.patterns.append(pattern)
        for trigger in triggers:
            builder.add(trigger, pattern=pattern)


# --------------------------------------------------------------------------- validators


def _digits(s: str) -> str:
    return "".join(ch for ch in s if ch.isdigit() or ch in "xX")


def _valid_cn_id(s: str) -> bool:
    """GB 11643 check digit of an 18-character resident ID number."""
    d = _digits(s).upper()
    if len(d) != 18 or not d[:17].isdigit():
        return False
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c) * w for c, w in zip(d[:17], weights, strict=True))
    return "10X98765432"[total % 11] == d[17]


def _valid_luhn(s: str) -> bool:
    d = [int(c) for c in s if c.isdigit()]
    if not 16 <= len(d) <= 19:
        return False
    total = 0
    for i, n in enumerate(reversed(d)):
        if i % 2:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


_VALIDATORS = {"cn_id": _valid_cn_id, "luhn": _valid_luhn}


# --------------------------------------------------------------------------- the screener


class _Prepared:
    """The views of one text as the automaton sees them, with lazily built position maps."""

    __slots__ = (
        "cbytes",
        "classes",
        "cmap",
        "fmap",
        "folded",
        "scan",
        "wb",
        "wbytes",
        "wlen",
        "wpos",
    )

    def __init__(self, folded: str, fmap: list[int] | None) -> None:
        self.folded = folded
        self.fmap = fmap
        self.wpos: Any = None  # positions of the view's token characters in the folded text
        self.cmap: list[int] | None = None
        u8 = folded.encode("utf-8", "surrogatepass")
        ascii_only = len(u8) == len(folded)
        classes = b"" if ascii_only else u8.translate(CLASS_TABLE, CONTINUATION)
        self.classes = classes  # empty for ASCII: no CJK, and nothing below needs the classes
        if ascii_only or b"a" in classes or b"U" in classes:
            wbytes = u8.translate(WORD_TABLE, CONTINUATION)
            wb = b" " + b" ".join(wbytes.split()) + b" "
            # '*' at token edges and spaced-out letters ("s b", "k i l l") need the exact word view
            if b"*" in wb or SINGLE_RUN.search(wb):
                wb = word_text_from_bytes(wbytes)
        else:  # no Latin letter: no Latin key can match (none is made of digits alone)
            wbytes, wb = b"", b"  "
        self.wbytes = wbytes
        self.wb = wb
        self.wlen = len(wb)
        if ascii_only:  # no Chinese view needed
            self.cbytes = b""
            self.scan = wb.decode("latin-1")
            return
        if (b"c " in classes or b" c" in classes) and _cjk_join_needed(classes):
            ctext, self.cmap = cjk_view(folded, classes)
            u8 = ctext.encode("utf-8", "surrogatepass")
        self.cbytes = u8.translate(_ASCII_LOWER) if b"U" in classes else u8
        self.scan = (wb + b"\n" + self.cbytes).decode("latin-1")

    def _to_original(self, start: int, end: int) -> tuple[int, int]:
        if self.fmap is None:
            return start, end
        return self.fmap[start], self.fmap[end - 1] + 1

    def _word_pos(self, p: int) -> int:
        """Position in the folded text of the token character at word-view position p."""
        # The view's token characters are, in order, the non-space bytes of the word bytes once '*'
        # runs at token edges are blanked (joining one-letter runs only removes spaces between
        # them), so the k-th token character of the view is the k-th of those bytes.
        if self.wpos is None:
            src = self.wbytes
            if b"*" in src:
                src = _EDGE_STARS.sub(_blank, src)
            self.wpos = np.flatnonzero(np.frombuffer(src, dtype=np.uint8) != 0x20)
        return int(self.wpos[p - self.wb.count(b" ", 0, p)])

    def word_span(self, key_start: int, key_end: int) -> tuple[int, int]:
        """Original span of a padded Latin key found at scan[key_start:key_end]."""
        return self._to_original(self._word_pos(key_start + 1), self._word_pos(key_end - 2) + 1)

    def cjk_span(self, key_start: int, key_end: int) -> tuple[int, int]:
        """Original span of a Chinese-view key found at scan[key_start:key_end]."""
        offset = self.wlen + 1
        bs, be = key_start - offset, key_end - offset
        cs = len(self.cbytes[:bs].decode("utf-8", "surrogatepass"))
        ce = cs + len(self.cbytes[bs:be].decode("utf-8", "surrogatepass"))
        if self.cmap is not None:
            cs, ce = self.cmap[cs], self.cmap[ce - 1] + 1
        return self._to_original(cs, ce)

    def regex_span(self, start: int, end: int) -> tuple[int, int]:
        return self._to_original(start, end)


def _cjk_join_needed(classes: bytes) -> bool:
    """Whether `cjk_view` deletes anything: a separator run touching a CJK character ('c') with a
    one-character segment on one side. Short texts: one expression; longer ones: the separator runs
    walked one by one (see _LONG_TEXT)."""
    n = len(classes)
    if n < _LONG_TEXT:
        return _CJK_JOIN.search(classes) is not None
    for m in _SEPARATORS.finditer(classes):
        s, e = m.span()
        if s == 0 or e == n or (classes[s - 1] != 0x63 and classes[e] != 0x63):
            continue  # a segment missing on one side, or no CJK character touching the run
        if s == 1 or classes[s - 2] == 0x20 or e + 1 == n or classes[e + 1] == 0x20:
            return True
    return False


def _blank(m: re.Match[bytes]) -> bytes:
    return b" " * (m.end() - m.start())


def _prepare(text: str, force_fold: bool = False) -> _Prepared:
    if force_fold:
        return _Prepared(*fold(text))
    if text.isascii():
        return _Prepared(text, None)
    s = text.replace("，", ",") if "，" in text else text  # the commonest by far
    if not unicodedata.is_normalized("NFKC", s):
        for wide, narrow in _FULLWIDTH_PUNCT:
            if wide in s:
                s = s.replace(wide, narrow)
        if not unicodedata.is_normalized("NFKC", s):
            return _Prepared(*fold(text))
    return _Prepared(s, None)


def _check_choice(value: str | None, allowed: Iterable[str], name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationFailed(f"{name} must be a string, got {type(value).__name__}")
    norm = value.strip().lower()
    if name == "language":
        norm = norm.split("-")[0].split("_")[0]
    options = sorted(allowed)
    if norm not in options:
        raise ValidationFailed(f"unknown {name} {value!r}; expected one of {', '.join(options)}")
    return norm


def check_language(value: str | None) -> str | None:
    """'zh', 'en' (or a tag such as zh-CN) → 'zh' / 'en'; None stays None; else ValidationFailed."""
    return _check_choice(value, LANGUAGES, "language")


def check_channel(value: str | None) -> str | None:
    return _check_choice(value, CHANNELS, "channel")


def check_pack(value: str | None) -> str | None:
    return _check_choice(value, PACKS, "pack")


_PASS = ScreenResult("pass", ())
_END = itemgetter(0)


def _options(
    language: str | None, channel: str | None, pack: str | None
) -> tuple[str | None, str | None, str | None]:
    return (
        None if language is None else check_language(language),
        None if channel is None else check_channel(channel),
        None if pack is None else check_pack(pack),
    )


class Screener:
    """Screens texts against the lexicons it was built from. Thread-safe once built."""

    _default: Screener | None = None
    _default_lock = threading.Lock()

    def __init__(self, builder: _Builder) -> None:
        # Two automata: keys that are only voicemail items (debt, owe, 欠款 …: frequent in ordinary
        # collection texts and relevant only to a voicemail) sit in their own, scanned only for the
        # voicemail channel; everything else is in the main one.
        automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)
        vm_automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)
        for key, info in builder.keys.items():
            conduct = tuple(e for e in info.entries if e.kind == "conduct")
            allow = any(e.kind == "allow" for e in info.entries)
            voicemail = tuple(e for e in info.entries if e.kind == "voicemail")
            opt_out = any(e.kind == "opt_out" for e in info.entries)
            # rescan bits: 1 a traditional character (fold, scan again); 4 a digit shape (run the
            # `when: digits` patterns)
            redo = (1 if info.trad else 0) | (4 if info.digits else 0)
            # payload: key length, Latin view?, conduct entries, allowed phrase?, voicemail entries,
            # opt-out?, triggered patterns, rescan bits
            payload = (
                len(key),
                info.region == "W",
                conduct,
                allow,
                voicemail,
                opt_out,
                tuple(info.patterns),
                redo,
            )
            target = automaton if (conduct or allow or opt_out or info.patterns or redo) else vm_automaton
            target.add_word(key, payload)
        automaton.make_automaton()
        vm_automaton.make_automaton()
        self._automaton = automaton
        self._vm_automaton = vm_automaton if len(vm_automaton) else None
        self._keys = {key: info.region for key, info in builder.keys.items()}
        self._digit_patterns = tuple(p for p in builder.patterns if p.when == "digits")
        self._voicemail_patterns = tuple(p for p in builder.patterns if p.when == "voicemail")
        versions = sorted({v for _, v in builder.files})
        self.info = LexiconInfo(
            version="+".join(versions),
            files=tuple(builder.files),
            terms=builder.terms,
            expanded_terms=len(builder.expanded),
            keys=len(builder.keys),
        )

    # -- construction

    @classmethod
    def from_directory(cls, root: Traversable | Path | str | None = None) -> Screener:
        """Build from a lexicon folder (default: the shipped `lexicons/`); LexiconError if malformed."""
        if root is None:
            base: Traversable = resources.files("arrears.compliance").joinpath("lexicons")
        else:
            base = Path(root) if isinstance(root, str) else root
        builder = _Builder()
        for lang in LANGUAGES:
            _load_language(base, lang, builder)
        for trad in trad_to_simp():  # a traditional character (raw, unfolded) sends the text through folding
            key = trad.encode("utf-8").decode("latin-1")
            builder.keys.setdefault(key, _Key("C")).trad = True
        # digit shapes in the Latin view (digits are written 0 there): ID and card numbers written
        # solid, ddd-dd-dddd, dddd dddd dddd
        for shape in ("000000000", " 000 00 0000 ", " 0000 0000 0000"):
            builder.keys.setdefault(shape, _Key("W")).digits = True
        return cls(builder)

    @classmethod
    def default(cls) -> Screener:
        """The screener over the shipped lexicons, built once per process."""
        if cls._default is None:
            with cls._default_lock:
                if cls._default is None:
                    cls._default = cls.from_directory()
        return cls._default

    # -- introspection (benchmarks, docs)

    def keys(self) -> dict[str, str]:
        """Every automaton key and its view ("W" padded Latin view, "C" Chinese view as UTF-8 read as Latin-1)."""
        return dict(self._keys)

    def scan_text(self, text: str) -> str:
        """The string the automaton runs over for `text` (for benchmarks)."""
        return _prepare(text).scan

    @property
    def automaton(self) -> Any:
        return self._automaton

    # -- screening

    def screen(
        self,
        text: str,
        *,
        language: str | None = None,
        channel: str | None = None,
        pack: str | None = None,
    ) -> ScreenResult:
        if not isinstance(text, str):
            raise ValidationFailed(f"text must be a string, got {type(text).__name__}")
        lang, chan, pk = _options(language, channel, pack)
        prep = _prepare(text)
        return self._finish(text, prep, self._hits(prep.scan, chan), lang, chan, pk)

    def screen_many(
        self,
        texts: Iterable[str],
        *,
        language: str | None = None,
        channel: str | None = None,
        pack: str | None = None,
    ) -> list[ScreenResult]:
        """`[self.screen(t, ...) for t in texts]`, with the options checked once; a text that is not
        a string raises ValidationFailed naming its index. (Joining every text into one automaton
        pass was measured and was slower: handing hits back to their texts costs more in Python than
        one `iter` call per text.)"""
        lang, chan, pk = _options(language, channel, pack)
        out: list[ScreenResult] = []
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValidationFailed(f"text {i} must be a string, got {type(text).__name__}")
            prep = _prepare(text)
            out.append(self._finish(text, prep, self._hits(prep.scan, chan), lang, chan, pk))
        return out

    def _hits(self, scan: str, chan: str | None) -> Iterable[tuple[int, Any]]:
        hits = self._automaton.iter(scan)
        if chan == "voicemail" and self._vm_automaton is not None:
            return sorted(itertools.chain(hits, self._vm_automaton.iter(scan)), key=_END)
        return hits

    def _finish(
        self,
        text: str,
        prep: _Prepared,
        hits: Iterable[tuple[int, Any]],
        lang: str | None,
        chan: str | None,
        pk: str | None,
    ) -> ScreenResult:
        result = self._judge(text, prep, hits, lang, chan, pk)
        if isinstance(result, int):  # a traditional character: fold, scan again
            prep = _prepare(text, force_fold=True)
            result = self._judge(text, prep, self._hits(prep.scan, chan), lang, chan, pk, rescan=False)
        assert isinstance(result, ScreenResult)
        return result

    def _screen_folding(self, text: str, **kw: Any) -> ScreenResult:
        """Screen through the reference (always folding) path; tests check it agrees with `screen`."""
        lang, chan, pk = _options(kw.get("language"), kw.get("channel"), kw.get("pack"))
        prep = _prepare(text, force_fold=True)
        result = self._judge(text, prep, self._hits(prep.scan, chan), lang, chan, pk, rescan=False)
        assert isinstance(result, ScreenResult)
        return result

    def _judge(
        self,
        text: str,
        prep: _Prepared,
        hits: Iterable[tuple[int, Any]],
        lang: str | None,
        chan: str | None,
        pk: str | None,
        rescan: bool = True,
    ) -> ScreenResult | int:
        """The verdict for the automaton's hits, or 1 when a hit asks for a folding rescan."""
        if lang is None:
            lang = "zh" if b"c" in prep.classes else "en"
        pack = pk or _HOME_PACK[lang]
        voicemail = chan == "voicemail"
        need_opt_out = chan in ELECTRONIC_CHANNELS and pack == "us"
        many_digits = False  # a digit shape seen by the automaton: run the `when: digits` patterns

        conduct_hits: list[tuple[int, int, bool, tuple[_Entry, ...]]] = []
        allow_hits: list[tuple[int, int, bool]] = []
        voicemail_hits: list[tuple[int, int, bool, tuple[_Entry, ...]]] = []
        has_opt_out = False
        triggered: dict[str, _Pattern] = {}
        wlen = prep.wlen
        for end_index, payload in hits:
            klen, is_word, conduct_entries, allow, vm_entries, opt_out, key_patterns, redo = payload
            if redo & 1 and rescan:
                return 1
            key_start = end_index - klen + 1
            if (key_start < wlen) != is_word:
                continue  # a Latin key inside the Chinese view: already seen in the Latin view
            if redo & 4:
                many_digits = True
            if key_patterns:
                for p in key_patterns:
                    triggered[p.id] = p
            if conduct_entries:
                conduct_hits.append((key_start, end_index + 1, is_word, conduct_entries))
            if allow:
                allow_hits.append((key_start, end_index + 1, is_word))
            if opt_out:
                has_opt_out = True
            if vm_entries and voicemail:
                voicemail_hits.append((key_start, end_index + 1, is_word, vm_entries))

        if allow_hits and conduct_hits:
            # A finding inside an allowed phrase of the same view is inside it in the original text
            # too (view maps keep order), so it is dropped before any span is computed; the rest are
            # checked against the allowed spans in original positions below.
            conduct_hits = [
                h
                for h in conduct_hits
                if not any(w == h[2] and a <= h[0] and h[1] <= b for a, b, w in allow_hits)
            ]
        if not conduct_hits and not triggered and not voicemail_hits and not many_digits and not voicemail:
            if need_opt_out and not has_opt_out:
                return ScreenResult(
                    "block", (Flag("opt_out_missing", len(text), len(text), "", "US-E1"),)
                )  # US-E1
            return _PASS
        conduct: list[tuple[int, int, str, str, str]] = []  # start, end, category, rule, severity
        allowed: list[tuple[int, int]] = []
        channel_flags: list[tuple[int, int, str, str]] = []
        for key_start, key_end, is_word, entries in conduct_hits:
            start, end = prep.word_span(key_start, key_end) if is_word else prep.cjk_span(key_start, key_end)
            for e in entries:
                conduct.append((start, end, e.category, e.rule(pack), e.severity))
        if conduct_hits or triggered or many_digits:
            for key_start, key_end, is_word in allow_hits:
                allowed.append(
                    prep.word_span(key_start, key_end) if is_word else prep.cjk_span(key_start, key_end)
                )
        for key_start, key_end, is_word, entries in voicemail_hits:
            start, end = prep.word_span(key_start, key_end) if is_word else prep.cjk_span(key_start, key_end)
            for e in entries:
                channel_flags.append((start, end, e.category, e.rule(pack)))

        patterns = list(triggered.values())
        if many_digits:
            patterns.extend(self._digit_patterns)
        if voicemail:
            patterns.extend(self._voicemail_patterns)
        for p in patterns:
            for m in p.regex.finditer(prep.folded):
                if m.end() <= m.start():
                    continue
                if p.validate and not _VALIDATORS[p.validate](m.group()):
                    continue
                start, end = prep.regex_span(m.start(), m.end())
                if p.kind == "allow":
                    allowed.append((start, end))
                elif p.kind == "voicemail":
                    channel_flags.append((start, end, p.category, p.rule(pack)))
                else:
                    conduct.append((start, end, p.category, p.rule(pack), p.severity))

        if allowed:
            conduct = [c for c in conduct if not any(a <= c[0] and c[1] <= b for a, b in allowed)]
        kept = _outermost(conduct)
        flags: list[tuple[Flag, str]] = [
            (Flag(cat, fs, fe, text[fs:fe], rule), sev) for fs, fe, cat, rule, sev in kept
        ]
        channel = _outermost([(cs, ce, cat, rule, "block") for cs, ce, cat, rule in channel_flags])
        flags.extend((Flag(cat, fs, fe, text[fs:fe], rule), sev) for fs, fe, cat, rule, sev in channel)
        if need_opt_out and not has_opt_out:
            flags.append((Flag("opt_out_missing", len(text), len(text), "", "US-E1"), "block"))  # US-E1
        if not flags:
            return _PASS
        flags.sort(key=lambda fs: (fs[0].start, fs[0].end, fs[0].category))
        top = max(_SEVERITY_RANK.get(sev, 0) for _, sev in flags)
        verdict = "block" if top >= 2 else "review"
        return ScreenResult(verdict, tuple(f for f, _ in flags))


def _outermost(found: list[tuple[int, int, str, str, str]]) -> list[tuple[int, int, str, str, str]]:
    """One finding per stretch of text and category: findings of a category that overlap are
    merged into one span (which keeps the higher severity and that finding's rule)."""
    if len(found) <= 1:
        return found
    merged: list[list[Any]] = []
    for s, e, cat, rule, sev in sorted(found, key=lambda f: (f[2], f[0], -f[1])):
        last = merged[-1] if merged else None
        if last is not None and last[2] == cat and s < last[1]:
            last[1] = max(last[1], e)
            if _SEVERITY_RANK.get(sev, 0) > _SEVERITY_RANK.get(last[4], 0):
                last[3], last[4] = rule, sev
            continue
        merged.append([s, e, cat, rule, sev])
    return [(m[0], m[1], m[2], m[3], m[4]) for m in merged]


def screen_text(text: str, **kw: Any) -> ScreenResult:
    """Screen with the shipped lexicons (`Screener.default()`); keywords as `Screener.screen`."""
    return Screener.default().screen(text, **kw)
