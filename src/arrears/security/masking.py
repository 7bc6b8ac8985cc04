"""Masking of personal data by role (R21, CN-D1): the same shapes in API, web, CSV export and logs."""

from __future__ import annotations


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


MASKERS = {"phone": mask_phone, "national_id": mask_national_id, "email": mask_email, "address": mask_text}


def mask(kind: str, value: str) -> str:
    return MASKERS.get(kind, mask_text)(value)
