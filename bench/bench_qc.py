"""Automatic QC scoring throughput on ~2,000-character transcripts, against a naive baseline in the same run.

    python -m bench.bench_qc [--transcripts 2000] [--chars 2000] [--repeat 3] [--seed 11]

Prints JSON. Transcripts (half zh-CN, half English) are generated deterministically from sentence pools,
with account figures; about one in five carries a conduct violation. Figures:
- `optimised_per_s`: `score_interaction` with the scorecard compiled once (one Aho-Corasick pass for every
  cue, one regular expression for amounts/dates/rates, the real content screening once per transcript);
- `baseline_per_s`: the same checks, but cues found the naive way — one regular-expression alternation
  per lexicon group scanned over the whole transcript, each hit located by a linear walk over the turns;
- `*_no_screening_per_s`: both again with the screening replaced by a no-op, to show the scorer's share;
- `identical`: the baseline and the optimised scorer reach the same decisions on every transcript.
Single process, timed in CPU seconds of the process (best of --repeat), so the figures are per core; a
plain-loop calibration before and after shows how loaded the machine was. Complaint triage is measured too.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re
import time
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

from arrears.quality import autoscore
from arrears.quality.autoscore import NOT_SCANNED, CompiledScorecard, Hit, score_interaction
from arrears.quality.complaints import classify_complaint, load_classifier
from arrears.quality.conversation import Interaction, join_turns, parse_interaction
from arrears.quality.scorecards import load_scorecard
from bench.machine import calibration

ZH_AGENT = [
    "您好，请问是{name}先生本人吗？",
    "{name}先生您好，我是安信消费金融的客服专员，工号{n4}，今天来电是关于您在我司的借款。",
    "跟您核对一下，您目前欠款共计{bal}元，其中本金{prin}元，罚息{pen}元，还款日是{mm}月{dd}日。",
    "非常理解您的情况，最近确实不容易。",
    "根据合同约定，逾期后按日计收罚息，时间越长费用越高，所以还是建议您尽早处理。",
    "我们可以为您申请分期，每月还{inst}元，分6期，您看可以吗？",
    "如果一次性结清，我们可以帮您申请减免部分罚息。",
    "您看您这边大概什么时候能安排一部分还款呢？",
    "好的，我这边记录一下您的情况，也会反馈给我们的减免审批同事。",
    "逾期记录会按规定报送征信，及时还款对您以后办理贷款、信用卡都有好处。",
    "您可以通过我们的官方APP或者对公账户还款，请不要转账给任何个人账户。",
    "那跟您确认一下：{mm2}月{dd2}日前先还第一期{inst}元，稍后会给您发送分期协议短信。",
    "感谢您的配合，祝您生活顺利，再见。",
]
ZH_DEBTOR = [
    "是我，什么事？",
    "哦，我知道，最近失业了，手头实在太紧。",
    "这么多我一下子还不上，能不能少还一点？",
    "我下个月发了工资可以先还一部分。",
    "分期的话每个月压力小一点，可以。",
    "罚息能不能减免一些？我不是故意不还的。",
    "好的，我知道了，我会尽快安排。",
    "那我从APP上还款就行是吧？",
    "家里老人生病住院了，花了不少钱。",
    "行，那就这样吧。",
]
ZH_VIOLATIONS = [
    "你再不还钱，我们就去你单位找你领导，让你同事都知道你欠钱不还！",
    "今天不还明天就让公安局来抓你，你等着坐牢吧。",
    "你这种老赖就是不要脸，赶紧去借钱还上！",
    "我们已经起诉你了，法院马上冻结你所有银行卡。",
]
EN_AGENT = [
    "Hello, may I speak with Mr. {name}?",
    "Mr. {name}, my name is Dana and I'm calling from Northgate Recovery regarding your account. This is an "
    "attempt to collect a debt and any information obtained will be used for that purpose.",
    "Your balance is ${bal}, which includes ${pen} in late fees; the payment was due on {mon} {dd}.",
    "I'm sorry to hear that, and I understand this is a difficult time.",
    "Under the agreement, interest continues at the contract rate, so resolving this sooner keeps the cost down.",
    "We can set up a payment plan of ${inst} per month over six months. Would that work for you?",
    "If you can pay part of it now, I can ask about waiving some of the late fees.",
    "What amount would be manageable for you each month?",
    "You can pay through our secure portal or by mailing a check to the address on your statement.",
    "You have the right to dispute this debt; I can send you the details in writing.",
    "Just to recap: the first payment of ${inst} is on {mon2} {dd2}, and I'll send you a confirmation letter today.",
    "Thank you for your time today. Have a good afternoon.",
]
EN_DEBTOR = [
    "Yes, speaking. Who's this?",
    "Right. Look, I was laid off in March and money is tight.",
    "I can't pay that all at once, it's too much.",
    "I get paid on the fifteenth, I could do something then.",
    "A monthly plan would be easier for me.",
    "Can you take off some of those fees? I'm not trying to avoid it.",
    "Okay, I understand. I'll make it work.",
    "So I can pay online, right?",
    "My mother has been in the hospital and the bills piled up.",
    "Alright, that sounds fine.",
]
EN_VIOLATIONS = [
    "If you don't pay today we'll call your boss and tell everyone at your work about this debt!",
    "You'll be arrested and go to jail if this isn't paid by Friday.",
    "You're a worthless deadbeat, borrow the money from your family and pay it now.",
    "We have already filed a lawsuit and the court will freeze your bank accounts tomorrow.",
]
NAMES_ZH = ["张伟", "王芳", "李强", "刘洋", "陈静"]
NAMES_EN = ["Carter", "Nguyen", "Lopez", "Smith", "Okafor"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def transcript(rng: random.Random, idx: int, chars: int) -> dict[str, Any]:
    zh = idx % 2 == 0
    prin = rng.randrange(3_000, 60_000)
    pen = rng.randrange(50, 2_000)
    bal = prin + pen
    inst = round(bal / 6, 2)
    mm, dd = rng.randrange(1, 13), rng.randrange(1, 29)
    fill = {
        "name": rng.choice(NAMES_ZH if zh else NAMES_EN),
        "n4": rng.randrange(1000, 9999),
        "bal": f"{bal}" if zh else f"{bal:,}.00",
        "prin": f"{prin}",
        "pen": f"{pen}" if zh else f"{pen:,}.00",
        "inst": f"{inst:.2f}" if zh else f"{inst:,.2f}",
        "mm": mm,
        "dd": dd,
        "mon": MONTHS[mm - 1],
        "mm2": mm % 12 + 1,
        "dd2": rng.randrange(1, 29),
        "mon2": MONTHS[mm % 12],
    }
    agent, debtor = (ZH_AGENT, ZH_DEBTOR) if zh else (EN_AGENT, EN_DEBTOR)
    violation = rng.random() < 0.2
    turns: list[dict[str, Any]] = []
    total = 0
    clock = 0.0
    i = 0
    middle = agent[2:-2]
    closing = [c.format(**fill) for c in agent[-2:]]
    while total + sum(map(len, closing)) < chars:
        if i < 2:
            a = agent[i]
        else:
            a = rng.choice(middle)
            if violation and rng.random() < 0.15:
                a = rng.choice(ZH_VIOLATIONS if zh else EN_VIOLATIONS)
                violation = False
        a = a.format(**fill)
        d = debtor[0] if i == 0 else rng.choice(debtor[1:])
        for speaker, text in (("agent", a), ("debtor", d)):
            dur = len(text) * (0.25 if zh else 0.07)
            turns.append(
                {"speaker": speaker, "text": text, "start": round(clock, 2), "end": round(clock + dur, 2)}
            )
            clock += dur + rng.choice((0.3, 0.6, 1.0, 6.5))
            total += len(text)
        i += 1
    for text in closing:
        turns.append({"speaker": "agent", "text": text, "start": round(clock, 2), "end": round(clock + 3, 2)})
        clock += 3.5
    account = {
        "currency": "CNY" if zh else "USD",
        "balance_minor": bal * 100,
        "principal_minor": prin * 100,
        "penalty_minor": pen * 100,
        "due_date": f"2026-{mm:02d}-{dd:02d}",
    }
    return {
        "id": f"t{idx}",
        "language": "zh-CN" if zh else "en-US",
        "turns": turns,
        "metadata": {"account": account},
    }


class NaiveScorecard(CompiledScorecard):
    """The baseline: one regex alternation per lexicon group over the whole transcript, linear turn lookup."""

    def __init__(self, card: Any) -> None:
        super().__init__(card)
        self.group_res: list[tuple[str, re.Pattern[str]]] = []
        for group, phrases in card.lexicon.items():
            if group in NOT_SCANNED:
                continue
            parts = []
            for p in phrases:
                prefix = p.endswith("*")
                key = p.rstrip("*").strip().lower()
                body = re.escape(key)
                if key[0].isascii() and key[0].isalnum():
                    body = r"(?<![a-z0-9'])" + body
                if key[-1].isascii() and key[-1].isalnum() and not prefix:
                    body += r"(?![a-z0-9'])"
                parts.append(body)
            self.group_res.append((group, re.compile("|".join(sorted(parts, key=len, reverse=True)))))

    def scan(self, texts: Sequence[str], speakers: Sequence[str]) -> dict[str, list[Hit]]:
        hits: dict[str, list[Hit]] = {}
        joined = join_turns(texts)
        text = joined.text
        starts = joined.starts
        for group, pattern in self.group_res:
            for m in pattern.finditer(text):
                s, e = m.start(), m.end()
                turn = 0
                while turn + 1 < len(starts) and starts[turn + 1] <= s:
                    turn += 1
                hits.setdefault(group, []).append((turn, s - starts[turn], e - starts[turn]))
        return hits


def decisions(results: Sequence[Any]) -> list[tuple[Any, ...]]:
    return [(r.id, r.score, r.fatal, tuple((i.item, i.passed) for i in r.items)) for r in results]


def timed(fn: Callable[[], list[Any]], repeat: int) -> tuple[float, list[Any]]:
    """Best of `repeat` runs, in CPU seconds of this process (one core; other load on the machine excluded)."""
    best = float("inf")
    out: list[Any] = []
    for _ in range(repeat):
        t = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--transcripts", type=int, default=2000)
    ap.add_argument("--chars", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    raw = [transcript(rng, i, args.chars) for i in range(args.transcripts)]
    interactions: list[Interaction] = [parse_interaction(r) for r in raw]
    lengths = [sum(len(t.text) for t in i.turns) for i in interactions]
    cards = {"zh": load_scorecard("default-zh"), "en": load_scorecard("default-us")}
    fast = {k: CompiledScorecard(v) for k, v in cards.items()}
    naive = {k: NaiveScorecard(v) for k, v in cards.items()}

    screening = "arrears.compliance.screening.screen_text"
    try:
        screener = autoscore.default_screener()
    except ImportError:  # the screening module is not installed: measure the scorer alone
        screening = "unavailable"
        screener = None
    no_screen = lambda text, **kw: SimpleNamespace(verdict="pass", flags=())  # noqa: E731

    def run(compiled: dict[str, CompiledScorecard], scr: Any, items: Sequence[Interaction]) -> list[Any]:
        return [score_interaction(i, compiled[i.primary_language], screener=scr) for i in items]

    # Warm up (imports, automaton, screening lexicon).
    run(fast, screener or no_screen, interactions[:20])
    n = len(interactions)
    out: dict[str, Any] = {
        "bench": "qc_autoscore",
        "python": platform.python_version(),
        "transcripts": n,
        "mean_chars": round(sum(lengths) / n, 1),
        "mean_turns": round(sum(len(i.turns) for i in interactions) / n, 1),
        "screening": screening,
        "repeat": args.repeat,
        "timing": "best-of-repeat CPU time of one process",
        "calibration_loop_5M_s": calibration(),
    }
    if screener is not None:
        t_fast, r_fast = timed(lambda: run(fast, screener, interactions), args.repeat)
        t_naive, r_naive = timed(lambda: run(naive, screener, interactions), args.repeat)
        out["optimised_per_s"] = round(n / t_fast, 1)
        out["baseline_per_s"] = round(n / t_naive, 1)
        out["speedup"] = round(t_naive / t_fast, 2)
        out["identical"] = decisions(r_fast) == decisions(r_naive)
        out["fatal_share"] = round(sum(r.fatal for r in r_fast) / n, 3)
        out["target_per_s"] = 2000
        out["meets_target"] = out["optimised_per_s"] >= 2000
    t_fast0, r_fast0 = timed(lambda: run(fast, no_screen, interactions), args.repeat)
    t_naive0, r_naive0 = timed(lambda: run(naive, no_screen, interactions), args.repeat)
    out["optimised_no_screening_per_s"] = round(n / t_fast0, 1)
    out["baseline_no_screening_per_s"] = round(n / t_naive0, 1)
    out["speedup_no_screening"] = round(t_naive0 / t_fast0, 2)
    out["identical_no_screening"] = decisions(r_fast0) == decisions(r_naive0)
    if screener is not None:
        per = 1 / out["optimised_per_s"]
        out["screening_share_of_time"] = round(
            max(0.0, per - 1 / out["optimised_no_screening_per_s"]) / per, 2
        )

    # Complaint triage: rules + model vs rules alone, on the shipped labelled texts repeated.
    from arrears.quality.complaints_model import HELDOUT_FILE, TRAIN_FILE, read_examples

    texts = [e.text for e in read_examples(TRAIN_FILE) + read_examples(HELDOUT_FILE)]
    texts = (texts * (5000 // len(texts) + 1))[:5000]
    blended, rules_only = load_classifier(True), load_classifier(False)
    t_b, _ = timed(lambda: [classify_complaint(t, blended) for t in texts], args.repeat)
    t_r, _ = timed(lambda: [classify_complaint(t, rules_only) for t in texts], args.repeat)
    out["complaints"] = {
        "texts": len(texts),
        "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
        "rules_and_model_per_s": round(len(texts) / t_b, 1),
        "rules_only_per_s": round(len(texts) / t_r, 1),
    }
    out["calibration_loop_5M_s_after"] = calibration()
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
