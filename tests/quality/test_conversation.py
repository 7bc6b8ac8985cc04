"""Interactions read from JSON objects, and the conversation features measured on them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from arrears.quality.conversation import (
    InteractionError,
    Turn,
    conversation_features,
    join_turns,
    normalise,
    parse_interaction,
    round_half_even,
)


def _raw(**over: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": "c1",
        "language": "zh-CN",
        "turns": [{"speaker": "agent", "text": "您好"}, {"speaker": "debtor", "text": "你好"}],
    }
    raw.update(over)
    return raw


def test_parse_minimal_and_full() -> None:
    i = parse_interaction(_raw())
    assert (i.id, i.language, i.primary_language, i.channel, i.account) == ("c1", "zh-CN", "zh", "call", None)
    assert i.turns[0] == Turn("agent", "您好")
    full = parse_interaction(
        _raw(
            id=7,
            turns=[{"speaker": "agent", "text": "hi", "start": 0, "end": 1.5, "overlap": True}],
            metadata={
                "case_id": "K9",
                "account": {
                    "currency": "usd",
                    "balance_minor": 245075,
                    "due_date": "2026-10-15",
                    "annual_rate_percent": "24.99",
                },
            },
        )
    )
    assert full.id == "7"
    assert full.turns[0].end == 1.5 and full.turns[0].overlap
    assert full.account is not None
    assert full.account.currency == "USD"
    assert full.account.amounts == {"balance_minor": 245075}
    assert full.account.due_date == date(2026, 10, 15)
    assert full.account.annual_rate_percent == Decimal("24.99")
    assert full.metadata["case_id"] == "K9"


@pytest.mark.parametrize(
    ("raw", "field", "reason"),
    [
        ([], "(line)", "JSON object"),
        (_raw(id=""), "id", "non-empty"),
        (_raw(id=True), "id", "non-empty"),
        (_raw(language="chinese!"), "language", "language tag"),
        (_raw(turns=[]), "turns", "non-empty list"),
        (_raw(turns=[{"speaker": "collector", "text": "x"}]), "turns[0].speaker", "'agent' or 'debtor'"),
        (_raw(turns=[{"speaker": "agent", "text": 5}]), "turns[0].text", "string"),
        (
            _raw(turns=[{"speaker": "agent", "text": "x", "start": 5, "end": 2}]),
            "turns[0].end",
            "before start",
        ),
        (_raw(turns=[{"speaker": "agent", "text": "x", "start": -1}]), "turns[0].start", "non-negative"),
        (
            _raw(turns=[{"speaker": "agent", "text": "x", "overlap": "yes"}]),
            "turns[0].overlap",
            "true or false",
        ),
        (_raw(channel="fax"), "channel", "one of"),
        (_raw(metadata={"account": {"currency": "XXX"}}), "metadata.account.currency", "unknown currency"),
        (
            _raw(metadata={"account": {"currency": "CNY", "balance_minor": 12.5}}),
            "metadata.account.balance_minor",
            "integer of minor units",
        ),
        (
            _raw(metadata={"account": {"currency": "CNY", "balance": 100}}),
            "metadata.account.balance",
            "unknown field",
        ),
        (
            _raw(metadata={"account": {"currency": "CNY", "due_date": "15/10/2026"}}),
            "metadata.account.due_date",
            "ISO date",
        ),
    ],
)
def test_parse_errors_name_the_field(raw: Any, field: str, reason: str) -> None:
    with pytest.raises(InteractionError) as exc:
        parse_interaction(raw)
    assert exc.value.field == field
    assert reason in exc.value.reason


def test_normalise_keeps_offsets() -> None:
    text = "ＡＢＣ还款１２３元，I’M HERE"
    norm = normalise(text)
    assert len(norm) == len(text)
    assert norm == "abc还款123元，i'm here"  # the Chinese comma is kept: it marks a clause
    j = join_turns(["ab", "", "cde"])
    assert j.text == "ab\n\ncde"
    assert j.locate(4) == (2, 0)
    assert j.locate(1) == (0, 1)


def _turns(*spec: tuple[str, str] | tuple[str, str, dict[str, Any]]) -> list[Turn]:
    out = []
    for s in spec:
        extra = s[2] if len(s) == 3 else {}  # type: ignore[misc]
        out.append(Turn(s[0], s[1], **extra))  # type: ignore[arg-type]
    return out


def test_talk_share_counts_characters_without_spaces_or_annotations() -> None:
    f = conversation_features(_turns(("agent", "abc def"), ("debtor", "gh【大声】"), ("agent", "ij")))
    # agent: 6 + 2 = 8, debtor: 2 (the annotation is not speech).
    assert (f.agent_chars, f.debtor_chars) == (8, 2)
    assert f.agent_talk_share == pytest.approx(0.8)
    assert (f.turns, f.agent_turns, f.debtor_turns) == (3, 2, 1)


def test_interruptions_marked_flagged_annotated_or_timed() -> None:
    f = conversation_features(
        _turns(
            ("agent", "您好"),
            ("debtor", "我想说的是——"),  # cut off by the agent's next turn
            ("agent", "您先听我说"),
            ("debtor", "可是", {"interrupted": True}),
            ("agent", "不用解释"),
            ("debtor", "好"),
            ("agent", "[crosstalk] 那就这样"),
            ("debtor", "嗯", {"start": 10.0, "end": 12.0}),
            ("agent", "再见", {"start": 11.0, "end": 12.5}),  # starts a second before the debtor finished
            ("debtor", "等等"),
            ("agent", "好的", {"overlap": True}),
        )
    )
    assert f.interruptions == (2, 4, 6, 8, 10)
    assert f.debtor_interruptions == 0


def test_debtor_interrupting_is_counted_apart() -> None:
    f = conversation_features(_turns(("agent", "您的欠款——"), ("debtor", "我知道了")))
    assert f.interruptions == ()
    assert f.debtor_interruptions == 1


def test_silences_from_times_and_annotations() -> None:
    f = conversation_features(
        _turns(
            ("agent", "hello", {"start": 0.0, "end": 2.0}),
            ("debtor", "hi", {"start": 9.5, "end": 10.0}),  # 7.5 s of silence
            ("agent", "[silence 4s] ok", {"start": 11.0, "end": 12.0}),
        ),
        silence_threshold=5.0,
    )
    assert f.silences == ((1, 7.5),)
    assert f.silence_annotations == 1
    assert f.longest_gap_seconds == 7.5
    assert f.duration_seconds == 12.0
    untimed = conversation_features(_turns(("agent", "a"), ("debtor", "b")))
    assert untimed.longest_gap_seconds is None and untimed.duration_seconds is None


def test_raised_voice_markers() -> None:
    f = conversation_features(
        _turns(
            ("agent", "你听好了！！！马上还钱"),
            ("debtor", "【大声】我没钱"),
            ("agent", "I SAID PAY IT NOW, today"),
            ("agent", "Call ABC LLC about your APR, or the FDCPA notice"),  # acronyms are not shouting
            ("agent", "(shouting) fine"),
        )
    )
    kinds = [(r.turn, r.speaker, r.kind, r.text) for r in f.raised_voice]
    assert (0, "agent", "exclamation", "！！！") in kinds
    assert (1, "debtor", "annotation", "【大声】") in kinds
    assert (2, "agent", "caps", "I SAID PAY IT NOW") in kinds
    assert (4, "agent", "annotation", "(shouting)") in kinds
    assert not [k for k in kinds if k[0] == 3]
    assert len(f.agent_raised_voice) == 3
    d = f.to_dict()
    assert (d["raised_voice_agent"], d["raised_voice_debtor"]) == (3, 1)
    # Offsets point into the turn.
    mark = next(r for r in f.raised_voice if r.kind == "caps")
    assert "I SAID PAY IT NOW, today"[mark.start : mark.end] == "I SAID PAY IT NOW"


def test_round_half_even_is_round() -> None:
    """The fast rounding of gaps and durations gives `round`'s value and sign on random values and ties."""
    import math
    import random

    rng = random.Random(7)
    values = [rng.uniform(-50, 50) for _ in range(20_000)]
    values += [rng.randrange(-100_000, 100_000) / 1000 + d for _ in range(5_000) for d in (0.0005, -0.0005)]
    values += [round(rng.uniform(0, 100), 2) - round(rng.uniform(0, 100), 2) for _ in range(20_000)]
    values += [0.0, -0.0, 0.0004, -0.0004, 0.0005, -0.0005, 2.675, 1e11, -1e11, 1e15, 5e-324]
    values += [math.inf, -math.inf]
    for nd in (0, 1, 2, 3, 4, 5):
        for v in values:
            fast, slow = round_half_even(v, nd), round(v, nd)
            assert fast == slow and math.copysign(1, fast) == math.copysign(1, slow), (v, nd)
    assert math.isnan(round_half_even(math.nan, 3))


