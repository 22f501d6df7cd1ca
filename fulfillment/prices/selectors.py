"""Price models shaped for the pages: money formatting, summaries, search and filters.

The API is read-only and returns every model at once, so searching and filtering happen here
over the (briefly cached) list that ``fulfillment.services.prices`` loads.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from frapp.spreadsheets import csv_safe_row
from oauth.client import PriceModel

from .webhooks import platform_time


@dataclass(frozen=True)
class Currency:
    code: str
    name: str
    symbol: str
    decimals: int  # minor units: the API's "cents" are 1/10**decimals of the currency
    symbol_first: bool = True
    space: bool = False  # "CHF 12.50" rather than "CHF12.50"


# ISO 4217. Formatting follows the app's English UI (grouping with ",", decimals with "."),
# with each currency's own symbol and number of decimals.
CURRENCIES: dict[str, Currency] = {
    c.code: c
    for c in (
        Currency("EUR", "Euro", "€", 2),
        Currency("GBP", "Pound sterling", "£", 2),
        Currency("USD", "US dollar", "$", 2),
        Currency("JPY", "Japanese yen", "¥", 0),
        Currency("CHF", "Swiss franc", "CHF", 2, space=True),
        Currency("CAD", "Canadian dollar", "CA$", 2),
        Currency("AUD", "Australian dollar", "A$", 2),
        Currency("NZD", "New Zealand dollar", "NZ$", 2),
        Currency("SEK", "Swedish krona", "SEK", 2, space=True),
        Currency("NOK", "Norwegian krone", "NOK", 2, space=True),
        Currency("DKK", "Danish krone", "DKK", 2, space=True),
        Currency("PLN", "Polish złoty", "PLN", 2, space=True),
        Currency("CZK", "Czech koruna", "CZK", 2, space=True),
        Currency("HUF", "Hungarian forint", "HUF", 2, space=True),
        Currency("KRW", "South Korean won", "₩", 0),
        Currency("CNY", "Chinese yuan", "CN¥", 2),
        Currency("INR", "Indian rupee", "₹", 2),
        Currency("BRL", "Brazilian real", "R$", 2),
        Currency("MXN", "Mexican peso", "MX$", 2),
        Currency("ISK", "Icelandic króna", "ISK", 0, space=True),
        Currency("KWD", "Kuwaiti dinar", "KWD", 3, space=True),
        Currency("BHD", "Bahraini dinar", "BHD", 3, space=True),
    )
}


def currency_info(code: str) -> Currency:
    """Unknown codes still format sensibly: the code itself and two decimals."""
    code = (code or "").strip().upper()
    if code in CURRENCIES:
        return CURRENCIES[code]
    return Currency(code or "?", code or "Unknown currency", code or "?", 2, space=True)


def amount_text(minor_units: int, decimals: int) -> str:
    """``198000, 2`` → ``1,980.00``; ``1980, 0`` → ``1,980``. Integer maths: no float rounding."""
    sign = "-" if minor_units < 0 else ""
    whole, frac = divmod(abs(int(minor_units)), 10**decimals)
    text = f"{whole:,}"
    if decimals:
        text += f".{frac:0{decimals}d}"
    return sign + text


def format_money(minor_units: int, currency: str) -> str:
    """``format_money(19800, "eur")`` → ``€198.00``; ``format_money(1980, "jpy")`` → ``¥1,980``."""
    info = currency_info(currency)
    amount = amount_text(minor_units, info.decimals)
    sign = ""
    if amount.startswith("-"):
        sign, amount = "-", amount[1:]
    if not info.symbol_first:
        return f"{sign}{amount} {info.symbol}"
    return f"{sign}{info.symbol}{' ' if info.space else ''}{amount}"


def decimal_text(minor_units: int, decimals: int) -> str:
    """Plain number for CSV: ``1980.00``, no grouping, no symbol."""
    return amount_text(minor_units, decimals).replace(",", "")


# Country prices carry no currency in the API: they are in the shop's base unit (cents).
COUNTRY_PRICE_DECIMALS = 2


def country_price_text(cents: int) -> str:
    return amount_text(cents, COUNTRY_PRICE_DECIMALS)


@dataclass(frozen=True)
class PriceRow:
    model: PriceModel
    country_count: int
    currency_count: int
    lowest: str  # over country prices, which share one unit; "" when there are none
    highest: str
    currency_prices: list[str]
    updated: datetime | None


def summarize(model: PriceModel) -> PriceRow:
    prices = [c.price for c in model.countries]
    return PriceRow(
        model=model,
        country_count=len({c.country_code for c in model.countries}),
        currency_count=len({c.currency for c in model.currencies}),
        lowest=country_price_text(min(prices)) if prices else "",
        highest=country_price_text(max(prices)) if prices else "",
        currency_prices=[format_money(c.price, c.currency) for c in model.currencies],
        updated=platform_time(model.updated_at),
    )


@dataclass(frozen=True)
class PriceFilters:
    q: str = ""
    validity: str = ""  # "", "valid", "invalid"
    currency: str = ""  # lower-case ISO code as the API sends it
    country: str = ""  # upper-case ISO code


def filter_models(models: list[PriceModel], filters: PriceFilters) -> list[PriceModel]:
    needle = filters.q.strip().casefold()
    out = []
    for model in models:
        if needle and needle not in model.name.casefold():
            continue
        if filters.validity == "valid" and not model.valid:
            continue
        if filters.validity == "invalid" and model.valid:
            continue
        if filters.currency and filters.currency.lower() not in {c.currency for c in model.currencies}:
            continue
        if filters.country and filters.country.upper() not in {c.country_code for c in model.countries}:
            continue
        out.append(model)
    return sorted(out, key=lambda m: (m.name.casefold(), m.id))


def filter_choices(models: list[PriceModel]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Currencies and countries that occur in any model, for the filter selects."""
    currencies = sorted({c.currency for m in models for c in m.currencies})
    countries: dict[str, str] = {}
    for model in models:
        for c in model.countries:
            countries.setdefault(c.country_code, c.country_name)
    return (
        [(code, f"{code.upper()} · {currency_info(code).name}") for code in currencies],
        [(code, f"{code} · {name}") for code, name in sorted(countries.items(), key=lambda i: i[1])],
    )


