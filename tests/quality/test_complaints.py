"""Complaint triage in zh-CN and English: categories, alleged misconduct, confidence, and the shipped model."""

from __future__ import annotations

import json

import pytest

from arrears.core.errors import ValidationFailed
from arrears.quality.complaints import (
    CATEGORIES,
    DATA_DIR,
    ComplaintClassifier,
    ComplaintRules,
    classify_complaint,
    load_classifier,
    load_model,
    load_rules,
)

CASES = [
    # harassment: frequent calls, abusive language, inconvenient times, contact after a cease request
    ("zh", "催收员一天给我打了二十多个电话，还换着号码打，根本没法正常生活。", "harassment"),
    ("zh", "晚上十一点还打电话催款，把孩子都吵醒了。", "harassment"),
    ("zh", "电话里催收员骂我是废物，说了很多脏话。", "harassment"),
    ("zh", "我已经要求他们不要再打电话了，他们还是继续打。", "harassment"),
    ("en", "They call me eight times a day from different numbers.", "harassment"),
    ("en", "The collector called at 11 pm on a Sunday and woke up my family.", "harassment"),
    ("en", "The agent cursed at me and called me names.", "harassment"),
    ("en", "I sent a cease and desist letter and they still keep calling.", "harassment"),
    # threat: legal or negative action, arrest, seizure
    ("zh", "催收员说不还钱就让警察来抓我去坐牢。", "threat"),
    ("zh", "他们威胁说要查封我的房子，把我的车也扣押了。", "threat"),
    ("en", "The caller said I would be arrested tomorrow if I did not pay.", "threat"),
    ("en", "They threatened to garnish my wages and seize my car.", "threat"),
    # false representation
    ("zh", "对方自称是法院的工作人员，其实就是催收公司。", "false_representation"),
    ("zh", "收到一份伪造的律师函，上面的律所根本不存在。", "false_representation"),
    (
        "en",
        "The man claimed to be a police officer, but he works for a collection agency.",
        "false_representation",
    ),
    ("en", "They pretended to be from my bank to get my account number.", "false_representation"),
    # disclosure: employer, family, contacts; sharing information
    ("zh", "催收员打电话到我单位，把我欠钱的事告诉了我的领导。", "disclosure"),
    ("zh", "他们给我通讯录里的联系人都发了催收短信。", "disclosure"),
    ("en", "They called my mother and told her how much I owe.", "disclosure"),
    ("en", "The collector contacted my employer about my debt.", "disclosure"),
    # dispute: not owed, wrong amount, paid, identity theft
    ("zh", "这笔借款不是我借的，是有人盗用了我的身份证。", "dispute"),
    ("zh", "我上个月已经还清了，他们还说我欠款，金额也不对。", "dispute"),
    ("en", "I already paid this account in full and have the receipt.", "dispute"),
    ("en", "This is not my debt; it was opened through identity theft.", "dispute"),
    # notice: validation or written notification
    ("zh", "从来没有收到过任何书面通知，也不提供借款合同。", "notice"),
    ("zh", "我的债权被转让了，没有人通知我。", "notice"),
    (
        "en",
        "I never received a validation notice and they will not send written proof of the debt.",
        "notice",
    ),
    ("en", "I asked for debt verification in writing and they never responded.", "notice"),
    # other
    ("zh", "你们的APP一直登录不上，没法还款。", "other"),
    ("zh", "我想问一下提前结清需要什么手续？", "other"),
    ("en", "Your website will not let me log in to make a payment.", "other"),
    ("en", "Please update the mailing address on my account.", "other"),
]
CONDUCT = {"harassment", "threat", "false_representation", "disclosure"}


@pytest.fixture(scope="module")
def clf() -> ComplaintClassifier:
    return load_classifier()


@pytest.mark.parametrize(("lang", "text", "category"), CASES)
def test_every_category_in_both_languages(
    clf: ComplaintClassifier, lang: str, text: str, category: str
) -> None:
    t = classify_complaint(text, clf)
    assert t.category == category, (t.scores, t.probabilities)
    assert t.conduct is (category in CONDUCT)
    assert 0.0 <= t.confidence <= 1.0


