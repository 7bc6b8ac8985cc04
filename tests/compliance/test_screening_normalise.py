"""Normalisation views for screening and their maps back to the original text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.compliance.normalise import (
    char_classes,
    cjk_view,
    fold,
    normalise,
    word_bytes,
    word_text_from_bytes,
    word_view,
)


def test_fold_full_width_case_and_traditional() -> None:
    assert fold("ＳＢ你個騙子")[0] == "sb你个骗子"
    assert fold("Hello")[0] == "hello"
    text, mapping = fold("ﬁ殺")
    assert text == "fi杀"
    assert mapping == [0, 0, 1]


def test_word_view_tokens_are_padded_and_spaced_letters_joined() -> None:
    assert word_view("I'll K.I.L.L you!!")[0] == " i ll kill you "
    assert word_view("你是sb吧")[0] == " sb "
    assert word_view("*important* f*ck")[0] == " important f*ck "
    assert word_view("")[0] == "  "


def test_cjk_view_joins_only_around_single_characters() -> None:
    assert cjk_view("傻 逼")[0] == "傻逼"
    assert cjk_view("操你 妈")[0] == "操你妈"
    assert cjk_view("您好 张三")[0] == "您好 张三"  # ordinary spacing stays
    assert cjk_view("你，妈")[0] == "你，妈"  # sentence punctuation never joins
    assert cjk_view("杀.你.全.家")[0] == "杀你全家"


def test_character_classes_are_one_per_character() -> None:
    text = "傻 b,Ａ😀。5"
    assert char_classes(text) == b"c apx xd"
    assert len(char_classes(text)) == len(text)
    assert char_classes("傻 B,5") == b"c Upd"


_TEXT = st.text(alphabet=st.sampled_from(list("傻逼你妈 ab*.,，ＳＢ殺ﬁ…\u200b\u3000😀x1")), max_size=30)


@given(_TEXT)
def test_every_view_maps_back_into_the_original(text: str) -> None:
    n = normalise(text)
    assert len(n.words) >= 2
    for i, ch in enumerate(n.words):
        if ch != " ":
            s, e = n.words_span(i, i + 1)
            assert 0 <= s < e <= len(text)
    for i in range(len(n.cjk)):
        s, e = n.cjk_span(i, i + 1)
        assert 0 <= s < e <= len(text)
        assert fold(text[s:e])[0].find(n.cjk[i]) >= 0


@given(st.text(alphabet=st.sampled_from(list("ab*k.I 1-'你")), max_size=40))
def test_map_free_word_view_equals_the_exact_one(text: str) -> None:
    # the screener builds the Latin view without its map and builds the map only when a flag needs it
    assert word_text_from_bytes(word_bytes(text)) == word_view(text)[0].encode("ascii")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("cccccc ad")), min_size=100, max_size=600))
def test_separator_walk_for_long_texts_equals_the_expression(classes: str) -> None:
    # long texts walk their separator runs instead of running the expression (cjk_view's join test)
    from arrears.compliance.screening import _CJK_JOIN, _cjk_join_needed

    data = classes.encode("ascii")
    assert _cjk_join_needed(data) == (_CJK_JOIN.search(data) is not None)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab*k.I 1-'你")), max_size=40))
def test_word_positions_equal_the_exact_map(text: str) -> None:
    # the screener finds a Latin-view position's place in the text without building the view's map
    from arrears.compliance.screening import _prepare

    prep = _prepare(text, force_fold=True)
    view, mapping = word_view(prep.folded)
    if (
        prep.wb == b"  "
    ):  # no Latin letter: the screener leaves the Latin view empty (digits alone match nothing)
        return
    assert prep.wb.decode("ascii") == view
    for p, ch in enumerate(view):
        if ch != " ":
            assert prep._word_pos(p) == mapping[p]
