"""Masking of personal data by role (R21, CN-D1): the same shapes in API, web, CSV export and logs."""

from __future__ import annotations

import logging
import re


def mask_phone(value: str) -> str:
    """`13812345678` → `138****5678`; `+8613812345678` → `+86138****5678`."""
    digits = value.strip()
    prefix = ""
    if digits.startswith("+86") and len(digits) == 14:
        prefix, digits = "+86", digits[3:]
    if len(digits) <= 7:
        return "*" * len(digits)
    return prefix + digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_national_id(value: str) -> str:
    """`110101199003071234` → `1101**********1234` (first 4, last 4)."""
    v = value.strip()
    if len(v) <= 8:
        return "*" * len(v)
    return v[:4] + "*" * (len(v) - 8) + v[-4:]


def mask_email(value: str) -> str:
    """`zhang.san@example.com` → `z***@example.com`."""
    local, sep, domain = value.partition("@")
    if not sep:
        return mask_text(value)
    return (local[:1] + "***") + "@" + domain


def mask_text(value: str, keep: int = 2) -> str:
    """Addresses and free text: keep the first characters (province/city), hide the rest."""
    v = value.strip()
    if len(v) <= keep:
        return "*" * len(v)
    return v[:keep] + "*" * min(len(v) - keep, 8)


def mask_name(value: str) -> str:
    """`张三丰` → `张**`; `Zhang San` → `Z*** S***`: enough to tell records apart, not to identify."""
    v = value.strip()
    if not v:
        return v
    if " " in v:
        return " ".join(p[:1] + "***" for p in v.split())
    return v[:1] + "*" * max(len(v) - 1, 1)


# Free text (log lines, messages): national IDs, mainland mobiles, other long digit runs and emails.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_NATIONAL_ID = re.compile(r"(?<![0-9])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[0-9Xx](?![0-9])")
_PHONE = re.compile(
    r"(?<![0-9])(?:\+?86[- ]?)?1[3-9]\d{9}(?![0-9])"  # mainland mobile
    r"|\+\d[\d -]{7,16}\d(?![0-9])"  # international, with a leading +
    r"|(?<![0-9])\(?\d{3}\)?[- .]\d{3}[- .]\d{4}(?![0-9])"  # North American
    r"|(?<![0-9.])\d{10,15}(?![0-9.])"  # a bare run of 10–15 digits
)


# Machine identifiers (request ids, hashes, UUIDs) are hex with at least one letter; their digit runs
# are not phone numbers, and masking them would break the id an operator searches the log for.
_HEX_ID = re.compile(
    r"(?<![0-9A-Za-z])(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|(?=[0-9]*[a-fA-F])[0-9a-fA-F]{16,})(?![0-9A-Za-z])"
)


def _scrub_part(text: str) -> str:
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    text = _NATIONAL_ID.sub(lambda m: mask_national_id(m.group(0)), text)
    return _PHONE.sub(lambda m: mask_phone(re.sub(r"[ ().-]", "", m.group(0))), text)


def scrub(text: str) -> str:
    """Mask anything that looks like personal data in free text (logs, error messages); hex identifiers
    are left whole."""
    out: list[str] = []
    pos = 0
    for m in _HEX_ID.finditer(text):
        out.append(_scrub_part(text[pos : m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(_scrub_part(text[pos:]))
    return "".join(out)


class PiiLogFilter(logging.Filter):
    """Logs never carry plain personal data: every record's message is scrubbed before output."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is left to the handler's own error path
            return True
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:  # tracebacks quote values too
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        return True


def install_log_filter(logger: logging.Logger | None = None) -> None:
    """Add the filter to every handler of `logger` (root by default), once."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, PiiLogFilter) for f in handler.filters):
            handler.addFilter(PiiLogFilter())
    if not any(isinstance(f, PiiLogFilter) for f in target.filters):
        target.addFilter(PiiLogFilter())


MASKERS = {
    "phone": mask_phone,
    "national_id": mask_national_id,
    "email": mask_email,
    "address": mask_text,
    "name": mask_name,
}


def mask(kind: str, value: str) -> str:
    return MASKERS.get(kind, mask_text)(value)