def test_every_category_is_covered() -> None:
    assert {c for _, _, c in CASES} == set(CATEGORIES)
    assert {lang for lang, _, _ in CASES} == {"zh", "en"}


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("他们没有威胁我，也没有骂我，就是金额不对，多收了两千块。", "dispute"),
        ("The collector was polite and did not threaten me, but the amount is wrong.", "dispute"),
    ],
)
def test_negated_misconduct_is_not_alleged(clf: ComplaintClassifier, text: str, category: str) -> None:
    t = classify_complaint(text, clf)
    assert t.category == category and t.conduct is False


def test_conduct_is_flagged_even_when_the_main_complaint_is_a_dispute(clf: ComplaintClassifier) -> None:
    t = classify_complaint(
        "I already paid this in full, and they still call me at 11 pm and yell at me.", clf
    )
    assert t.conduct is True


def test_rules_are_transparent(clf: ComplaintClassifier) -> None:
    text = "他们天天打电话骚扰我，半夜也打。"
    scores, cues = clf.rules.score(text)
    assert scores["harassment"] >= 6
    assert {c.text for c in cues} >= {"骚扰", "半夜"}
    for c in cues:
        assert text[c.start : c.end] == c.text and c.category == "harassment" and c.weight > 0


def test_rules_alone_still_classify_clear_complaints() -> None:
    rules_only = load_classifier(use_model=False)
    assert rules_only.model is None
    assert classify_complaint("催收员威胁要让我坐牢", rules_only).category == "threat"
    assert classify_complaint("Customer service put me on hold for an hour", rules_only).category == "other"


def test_confidence_is_higher_for_clear_complaints(clf: ComplaintClassifier) -> None:
    clear = classify_complaint("催收员威胁要打断我的腿，还说要让我坐牢，扬言要上门。", clf)
    vague = classify_complaint("我对这件事不太满意。", clf)
    assert clear.confidence > vague.confidence


def test_lexicon_validation_names_the_place() -> None:
    with pytest.raises(ValidationFailed, match=r"categories\.rudeness"):
        ComplaintRules({"categories": {"rudeness": {"phrases": {"x": 1}}}}, "t")
    with pytest.raises(ValidationFailed, match="weight must be a positive number"):
        ComplaintRules({"categories": {"threat": {"phrases": {"x": 0}}}}, "t")
    with pytest.raises(ValidationFailed, match="patterns"):
        ComplaintRules({"categories": {"threat": {"patterns": {"(": 1}}}}, "t")


def _examples(name: str) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in (DATA_DIR / name).read_text(encoding="utf-8").splitlines() if line]


def test_labelled_set_is_balanced_and_bilingual() -> None:
    for name in ("labelled-train.v1.jsonl", "labelled-heldout.v1.jsonl"):
        rows = _examples(name)
        assert {r["category"] for r in rows} == set(CATEGORIES)
        assert {r["language"] for r in rows} == {"zh", "en"}
        assert all(r["conduct"] is (r["category"] in CONDUCT) for r in rows)
    train = {r["text"] for r in _examples("labelled-train.v1.jsonl")}
    heldout = {r["text"] for r in _examples("labelled-heldout.v1.jsonl")}
    assert not train & heldout  # nothing held out was trained on


def test_shipped_model_is_the_one_the_build_step_trains() -> None:
    from threadpoolctl import threadpool_limits

    from arrears.quality.complaints_model import TRAIN_FILE, read_examples, train_model

    shipped = load_model()
    assert shipped is not None and 0 < float(shipped.meta["blend_weight"]) <= 1
    with threadpool_limits(1):
        fresh = train_model(read_examples(TRAIN_FILE))
    for row in _examples("labelled-heldout.v1.jsonl"):
        a, b = shipped.probabilities(row["text"]), fresh.probabilities(row["text"])
        assert max(a, key=a.__getitem__) == max(b, key=b.__getitem__)
        assert a == pytest.approx(b, abs=1e-4)


def test_recorded_test_accuracy_is_reproducible(clf: ComplaintClassifier) -> None:
    from arrears.quality.complaints_model import HELDOUT_FILE, evaluate, read_examples

    test_part = read_examples(HELDOUT_FILE)[1::2]
    assert clf.model is not None
    report = evaluate(clf, test_part)
    assert report["accuracy"] == clf.model.meta["test_accuracy"]
    rules = evaluate(ComplaintClassifier(load_rules()), test_part)
    assert report["accuracy"] > rules["accuracy"]  # the model is kept only because it measures better
