"""The order list as a spreadsheet: what the owner sees, with our pending changes on top."""

from collections.abc import Iterable, Iterator

from django.utils import timezone
from django.utils.translation import pgettext, pgettext_lazy

from frapp.spreadsheets import csv_response

from .selectors import Row

# Column names in the owner's language; the column order never changes.
EXPORT_HEADER = [
    pgettext_lazy("csv column", "order_id"),
    pgettext_lazy("csv column", "created_at"),
    pgettext_lazy("csv column", "status"),
    pgettext_lazy("csv column", "name"),
    pgettext_lazy("csv column", "address1"),
    pgettext_lazy("csv column", "address2"),
    pgettext_lazy("csv column", "zip"),
    pgettext_lazy("csv column", "city"),
    pgettext_lazy("csv column", "province"),
    pgettext_lazy("csv column", "country_code"),
    pgettext_lazy("csv column", "country"),
    pgettext_lazy("csv column", "phone"),
    pgettext_lazy("csv column", "items"),
    pgettext_lazy("csv column", "total_grams"),
    pgettext_lazy("csv column", "shipping_model"),
    pgettext_lazy("csv column", "tracking_number"),
    pgettext_lazy("csv column", "pending"),
]


def export_rows(rows: Iterable[Row]) -> Iterator[list]:
    for row in rows:
        o, a = row.order, row.order.shipping_address
        items = "; ".join(
            f"{i.quantity} x {i.title}" + (f" ({i.version})" if i.version else "") for i in o.line_items
        )
        yield [
            o.id,
            o.created_at,
            pgettext("order state", "shipped") if row.is_shipped else pgettext("order state", "open"),
            a.name,
            a.address1,
            a.address2,
            a.zip,
            a.city,
            a.province,
            a.country_code,
            a.country_name,
            a.phone,
            items,
            o.total_grams,
            o.shipping_model,
            row.tracking_number,
            row.write_state,
        ]


def _export_csv(rows: list[Row], kind: str):
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    return csv_response(f"{kind}-orders-{stamp}.csv", EXPORT_HEADER, export_rows(rows))
