"""Automatic scoring, item by item, in Chinese and English: lawful calls pass, faulty ones fail with evidence.

The content screening is replaced by a pass-all here; the conduct items are tested with the real
screening in test_conduct.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from arrears.quality.autoscore import ScoreResult, apply_decisions, chinese_numeral, compute_score

from .conftest import item
from .transcripts import EN_ACCOUNT, ZH_ACCOUNT, A, D, call, good_en, good_zh, replace_turn

AUTO_ITEMS = (
    "identification",
    "identity_verified",
    "amount_terms",
    "empathy",
    "solution_offered",
    "summary_next_step",
    "tone",
)


def assert_evidence_points_into_turns(result: ScoreResult, raw: dict[str, Any]) -> None:
    for it in result.items:
        for ev in it.evidence:
            turn = raw["turns"][ev.turn]
            assert turn["speaker"] == ev.speaker
            assert turn["text"][ev.start : ev.end] == ev.text


@pytest.mark.parametrize("raw", [good_zh(), good_en()], ids=["zh", "en-US"])
def test_lawful_call_passes_every_automatic_item(score, raw: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    r = score(raw)
    for name in AUTO_ITEMS:
        it = item(r, name)
        assert it.passed is True, (name, it.reason)
        assert 0 < it.confidence <= 1
    assert r.fatal is False
    assert r.score == 100.0  # the manual item is pending and not counted
    assert r.pending == ("case_notes",)
    assert r.meets_standard
    assert_evidence_points_into_turns(r, raw)


def test_evidence_of_a_lawful_call_points_at_the_right_turns(score) -> None:  # type: ignore[no-untyped-def]
    r = score(good_zh())
    ident = item(r, "identity_verified")
    assert [(e.turn, e.text, e.note) for e in ident.evidence] == [
        (0, "请问是", "verification"),
        (1, "是我", "confirmation"),
        (2, "借款", "debt first discussed"),
    ]
    amounts = item(r, "amount_terms")
    stated = {e.text for e in amounts.evidence if e.note == "matches the account"}
    assert {"10200元", "10000元", "200元"} <= stated
    assert all(e.turn == 4 for e in amounts.evidence)
    empathy = item(r, "empathy")
    assert [(e.turn, e.note) for e in empathy.evidence] == [(3, "hardship"), (4, "acknowledged")]
    assert item(r, "solution_offered").evidence[0].turn == 6
    assert item(r, "summary_next_step").evidence[0].turn == 8


def test_english_scorecard_without_the_us_items(score) -> None:  # type: ignore[no-untyped-def]
    r = score(good_en(language="en-GB"), card="default-en")
    assert r.scorecard == "default-en@1"
    assert {i.item for i in r.items}.isdisjoint({"debt_collector_disclosure", "false_amount"})
    assert r.score == 100.0


# -- identification and purpose ---------------------------------------------------------------------


def test_identification_missing_fails(score) -> None:  # type: ignore[no-untyped-def]
    raw = replace_turn(good_zh(), 2, "张先生您好，您的借款已经逾期了，欠款共计10200元。")
    it = item(score(raw), "identification")
    assert it.passed is False
    assert it.reason.endswith("did not say who they are")
    raw_en = replace_turn(good_en(), 2, "Okay Mr. Carter. This is an attempt to collect a debt.")
    it = item(score(raw_en), "identification")
    assert it.passed is False and "who they are" in it.reason


def test_identification_late_in_the_call_does_not_count(score) -> None:  # type: ignore[no-untyped-def]
    turns = [
        (A, "喂？"),
        (D, "喂，谁啊？"),
        (A, "请问是张伟先生本人吗？"),
        (D, "是我。"),
        (A, "嗯。"),
        (D, "什么事？"),
        (A, "我是安信消费金融的客服专员，来电是关于您的借款。"),
    ]
    it = item(score(call("late-id", "zh-CN", turns)), "identification")
    assert it.passed is False  # the default window is the first three agent turns


# -- identity verified before the debt is discussed -------------------------------------------------


def test_debt_discussed_before_verification_fails_zh(score) -> None:  # type: ignore[no-untyped-def]
    turns = [
        (A, "您好，我是安信消费金融的客服，您的借款已经逾期了，请问是张伟本人吗？"),
        (D, "是我。"),
        (A, "您目前欠款共计10200元，请尽快处理。"),
    ]
    it = item(score(call("order", "zh-CN", turns)), "identity_verified")
    assert it.passed is False
    assert it.evidence[0].turn == 0 and it.evidence[0].text == "借款"
    assert "before the identity was verified" in it.reason


def test_debt_discussed_before_verification_fails_en(score) -> None:  # type: ignore[no-untyped-def]
    turns = [
        (
            A,
            "Hi, this is Dana from Northgate Recovery about the past due balance on your card. Is this James?",
        ),
        (D, "Yes, that's me."),
        (A, "Your balance is $2,450.75."),
    ]
    it = item(score(call("order-en", "en-US", turns)), "identity_verified")
    assert it.passed is False
    assert it.evidence[0].turn == 0 and it.evidence[0].note == "debt discussed before verification"


def test_debt_discussed_with_someone_who_denied_being_the_debtor(score) -> None:  # type: ignore[no-untyped-def]
    turns = [
        (A, "您好，请问是张伟先生本人吗？"),
        (D, "不是，我是他老婆，他不在家。"),
        (A, "那麻烦您转告他，他在我们这里的借款已经逾期两个月了，欠款一万多。"),
    ]
    it = item(score(call("denied", "zh-CN", turns)), "identity_verified")
    assert it.passed is False
    assert "not the debtor" in it.reason
    assert [e.turn for e in it.evidence] == [1, 2]
    en = [
        (A, "Hello, may I speak with James Carter?"),
        (D, "No, this is his wife. He isn't home."),
        (A, "Please tell him his payment is past due and he owes $2,450."),
    ]
    it = item(score(call("denied-en", "en-US", en)), "identity_verified")
    assert it.passed is False and "not the debtor" in it.reason


def test_third_party_call_that_never_mentions_the_debt_passes(score) -> None:  # type: ignore[no-untyped-def]
    turns = [
        (A, "您好，请问是张伟先生本人吗？"),
        (D, "不是，他不在。"),
        (A, "好的，打扰了，麻烦您请他方便时回电，谢谢。"),
    ]
    it = item(score(call("third-party", "zh-CN", turns)), "identity_verified")
    assert it.passed is True and it.reason == "the debt was not discussed"


def test_sorry_is_not_taken_for_yes(score) -> None:  # type: ignore[no-untyped-def]
    turns = [(A, "您好，请问是张伟先生本人吗？"), (D, "对不起，你打错了。"), (A, "您的欠款已经逾期。")]
    it = item(score(call("sorry", "zh-CN", turns)), "identity_verified")
    assert it.passed is False


def test_answering_a_last_four_digits_question_counts_as_confirmation(score) -> None:  # type: ignore[no-untyped-def]
    turns = [
        (
            A,
            "Hello, this is Dana with Northgate. To verify your identity, can you give me the last four of your "
            "Social Security number?",
        ),
        (D, "It's 4821."),
        (A, "Thank you. I'm calling about the balance on your Summit card."),
    ]
    it = item(score(call("last4", "en-US", turns)), "identity_verified")
    assert it.passed is True


# -- amount and contract terms ----------------------------------------------------------------------


def test_amount_that_does_not_match_the_account_fails(score) -> None:  # type: ignore[no-untyped-def]
    raw = replace_turn(
        good_zh(), 4, "理解您的难处。您目前欠款共计12000元，其中本金10000元，还款日是11月15日。"
    )
    it = item(score(raw), "amount_terms")
    assert it.passed is False
    bad = it.evidence[0]
    assert (bad.turn, bad.text) == (4, "12000元")
    assert bad.note == "stated 12000.00; account balance 10200.00"


def test_wrong_due_date_and_rate_fail(score) -> None:  # type: ignore[no-untyped-def]
    raw = replace_turn(
        good_en(),
        4,
        "I understand. Your balance is $2,450.75; the payment was due on October 20, and the APR is 29.99%.",
    )
    r = score(raw)
    it = item(r, "amount_terms")
    assert it.passed is False
    notes = {e.text: e.note for e in it.evidence}
    assert notes["October 20"] == "account due date is 2026-10-15"
    assert notes["29.99%"] == "account annual rate is 24.99%"
    fatal = item(r, "false_amount")  # US: a false amount or term is a fatal 1692e(2)(A) finding
    assert fatal.passed is False and fatal.fatal_item
    assert r.fatal and r.score == 0.0


def test_principal_is_checked_against_the_principal(score) -> None:  # type: ignore[no-untyped-def]
    # 10200 is the balance, not the principal: stating it as 本金 is wrong.
    raw = replace_turn(good_zh(), 4, "理解。您的本金是10200元，罚息200元，还款日是11月15日。")
    it = item(score(raw), "amount_terms")
    assert it.passed is False
    assert it.evidence[0].note == "stated 10200.00; account principal 10000.00"


def test_offer_above_the_balance_fails(score) -> None:  # type: ignore[no-untyped-def]
    raw = replace_turn(good_zh(), 6, "我们可以为您申请分期，先还15000元，剩下的再说。")
    it = item(score(raw), "amount_terms")
    assert it.passed is False
    assert "exceeds the balance" in (it.evidence[0].note or "")


def test_rounded_and_spoken_amounts_match(score) -> None:  # type: ignore[no-untyped-def]
    raw = replace_turn(
        good_zh(), 4, "理解您的难处。您目前欠款一万零二百元，其中本金1万元，罚息两百块，还款日是11月15日。"
    )
    it = item(score(raw), "amount_terms")
    assert it.passed is True, it.reason
    assert {e.text for e in it.evidence if e.note == "matches the account"} == {
        "一万零二百元",
        "1万元",
        "两百块",
    }


def test_no_amount_stated_fails_and_no_account_figures_lowers_confidence(score) -> None:  # type: ignore[no-untyped-def]
    raw = replace_turn(good_zh(), 4, "非常理解您的难处，这段时间确实不容易。")
    it = item(score(raw), "amount_terms")
    assert it.passed is False and "did not state the amount" in it.reason
    no_figures = good_zh()
    del no_figures["metadata"]
    it = item(score(no_figures), "amount_terms")
    assert it.passed is True and it.confidence < 0.7
    assert item(score(good_en(metadata={})), "false_amount").confidence <= 0.3


def test_amount_without_any_term_fails(score) -> None:  # type: ignore[no-untyped-def]
    raw = replace_turn(good_en(), 4, "I'm sorry to hear that, and I understand. You owe $2,450.75.")
    it = item(score(raw), "amount_terms")
    assert it.passed is False and "without any contract term" in it.reason


def test_debtor_figures_are_not_the_agents(score) -> None:  # type: ignore[no-untyped-def]
    raw = replace_turn(good_zh(), 5, "我记得我只欠5000元，你们是不是算错了？")
    assert item(score(raw), "amount_terms").passed is True


# -- listening and empathy --------------------------------------------------------------------------


def test_hardship_not_acknowledged_fails(score) -> None:  # type: ignore[no-untyped-def]
    raw = replace_turn(good_zh(), 4, "您目前欠款共计10200元，其中本金10000元，罚息200元，还款日是11月15日。")
    raw = replace_turn(raw, 8, "那就12月5日前还第一期1700元，稍后会给您发送分期协议短信。")
    it = item(score(raw), "empathy")
    assert it.passed is False
    assert "did not acknowledge" in it.reason
    assert it.evidence[0].turn == 3 and it.evidence[0].speaker == D


def test_negated_empathy_does_not_count(score) -> None:  # type: ignore[no-untyped-def]
    raw = replace_turn(
        good_en(),
        4,
        "I don't understand why you can't pay. Your balance is $2,450.75, which "
        "includes $150.00 in late fees; the payment was due on October 15.",
    )
    raw = replace_turn(
        raw,
        8,
        "Just to recap: the first payment of $204.23 is on December 1, and I'll send "
        "you a confirmation letter today.",
    )
    it = item(score(raw), "empathy")
    assert it.passed is False and "no acknowledgement" in it.reason


def test_agent_who_talks_over_the_debtor_fails_empathy(score) -> None:  # type: ignore[no-untyped-def]
    raw = good_en()
    raw["turns"][3]["interrupted"] = True
    raw["turns"][5]["text"] += " But--"
    raw["turns"][8]["overlap"] = True
    r = score(raw)
    it = item(r, "empathy")
    assert it.passed is False and "interrupted the debtor 3 times" in it.reason
    assert r.features.interruptions == (4, 6, 8)


def test_agent_monologue_fails_empathy(score) -> None:  # type: ignore[no-untyped-def]
    long = "您目前欠款共计10200元，" + "根据合同约定逾期会产生罚息并影响您的信用记录，" * 12
    turns = [
        (A, "您好，请问是张伟先生本人吗？"),
        (D, "是。"),
        (A, "我是安信消费金融的客服专员，来电是关于您的借款。理解您的情况。" + long),
        (D, "嗯。"),
        (A, "我们可以分期，那跟您确认一下，稍后给您发短信。"),
    ]
    it = item(score(call("mono", "zh-CN", turns)), "empathy")
    assert it.passed is False and "of the talking" in it.reason


# -- solution offered (R13) --------------------------------------------------------------------------


def test_no_plan_offered_fails(score) -> None:  # type: ignore[no-untyped-def]
    raw = replace_turn(good_zh(), 6, "那您这个月底之前必须全部还清。")
    raw = replace_turn(raw, 8, "好的，那跟您确认一下：月底前全部还清，稍后会给您发送短信提醒。")
    it = item(score(raw), "solution_offered")
    assert it.passed is False and it.evidence == ()


def test_refused_plan_fails_with_the_refusal_as_evidence(score) -> None:  # type: ignore[no-untyped-def]
    raw = replace_turn(good_en(), 6, "We can't do a payment plan on this account, it has to be paid in full.")
    raw = replace_turn(
        raw,
        8,
        "Just to recap: you'll pay the full amount by December 1, and I'll send a confirmation letter today.",
    )
    it = item(score(raw), "solution_offered")
    assert it.passed is False
    assert it.evidence[0].turn == 6 and it.evidence[0].text == "payment plan"
    zh = replace_turn(good_zh(), 6, "我们这边不能分期，必须一次性还清。")
    zh = replace_turn(zh, 8, "好的，那跟您确认一下，稍后给您发送短信。")
    assert item(score(zh), "solution_offered").passed is False


# -- summary and next step ---------------------------------------------------------------------------


def test_no_summary_at_the_end_fails(score) -> None:  # type: ignore[no-untyped-def]
    raw = replace_turn(good_zh(), 8, "行，那就这样吧。")
    it = item(score(raw), "summary_next_step")
    assert it.passed is False
    en = replace_turn(good_en(), 8, "Okay. Bye.")
    assert item(score(en), "summary_next_step").passed is False


# -- tone ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "index", "text", "evidence"),
    [
        ("zh", 6, "你听不懂吗？分期，每月还1700元！", "听不懂"),
        ("zh", 6, "【大声】我们可以分期，每月还1700元，分6期。", "【大声】"),
        ("zh", 6, "我们可以分期！！！每月还1700元。", "！！！"),
        (
            "en",
            6,
            "How many times do I have to say it? We can set up a payment plan of $204.23 per month.",
            "How many times",
        ),
        ("en", 6, "WE CAN SET UP A PAYMENT PLAN of $204.23 per month.", "WE CAN SET UP A PAYMENT PLAN"),
    ],
)
def test_raised_voice_and_curt_phrases_fail_tone(
    score,
    lang: str,
    index: int,
    text: str,  # type: ignore[no-untyped-def]
    evidence: str,
) -> None:
    raw = replace_turn(good_zh() if lang == "zh" else good_en(), index, text)
    it = item(score(raw), "tone")
    assert it.passed is False
    assert it.evidence[0].turn == index and it.evidence[0].text == evidence


def test_debtor_shouting_does_not_fail_the_agent(score) -> None:  # type: ignore[no-untyped-def]
    raw = replace_turn(good_zh(), 5, "【大声】我说了没钱！！！你们烦不烦！")
    r = score(raw)
    assert item(r, "tone").passed is True
    assert r.features.to_dict()["raised_voice_debtor"] == 2


# -- the debt-collector disclosure (US) -------------------------------------------------------------


def test_missing_mini_miranda_is_fatal(score) -> None:  # type: ignore[no-untyped-def]
    raw = replace_turn(
        good_en(),
        2,
        "Mr. Carter, my name is Dana Reyes and I'm calling from Northgate Recovery "
        "regarding your Summit Bank credit card account.",
    )
    r = score(raw)
    it = item(r, "debt_collector_disclosure")
    assert it.passed is False and it.fatal_item
    assert r.fatal and r.score == 0.0 and not r.meets_standard
    assert r.to_dict()["fatal"] is True


def test_mini_miranda_after_the_debt_discussion_fails(score) -> None:  # type: ignore[no-untyped-def]
    raw = replace_turn(
        good_en(),
        2,
        "Mr. Carter, my name is Dana Reyes and I'm calling from Northgate Recovery "
        "regarding your Summit Bank credit card account.",
    )
    raw = replace_turn(
        raw, 6, "We can set up a payment plan of $204.23 per month. This is an attempt to collect a debt."
    )
    it = item(score(raw), "debt_collector_disclosure")
    assert it.passed is False and "before the disclosure" in it.reason
    assert [e.turn for e in it.evidence] == [4, 6]


# -- scores, manual items and inspector decisions ---------------------------------------------------


def test_weighted_score_of_a_call_failing_two_items(score) -> None:  # type: ignore[no-untyped-def]
    raw = replace_turn(good_zh(), 8, "行，那就这样吧。")  # summary (10) fails
    raw = replace_turn(raw, 6, "您这个月底之前必须全部还清，每月还不了就一次性还。")  # solution (15) fails
    r = score(raw)
    assert set(r.failed) == {"summary_next_step", "solution_offered"}
    assert r.score == pytest.approx(75.0)  # 75 of 100 decided points
    assert r.meets_standard is False  # pass mark 80


def test_inspector_decisions_replace_the_machine(score) -> None:  # type: ignore[no-untyped-def]
    r = score(good_zh())
    decided = apply_decisions(r, {"case_notes": False, "tone": False}, pass_mark=80)
    assert decided.pending == ()
    assert item(decided, "case_notes").source == "inspector"
    # Decided weight 110, passed 110 - 10 (notes) - 10 (tone) = 90 → 81.8.
    assert decided.score == pytest.approx(81.8)
    with pytest.raises(KeyError):
        apply_decisions(r, {"no_such_item": True}, pass_mark=80)
    also = score(good_zh(), decisions={"case_notes": True})
    assert also.score == 100.0 and also.pending == ()


def test_an_inspector_can_clear_a_fatal_machine_finding(score) -> None:  # type: ignore[no-untyped-def]
    raw = replace_turn(
        good_en(),
        2,
        "Mr. Carter, my name is Dana Reyes and I'm calling from Northgate Recovery "
        "regarding your Summit Bank credit card account.",
    )
    r = score(raw)
    assert r.fatal
    cleared = apply_decisions(r, {"debt_collector_disclosure": True}, pass_mark=80)
    assert not cleared.fatal and cleared.score == 100.0


def test_compute_score_edge_cases() -> None:
    assert compute_score([], 80) == (0.0, False, False)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("一万零五百", 10500),
        ("十五", 15),
        ("三千五", 3500),
        ("十二万三千", 123000),
        ("两千三百", 2300),
        ("一百零五", 105),
        ("一亿二千万", 120_000_000),
        ("一万五", 15000),
        ("一千零一", 1001),
        ("零", 0),
    ],
)
def test_chinese_numerals(text: str, value: int) -> None:
    assert chinese_numeral(text) == value


def test_result_json_shape(score) -> None:  # type: ignore[no-untyped-def]
    d = score(good_en()).to_dict()
    assert {"id", "score", "fatal", "items", "scorecard", "meets_standard", "pending", "features"} <= set(d)
    first = d["items"][0]
    assert {"item", "passed", "evidence", "confidence", "reason", "title", "fatal_item", "weight"} <= set(
        first
    )
    assert {"turn", "speaker", "start", "end", "text"} <= set(first["evidence"][0])
    assert 0 <= d["features"]["agent_talk_share"] <= 1


def test_accounts_in_the_fixtures_are_consistent() -> None:
    for acct in (ZH_ACCOUNT, EN_ACCOUNT):
        assert acct["principal_minor"] + acct["penalty_minor"] == acct["balance_minor"]


def test_minor_units_fast_path_matches_decimal() -> None:
    """Amounts in plain digits are converted with integer arithmetic; the result is the Decimal one."""
    import random
    from decimal import Decimal

    from arrears.quality.autoscore import _minor

    def reference(number: str, mult: str | None, places: int) -> int:
        value = Decimal(number.replace(",", ""))
        if mult == "万":
            value *= 10_000
        elif mult and mult.strip() in ("千", "k", "thousand"):
            value *= 1000
        return int((value * (10**places)).to_integral_value())

    rng = random.Random(3)
    numbers = ["0", "007", "1,234", "1,234.5", "12.34", "0.05", "9" * 17, "9" * 18, "9" * 30 + ".99", "١٢٣"]
    for _ in range(5_000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 24)))
        if rng.random() < 0.5:
            digits += "." + "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 4)))
        numbers.append(digits)
    for number in numbers:
        for mult in (None, "万", "千", "k", "thousand "):
            for places in (0, 2, 3):
                assert _minor(number, mult, places) == reference(number, mult, places), (number, mult, places)


def test_clause_punctuation_expression_matches_the_plain_one() -> None:
    """The clause delimiters are found by a class-led expression; it finds what the plain alternation finds."""
    import random
    import re

    from arrears.quality.autoscore import _CLAUSE_DELIM

    plain = re.compile(r"[，。；！？、：\n;!?:]|[,.](?= |\Z)")
    rng = random.Random(5)
    alphabet = "，。；！？、：\n;!?:,. a1元$"
    texts = ["", ",", ".", "a,", "1,234.56. x", "x, y.z", "好的，。", "a.\n", ", ,", "..", ". ."]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 16))) for _ in range(5_000)]
    for text in texts:
        found = [m.start() for m in _CLAUSE_DELIM.finditer(text)]
        assert found == [m.start() for m in plain.finditer(text)], text


def test_clause_cue_is_the_least_rank_distance_and_group() -> None:
    """The cue chosen for a figure is the least (rank, distance, group) among the cues of its clause."""
    import random

    from arrears.quality.autoscore import _clause_cue

    def reference(cues, delims, length, start, end):  # type: ignore[no-untyped-def]
        from bisect import bisect_right

        i = bisect_right(delims, start - 1)
        a = delims[i - 1] + 1 if i else 0
        j = bisect_right(delims, end - 1)
        b = delims[j] if j < len(delims) else length
        keys = [
            (rank, start - e if e <= start else 2 * max(0, s - end), g)
            for rank, g, s, e in cues
            if a <= s and e <= b
        ]
        return min(keys)[2] if keys else None

    rng = random.Random(9)
    groups = ["plan", "plan_instalment", "claim_balance", "claim_penalty", "due", "rate"]
    for _ in range(20_000):
        length = rng.randrange(5, 40)
        delims = sorted(rng.sample(range(length), rng.randrange(0, 4)))
        cues = []
        for _ in range(rng.randrange(0, 6)):
            s = rng.randrange(0, length - 1)
            cues.append((rng.randrange(0, 3), rng.choice(groups), s, rng.randrange(s + 1, length + 1)))
        start = rng.randrange(0, length - 1)
        end = rng.randrange(start + 1, length + 1)
        assert _clause_cue(cues, delims, length, start, end) == reference(cues, delims, length, start, end)