def test_silences_are_rounded_like_round() -> None:
    """Silence gaps are rounded inline (the round_half_even fast path); each equals round(gap, 3)."""
    import random

    rng = random.Random(11)
    for _ in range(200):
        turns, clock = [], 0.0
        for k in range(30):
            dur = rng.choice((0.37, 1.234, rng.uniform(0, 9)))
            turns.append(
                Turn("agent" if k % 2 else "debtor", "x", round(clock, rng.choice((2, 3, 4))), clock + dur)
            )
            clock += dur + rng.choice((5.0, 5.0005, 6.4995, rng.uniform(5, 60), 1.0))
        f = conversation_features(turns)
        gaps = [(i, turns[i].start - turns[i - 1].end) for i in range(1, len(turns))]  # type: ignore[operator]
        assert f.silences == tuple((i, round(g, 3)) for i, g in gaps if g >= 5.0)


def test_join_turns_offsets() -> None:
    texts = ["ab", "", "cde", "\n", "f"]
    j = join_turns(texts)
    assert j.text == "\n".join(texts)
    assert j.starts == (0, 3, 4, 8, 10)
    assert join_turns([]) == join_turns(()) and join_turns([]).starts == ()


def _caps_reference(text: str) -> list[tuple[int, int]]:
    """Every all-caps run that shouts, scanning the whole text (what the hint may skip)."""
    from arrears.quality.conversation import _CAPS, _is_caps_shouting

    n = len(text)
    return [
        m.span()
        for m in _CAPS.finditer(text)
        if not ((m.start() and text[m.start() - 1].isalpha()) or (m.end() < n and text[m.end()].isalpha()))
        and _is_caps_shouting(m.group())
    ]


@pytest.mark.parametrize(
    "text",
    [
        "I SAID PAY IT NOW, today",
        "PAY,NOW PLEASE",
        "PAY ,  NOW PLEASE",
        "DON'T  YOU DARE",
        "IT'S' OVER NOW",
        "ok USA CNY fine",
        "may I speak with Mr. Carter? This is DANA",
        "你听好了 PAY NOW 马上",
        "APP还款, I ALREADY TOLD YOU",
        "A B C D E F",
        "lower case only",
    ],
)
def test_caps_hint_never_skips_a_shouted_run(text: str) -> None:
    import random

    rng = random.Random(text)
    samples = [text]
    for _ in range(300):  # random mixes of capitals, apostrophes, spaces and commas
        samples.append("".join(rng.choice("AB'C ,d") for _ in range(rng.randrange(1, 25))))
    for sample in samples:
        marks = conversation_features(_turns(("agent", sample))).raised_voice
        assert [(r.start, r.end) for r in marks if r.kind == "caps"] == _caps_reference(sample)
