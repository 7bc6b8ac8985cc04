"""Transcripts written for the QC tests, zh-CN and English: lawful calls and calls that fail an item."""

from __future__ import annotations

import copy
from typing import Any

A, D = "agent", "debtor"


def call(
    ident: str,
    language: str,
    turns: list[tuple[str, str]],
    account: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": ident,
        "language": language,
        "turns": [{"speaker": s, "text": t} for s, t in turns],
    }
    if account is not None:
        raw["metadata"] = {"account": account}
    raw.update(extra)
    return raw


ZH_ACCOUNT = {
    "currency": "CNY",
    "balance_minor": 1020000,
    "principal_minor": 1000000,
    "penalty_minor": 20000,
    "due_date": "2026-11-15",
    "annual_rate_percent": "18",
}
EN_ACCOUNT = {
    "currency": "USD",
    "balance_minor": 245075,
    "principal_minor": 230075,
    "penalty_minor": 15000,
    "due_date": "2026-10-15",
    "annual_rate_percent": "24.99",
}

# A lawful, complete collection call in Chinese: every automatic item passes.
GOOD_ZH_TURNS: list[tuple[str, str]] = [
    (A, "您好，请问是张伟先生本人吗？"),
    (D, "是我，您哪位？"),
    (
        A,
        "张先生您好，我是安信消费金融的客服专员李娜，工号1024，今天来电是关于您在我司的借款，想跟您核对一下还款情况。",
    ),
    (D, "哦，我知道这个事。我最近失业了，手头实在太紧，家里老人还住院了，一下子拿不出来这么多钱。"),
    (
        A,
        "非常理解您的难处，这段时间确实不容易。跟您核对一下：您目前欠款共计10200元，其中本金10000元，"
        "罚息200元，还款日是11月15日，年利率18%。",
    ),
    (
        D,
        "这么多我一下子肯定还不上，能不能少还一点，或者晚一点再还？我不是故意拖着不还的，工作找到了马上就还。",
    ),
    (A, "没关系，我们可以为您申请分期，每月还1700元，分6期还清，这样压力会小一些。您看这个方案可以吗？"),
    (D, "每个月1700的话，我跟家里人商量一下应该可以，下个月开始吧。"),
    (
        A,
        "好的，那跟您确认一下：12月5日前还第一期1700元，稍后会给您发送分期协议短信，您留意查收。感谢您的配合。",
    ),
    (D, "好的，谢谢。"),
]

GOOD_EN_TURNS: list[tuple[str, str]] = [
    (A, "Hello, may I speak with Mr. James Carter?"),
    (D, "Yes, speaking. Who's this?"),
    (
        A,
        "Mr. Carter, my name is Dana Reyes and I'm calling from Northgate Recovery regarding your Summit Bank "
        "credit card account. This is an attempt to collect a debt and any information obtained will be used "
        "for that purpose.",
    ),
    (
        D,
        "Right. Look, I was laid off in March and money is tight. I've been trying to keep up with rent and "
        "everything else, and I just haven't been able to get to this one.",
    ),
    (
        A,
        "I'm sorry to hear that, and I understand. Your balance is $2,450.75, which includes $150.00 in late "
        "fees; the payment was due on October 15, and the card's APR is 24.99%.",
    ),
    (D, "I can't pay that all at once. Is there anything smaller I can do each month until I find work?"),
    (A, "We can set up a payment plan of $204.23 per month over twelve months. Would that work for you?"),
    (D, "I think I can do that, as long as the first one isn't due right away."),
    (
        A,
        "Just to recap: the first payment of $204.23 is on December 1, and I'll send you a confirmation letter "
        "today. Thank you for your time.",
    ),
    (D, "Okay, thanks."),
]


def good_zh(ident: str = "zh-good", **extra: Any) -> dict[str, Any]:
    return call(ident, "zh-CN", list(GOOD_ZH_TURNS), copy.deepcopy(ZH_ACCOUNT), **extra)


def good_en(ident: str = "en-good", language: str = "en-US", **extra: Any) -> dict[str, Any]:
    return call(ident, language, list(GOOD_EN_TURNS), copy.deepcopy(EN_ACCOUNT), **extra)


def replace_turn(raw: dict[str, Any], index: int, text: str) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    out["turns"][index]["text"] = text
    return out
