"""Canonical import columns, the headers real files use for them (zh/en), and mapping files.

Headers are matched after normalisation: full-width → half-width (NFKC), case folded, blanks,
underscores, hyphens and required-field stars removed, and a trailing unit such as "(元)" or "(天)"
dropped — so `合同号`, ` 合同号 `, `＊合同号`, `Account Ref` and `account_ref` all name the same column.
A mapping file (YAML or CSV: source header → canonical name) is consulted before the built-in
aliases; mapping a header to `_ignore` drops it without a warning.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

IGNORE = "_ignore"

EMERGENCY_SLOTS = (1, 2, 3)
EMERGENCY_FIELDS = ("name", "relation", "phone")

# R2, R3: contract terms, balances and the debtor's contact data, as a placement file carries them.
PLACEMENT_COLUMNS: tuple[str, ...] = (
    "account_ref", "debtor_ref", "debtor_name", "national_id", "phone", "phone_2", "email", "address",
    "employer", "monthly_income", "product", "currency", "loan_amount", "contract_date", "term_months",
    "annual_rate", "daily_penalty_rate", "principal", "interest", "penalty", "fees", "overdue_since",
    "days_past_due", "placement_date", "region", "timezone", "agency_code", "language",
    *(f"emergency_contact_{k}_{f}" for k in EMERGENCY_SLOTS for f in EMERGENCY_FIELDS),
)  # fmt: skip
PAYMENT_COLUMNS: tuple[str, ...] = ("payment_ref", "account_ref", "amount", "paid_at", "currency")
SCHEDULE_COLUMNS: tuple[str, ...] = ("account_ref", "seq", "due_date", "principal", "interest")

BALANCE_COLUMNS: tuple[str, ...] = ("principal", "interest", "penalty", "fees")

_ACCOUNT_REF = (
    "合同号", "合同编号", "合同号码", "借据号", "借据编号", "账号", "贷款账号", "账户号", "账户编号", "卡号",
    "信用卡号", "贷款编号", "account_no", "account_number", "account_id", "account", "loan_id", "loan_no",
    "loan_number", "contract_no", "contract_number", "contract_id", "acct_ref",
)  # fmt: skip

_PLACEMENT_ALIASES: dict[str, tuple[str, ...]] = {
    "account_ref": _ACCOUNT_REF,
    "debtor_ref": (
        "客户号",
        "客户编号",
        "客户ID",
        "客户代码",
        "借款人编号",
        "借款人ID",
        "customer_id",
        "customer_no",
        "customer_number",
        "client_id",
        "borrower_id",
        "debtor_id",
    ),
    "debtor_name": (
        "姓名",
        "借款人姓名",
        "客户姓名",
        "借款人",
        "客户名称",
        "债务人",
        "债务人姓名",
        "name",
        "customer_name",
        "borrower_name",
        "full_name",
        "debtor",
    ),
    "national_id": (
        "身份证号",
        "证件号码",
        "身份证号码",
        "身份证",
        "证件号",
        "借款人身份证号",
        "id_number",
        "id_no",
        "national_id_number",
        "id_card",
        "id_card_no",
        "resident_id",
    ),
    "phone": (
        "手机号",
        "联系电话",
        "手机号码",
        "手机",
        "电话",
        "本人电话",
        "本人手机",
        "借款人手机号",
        "mobile",
        "mobile_phone",
        "mobile_number",
        "phone_number",
        "cell",
        "cell_phone",
        "telephone",
        "tel",
    ),
    "phone_2": (
        "备用电话",
        "其他电话",
        "联系电话2",
        "手机号2",
        "手机号码2",
        "电话2",
        "家庭电话",
        "住宅电话",
        "单位电话",
        "phone2",
        "alt_phone",
        "home_phone",
        "work_phone",
        "secondary_phone",
        "other_phone",
    ),
    "email": ("电子邮箱", "邮箱", "电子邮件", "邮件", "email_address", "e_mail", "mail"),
    "address": (
        "家庭住址",
        "住址",
        "地址",
        "居住地址",
        "现住址",
        "现居住地址",
        "通讯地址",
        "户籍地址",
        "家庭地址",
        "home_address",
        "mailing_address",
        "street_address",
        "residential_address",
    ),
    "employer": ("工作单位", "单位名称", "公司名称", "单位", "employer_name", "company", "workplace"),
    "monthly_income": ("月收入", "收入", "月薪", "income", "monthly_salary"),
    "product": (
        "产品类型",
        "产品",
        "产品名称",
        "业务类型",
        "贷款类型",
        "贷款品种",
        "product_type",
        "loan_type",
    ),
    "currency": ("币种", "货币", "ccy", "currency_code"),
    "loan_amount": (
        "贷款金额",
        "合同金额",
        "授信额度",
        "借款金额",
        "放款金额",
        "信用额度",
        "额度",
        "贷款本金",
        "loan",
        "credit_limit",
        "contract_amount",
        "original_amount",
        "original_principal",
    ),
    "contract_date": (
        "合同日期",
        "放款日期",
        "借款日期",
        "签约日期",
        "开户日期",
        "贷款发放日",
        "disbursement_date",
        "loan_date",
        "open_date",
        "origination_date",
    ),
    "term_months": (
        "期限",
        "期限(月)",
        "贷款期限",
        "期数",
        "借款期限",
        "总期数",
        "term",
        "tenor",
        "term_in_months",
    ),
    "annual_rate": ("年利率", "年化利率", "利率", "执行利率", "贷款利率", "interest_rate", "apr", "rate"),
    "daily_penalty_rate": (
        "日罚息率",
        "罚息利率",
        "罚息率",
        "日罚息利率",
        "罚息日利率",
        "逾期日利率",
        "penalty_rate",
        "daily_penalty",
        "late_fee_rate",
    ),
    "principal": (
        "本金",
        "剩余本金",
        "欠款本金",
        "逾期本金",
        "未还本金",
        "委案本金",
        "outstanding_principal",
        "principal_balance",
    ),
    "interest": ("利息", "欠款利息", "逾期利息", "未还利息", "outstanding_interest", "interest_balance"),
    "penalty": ("罚息", "罚金", "欠款罚息", "逾期罚息", "penalty_interest", "late_interest", "penalties"),
    "fees": ("费用", "滞纳金", "手续费", "违约金", "其他费用", "欠款费用", "fee", "late_fee", "charges"),
    "overdue_since": (
        "逾期起始日",
        "首次逾期日期",
        "逾期日期",
        "逾期开始日期",
        "逾期起始日期",
        "首逾日期",
        "最早逾期日期",
        "overdue_date",
        "delinquency_date",
        "first_missed_payment",
        "first_missed_due_date",
    ),
    "days_past_due": ("逾期天数", "逾期天数(天)", "dpd", "days_overdue", "days_delinquent"),
    "placement_date": ("委案日期", "委托日期", "委外日期", "分案日期", "assignment_date", "placed_on"),
    "region": ("地区", "所属地区", "区域", "所在地区", "省份", "城市", "area", "province", "state"),
    "timezone": ("时区", "tz", "time_zone"),
    "agency_code": (
        "委外机构",
        "催收机构",
        "委托机构",
        "机构代码",
        "机构",
        "agency",
        "collection_agency",
        "agency_id",
    ),
    "language": ("语言", "语种", "lang", "preferred_language"),
}

_EC_NAME = ("紧急联系人{k}姓名", "紧急联系人{k}", "联系人{k}姓名", "联系人{k}", "emergency_contact_{k}", "contact{k}_name",
            "contact_{k}_name", "ec{k}_name")  # fmt: skip
_EC_RELATION = ("紧急联系人{k}关系", "联系人{k}关系", "紧急联系人{k}与本人关系", "与紧急联系人{k}关系", "联系人{k}与本人关系",
                "contact{k}_relation", "contact_{k}_relation", "ec{k}_relation", "emergency_contact_{k}_relationship")  # fmt: skip
_EC_PHONE = ("紧急联系人{k}电话", "联系人{k}电话", "紧急联系人{k}手机", "紧急联系人{k}手机号", "联系人{k}手机", "联系人{k}手机号",
             "紧急联系人{k}联系电话", "contact{k}_phone", "contact_{k}_phone", "ec{k}_phone")  # fmt: skip
for _k in EMERGENCY_SLOTS:
    _PLACEMENT_ALIASES[f"emergency_contact_{_k}_name"] = tuple(a.format(k=_k) for a in _EC_NAME)
    _PLACEMENT_ALIASES[f"emergency_contact_{_k}_relation"] = tuple(a.format(k=_k) for a in _EC_RELATION)
    _PLACEMENT_ALIASES[f"emergency_contact_{_k}_phone"] = tuple(a.format(k=_k) for a in _EC_PHONE)
# Files with a single emergency contact write it without a number.
_PLACEMENT_ALIASES["emergency_contact_1_name"] += (
    "紧急联系人姓名",
    "紧急联系人",
    "联系人姓名",
    "emergency_contact",
)
_PLACEMENT_ALIASES["emergency_contact_1_relation"] += (
    "紧急联系人关系",
    "与紧急联系人关系",
    "联系人关系",
    "关系",
)
_PLACEMENT_ALIASES["emergency_contact_1_phone"] += (
    "紧急联系人电话",
    "紧急联系人手机号",
    "紧急联系人手机",
    "联系人电话",
)

_PAYMENT_ALIASES: dict[str, tuple[str, ...]] = {
    "payment_ref": (
        "还款流水号",
        "交易流水号",
        "流水号",
        "还款编号",
        "交易编号",
        "交易号",
        "交易单号",
        "transaction_id",
        "txn_id",
        "payment_id",
        "reference",
        "payment_reference",
        "transaction_ref",
    ),
    "account_ref": _ACCOUNT_REF,
    "amount": (
        "还款金额",
        "交易金额",
        "金额",
        "实还金额",
        "回款金额",
        "入账金额",
        "payment_amount",
        "amount_paid",
    ),
    "paid_at": (
        "还款日期",
        "交易日期",
        "还款时间",
        "交易时间",
        "入账日期",
        "回款日期",
        "payment_date",
        "paid_on",
        "transaction_date",
        "date",
    ),
    "currency": ("币种", "货币", "ccy", "currency_code"),
}

_SCHEDULE_ALIASES: dict[str, tuple[str, ...]] = {
    "account_ref": _ACCOUNT_REF,
    "seq": (
        "期数",
        "期次",
        "期号",
        "第几期",
        "instalment_no",
        "installment_no",
        "installment_number",
        "period",
    ),
    "due_date": ("应还日期", "到期日", "还款日", "应还款日", "due", "due_on"),
    "principal": ("应还本金", "本金", "principal_due"),
    "interest": ("应还利息", "利息", "interest_due"),
}

KINDS: dict[str, tuple[tuple[str, ...], dict[str, tuple[str, ...]]]] = {
    "placements": (PLACEMENT_COLUMNS, _PLACEMENT_ALIASES),
    "payments": (PAYMENT_COLUMNS, _PAYMENT_ALIASES),
    "schedule": (SCHEDULE_COLUMNS, _SCHEDULE_ALIASES),
}

_DROP = re.compile(r"[\s_\-*.:#]+")
_UNIT = re.compile(r"\((?:元|天|日|月|个月|人民币|rmb|cny|usd|days|months|yuan)\)$")
_PERCENT_UNIT = re.compile(r"\(%\)$")


def normalise_header(header: str) -> str:
    """The form headers are compared in: half-width, case folded, no blanks/underscores/stars, no unit."""
    h = unicodedata.normalize("NFKC", str(header)).strip().casefold()
    h = _DROP.sub("", h)
    h = _UNIT.sub("", h)
    return _PERCENT_UNIT.sub("", h)


def _has_percent_unit(header: str) -> bool:
    h = _DROP.sub("", unicodedata.normalize("NFKC", str(header)).strip().casefold())
    return bool(_PERCENT_UNIT.search(h))


def alias_table(kind: str) -> dict[str, str]:
    """Normalised header → canonical column, for one kind of file (placements, payments, schedule)."""
    canonical, aliases = KINDS[kind]
    table: dict[str, str] = {}
    for name in canonical:
        table.setdefault(normalise_header(name), name)
    for name, names in aliases.items():
        for alias in names:
            table.setdefault(normalise_header(alias), name)
    return table


class MappingFileError(ValueError):
    """A mapping file that cannot be read or names a column we do not know."""


def parse_mapping(text: str, *, suffix: str, kind: str = "placements") -> dict[str, str]:
    """A mapping file's text → {source header: canonical}. YAML (a mapping, optionally under `columns:`)
    or CSV (two columns, source then canonical; a header row `source,canonical` is skipped)."""
    pairs: list[tuple[str, str]] = []
    if suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise MappingFileError(f"mapping file is not valid YAML: {exc}") from exc
        if isinstance(data, dict) and isinstance(data.get("columns"), dict):
            data = data["columns"]
        if not isinstance(data, dict):
            raise MappingFileError("a YAML mapping file must map source headers to canonical column names")
        pairs = [(str(k), str(v)) for k, v in data.items()]
    else:
        for i, row in enumerate(csv.reader(io.StringIO(text))):
            cells = [c.strip() for c in row]
            if not any(cells):
                continue
            if len(cells) < 2:
                raise MappingFileError(f"mapping file line {i + 1}: expected `source,canonical`")
            if i == 0 and normalise_header(cells[1]) in ("canonical", "target", "column", "标准列名", "目标"):
                continue
            pairs.append((cells[0], cells[1]))
    allowed = set(KINDS[kind][0]) | {IGNORE}
    out: dict[str, str] = {}
    for src, dst in pairs:
        dst = dst.strip()
        if dst not in allowed:
            raise MappingFileError(f"mapping file maps {src!r} to unknown column {dst!r}")
        out[src] = dst
    return out


def load_mapping(path: Path, kind: str = "placements") -> dict[str, str]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MappingFileError(f"cannot read mapping file {path}: {exc.strerror or exc}") from exc
    text = (
        raw.decode("utf-8-sig", errors="strict") if _is_utf8(raw) else raw.decode("gb18030", errors="replace")
    )
    return parse_mapping(text, suffix=path.suffix, kind=kind)


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass(frozen=True)
class HeaderMap:
    """How a file's headers were understood, position by position."""

    headers: tuple[str, ...]
    targets: tuple[str | None, ...]  # canonical column per position; None = unknown (kept as extra)
    ignored: frozenset[int] = frozenset()  # positions mapped to `_ignore`
    duplicates: frozenset[int] = frozenset()  # positions repeating a column already taken (kept as extra)
    percent: frozenset[str] = frozenset()  # canonical columns whose header says "(%)"

    def position_of(self, column: str) -> int | None:
        for i, t in enumerate(self.targets):
            if t == column:
                return i
        return None

    def header_of(self, column: str) -> str:
        i = self.position_of(column)
        return self.headers[i] if i is not None else column

    @property
    def present(self) -> frozenset[str]:
        return frozenset(t for t in self.targets if t is not None)

    @property
    def extra_positions(self) -> tuple[int, ...]:
        return tuple(i for i, t in enumerate(self.targets) if t is None and i not in self.ignored)

    def warnings(self) -> list[str]:
        out = []
        for i in self.extra_positions:
            if i in self.duplicates:
                out.append(f"column {self.headers[i]!r} repeats another column; kept as extra data")
            else:
                out.append(f"unknown column {self.headers[i]!r} kept as extra data")
        return out


