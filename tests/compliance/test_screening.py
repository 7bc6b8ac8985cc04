"""Content screening: categories in both languages, evasion, offsets, the allow list, verdict
policy, channel checks and rule ids (CN-C1, US-C1, US-C2, US-P2, US-E1, US-E2)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.compliance.test_screening_corpus import LAWFUL_EN, LAWFUL_ZH, OFFENDING

from arrears.compliance.screening import (
    BLOCKING_CATEGORIES,
    CATEGORIES,
    Flag,
    LexiconError,
    Screener,
    ScreenResult,
    screen_text,
)
from arrears.core.errors import ValidationFailed


@pytest.fixture(scope="module")
def screener() -> Screener:
    return Screener.default()


def categories(result: ScreenResult) -> set[str]:
    return {f.category for f in result.flags}


def assert_offsets(text: str, result: ScreenResult) -> None:
    for f in result.flags:
        assert 0 <= f.start <= f.end <= len(text)
        assert text[f.start : f.end] == f.match


# ---------------------------------------------------------------- categories, both languages


@pytest.mark.parametrize(("text", "category", "verdict"), OFFENDING)
def test_offending_text_is_flagged(screener: Screener, text: str, category: str, verdict: str) -> None:
    result = screener.screen(text)
    assert category in categories(result), result
    assert result.verdict == verdict
    assert_offsets(text, result)


def test_every_category_is_covered_in_both_languages() -> None:
    seen: dict[str, set[str]] = {c: set() for c in CATEGORIES}
    for text, category, _ in OFFENDING:
        lang = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"
        seen[category].add(lang)
    assert all(langs == {"zh", "en"} for langs in seen.values()), seen


# ---------------------------------------------------------------- false positives


@pytest.mark.parametrize("text", LAWFUL_ZH)
def test_lawful_chinese_message_passes(screener: Screener, text: str) -> None:
    assert screener.screen(text) == ScreenResult("pass", ())


@pytest.mark.parametrize("text", LAWFUL_EN)
def test_lawful_english_message_passes(screener: Screener, text: str) -> None:
    assert screener.screen(text) == ScreenResult("pass", ())


def test_false_positive_sets_are_large_enough() -> None:
    assert len(LAWFUL_ZH) >= 40
    assert len(LAWFUL_EN) >= 40


@pytest.mark.parametrize(
    "text",
    [
        "这是啥比例？",  # 啥比 would be a homophone of 傻逼: excluded
        "请到4楼窗口办理",
        "您的第二笔还款已到账",
        "请提供您妈妈的联系电话",
        "please check the subway schedule",  # "sb" only as a whole token
        "Hi Sue, your statement is ready.",
        "The class assessment is attached.",
        "过去你的还款记录良好",
        "我们已经为你做了分期方案",
    ],
)
def test_near_misses_pass(screener: Screener, text: str) -> None:
    assert screener.screen(text).verdict == "pass"


# ---------------------------------------------------------------- evasion


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("你个傻 逼", "傻 逼"),  # spacing
        ("杀.你.全.家", "杀.你.全.家"),  # punctuation between characters
        ("傻*逼", "傻*逼"),
        ("傻\u200b逼", "傻\u200b逼"),  # zero-width space
        ("傻　逼", "傻　逼"),  # ideographic space
        ("你是ｓｂ吧", "ｓｂ"),  # full-width letters
        ("ＦＵＣＫ you", "ＦＵＣＫ you"),
        ("你這個騙子", "你這個騙子"),  # traditional characters
        ("殺你全家", "殺你全家"),
        ("你他媽的", "他媽的"),
        ("你是sb吧", "sb"),  # pinyin initials
        ("nmsl", "nmsl"),
        ("TMD还钱", "TMD"),
        ("s b", "s b"),
        ("煞笔", "煞笔"),  # homophones
        ("草泥马", "草泥马"),
        ("艹尼玛", "艹尼玛"),
        ("cao你妈", "cao你妈"),
        ("你个沙比", "沙比"),
        ("f*ck off", "f*ck"),  # masked and stretched English
        ("fuuuck", "fuuuck"),
        ("I will k i l l you", "I will k i l l you"),
        ("k.i.l.l you", "k.i.l.l you"),
    ],
)
def test_evasive_spelling_is_caught_at_its_original_span(screener: Screener, text: str, match: str) -> None:
    result = screener.screen(text)
    assert result.verdict == "block"
    assert match in [f.match for f in result.flags], result
    assert_offsets(text, result)


def test_pinyin_initials_do_not_match_inside_words(screener: Screener) -> None:
    for text in ("Please use the subway.", "The tmdb id", "ASBESTOS report", "sbx"):
        assert screener.screen(text).verdict == "pass", text


def test_offsets_point_into_the_original_after_expansion(screener: Screener) -> None:
    # "ﬁ" folds to two letters and "…" to three dots: positions after them must still be right
    text = "ﬁne … 你个傻逼 … ﬁne"
    result = screener.screen(text)
    (flag,) = [f for f in result.flags if f.category == "abuse"]
    assert (flag.start, flag.end, flag.match) == (8, 10, "傻逼")
    assert text[flag.start : flag.end] == "傻逼"


_BAD = ["傻逼", "杀你全家", "爆你通讯录", "坐牢", "kill you", "deadbeat", "wall of shame", "tell your boss"]
_FILLER = st.text(
    alphabet=st.sampled_from(list("您好，请还款。逾期账单 abc.XYZ 123!?\u3000ｓ*·")), min_size=0, max_size=20
)


@settings(max_examples=150, deadline=None)
@given(prefix=_FILLER, term=st.sampled_from(_BAD), suffix=_FILLER, spaced=st.booleans())
def test_inserted_term_is_found_and_offsets_hold(prefix: str, term: str, suffix: str, spaced: bool) -> None:
    if spaced and all("\u4e00" <= ch <= "\u9fff" for ch in term):
        term = " ".join(term)
    text = f"{prefix} {term} {suffix}"
    result = screen_text(text)
    assert result.verdict == "block"
    assert_offsets(text, result)
    start = text.index(term, len(prefix))
    assert any(f.start <= start and start + len(term) <= f.end for f in result.flags), result


_ANY = st.text(
    alphabet=st.sampled_from(
        list("你妈的傻逼殺杀全家法院起诉還钱 abcsbkil*.,，!ＳＢ\u200b\u3000ﬁ…0123456789-")
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(text=_ANY, channel=st.sampled_from([None, "sms", "voicemail"]))
def test_fast_path_agrees_with_the_folding_path(screener: Screener, text: str, channel: str | None) -> None:
    fast = screener.screen(text, channel=channel)
    reference = screener._screen_folding(text, channel=channel)
    assert fast == reference
    assert_offsets(text, fast)


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(_ANY, max_size=8),
    channel=st.sampled_from([None, "sms", "email", "voicemail", "call"]),
    pack=st.sampled_from([None, "cn", "us"]),
)
def test_screen_many_equals_screening_one_by_one(
    screener: Screener, texts: list[str], channel: str | None, pack: str | None
) -> None:
    expected = [screener.screen(t, channel=channel, pack=pack) for t in texts]
    assert screener.screen_many(texts, channel=channel, pack=pack) == expected


def test_screen_many_names_the_text_that_is_not_a_string(screener: Screener) -> None:
    with pytest.raises(ValidationFailed, match="text 1 must be a string"):
        screener.screen_many(["ok", 5])  # type: ignore[list-item]
    with pytest.raises(ValidationFailed, match="unknown channel"):
        screener.screen_many(["ok"], channel="fax")


# ---------------------------------------------------------------- allow list and verdict policy


def test_lawful_notice_of_a_filed_case_passes_but_bare_legal_words_are_review(screener: Screener) -> None:
    notice = "我司已向北京市朝阳区人民法院提起诉讼，案号（2026）京0105民初12345号。"
    assert screener.screen(notice).verdict == "pass"
    bare = screener.screen("我们会去法院起诉你")
    assert bare.verdict == "review"
    assert categories(bare) == {"false_legal"}


def test_allowed_phrase_does_not_hide_what_lies_outside_it(screener: Screener) -> None:
    text = "我司已向朝阳区人民法院提起诉讼，你这个傻逼等着坐牢吧"
    result = screener.screen(text)
    assert result.verdict == "block"
    assert {"abuse", "false_legal"} <= categories(result)
    assert all(f.match != "法院" for f in result.flags)


def test_negated_statements_are_allowed(screener: Screener) -> None:
    assert screener.screen("We will not contact your employer.").verdict == "pass"
    assert screener.screen("We will contact your employer.").verdict == "review"
    assert screener.screen("We will tell your employer.").verdict == "block"
    assert screener.screen("我们不会通知您的家人").verdict == "pass"
    assert screener.screen("我们会通知您的家人").verdict == "block"


def test_required_disclosures_pass(screener: Screener) -> None:
    for text in (
        "This is an attempt to collect a debt.",
        "Because of the age of your debt, we will not sue you for it.",
        "如有疑问请致电客服。",
    ):
        assert screener.screen(text).verdict == "pass", text


def test_clearly_false_legal_claim_blocks_while_a_mention_is_review(screener: Screener) -> None:
    assert screener.screen("不还钱就让你坐牢").verdict == "block"
    assert screener.screen("我们会走法律程序").verdict == "review"
    assert screener.screen("You will go to jail for this debt.").verdict == "block"
    assert screener.screen("We may file a lawsuit.").verdict == "review"


def test_impersonation_of_a_named_organ(screener: Screener) -> None:
    result = screener.screen("我是海淀区人民法院执行局的，请配合")
    assert "impersonation" in categories(result)
    assert result.verdict == "block"
    result = screener.screen("This is Officer Miller, call me back.")
    assert "impersonation" in categories(result)


def test_one_flag_per_stretch_and_category(screener: Screener) -> None:
    result = screener.screen("他的身份证号码是110105194912310021")
    spans = [(f.start, f.end) for f in result.flags if f.category == "privacy"]
    assert spans == sorted(set(spans))
    for (_, e1), (s2, _) in itertools.pairwise(spans):
        assert e1 <= s2


# ---------------------------------------------------------------- personal data patterns


def test_identity_card_and_ssn_numbers_are_privacy_findings(screener: Screener) -> None:
    valid_id = "11010519491231002X"  # the check digit of GB 11643's worked example
    result = screener.screen(f"借款人证件号{valid_id}")
    assert [f.match for f in result.flags if f.category == "privacy"] == [valid_id]
    assert screener.screen("证件号110105194912310021").verdict == "pass"  # wrong check digit
    card = screener.screen("card 4111 1111 1111 1111 on file")
    assert [f.match for f in card.flags] == ["4111 1111 1111 1111"]
    assert screener.screen("card 4111 1111 1111 1112").verdict == "pass"  # fails Luhn
    ssn = screener.screen("SSN 123-45-6789")
    assert [f.match for f in ssn.flags] == ["123-45-6789"]
    assert screener.screen("Call 400-123-4567 or 800-555-0100").verdict == "pass"


# ---------------------------------------------------------------- channels


def test_electronic_message_without_opt_out_is_flagged_under_us(screener: Screener) -> None:
    text = "Your payment of $50 is due Friday."
    result = screener.screen(text, channel="sms")
    assert result == ScreenResult("block", (Flag("opt_out_missing", len(text), len(text), "", "US-E1"),))
    assert screener.screen(text + " Reply STOP to opt out.", channel="sms").verdict == "pass"
    assert screener.screen(text + " Unsubscribe here.", channel="email").verdict == "pass"
    assert screener.screen(text, channel="letter").verdict == "pass"
    assert screener.screen(text).verdict == "pass"


def test_opt_out_rule_follows_the_pack(screener: Screener) -> None:
    zh = "您的账单将于12月5日到期，请按时还款。"
    assert screener.screen(zh, channel="sms").verdict == "pass"  # pack cn by language: no opt-out rule
    assert categories(screener.screen(zh, channel="sms", pack="us")) == {"opt_out_missing"}
    assert screener.screen(zh + "回复TD退订", channel="sms", pack="us").verdict == "pass"


def test_voicemail_beyond_limited_content_is_flagged(screener: Screener) -> None:
    limited = "Hi, this is Amy from Acme. Please call me back at 800-555-0100."
    assert screener.screen(limited, channel="voicemail").verdict == "pass"
    text = "Hi, this is Amy from Acme about your overdue debt of $500. Call 800-555-0100."
    result = screener.screen(text, channel="voicemail")
    assert result.verdict == "block"
    found = {(f.match, f.rule) for f in result.flags}
    assert {("overdue", "US-E2"), ("debt", "US-E2"), ("$500", "US-E2")} <= found
    assert_offsets(text, result)
    # the mini-Miranda is lawful in a letter but still reveals the debt in a voicemail
    assert screener.screen("This is an attempt to collect a debt.", channel="voicemail").verdict == "block"


def test_chinese_voicemail_is_flagged_under_cn_p2(screener: Screener) -> None:
    result = screener.screen("您好，您的欠款已逾期，金额500元，请回电。", channel="voicemail")
    assert result.verdict == "block"
    assert {f.rule for f in result.flags} == {"CN-P2"}
    assert {"欠款", "逾期", "500元"} <= {f.match for f in result.flags}


# ---------------------------------------------------------------- rule ids


def test_rule_ids_follow_the_pack(screener: Screener) -> None:
    zh = screener.screen("你这个傻逼")
    assert {f.rule for f in zh.flags} == {"CN-C1"}
    assert {f.rule for f in screener.screen("你这个傻逼", pack="us").flags} == {"US-C1"}
    en = screener.screen("You will be arrested tomorrow.")
    assert {f.rule for f in en.flags} <= {"US-C1", "US-C2"}
    assert {f.rule for f in screener.screen("I am calling from the IRS.").flags} == {"US-C2"}
    assert {f.rule for f in screener.screen("Your husband owes us money.").flags} == {"US-P2"}
    assert {f.rule for f in screener.screen("Your husband owes us money.", pack="cn").flags} == {"CN-C1"}


def test_language_picks_the_pack_when_none_is_given(screener: Screener) -> None:
    assert {f.rule for f in screener.screen("sb", language="zh").flags} == {"CN-C1"}
    assert {f.rule for f in screener.screen("sb").flags} == {"US-C1"}
    assert {f.rule for f in screener.screen("sb", language="zh-CN").flags} == {"CN-C1"}


@pytest.mark.parametrize(
    "kwargs",
    [{"language": "fr"}, {"channel": "pigeon"}, {"pack": "uk"}, {"pack": 3}],
)
def test_bad_arguments_are_rejected(screener: Screener, kwargs: dict[str, object]) -> None:
    with pytest.raises(ValidationFailed):
        screener.screen("hello", **kwargs)  # type: ignore[arg-type]


def test_text_must_be_a_string(screener: Screener) -> None:
    with pytest.raises(ValidationFailed):
        screener.screen(None)  # type: ignore[arg-type]


def test_empty_and_blank_texts_pass(screener: Screener) -> None:
    for text in ("", " ", "\n\t", "，。"):
        assert screener.screen(text).verdict == "pass"


# ---------------------------------------------------------------- lexicons


def test_default_is_built_once_and_is_large() -> None:
    a, b = Screener.default(), Screener.default()
    assert a is b
    assert a.info.keys >= 5000
    assert a.info.terms >= 600
    assert a.info.expanded_terms >= 5000  # the screening target is stated for >= 5,000 lexicon terms
    langs = {path.split("/")[0] for path, _ in a.info.files}
    assert langs == {"zh", "en"}


def test_each_language_has_a_few_hundred_base_terms() -> None:
    import yaml

    from arrears.compliance import screening

    root = Path(screening.__file__).parent / "lexicons"
    for lang in ("zh", "en"):
        count = 0
        for path in (root / lang).glob("*.yaml"):
            doc = yaml.safe_load(path.read_text("utf-8"))
            assert doc["version"] and isinstance(doc["citations"], list), path
            if doc.get("kind", "conduct") == "conduct":
                assert doc["category"] in CATEGORIES
                assert doc["citations"], f"{path} cites nothing"
                count += len(doc["terms"])
        assert count >= 300, (lang, count)


def test_traditional_table_has_no_chains() -> None:
    from arrears.compliance.normalise import trad_to_simp

    table = trad_to_simp()
    assert len(table) >= 300
    assert not set(table.values()) & set(table), "a simplified character is itself mapped"


def test_malformed_lexicon_is_reported_with_its_file(tmp_path: Path) -> None:
    for lang in ("zh", "en"):
        (tmp_path / lang).mkdir()
    (tmp_path / "zh" / "threat.yaml").write_text(
        "version: '1'\nlanguage: zh\neffective: '2026-01-01'\ncitations: []\ncategory: threat\n"
        "severity: block\nrules: {cn: CN-C1, us: US-C1}\nterms: ['{nope}你']\n",
        encoding="utf-8",
    )
    with pytest.raises(LexiconError, match=r"zh/threat.yaml: term 1: .*unknown slot \{nope\}"):
        Screener.from_directory(tmp_path)
    (tmp_path / "zh" / "threat.yaml").write_text("version: '1'\nlanguage: zh\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"zh/threat.yaml: missing 'effective'"):
        Screener.from_directory(tmp_path)


def test_a_small_lexicon_directory_works(tmp_path: Path) -> None:
    for lang in ("zh", "en"):
        (tmp_path / lang).mkdir()
    (tmp_path / "en" / "abuse.yaml").write_text(
        "version: '9'\nlanguage: en\neffective: '2026-01-01'\ncitations: [x]\ncategory: abuse\n"
        "severity: review\nrules: {cn: CN-C1, us: US-C1}\nslots: {w: [frob, blarg]}\nterms: ['{w} you']\n",
        encoding="utf-8",
    )
    small = Screener.from_directory(tmp_path)
    result = small.screen("Well, frob   you!")
    assert result == ScreenResult("review", (Flag("abuse", 6, 16, "frob   you", "US-C1"),))
    assert small.screen("blarg you").verdict == "review"
    assert small.screen("frobnicate you").verdict == "pass"


def test_ordinary_dictionary_words_do_not_hide_blocking_terms() -> None:
    """No frequent word of jieba's shipped dictionary contains a blocking term as a mere part
    (e.g. 登报 inside 刊登报道), apart from words that really are about the term."""
    import os

    import jieba

    screener = Screener.default()
    genuine = {"武警", "特勤", "无赖"}  # 武警部队, 特勤队, 耍无赖 do mean what the term means
    offending: list[tuple[str, str]] = []
    path = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            word, freq, *_ = line.split()
            if int(freq) < 20 or len(word) < 2:
                continue
            for f in screener.screen(word).flags:
                if f.match != word and f.category in BLOCKING_CATEGORIES and f.match not in genuine:
                    offending.append((word, f.match))
    assert offending == []
