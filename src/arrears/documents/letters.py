"""Letters from templates: facts of an account (and of a plan or payment) → a `Letter`, zh-CN or English.

The prose lives in `templates/letters.yaml`; the tables (balances, schedules, progress) are built
here from integer minor units. Nothing here touches the database: callers gather the facts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import yaml

from arrears.core.money import format_major
from arrears.documents.pdf import Block, Heading, Letter, Para, Table, format_date

LANGUAGES = ("zh", "en")
KINDS = ("formal_notice", "plan_agreement", "settlement_letter", "paid_in_full", "statement", "promise_ack")
COMPONENTS = ("principal", "interest", "penalty", "fees")

PRODUCTS = {
    "consumer_loan": ("消费贷款", "consumer loan"),
    "credit_card": ("信用卡", "credit card"),
    "business_receivable": ("应收账款", "trade receivable"),
    "mortgage": ("住房贷款", "mortgage"),
    "auto_loan": ("汽车贷款", "car loan"),
    "microloan": ("小额贷款", "micro loan"),
    "other": ("借款", "loan"),
}
COMPONENT_LABELS = {
    "principal": ("本金", "Principal"),
    "interest": ("利息", "Interest"),
    "penalty": ("罚息", "Penalty interest"),
    "fees": ("费用", "Fees"),
    "credit": ("溢缴款", "Credit balance"),
    "total": ("合计", "Total"),
}
PLAN_KINDS = {
    "instalment": ("分期还款", "instalments"),
    "deferral": ("延期还款", "deferral"),
    "settlement": ("和解结清", "settlement"),
    "relief": ("减免", "relief"),
}
FREQUENCIES = {
    "weekly": ("每周", "weekly"),
    "biweekly": ("每两周", "every two weeks"),
    "monthly": ("每月", "monthly"),
}


class TemplateError(ValueError):
    pass


def language_of(tag: str | None) -> str:
    """`zh`, `zh-CN`, `zh_CN` → zh; `en…` → en; anything else → zh (the default audience)."""
    t = (tag or "").strip().lower()
    return "en" if t.startswith("en") else "zh"


def pick(pair: tuple[str, str], language: str) -> str:
    return pair[0] if language == "zh" else pair[1]


def money(minor: int, currency: str, language: str) -> str:
    """`1234567` CNY → `12,345.67 元` (zh) or `CNY 12,345.67` (en)."""
    text = format_major(minor, currency)
    sign = "-" if text.startswith("-") else ""
    whole, _, frac = text.lstrip("-").partition(".")
    grouped = f"{int(whole):,}" + (f".{frac}" if frac else "")
    if language == "zh":
        return f"{sign}{grouped} 元" if currency == "CNY" else f"{sign}{currency} {grouped}"
    return f"{sign}{currency} {grouped}"


@cache
def templates() -> dict[str, Any]:
    text = resources.files("arrears.documents").joinpath("templates/letters.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    for kind in KINDS:
        for lang in LANGUAGES:
            t = raw.get(kind, {}).get(lang)
            if not isinstance(t, dict) or "title" not in t or not isinstance(t.get("blocks"), list):
                raise TemplateError(f"letters.yaml: {kind}.{lang} needs a title and blocks")
    return dict(raw)


class _Fields(dict[str, str]):
    def __init__(self, values: Mapping[str, str], where: str) -> None:
        super().__init__(values)
        self.where = where

    def __missing__(self, key: str) -> str:
        raise TemplateError(f"{self.where}: the template uses {{{key}}}, which this letter does not provide")


@dataclass(frozen=True)
class Letterhead:
    phone: str
    email: str | None = None
    address_zh: str | None = None
    address_en: str | None = None
    website: str | None = None
    repayment_zh: str | None = None
    repayment_en: str | None = None


@dataclass(frozen=True)
class AccountFacts:
    creditor_name: str
    letterhead: Letterhead
    account_ref: str
    debtor_name: str
    product: str
    currency: str
    contract_date: date | None
    days_past_due: int
    balances: Mapping[str, int]  # principal, interest, penalty, fees, credit
    as_of: date

    @property
    def owed(self) -> int:
        return sum(self.balances.get(c, 0) for c in COMPONENTS) - self.balances.get("credit", 0)


@dataclass(frozen=True)
class ScheduleLine:
    seq: int
    due_date: date
    amount: int
    paid: int | None = None


@dataclass(frozen=True)
class PlanFacts:
    plan_id: int
    kind: str
    total: int
    owed_at_start: int
    count: int
    frequency: str | None
    first_due: date | None
    grace_days: int
    schedule: Sequence[ScheduleLine] = field(default_factory=tuple)


def _common(f: AccountFacts, language: str, issued: date) -> dict[str, str]:
    lh = f.letterhead
    zh = language == "zh"
    address = lh.address_zh if zh else (lh.address_en or lh.address_zh)
    repayment = (lh.repayment_zh if zh else lh.repayment_en) or (
        f"请致电 {lh.phone} 获取还款账户信息" if zh else f"call {lh.phone} for the repayment account details"
    )
    email_clause = (f"；电子邮箱：{lh.email}" if zh else f"; email: {lh.email}") if lh.email else ""
    address_clause = (f"；地址：{address}" if zh else f"; address: {address}") if address else ""
    website_clause = (
        (f"，或登录 {lh.website} 查询" if zh else f" or visit {lh.website}") if lh.website else ""
    )
    contract_clause = ""
    if f.contract_date is not None:
        contract_clause = (
            f"，签订日期 {format_date(f.contract_date, language)}"
            if zh
            else f", signed on {format_date(f.contract_date, language)}"
        )
    return {
        "debtor_name": f.debtor_name,
        "creditor_name": f.creditor_name,
        "account_ref": f.account_ref,
        "product": pick(PRODUCTS.get(f.product, PRODUCTS["other"]), language),
        "days_past_due": str(f.days_past_due),
        "as_of": format_date(f.as_of, language),
        "issued": format_date(issued, language),
        "amount_owed": money(f.owed, f.currency, language),
        "phone": lh.phone,
        "repayment": repayment.rstrip("。."),
        "email_clause": email_clause,
        "address_clause": address_clause,
        "website_clause": website_clause,
        "contract_clause": contract_clause,
    }


def _balances_table(f: AccountFacts, language: str) -> Table:
    rows = [
        (pick(COMPONENT_LABELS[c], language), money(f.balances.get(c, 0), f.currency, language))
        for c in COMPONENTS
    ]
    if f.balances.get("credit", 0):
        rows.append(
            (pick(COMPONENT_LABELS["credit"], language), money(-f.balances["credit"], f.currency, language))
        )
    rows.append((pick(COMPONENT_LABELS["total"], language), money(f.owed, f.currency, language)))
    header = ("项目", "金额") if language == "zh" else ("Item", "Amount")
    return Table(header, tuple(rows), align_right=(1,))


def _schedule_table(p: PlanFacts, currency: str, language: str) -> Table:
    zh = language == "zh"
    with_paid = any(s.paid is not None for s in p.schedule)
    header: tuple[str, ...] = ("期数", "还款日", "金额") if zh else ("No.", "Due date", "Amount")
    if with_paid:
        header = (*header, "已还" if zh else "Paid")
    rows = []
    for s in p.schedule:
        row: tuple[str, ...] = (
            str(s.seq),
            format_date(s.due_date, language),
            money(s.amount, currency, language),
        )
        if with_paid:
            row = (*row, money(s.paid or 0, currency, language))
        rows.append(row)
    return Table(header, tuple(rows), align_right=(2, 3) if with_paid else (2,))


def _plan_summary(p: PlanFacts, currency: str, language: str) -> Table:
    zh = language == "zh"
    rows = [
        ("计划类型" if zh else "Plan", pick(PLAN_KINDS.get(p.kind, (p.kind, p.kind)), language)),
        ("计划还款总额" if zh else "Total to pay", money(p.total, currency, language)),
        ("期数" if zh else "Instalments", str(p.count)),
    ]
    if p.frequency and p.count > 1:
        rows.append(
            (
                "频率" if zh else "Frequency",
                pick(FREQUENCIES.get(p.frequency, (p.frequency, p.frequency)), language),
            )
        )
    if p.first_due:
        rows.append(("首期还款日" if zh else "First due date", format_date(p.first_due, language)))
    if p.owed_at_start > p.total:
        rows.append(("减免金额" if zh else "Discount", money(p.owed_at_start - p.total, currency, language)))
    return Table(("项目", "内容") if zh else ("Item", "Detail"), tuple(rows))


def build(
    kind: str,
    language: str,
    facts: AccountFacts,
    *,
    issued: date,
    fields: Mapping[str, str] | None = None,
    tables: Mapping[str, Table] | None = None,
    flags: Sequence[str] = (),
) -> Letter:
    """Fill the template `kind` in `language` with the account's facts plus letter-specific fields."""
    if kind not in KINDS:
        raise TemplateError(f"unknown letter kind {kind!r}")
    if language not in LANGUAGES:
        raise TemplateError(f"unknown language {language!r}; use zh or en")
    t = templates()[kind][language]
    values = _Fields(
        {**_common(facts, language, issued), **(fields or {})}, f"letters.yaml {kind}.{language}"
    )
    all_tables = {"balances": _balances_table(facts, language), **(tables or {})}
    blocks: list[Block] = []
    for raw in t["blocks"]:
        when = raw.get("when")
        if when and when not in flags:
            continue
        if "heading" in raw:
            blocks.append(Heading(str(raw["heading"]).format_map(values)))
        elif "para" in raw:
            text = str(raw["para"]).format_map(values).strip()
            if text:
                blocks.append(Para(text))
        elif "table" in raw:
            name = str(raw["table"])
            if name not in all_tables:
                raise TemplateError(f"letters.yaml {kind}.{language}: no table {name!r} for this letter")
            blocks.append(all_tables[name])
        else:
            raise TemplateError(f"letters.yaml {kind}.{language}: a block needs heading, para or table")
    lh = facts.letterhead
    address = lh.address_zh if language == "zh" else (lh.address_en or lh.address_zh)
    head_lines = [("客服电话 " if language == "zh" else "Telephone ") + lh.phone]
    if lh.email:
        head_lines.append(lh.email)
    if address:
        head_lines.append(address)
    return Letter(
        language=language,
        title=str(t["title"]).format_map(values),
        creditor=facts.creditor_name,
        letterhead=tuple(head_lines),
        reference=facts.account_ref,
        issued_on=issued,
        blocks=tuple(blocks),
        closing=tuple(str(c).format_map(values) for c in t.get("closing", [])),
        subject=kind,
    )


