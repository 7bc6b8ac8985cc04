"""Generated letters (R13, R14, R15): PDFs in zh-CN and English with the CJK font embedded and the
Chinese text extractable; the formal notice carries the CN-L1 contents and passes content screening."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from arrears.compliance.packs import load_pack
from arrears.compliance.rules import check_letter
from arrears.compliance.screening import screen_text
from arrears.documents import fonts, letters
from arrears.documents.pdf import letter_text, render
from arrears.plans.schedule import generate_schedule
from tests.plans.helpers import LETTERHEAD

FACTS = letters.AccountFacts(
    creditor_name="BANK1 银行",
    letterhead=letters.Letterhead(**LETTERHEAD),
    account_ref="A1",
    debtor_name="张三",
    product="consumer_loan",
    currency="CNY",
    contract_date=date(2025, 3, 1),
    days_past_due=45,
    balances={"principal": 1_000_000, "interest": 12_345, "penalty": 2_000, "fees": 0, "credit": 0},
    as_of=date(2026, 11, 28),
)
ISSUED = date(2026, 11, 28)
PLAN = letters.PlanFacts(
    plan_id=7,
    kind="settlement",
    total=850_000,
    owed_at_start=1_014_345,
    count=2,
    frequency="monthly",
    first_due=date(2026, 12, 5),
    grace_days=5,
    schedule=tuple(
        letters.ScheduleLine(s.seq, s.due_date, s.amount)
        for s in generate_schedule(850_000, 2, "monthly", date(2026, 12, 5))
    ),
)


def _all_letters(language: str) -> dict[str, letters.Letter]:
    return {
        "formal_notice": letters.formal_notice(FACTS, language, issued=ISSUED, deadline=date(2026, 12, 13)),
        "settlement_letter": letters.plan_letter(FACTS, PLAN, language, issued=ISSUED),
        "plan_agreement": letters.plan_letter(
            FACTS, letters.PlanFacts(**{**PLAN.__dict__, "kind": "instalment", "total": 1_014_345}), language, issued=ISSUED
        ),
        "paid_in_full": letters.paid_in_full(FACTS, language, issued=ISSUED, paid_on=ISSUED, total_paid=850_000, waived=164_345),
        "statement": letters.statement_letter(
            FACTS, language, issued=ISSUED, paid={"principal": 100_000}, total_paid=100_000, next_due=date(2026, 12, 5),
            next_amount=425_000, plan_text="plan 7",
        ),
        "promise_ack": letters.promise_ack(
            FACTS, language, issued=ISSUED, paid_on=ISSUED, amount_paid=50_000, promised_on=ISSUED, promised_amount=50_000,
            next_due=None, next_amount=0,
        ),
    }  # fmt: skip


EXPECTED = {
    "zh": {
        "formal_notice": ["催收通知函", "尊敬的张三", "10,143.45 元"],
        "settlement_letter": ["和解还款确认函", "8,500.00 元", "减免金额 1,643.45 元", "2026年12月5日"],
        "plan_agreement": ["还款计划确认函", "分期还款", "每月"],
        "paid_in_full": ["结清证明", "已无欠款", "1,643.45 元"],
        "statement": ["还款进度通知", "已还", "尚欠", "2026年12月5日"],
        "promise_ack": ["还款确认函", "感谢您信守承诺"],
    },
    "en": {
        "formal_notice": ["Formal notice of amount owed", "Dear 张三", "CNY 10,143.45"],
        "settlement_letter": ["Settlement agreement", "CNY 8,500.00", "CNY 1,643.45", "5 December 2026"],
        "plan_agreement": ["Repayment plan agreement", "instalments", "monthly"],
        "paid_in_full": ["Paid in full", "nothing is owed", "CNY 1,643.45 was waived"],
        "statement": ["Repayment progress statement", "Remaining", "CNY 4,250.00 on 5 December 2026"],
        "promise_ack": ["Thank you for your payment", "keeping your word", "No further payment date"],
    },
}


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_letter_renders_with_the_cjk_font_and_its_text(language: str) -> None:
    for kind, letter in _all_letters(language).items():
        data = render(letter)
        assert data.startswith(b"%PDF-") and b"WenQuanYiMicroHei" in data, kind  # the CJK font is embedded
        assert render(letter) == data, "rendering is deterministic"
        if shutil.which("pdftotext"):
            text = subprocess.run(
                ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
            ).stdout.decode()
            flat = " ".join(text.split())
            for phrase in EXPECTED[language][kind]:
                assert " ".join(phrase.split()) in flat, (kind, phrase)
            assert "张三" in flat and "BANK1 银行" in flat  # Chinese text present in both languages' PDFs


@pytest.mark.parametrize("language", ["zh", "en"])
def test_formal_notice_has_every_cn_l1_item_and_passes_screening(language: str) -> None:
    letter = letters.formal_notice(FACTS, language, issued=ISSUED, deadline=date(2026, 12, 13))
    text = letter_text(letter)
    assert check_letter(text, load_pack("cn")) == []
    assert screen_text(text, channel="letter", pack="cn").verdict == "pass"  # R10: facts, no threats


def test_a_missing_font_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(fonts.FontMissing, match="fonts-wqy-microhei"):
        fonts.register_cjk_font(tmp_path / "no-such-font.ttc")
    bad = tmp_path / "broken.ttf"
    bad.write_bytes(b"not a font")
    with pytest.raises(fonts.FontMissing, match="cannot be read"):
        fonts.register_cjk_font(bad)
    assert fonts.register_cjk_font() == fonts.FONT_NAME  # the Debian font is back in use


def test_template_fields_are_checked() -> None:
    with pytest.raises(letters.TemplateError, match="unknown letter kind"):
        letters.build("ransom_note", "zh", FACTS, issued=ISSUED)
    with pytest.raises(letters.TemplateError, match=r"the template uses \{(dispute_days|deadline)\}"):
        letters.build("formal_notice", "zh", FACTS, issued=ISSUED)  # the notice needs its deadline
    assert letters.money(-123_456_789, "CNY", "zh") == "-1,234,567.89 元"
    assert letters.money(1_000, "JPY", "en") == "JPY 1,000" and letters.money(5, "USD", "zh") == "USD 0.05"
    assert (
        letters.language_of("en-US") == "en"
        and letters.language_of("zh_CN") == "zh"
        and letters.language_of(None) == "zh"
    )
