"""Price models shaped for the pages: summaries, search, filters, the detail tables, CSV rows.

The API is read-only and returns every model at once, so searching and filtering happen here
over the (briefly cached) list that ``fulfillment.prices.services`` loads. Money is formatted
by ``fulfillment.prices.money``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import pgettext_lazy

from flickrocket import PriceModel
from frapp.dates import platform_time
from frapp.spreadsheets import csv_safe_row, csv_writer

from .money import (
    COUNTRY_PRICE_DECIMALS,
    country_price_text,
    currency_code,
    currency_decimals,
    currency_name,
    decimal_text,
    format_money,
)


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
        [(code, f"{code.upper()} · {currency_name(code)}") for code in currencies],
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
                name=currency_name(c.currency),
                decimals=currency_decimals(c.currency),
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


# Column names in the owner's language; the column order never changes.
CSV_HEADER = [
    pgettext_lazy("csv column", "price_model_id"),
    pgettext_lazy("csv column", "price_model"),
    pgettext_lazy("csv column", "valid"),
    pgettext_lazy("csv column", "kind"),
    pgettext_lazy("csv column", "code"),
    pgettext_lazy("csv column", "name"),
    pgettext_lazy("csv column", "amount"),
    pgettext_lazy("csv column", "currency"),
    pgettext_lazy("csv column", "formatted"),
    pgettext_lazy("csv column", "minor_units"),
    pgettext_lazy("csv column", "updated_at"),
]


# Our own number; "-5.00" must stay a number. Every text cell may carry the shop's (or an
# unknown currency's) text, not only the name, so all the others are guarded.
CSV_NUMERIC_COLUMNS = frozenset({6})  # "amount"; the header is translated, so by position


def csv_rows(models: list[PriceModel]) -> Iterator[list]:
    """One row per price of each model: country prices, then currency prices."""
    for model in models:
        common = [model.id, model.name, "yes" if model.valid else "no"]
        for c in sorted(model.countries, key=lambda c: c.country_code):
            yield [
                *common,
                "country",
                c.country_code,
                c.country_name,
                decimal_text(c.price, COUNTRY_PRICE_DECIMALS),
                "",
                "",
                c.price,
                model.updated_at,
            ]
        for c in sorted(model.currencies, key=lambda c: c.currency):
            code = currency_code(c.currency)
            amount = decimal_text(c.price, currency_decimals(code))
            yield [
                *common,
                "currency",
                code,
                currency_name(code),
                amount,
                code,
                format_money(c.price, c.currency),
                c.price,
                model.updated_at,
            ]


def csv_text(models: list[PriceModel]) -> str:
    """The rows of ``csv_rows`` as one guarded CSV text (the download streams them instead)."""
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(CSV_HEADER)
    for row in csv_rows(models):
        writer.writerow(csv_safe_row(row, numeric_columns=CSV_NUMERIC_COLUMNS))
    return out.getvalue()
