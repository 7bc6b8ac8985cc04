"""Validated shapes of what the portfolio feature hands out: import results and account summaries.

The CLI's `--json` output and the API use these, so the contract is written down once.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RowErrorOut(BaseModel):
    """One problem in an import file. `row` is the spreadsheet row (header = 1, first data row = 2)."""

    row: int = Field(ge=1)
    column: str  # the canonical column name (account_ref, national_id, …)
    header: str = ""  # the header as the file wrote it (合同号, 身份证号, …)
    reason: str
    reason_zh: str = ""


class ImportResultOut(BaseModel):
    """`arrears import … --json`: rows = imported + updated + unchanged + rejected when committed."""

    model_config = ConfigDict(extra="allow")

    rows: int = Field(ge=0)
    imported: int = Field(ge=0)
    updated: int = Field(ge=0)
    unchanged: int = Field(ge=0)
    rejected: int = Field(ge=0)
    committed: bool
    errors: list[RowErrorOut]
    warnings: list[str] = []
    rejects_file: str | None = None


class BalanceOut(BaseModel):
    """Decimal strings in major units ("1234.50"); total = principal + interest + penalty + fees − credit."""

    principal: str
    interest: str
    penalty: str
    fees: str
    credit: str
    total: str


class AccountSummaryOut(BaseModel):
    """`arrears accounts show REF --json`."""

    model_config = ConfigDict(extra="allow")

    account_ref: str
    currency: str
    balance: BalanceOut
    days_past_due: int = Field(ge=0)
    bucket: str
    status: str
