"""Money and numbers in each currency's own format, by Babel (CLDR data).

The API sends prices as integers of the currency's minor unit ("cents"); Babel knows how many
decimals each currency has and how the active language writes it.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, format_decimal, get_currency_name, get_currency_precision
from django.utils.translation import get_language, to_locale

# Country prices carry no currency in the API: they are in the shop's base unit (cents).
COUNTRY_PRICE_DECIMALS = 2


def _locale() -> str:
    return to_locale(get_language() or "en-us")


def currency_code(code: str) -> str:
    return (code or "").strip().upper() or "?"


def currency_decimals(code: str) -> int:
    """Minor units: the API's "cents" are 1/10**decimals of the currency (2 when unknown)."""
    return get_currency_precision(currency_code(code))


def currency_name(code: str) -> str:
    """The currency's name in the active language; an unknown code is its own name."""
    return get_currency_name(currency_code(code), locale=_locale())


def _amount(minor_units: int, decimals: int) -> Decimal:
    # Decimal, never float: no cent is lost to rounding, however large the amount.
    return Decimal(int(minor_units)).scaleb(-decimals)


def amount_text(minor_units: int, decimals: int) -> str:
    """``198000, 2`` → ``1,980.00``; ``1980, 0`` → ``1,980``."""
    pattern = "#,##0." + "0" * decimals if decimals else "#,##0"
    return format_decimal(_amount(minor_units, decimals), format=pattern, locale=_locale())


def format_money(minor_units: int, currency: str) -> str:
    """``format_money(19800, "eur")`` → ``€198.00``; ``format_money(1980, "jpy")`` → ``¥1,980``."""
    code = currency_code(currency)
    text = format_currency(_amount(minor_units, currency_decimals(code)), code, locale=_locale())
    # CLDR's currency spacing, which Babel does not apply: a symbol made of letters ("CHF",
    # "KWD") is set apart from the digits next to it ("CHF 12.50", not "CHF12.50").
    for symbol_end in range(len(text) - 1):
        left, right = text[symbol_end], text[symbol_end + 1]
        if (left.isalpha() and right.isdigit()) or (left.isdigit() and right.isalpha()):
            return text[: symbol_end + 1] + " " + text[symbol_end + 1 :]
    return text


def decimal_text(minor_units: int, decimals: int) -> str:
    """Plain number for CSV: ``1980.00``, no grouping, no symbol, whatever the language."""
    return f"{_amount(minor_units, decimals):f}"


def country_price_text(cents: int) -> str:
    return amount_text(cents, COUNTRY_PRICE_DECIMALS)