# --- the letters ---------------------------------------------------------------------------------


def formal_notice(
    facts: AccountFacts, language: str, *, issued: date, deadline: date, dispute_days: int = 15
) -> Letter:
    """The formal notice (R15, CN-L1): facts, legal responsibility, next measures."""
    return build(
        "formal_notice",
        language,
        facts,
        issued=issued,
        fields={"deadline": format_date(deadline, language), "dispute_days": str(dispute_days)},
    )


def plan_letter(facts: AccountFacts, plan: PlanFacts, language: str, *, issued: date) -> Letter:
    """The plan agreement (instalments, deferral) or settlement letter for a plan (R13)."""
    kind = "settlement_letter" if plan.kind == "settlement" else "plan_agreement"
    return build(
        kind,
        language,
        facts,
        issued=issued,
        fields={
            "plan_id": str(plan.plan_id),
            "grace_days": str(plan.grace_days),
            "settlement_total": money(plan.total, facts.currency, language),
            "discount": money(max(plan.owed_at_start - plan.total, 0), facts.currency, language),
        },
        tables={
            "schedule": _schedule_table(plan, facts.currency, language),
            "plan_summary": _plan_summary(plan, facts.currency, language),
        },
    )


def paid_in_full(
    facts: AccountFacts, language: str, *, issued: date, paid_on: date, total_paid: int, waived: int
) -> Letter:
    zh = language == "zh"
    waived_clause = ""
    if waived:
        w = money(waived, facts.currency, language)
        waived_clause = f"，按和解约定减免 {w}" if zh else f", and {w} was waived as agreed"
    return build(
        "paid_in_full",
        language,
        facts,
        issued=issued,
        fields={
            "paid_on": format_date(paid_on, language),
            "total_paid": money(total_paid, facts.currency, language),
            "waived_clause": waived_clause,
        },
    )


