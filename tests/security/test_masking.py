"""Masking shapes (R21): the same in API, web, CSV export and logs."""

from __future__ import annotations

import logging

from hypothesis import given
from hypothesis import strategies as st

from arrears.security.masking import PiiLogFilter, mask, mask_name, mask_phone, scrub


def test_issue_shapes() -> None:
    assert mask("phone", "13812345678") == "138****5678"
    assert mask("national_id", "11010119900307123X") == "1101**********123X"
    assert mask("email", "zhang.san@example.com") == "z***@example.com"
    assert mask_name("张三丰") == "张**"
    assert mask_name("Zhang San") == "Z*** S***"


@given(st.integers(3, 9), st.integers(0, 10**9 - 1))
def test_masked_mobile_hides_the_middle(second: int, rest: int) -> None:
    phone = f"1{second}{rest:09d}"
    masked = mask_phone(phone)
    assert len(masked) == len(phone) and masked[3:7] == "****"
    assert phone[3:7] not in masked[3:7]


def test_scrub_free_text_keeps_dates_and_amounts() -> None:
    line = "call 13812345678 / +86 13812345678, id 11010119900307123X, mail zhang.san@example.com on 2026-11-28 for 1234.50"
    out = scrub(line)
    for secret in ("13812345678", "11010119900307123X", "zhang.san@example.com"):
        assert secret not in out
    assert "2026-11-28" in out and "1234.50" in out and "138****5678" in out


def test_scrub_keeps_hex_identifiers_whole() -> None:
    # A request id whose digit run looks like a phone number, a UUID ending in 12 digits, a hash.
    ids = ("23ac733cf7a6416799294b3420bb2ca4", "550e8400-e29b-41d4-a716-446655440000", "a" + "1" * 39)
    line = "request " + ", ".join(ids) + " for 13812345678"
    out = scrub(line)
    for ident in ids:
        assert ident in out
    assert "138****5678" in out and "13812345678" not in out
    # Not identifiers: digits glued to ordinary words are still masked; a bare 12-digit run too.
    assert scrub("debtor13812345678") == "debtor138****5678"
    assert "446655440000" not in scrub("ref 446655440000")


@given(
    st.text(alphabet="0123456789abcdef", min_size=16, max_size=40).filter(
        lambda s: any(c.isalpha() for c in s)
    )
)
def test_scrub_never_changes_a_hex_token(token: str) -> None:
    assert scrub(f"id {token} end") == f"id {token} end"


def test_log_records_are_scrubbed(caplog: object) -> None:
    logger = logging.getLogger("arrears.test.masking")
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Collect()
    handler.addFilter(PiiLogFilter())
    logger.addHandler(handler)
    try:
        logger.warning("debtor %s phone %s", "110101199003071234", "13812345678")
        try:
            raise ValueError("bad email zhang.san@example.com")
        except ValueError:
            logger.exception("failed for %s", "13812345678")
    finally:
        logger.removeHandler(handler)
    text = "\n".join(records)
    assert "1101**********1234" in text and "138****5678" in text
    assert "13812345678" not in text and "zhang.san@example.com" not in text
    assert "ValueError" in text  # the traceback is kept, scrubbed
