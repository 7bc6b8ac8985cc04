"""The conduct items with the real content screening (arrears.compliance.screening): every category is a
fatal item in both languages; lawful collection talk is not flagged; findings the screening only marks
for review wait for an inspector instead of zeroing the score."""

from __future__ import annotations

import pytest

from arrears.quality.autoscore import apply_decisions
from arrears.quality.scorecards import CONDUCT_CATEGORIES

from .conftest import item
from .transcripts import A, D, call, good_en, good_zh, replace_turn

CONDUCT_ITEMS = [f"conduct_{c}" for c in CONDUCT_CATEGORIES]

# (category, language, agent line): each blocks in the screening.
BLOCKING = [
    ("threat", "zh", "你再不还钱，我就找人打断你的腿。"),
    ("abuse", "zh", "你这个老赖，真不要脸。"),
    ("impersonation", "zh", "我是派出所的民警，你涉嫌诈骗。"),
    ("disclosure", "zh", "我们会打电话告诉你的同事和领导你欠钱不还。"),
    ("shaming", "zh", "我们会把你的照片贴到小区门口让大家都看看。"),
    ("false_legal", "zh", "你不还钱就是诈骗罪，要坐牢的。"),
    ("privacy", "zh", "你弟弟李四的身份证号是110101199001011234。"),
    ("threat", "en", "If you do not pay today, we will come to your house and hurt you."),
    ("abuse", "en", "You are a worthless deadbeat."),
    ("impersonation", "en", "This is Officer Brown from the county sheriff."),
    ("disclosure", "en", "I will tell your employer about this debt."),
    ("shaming", "en", "We will post your name on Facebook so everyone knows you do not pay your debts."),
    ("false_legal", "en", "If you do not pay, we will press criminal charges against you."),
    ("privacy", "en", "Your neighbor John Smith owes us too, his SSN is 123-45-6789."),
]
# Findings the screening marks for review only.
REVIEW = [
    ("pressure", "zh", "今天必须还清，去借高利贷也得还上。"),
    ("deception", "zh", "如果今天不还，罚息翻倍。"),
    ("pressure", "en", "Borrow the money from your family and pay it now."),
    ("deception", "en", "If you wait, your balance will double."),
    ("false_legal", "en", "If you do not pay, we will sue you."),
]


def _with_line(lang: str, line: str) -> dict:  # type: ignore[type-arg]
    base = good_zh() if lang == "zh" else good_en()
    return replace_turn(base, 6, line)


@pytest.mark.parametrize("raw", [good_zh(), good_en()], ids=["zh", "en"])
def test_lawful_calls_raise_no_conduct_finding(score, raw) -> None:  # type: ignore[no-untyped-def]
    r = score(raw, screener=None)
    for name in CONDUCT_ITEMS:
        assert item(r, name).passed is True, name
    assert not r.fatal and r.needs_review == ()


LAWFUL_LINES = [
    ("zh", "根据合同约定，逾期会产生罚息，也会按规定报送征信，建议您尽早处理。"),
    ("zh", "我们已向北京市朝阳区人民法院提起诉讼，案号（2026）京0105民初1234号。"),
    ("zh", "如果协商不成，我们可能会通过法律途径解决。我们不会联系您的家人。"),
    ("zh", "请通过官方APP或对公账户还款，不要转账给任何个人账户。"),
    ("en", "You have the right to dispute this debt; I can send the details to you in writing."),
    (
        "en",
        "This is an attempt to collect a debt and any information obtained will be used for that purpose.",
    ),
    ("en", "We will not contact your employer about this account."),
    ("en", "If you are represented by an attorney, please give us their name and number."),
]


@pytest.mark.parametrize(("lang", "line"), LAWFUL_LINES)
def test_lawful_collection_talk_is_not_flagged(score, lang: str, line: str) -> None:  # type: ignore[no-untyped-def]
    r = score(_with_line(lang, line), screener=None)
    flagged = [n for n in CONDUCT_ITEMS if item(r, n).passed is not True]
    assert flagged == [], (line, [item(r, n).evidence for n in flagged])
    assert not r.fatal