def next_due_text(next_due: date | None, amount: int, currency: str, language: str) -> str:
    if next_due is None:
        return (
            "目前没有约定的下一次还款。"
            if language == "zh"
            else "No further payment date is currently agreed."
        )
    if language == "zh":
        return f"下一次应还：{format_date(next_due, language)}，金额 {money(amount, currency, language)}。"
    return f"Next payment due: {money(amount, currency, language)} on {format_date(next_due, language)}."


def statement_letter(
    facts: AccountFacts,
    language: str,
    *,
    issued: date,
    paid: Mapping[str, int],
    total_paid: int,
    next_due: date | None,
    next_amount: int,
    plan_text: str | None,
) -> Letter:
    """The progress statement (R14): what was paid and what remains per component, the next due date."""
    zh = language == "zh"
    header = ("项目", "已还", "尚欠") if zh else ("Item", "Paid", "Remaining")
    rows = [
        (
            pick(COMPONENT_LABELS[c], language),
            money(paid.get(c, 0), facts.currency, language),
            money(facts.balances.get(c, 0), facts.currency, language),
        )
        for c in COMPONENTS
    ]
    rows.append(
        (
            pick(COMPONENT_LABELS["total"], language),
            money(sum(paid.get(c, 0) for c in COMPONENTS), facts.currency, language),
            money(sum(facts.balances.get(c, 0) for c in COMPONENTS), facts.currency, language),
        )
    )
    return build(
        "statement",
        language,
        facts,
        issued=issued,
        fields={
            "total_paid": money(total_paid, facts.currency, language),
            "next_due_text": next_due_text(next_due, next_amount, facts.currency, language),
            "plan_text": plan_text or "",
        },
        tables={"progress": Table(header, tuple(rows), align_right=(1, 2))},
        flags=("has_plan",) if plan_text else (),
    )


def promise_ack(
    facts: AccountFacts,
    language: str,
    *,
    issued: date,
    paid_on: date,
    amount_paid: int,
    promised_on: date,
    promised_amount: int,
    next_due: date | None,
    next_amount: int,
) -> Letter:
    """Acknowledgement of a kept promise (R14: cooperative behaviour is acknowledged)."""
    return build(
        "promise_ack",
        language,
        facts,
        issued=issued,
        fields={
            "paid_on": format_date(paid_on, language),
            "amount_paid": money(amount_paid, facts.currency, language),
            "promised_on": format_date(promised_on, language),
            "promised_amount": money(promised_amount, facts.currency, language),
            "next_due_text": next_due_text(next_due, next_amount, facts.currency, language),
        },
    )
