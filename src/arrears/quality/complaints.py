"""Complaint triage (投诉分类), zh-CN and English: a category and whether collector misconduct is alleged.

Categories: `harassment` (frequent calls, abusive language, inconvenient times, contact after a cease
request), `threat` (legal or negative action, arrest, seizure), `false_representation`, `disclosure`
(employer, family, contacts; sharing information), `dispute` (not owed, wrong amount, paid, identity
theft), `notice` (validation or written notification), `other`. `conduct` is true when a conduct category
(harassment, threat, false_representation, disclosure) is alleged, whatever the main category.  # R20, R21

How: transparent weighted rules — the lexicon in complaints_data/lexicon.v<N>.yaml, one Aho-Corasick
pass plus a few patterns — and, when a model file is shipped (complaints_data/model.v<N>.json, trained
at build time by arrears.quality.complaints_model on the labelled set in the same folder), a linear
model over character and word n-grams whose class probabilities are blended with the rule scores.
Inference is plain Python; scikit-learn is only needed to train. Pure apart from reading the data files.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from arrears.core.errors import ValidationFailed
from arrears.quality.conversation import normalise
from arrears.quality.matching import PhraseMatcher

DATA_DIR = Path(__file__).with_name("complaints_data")
CATEGORIES: tuple[str, ...] = (
    "harassment",
    "threat",
    "false_representation",
    "disclosure",
    "dispute",
    "notice",
    "other",
)
CONDUCT_CATEGORIES: frozenset[str] = frozenset({"harassment", "threat", "false_representation", "disclosure"})
# On equal scores the graver allegation leads.
PRIORITY: tuple[str, ...] = (
    "threat",
    "false_representation",
    "disclosure",
    "harassment",
    "dispute",
    "notice",
)


@dataclass(frozen=True, slots=True)
class ComplaintCue:
    category: str
    start: int
    end: int
    text: str
    weight: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "weight": self.weight,
        }


@dataclass(frozen=True, slots=True)
class Triage:
    category: str
    conduct: bool
    confidence: float
    scores: Mapping[str, float] = field(default_factory=dict)  # rule scores per category
    cues: tuple[ComplaintCue, ...] = ()
    probabilities: Mapping[str, float] | None = None  # the model's, when one is used

    def to_dict(self) -> dict[str, Any]:
        return {"category": self.category, "conduct": self.conduct, "confidence": round(self.confidence, 2)}


# ---------------------------------------------------------------------------------------------
# Rules.


@dataclass(frozen=True, slots=True)
class _Category:
    name: str
    conduct: bool
    negatable: bool


class ComplaintRules:
    """The weighted lexicon compiled: one automaton for every phrase, a few patterns."""

    def __init__(self, raw: Mapping[str, Any], source: str = "<mapping>") -> None:
        def bad(where: str, reason: str) -> ValidationFailed:
            return ValidationFailed(f"complaint lexicon {source}: {where}: {reason}")

        if not isinstance(raw, Mapping) or not isinstance(raw.get("categories"), Mapping):
            raise bad("categories", "is required")
        self.version = int(raw.get("version", 1))
        self.threshold = float(raw.get("threshold", 2))
        self.conduct_threshold = float(raw.get("conduct_threshold", 2))
        negations = raw.get("negations") or {}
        self.neg_zh = tuple(normalise(n) for n in negations.get("zh", ()))
        self.neg_en = frozenset(normalise(n) for n in negations.get("en", ()))
        self.categories: dict[str, _Category] = {}
        entries: list[tuple[str, tuple[str, float]]] = []
        self.patterns: list[tuple[str, re.Pattern[str], float]] = []
        for name, spec in raw["categories"].items():
            if name not in CATEGORIES or name == "other":
                raise bad(f"categories.{name}", f"must be one of {', '.join(CATEGORIES[:-1])}")
            if not isinstance(spec, Mapping):
                raise bad(f"categories.{name}", "must be a mapping")
            self.categories[name] = _Category(name, bool(spec.get("conduct")), bool(spec.get("negatable")))
            for phrase, weight in (spec.get("phrases") or {}).items():
                if not isinstance(weight, int | float) or isinstance(weight, bool) or weight <= 0:
                    raise bad(f"categories.{name}.phrases.{phrase}", "weight must be a positive number")
                entries.append((str(phrase), (name, float(weight))))
            for pattern, weight in (spec.get("patterns") or {}).items():
                try:
                    compiled = re.compile(str(pattern))
                except re.error as exc:
                    raise bad(f"categories.{name}.patterns", f"{pattern!r}: {exc}") from exc
                self.patterns.append((name, compiled, float(weight)))
        self.matcher: PhraseMatcher[tuple[str, float]] = PhraseMatcher(entries)

    def _negated(self, text: str, start: int, english: bool) -> bool:
        """A negation right before the cue: 3 words in English, a word (one character gap) in Chinese."""
        if english:
            words = re.findall(r"[a-z']+", text[max(0, start - 40) : start])[-3:]
            return any(w in self.neg_en or w.endswith("n't") for w in words)
        window = text[max(0, start - 4) : start]
        return any(window.endswith(n) or window[:-1].endswith(n) for n in self.neg_zh)

    def score(self, text: str) -> tuple[dict[str, float], list[ComplaintCue]]:
        """Rule scores per category (distinct cues, each counted once) and the cues that made them."""
        norm = normalise(text)
        scores = dict.fromkeys(self.categories, 0.0)
        seen: set[tuple[str, str]] = set()
        cues: list[ComplaintCue] = []
        for s, e, cue in self.matcher.matches(norm):
            for category, weight in cue.payloads:
                if (category, cue.phrase) in seen:
                    continue
                if self.categories[category].negatable and self._negated(norm, s, cue.phrase[0].isascii()):
                    continue
                seen.add((category, cue.phrase))
                scores[category] += weight
                cues.append(ComplaintCue(category, s, e, text[s:e], weight))
        for category, pattern, weight in self.patterns:
            m = pattern.search(norm)
            if m and not (
                self.categories[category].negatable and self._negated(norm, m.start(), m.group()[0].isascii())
            ):
                scores[category] += weight
                cues.append(ComplaintCue(category, m.start(), m.end(), text[m.start() : m.end()], weight))
        cues.sort(key=lambda c: c.start)
        return scores, cues


# ---------------------------------------------------------------------------------------------
# The linear model (inference only; training lives in arrears.quality.complaints_model).

_EN_WORD = re.compile(r"[a-z][a-z']*|\d+")


def model_features(text: str) -> dict[str, int]:
    """The n-grams the model reads: Chinese character 1–3-grams, English word 1–2-grams (normalised text)."""
    norm = normalise(text)
    counts: dict[str, int] = {}
    cjk = re.sub(r"[^\u4e00-\u9fff]+", " ", norm).split()
    for run in cjk:
        n = len(run)
        for size in (1, 2, 3):
            for i in range(n - size + 1):
                g = run[i : i + size]
                counts[g] = counts.get(g, 0) + 1
    words = _EN_WORD.findall(norm)
    for i, w in enumerate(words):
        counts["w:" + w] = counts.get("w:" + w, 0) + 1
        if i:
            g = f"w:{words[i - 1]} {w}"
            counts[g] = counts.get(g, 0) + 1
    return counts


@dataclass(frozen=True)
class LinearModel:
    """Multinomial logistic regression over tf-idf of `model_features`, l2-normalised."""

    classes: tuple[str, ...]
    vocabulary: Mapping[str, int]
    idf: Sequence[float]
    coef: Sequence[Sequence[float]]  # classes × features
    intercept: Sequence[float]
    meta: Mapping[str, Any] = field(default_factory=dict)

    def probabilities(self, text: str) -> dict[str, float]:
        vec: dict[int, float] = {}
        for g, tf in model_features(text).items():
            j = self.vocabulary.get(g)
            if j is not None:
                vec[j] = tf * self.idf[j]
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        logits = [
            b + sum(row[j] * v for j, v in vec.items()) / norm
            for row, b in zip(self.coef, self.intercept, strict=True)
        ]
        top = max(logits)
        exps = [math.exp(z - top) for z in logits]
        total = sum(exps)
        return {c: e / total for c, e in zip(self.classes, exps, strict=True)}

    def to_json(self) -> dict[str, Any]:
        return {
            "classes": list(self.classes),
            "vocabulary": dict(self.vocabulary),
            "idf": [round(x, 6) for x in self.idf],
            "coef": [[round(x, 6) for x in row] for row in self.coef],
            "intercept": [round(x, 6) for x in self.intercept],
            "meta": dict(self.meta),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> LinearModel:
        return cls(
            classes=tuple(raw["classes"]),
            vocabulary=dict(raw["vocabulary"]),
            idf=tuple(raw["idf"]),
            coef=tuple(tuple(r) for r in raw["coef"]),
            intercept=tuple(raw["intercept"]),
            meta=dict(raw.get("meta") or {}),
        )


# ---------------------------------------------------------------------------------------------
# The classifier.


@dataclass(frozen=True)
class ComplaintClassifier:
    rules: ComplaintRules
    model: LinearModel | None = None
    model_weight: float = 0.0  # how much of the blended score comes from the model (0 = rules only)


def _decide_rules(scores: Mapping[str, float], rules: ComplaintRules) -> tuple[str, float]:
    ranked = sorted(scores, key=lambda c: (-scores[c], PRIORITY.index(c)))
    top = scores[ranked[0]] if ranked else 0.0
    second = scores[ranked[1]] if len(ranked) > 1 else 0.0
    if top < rules.threshold:
        return "other", 0.6 if top == 0 else 0.4
    margin = top / (top + second)
    strength = 1.0 - math.exp(-top / 3.0)
    return ranked[0], 0.5 * margin + 0.5 * strength


def classify_complaint(text: str, classifier: ComplaintClassifier | None = None) -> Triage:
    """Category, alleged misconduct and a confidence for one complaint text."""
    clf = classifier or load_classifier()
    scores, cues = clf.rules.score(text)
    conduct = any(scores[c] >= clf.rules.conduct_threshold for c in scores if clf.rules.categories[c].conduct)
    category, confidence = _decide_rules(scores, clf.rules)
    probabilities = None
    if clf.model is not None and clf.model_weight > 0:
        probabilities = clf.model.probabilities(text)
        w = clf.model_weight
        # Rule scores squashed to [0, 1) per category; `other` is strong when no rule fired.
        top_rule = max(scores.values(), default=0.0)
        squashed = {c: 1.0 - math.exp(-s / 3.0) for c, s in scores.items()}
        squashed["other"] = 1.0 - min(1.0, top_rule / clf.rules.threshold)
        blended = {c: (1 - w) * squashed.get(c, 0.0) + w * probabilities.get(c, 0.0) for c in CATEGORIES}
        order = sorted(CATEGORIES, key=lambda c: (-blended[c], CATEGORIES.index(c)))
        category = order[0]
        total = sum(blended.values()) or 1.0
        confidence = blended[category] / total
        p_conduct = sum(p for c, p in probabilities.items() if c in CONDUCT_CATEGORIES)
        conduct = (1 - w) * float(conduct) + w * p_conduct >= 0.5
    return Triage(category, conduct, min(max(confidence, 0.0), 1.0), scores, tuple(cues), probabilities)


def _latest(prefix: str, suffix: str) -> Path | None:
    found = []
    for p in DATA_DIR.glob(f"{prefix}.v*{suffix}"):
        m = re.fullmatch(rf"{re.escape(prefix)}\.v(\d+){re.escape(suffix)}", p.name)
        if m:
            found.append((int(m.group(1)), p))
    return max(found)[1] if found else None


def load_rules(path: Path | None = None) -> ComplaintRules:
    path = path or _latest("lexicon", ".yaml")
    if path is None:
        raise ValidationFailed("no complaint lexicon shipped")
    return ComplaintRules(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)


def load_model(path: Path | None = None) -> LinearModel | None:
    path = path or _latest("model", ".json")
    if path is None or not path.is_file():
        return None
    return LinearModel.from_json(json.loads(path.read_text(encoding="utf-8")))


@lru_cache(maxsize=2)
def load_classifier(use_model: bool = True) -> ComplaintClassifier:
    """The shipped lexicon and (if present and `use_model`) the shipped model with its blend weight."""
    rules = load_rules()
    model = load_model() if use_model else None
    weight = float(model.meta.get("blend_weight", 0.0)) if model is not None else 0.0
    return ComplaintClassifier(rules, model, weight)
