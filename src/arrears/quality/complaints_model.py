"""Build step for the complaint model: train on the shipped labelled set, evaluate, write the model file.

    python -m arrears.quality.complaints_model            # train on labelled-train, report, write model
    python -m arrears.quality.complaints_model --check    # report only

The labelled set is small and written by the project itself, in zh-CN and English. The lexicon was
tuned and the model is trained on labelled-train only. labelled-heldout is split in two by position:
the even lines (dev) choose the blend weight between rules and model, the odd lines (test) are only
reported. scikit-learn is needed here only; the shipped classifier runs the exported weights in plain
Python.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from arrears.quality.complaints import (
    CATEGORIES,
    DATA_DIR,
    ComplaintClassifier,
    ComplaintRules,
    LinearModel,
    classify_complaint,
    load_rules,
    model_features,
)

TRAIN_FILE = DATA_DIR / "labelled-train.v1.jsonl"
HELDOUT_FILE = DATA_DIR / "labelled-heldout.v1.jsonl"
MODEL_FILE = DATA_DIR / "model.v1.json"
BLEND_WEIGHTS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    language: str
    text: str
    category: str
    conduct: bool


def read_examples(path: Path) -> list[Example]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        raw = json.loads(line)
        if raw.get("category") not in CATEGORIES:
            raise ValueError(f"{path.name} line {n}: category {raw.get('category')!r} unknown")
        out.append(
            Example(str(raw["id"]), raw["language"], raw["text"], raw["category"], bool(raw["conduct"]))
        )
    return out


def train_model(examples: Sequence[Example], c: float = 10.0) -> LinearModel:
    """tf-idf over `model_features` (df ≥ 1) + multinomial logistic regression; deterministic."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer=model_features, norm="l2", use_idf=True, smooth_idf=True)
    x = vectorizer.fit_transform([e.text for e in examples])
    y = [e.category for e in examples]
    clf = LogisticRegression(C=c, max_iter=5000)
    clf.fit(x, y)
    classes = tuple(str(k) for k in clf.classes_)
    vocabulary = {str(k): int(v) for k, v in vectorizer.vocabulary_.items()}
    return LinearModel(
        classes=classes,
        vocabulary=vocabulary,
        idf=tuple(float(v) for v in vectorizer.idf_),
        coef=tuple(tuple(float(v) for v in row) for row in clf.coef_),
        intercept=tuple(float(v) for v in clf.intercept_),
        meta={"C": c, "trained_on": TRAIN_FILE.name, "examples": len(examples)},
    )


def evaluate(classifier: ComplaintClassifier, examples: Iterable[Example]) -> dict[str, Any]:
    rows = list(examples)
    hit = conduct_hit = 0
    per: dict[str, list[int]] = {c: [0, 0] for c in CATEGORIES}
    by_lang: dict[str, list[int]] = {}
    for e in rows:
        t = classify_complaint(e.text, classifier)
        ok = t.category == e.category
        hit += ok
        conduct_hit += t.conduct == e.conduct
        per[e.category][0] += ok
        per[e.category][1] += 1
        lang = by_lang.setdefault(e.language, [0, 0])
        lang[0] += ok
        lang[1] += 1
    n = len(rows) or 1
    return {
        "n": len(rows),
        "accuracy": round(hit / n, 3),
        "conduct_accuracy": round(conduct_hit / n, 3),
        "by_language": {k: round(a / b, 3) for k, (a, b) in sorted(by_lang.items())},
        "recall_by_category": {k: round(a / b, 3) for k, (a, b) in per.items() if b},
    }


def choose_blend(
    rules: ComplaintRules, model: LinearModel, dev: Sequence[Example]
) -> tuple[float, dict[float, float]]:
    """The blend weight with the best accuracy on the dev examples (ties: the smaller weight)."""
    scores: dict[float, float] = {}
    for w in BLEND_WEIGHTS:
        clf = ComplaintClassifier(rules, model, w)
        scores[w] = round(
            sum(classify_complaint(e.text, clf).category == e.category for e in dev) / len(dev), 3
        )
    best = max(scores, key=lambda w: (scores[w], -w))
    return best, scores


def build(write: bool = True) -> dict[str, Any]:
    from threadpoolctl import threadpool_limits

    train = read_examples(TRAIN_FILE)
    heldout = read_examples(HELDOUT_FILE)
    dev, test = heldout[0::2], heldout[1::2]
    rules = load_rules()
    with threadpool_limits(1):  # a tiny problem: threads only contend
        model = train_model(train)
    blend, by_weight = choose_blend(rules, model, dev)
    model = replace(model, meta={**model.meta, "blend_weight": blend})
    report: dict[str, Any] = {
        "train_examples": len(train),
        "dev_examples": len(dev),
        "test_examples": len(test),
        "blend_weight": blend,
        "dev_accuracy_by_blend": {str(k): v for k, v in by_weight.items()},
        "test": {
            "rules": evaluate(ComplaintClassifier(rules), test),
            "model": evaluate(ComplaintClassifier(rules, model, 1.0), test),
            "blend": evaluate(ComplaintClassifier(rules, model, blend), test),
        },
        "heldout_all": {
            "rules": evaluate(ComplaintClassifier(rules), heldout),
            "model": evaluate(ComplaintClassifier(rules, model, 1.0), heldout),
            "blend": evaluate(ComplaintClassifier(rules, model, blend), heldout),
        },
        "train_fit": {
            "rules": evaluate(ComplaintClassifier(rules), train),
            "blend": evaluate(ComplaintClassifier(rules, model, blend), train),
        },
    }
    model = replace(model, meta={**model.meta, "test_accuracy": report["test"]["blend"]["accuracy"]})
    if write:
        MODEL_FILE.write_text(
            json.dumps(model.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
        )
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="report only; do not write the model file")
    args = parser.parse_args(argv)
    report = build(write=not args.check)
    sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
