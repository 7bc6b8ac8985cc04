"""Chinese resident identity numbers (居民身份证号码, GB 11643-1999). Pure functions on plain values.

Layout of the 18 characters: 6-digit administrative region code of the place of registration,
8-digit birth date (YYYYMMDD), 3-digit sequence code (odd for men, even for women), and a check
character computed with ISO 7064 MOD 11-2 over the first 17 digits ("X" stands for 10).
"""

from __future__ import annotations

import re
from datetime import date

# ISO 7064 MOD 11-2 weights are 2^(17-i) mod 11 for positions i = 0..16.
CHECK_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# Check character for (weighted sum mod 11) = 0..10.
CHECK_CHARS = "10X98765432"

# First two digits of the region code: provinces, autonomous regions, municipalities, and the codes
# used on residence permits for Taiwan (83), Hong Kong (81) and Macao (82) residents.
PROVINCE_CODES: frozenset[str] = frozenset(
    {
        "11", "12", "13", "14", "15",
        "21", "22", "23",
        "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46",
        "50", "51", "52", "53", "54",
        "61", "62", "63", "64", "65",
        "71", "81", "82", "83",
    }
)  # fmt: skip

EARLIEST_BIRTH_YEAR = 1850  # the standard's own worked example is born in 1880

_ID18 = re.compile(r"\d{17}[\dX]")
_ID15 = re.compile(r"\d{15}")


def normalize_cn_national_id(s: str) -> str:
    """Trim blanks and upper-case a trailing x: the forms the same number takes in real files."""
    return s.strip().replace(" ", "").upper()


def cn_id_check_digit(first17: str) -> str:
    """The check character for the first 17 digits (ISO 7064 MOD 11-2)."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError(f"expected 17 digits, got {first17!r}")
    total = sum(int(c) * w for c, w in zip(first17, CHECK_WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def _birth_date(yyyymmdd: str) -> date | None:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return None
    return born if born.year >= EARLIEST_BIRTH_YEAR else None


def birth_date_from_cn_id(s: str) -> date | None:
    """Birth date from an 18-digit number (or a legacy 15-digit one, born 19YY); None if not a real date."""
    v = normalize_cn_national_id(s)
    if _ID18.fullmatch(v):
        return _birth_date(v[6:14])
    if _ID15.fullmatch(v):
        return _birth_date("19" + v[6:12])
    return None


def gender_from_cn_id(s: str) -> str | None:
    """ "M" or "F" from the parity of the sequence code's last digit; None if the shape is wrong."""
    v = normalize_cn_national_id(s)
    if _ID18.fullmatch(v):
        digit = int(v[16])
    elif _ID15.fullmatch(v):
        digit = int(v[14])
    else:
        return None
    return "M" if digit % 2 == 1 else "F"


def is_valid_cn_national_id(s: str, *, as_of: date | None = None) -> bool:
    """True for an 18-character number with a known province, a real birth date not after `as_of`
    (when given) and a correct check character. Legacy 15-digit numbers carry no check and are not valid
    here; upgrade them with `cn_id_from_15` first."""
    v = normalize_cn_national_id(s)
    if not _ID18.fullmatch(v) or v[:2] not in PROVINCE_CODES:
        return False
    born = _birth_date(v[6:14])
    if born is None or (as_of is not None and born > as_of):
        return False
    return cn_id_check_digit(v[:17]) == v[17]


def cn_id_from_15(s: str) -> str:
    """Upgrade a legacy 15-digit number (issued before 1999, births in the 1900s) to its 18-digit form."""
    v = normalize_cn_national_id(s)
    if not _ID15.fullmatch(v) or _birth_date("19" + v[6:12]) is None:
        raise ValueError(f"not a 15-digit identity number: {s!r}")
    first17 = v[:6] + "19" + v[6:]
    return first17 + cn_id_check_digit(first17)