def resolve_headers(
    headers: Sequence[str], kind: str = "placements", mapping: Mapping[str, str] | None = None
) -> HeaderMap:
    """Match a file's headers to canonical columns: the mapping file first, then the built-in aliases."""
    table = alias_table(kind)
    user = {normalise_header(k): v for k, v in (mapping or {}).items()}
    targets: list[str | None] = []
    ignored: set[int] = set()
    duplicates: set[int] = set()
    percent: set[str] = set()
    for i, header in enumerate(headers):
        norm = normalise_header(header)
        target = user.get(norm) or table.get(norm)
        if target == IGNORE:
            ignored.add(i)
            targets.append(None)
        elif target is None:
            targets.append(None)
        elif target in targets:
            duplicates.add(i)
            targets.append(None)
        else:
            targets.append(target)
            if _has_percent_unit(header):
                percent.add(target)
    return HeaderMap(
        tuple(headers), tuple(targets), frozenset(ignored), frozenset(duplicates), frozenset(percent)
    )


def missing_required(present: Iterable[str], kind: str) -> list[tuple[str, str]]:
    """Required columns absent from a file: (column, reason). Without them no row can be read."""
    have = set(present)
    out: list[tuple[str, str]] = []
    if kind == "placements":
        for col in ("account_ref", "debtor_name"):
            if col not in have:
                out.append((col, f"required column {col} is missing"))
        if not have & set(BALANCE_COLUMNS):
            out.append(("principal", "no balance column: give principal or the component balances"))
        if not have & {"overdue_since", "days_past_due"}:
            out.append(("overdue_since", "give overdue_since, or days_past_due (with the placement date)"))
    elif kind == "payments":
        for col in ("payment_ref", "account_ref", "amount", "paid_at"):
            if col not in have:
                out.append((col, f"required column {col} is missing"))
    elif kind == "schedule":
        for col in ("account_ref", "seq", "due_date", "principal"):
            if col not in have:
                out.append((col, f"required column {col} is missing"))
    return out
