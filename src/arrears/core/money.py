"""Money: integer minor units with a currency. Rounding is explicit, half-even, and happens here only."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# ISO 4217 minor units for the currencies we accept; anything else is an unknown currency.
MINOR_UNITS: dict[str, int] = {
    "CNY": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "HKD": 2,
    "TWD": 2,
    "SGD": 2,
    "AUD": 2,
    "CAD": 2,
    "CHF": 2,
    "MOP": 2,
    "MYR": 2,
    "THB": 2,
    "PHP": 2,
    "INR": 2,
    "IDR": 2,
    "VND": 0,
    "JPY": 0,
    "KRW": 0,
    "NZD": 2,
    "MXN": 2,
    "BRL": 2,
    "ZAR": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
}

CURRENCY_SYMBOLS = {"¥": "CNY", "￥": "CNY", "$": "USD", "€": "EUR", "£": "GBP", "HK$": "HKD", "US$": "USD"}
_STRIP = re.compile(r"[\s,，_]|元|圆|人民币|RMB|CNY|USD|EUR|GBP|HKD|HK\$|US\$|[¥￥$€£]", re.IGNORECASE)


class MoneyError(ValueError):
    """An amount that cannot be read or represented exactly."""


def is_known_currency(code: str) -> bool:
    return code.upper() in MINOR_UNITS


def minor_units(currency: str) -> int:
    try:
        return MINOR_UNITS[currency.upper()]
    except KeyError as exc:
        raise MoneyError(f"unknown currency {currency!r}") from exc


def round_half_even(value: Decimal) -> int:
    """Round a Decimal number of minor units to an int, half to even."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def to_minor(major: Decimal | int | str, currency: str) -> int:
    """Major units → minor units; refuses amounts finer than the currency allows (no silent rounding)."""
    try:
        d = Decimal(major) if not isinstance(major, Decimal) else major
    except InvalidOperation as exc:
        raise MoneyError(f"not a number: {major!r}") from exc
    if not d.is_finite():
        raise MoneyError(f"not a finite amount: {major!r}")
    scaled = d.scaleb(minor_units(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{major} has more decimals than {currency} allows")
    return int(scaled)


def parse_amount(text: str, currency: str) -> int:
    """Read amounts as real files write them: `1,234.50`, `¥1,234.50`, `1234.5元`, `(12.00)` → minor units."""
    raw = text.strip()
    if not raw:
        raise MoneyError("empty amount")
    negative = False
    if raw.startswith("(") and raw.endswith(")"):
        negative, raw = True, raw[1:-1]
    cleaned = _STRIP.sub("", raw)
    if cleaned.startswith("-"):
        negative, cleaned = not negative, cleaned[1:]
    if not re.fullmatch(r"\d+(\.\d+)?|\.\d+", cleaned):
        raise MoneyError(f"not an amount: {text!r}")
    value = to_minor(cleaned, currency)
    return -value if negative else value


def format_major(minor: int, currency: str) -> str:
    """Minor units → decimal string in major units, e.g. 123450 CNY → "1234.50"."""
    places = minor_units(currency)
    if places == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    q, r = divmod(abs(minor), 10**places)
    return f"{sign}{q}.{r:0{places}d}"


@dataclass(frozen=True, slots=True)
class Money:
    """A value at the edges: integer minor units and a currency. Arithmetic refuses mixed currencies."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise MoneyError("Money.minor must be an int of minor units")
        minor_units(self.currency)

    @classmethod
    def of(cls, major: Decimal | int | str, currency: str) -> Money:
        return cls(to_minor(major, currency), currency.upper())

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __str__(self) -> str:
        return f"{format_major(self.minor, self.currency)} {self.currency}"

    @property
    def major(self) -> str:
        return format_major(self.minor, self.currency)