@pytest.mark.parametrize(("category", "lang", "line"), BLOCKING)
def test_blocking_conduct_fails_its_fatal_item_and_zeroes_the_score(
    score,
    category: str,
    lang: str,  # type: ignore[no-untyped-def]
    line: str,
) -> None:
    r = score(_with_line(lang, line), screener=None)
    it = item(r, f"conduct_{category}")
    assert it.passed is False and it.fatal_item, it.reason
    assert r.fatal is True and r.score == 0.0 and not r.meets_standard
    assert it.evidence and all(e.turn == 6 and e.speaker == A for e in it.evidence)
    assert all(line[e.start : e.end] == e.text for e in it.evidence)
    assert it.evidence[0].note and it.evidence[0].note.startswith(category)


@pytest.mark.parametrize(("category", "lang", "line"), REVIEW)
def test_review_findings_wait_for_an_inspector(score, category: str, lang: str, line: str) -> None:  # type: ignore[no-untyped-def]
    r = score(_with_line(lang, line), screener=None)
    it = item(r, f"conduct_{category}")
    assert it.passed is None and f"conduct_{category}" in r.needs_review
    assert it.evidence[0].turn == 6
    assert not r.fatal and r.score > 0
    upheld = apply_decisions(r, {f"conduct_{category}": False}, pass_mark=80)
    assert upheld.fatal and upheld.score == 0.0
    cleared = apply_decisions(r, {f"conduct_{category}": True}, pass_mark=80)
    assert not cleared.fatal and cleared.needs_review == ()


def test_a_threat_next_to_a_bare_legal_word_blocks_only_the_threat(score) -> None:  # type: ignore[no-untyped-def]
    raw = _with_line("en", "You will be arrested if you do not pay, and we will take you to court.")
    r = score(raw, screener=None)
    assert item(r, "conduct_threat").passed is False
    assert r.fatal


def test_conduct_in_the_debtors_turns_is_not_the_agents(score) -> None:  # type: ignore[no-untyped-def]
    raw = replace_turn(good_zh(), 5, "你们这帮人渣，再打电话我就找人打断你的腿！")
    r = score(raw, screener=None, debtor_conduct=True)
    assert not r.fatal
    assert all(item(r, n).passed for n in CONDUCT_ITEMS)
    assert r.debtor_conduct.get("threat", 0) >= 1  # R18: recorded, not held against the collector
    assert score(raw, screener=None).debtor_conduct == {}


@pytest.mark.parametrize(
    "turns",
    [
        [
            (A, "您好，请问是张伟先生本人吗？"),
            (D, "不是，我是他同事。"),
            (A, "那麻烦你转告他，他在我们这里的欠款一直不还。"),
        ],
        [
            (A, "Hello, may I speak with James Carter?"),
            (D, "No, I'm his roommate."),
            (A, "Tell him he owes us $2,450 and it is past due."),
        ],
    ],
    ids=["zh", "en"],
)
def test_telling_the_debt_to_someone_who_is_not_the_debtor_is_disclosure(score, turns) -> None:  # type: ignore[no-untyped-def]
    # The words alone are ordinary collection talk; what makes them a disclosure is who is listening.
    lang = "zh-CN" if "您好" in turns[0][1] else "en-US"
    r = score(call("third", lang, turns), screener=None)
    assert item(r, "identity_verified").passed is False
    it = item(r, "conduct_disclosure")
    assert it.passed is False and [e.turn for e in it.evidence[:2]] == [1, 2]
    assert r.fatal and r.score == 0.0


def test_asking_a_third_party_for_a_call_back_is_not_disclosure(score) -> None:  # type: ignore[no-untyped-def]
    turns = [
        (A, "您好，请问是张伟先生本人吗？"),
        (D, "不是，他不在。"),
        (A, "好的，打扰了，麻烦您请他方便时回电，谢谢。"),
    ]
    r = score(call("callback", "zh-CN", turns), screener=None)
    assert item(r, "conduct_disclosure").passed is True
