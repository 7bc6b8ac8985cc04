"""Chinese resident identity numbers (GB 11643-1999): check character, birth date, gender, validity."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.portfolio.identity import (
    CHECK_CHARS,
    PROVINCE_CODES,
    birth_date_from_cn_id,
    cn_id_check_digit,
    cn_id_from_15,
    gender_from_cn_id,
    is_valid_cn_national_id,
    normalize_cn_national_id,
)

# The worked example of GB 11643-1999: 110105 (北京市朝阳区), born 1949-12-31, sequence 002 (a woman).
# Digits 1 1 0 1 0 5 1 9 4 9 1 2 3 1 0 0 2 times weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2:
#   7 + 9 + 0 + 5 + 0 + 20 + 2 + 9 + 24 + 27 + 7 + 18 + 30 + 5 + 0 + 0 + 4 = 167
#   167 mod 11 = 2  →  "10X98765432"[2] = "X"
STANDARD_EXAMPLE = "11010519491231002X"
# The standard's second example: 440524 (广东省汕头市潮阳县), born 1880-01-01, sequence 001 (a man).
#   4·7 + 4·9 + 0 + 5·5 + 2·8 + 4·4 + 1·2 + 8·1 + 8·6 + 0 + 0 + 1·9 + 0 + 1·5 + 0 + 0 + 1·2 = 195
#   195 mod 11 = 8  →  "4"
OLD_EXAMPLE = "440524188001010014"


def test_check_character_of_the_standard_examples() -> None:
    assert cn_id_check_digit(STANDARD_EXAMPLE[:17]) == "X"
    assert cn_id_check_digit(OLD_EXAMPLE[:17]) == "4"


def test_standard_examples_are_valid_with_birth_date_and_gender() -> None:
    assert is_valid_cn_national_id(STANDARD_EXAMPLE)
    assert birth_date_from_cn_id(STANDARD_EXAMPLE) == date(1949, 12, 31)
    assert gender_from_cn_id(STANDARD_EXAMPLE) == "F"
    assert is_valid_cn_national_id(OLD_EXAMPLE)
    assert birth_date_from_cn_id(OLD_EXAMPLE) == date(1880, 1, 1)
    assert gender_from_cn_id(OLD_EXAMPLE) == "M"


def test_spellings_found_in_files_are_normalised() -> None:
    assert normalize_cn_national_id(" 11010519491231002x ") == STANDARD_EXAMPLE
    assert is_valid_cn_national_id("11010519491231002x")
    assert is_valid_cn_national_id("110105 19491231 002X")


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("110105194912310021", "wrong check character"),
        ("11010519491231002", "17 characters"),
        ("11010519491231002XX", "19 characters"),
        ("1101051949123100X2", "X not in the last place"),
        ("110105194902300026", "30 February"),
        ("990105194912310027", "no province 99"),
        ("110105184912310025", "born before 1850"),
        ("", "empty"),
        ("１１０１０５１９４９１２３１００２Ｘ", "full-width digits"),
    ],
)
def test_invalid_numbers(value: str, why: str) -> None:
    assert not is_valid_cn_national_id(value), why


def test_a_birth_date_after_as_of_is_invalid() -> None:
    first17 = "11010520300101001"
    future = first17 + cn_id_check_digit(first17)
    assert is_valid_cn_national_id(future)  # well formed …
    assert not is_valid_cn_national_id(future, as_of=date(2026, 11, 28))  # … but not born yet
    assert is_valid_cn_national_id(STANDARD_EXAMPLE, as_of=date(2026, 11, 28))


def test_legacy_fifteen_digit_numbers() -> None:
    old = "110105491231002"  # the standard example before 1999: YYMMDD, no check character
    assert birth_date_from_cn_id(old) == date(1949, 12, 31)
    assert gender_from_cn_id(old) == "F"
    assert not is_valid_cn_national_id(old)
    assert cn_id_from_15(old) == STANDARD_EXAMPLE
    with pytest.raises(ValueError):
        cn_id_from_15("110105491331002")  # month 13


def test_readers_answer_none_for_junk() -> None:
    assert birth_date_from_cn_id("not an id") is None
    assert gender_from_cn_id("12345") is None
    assert birth_date_from_cn_id("110105194913310021") is None  # month 13


def test_check_digit_refuses_anything_but_17_digits() -> None:
    for bad in ("1101051949123100", "1101051949123100A", "११०१०५१९४९१२३१००२"):
        with pytest.raises(ValueError):
            cn_id_check_digit(bad)


_first17 = st.builds(
    lambda prov, rest, born, seq: f"{prov}{rest:04d}{born:%Y%m%d}{seq:03d}",
    st.sampled_from(sorted(PROVINCE_CODES)),
    st.integers(0, 9999),
    st.dates(date(1900, 1, 1), date(2025, 12, 31)),
    st.integers(0, 999),
)


@given(_first17)
def test_appending_the_check_character_makes_a_valid_number(first17: str) -> None:
    full = first17 + cn_id_check_digit(first17)
    assert is_valid_cn_national_id(full)
    assert birth_date_from_cn_id(full) == date(int(first17[6:10]), int(first17[10:12]), int(first17[12:14]))
    assert gender_from_cn_id(full) == ("M" if int(first17[16]) % 2 else "F")
    for other in set(CHECK_CHARS) - {full[17]}:
        assert not is_valid_cn_national_id(first17 + other)


@given(_first17, st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_error_is_detected(first17: str, position: int, shift: int) -> None:
    """MOD 11-2 catches every single substituted digit: weights are never 0 or a multiple of 11."""
    full = first17 + cn_id_check_digit(first17)
    wrong = full[:position] + str((int(full[position]) + shift) % 10) + full[position + 1 :]
    assert cn_id_check_digit(wrong[:17]) != wrong[17]