@dataclass(frozen=True)
class CountryLine:
    code: str
    name: str
    price: str


@dataclass(frozen=True)
class CurrencyLine:
    code: str
    name: str
    decimals: int
    price: str
    minor_units: int


@dataclass(frozen=True)
class PriceDetail:
    model: PriceModel
    countries: list[CountryLine]
    currencies: list[CurrencyLine]
    created: datetime | None
    updated: datetime | None


def detail(model: PriceModel) -> PriceDetail:
    return PriceDetail(
        model=model,
        countries=[
            CountryLine(c.country_code, c.country_name, country_price_text(c.price))
            for c in sorted(model.countries, key=lambda c: c.country_name.casefold())
        ],
        currencies=[
            CurrencyLine(
                code=c.currency.upper(),
                name=currency_info(c.currency).name,
                decimals=currency_info(c.currency).decimals,
                price=format_money(c.price, c.currency),
                minor_units=c.price,
            )
            for c in sorted(model.currencies, key=lambda c: c.currency)
        ],
        created=platform_time(model.created_at),
        updated=platform_time(model.updated_at),
    )


def find_model(models: list[PriceModel], price_id: int) -> PriceModel | None:
    return next((m for m in models if m.id == price_id), None)


CSV_HEADER = [
    "price_model_id", "price_model", "valid", "kind", "code", "name", "amount", "currency",
    "formatted", "minor_units", "updated_at",
]  # fmt: skip


def csv_text(models: list[PriceModel]) -> str:
    """One row per price of each model: country prices, then currency prices."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for model in models:
        common = [model.id, model.name, "yes" if model.valid else "no"]
        for c in sorted(model.countries, key=lambda c: c.country_code):
            writer.writerow(_csv_row(
                [*common, "country", c.country_code, c.country_name,
                 decimal_text(c.price, COUNTRY_PRICE_DECIMALS), "", "", c.price, model.updated_at]
            ))  # fmt: skip
        for c in sorted(model.currencies, key=lambda c: c.currency):
            info = currency_info(c.currency)
            writer.writerow(_csv_row(
                [*common, "currency", info.code, info.name, decimal_text(c.price, info.decimals),
                 info.code, format_money(c.price, c.currency), c.price, model.updated_at]
            ))  # fmt: skip
    return out.getvalue()


_AMOUNT_COLUMN = CSV_HEADER.index("amount")  # our own number; "-5.00" must stay a number


def _csv_row(cells: list) -> list:
    # Every text cell may carry the shop's (or an unknown currency's) text, not only the name.
    return csv_safe_row(cells, numeric_columns=frozenset({_AMOUNT_COLUMN}))
