"""The order list as a spreadsheet: what the owner sees, with our pending changes on top."""

from collections.abc import Iterable, Iterator

from django.utils import timezone

from frapp.spreadsheets import csv_response

from .selectors import Row

EXPORT_HEADER = [
    "order_id",
    "created_at",
    "status",
    "name",
    "address1",
    "address2",
    "zip",
    "city",
    "province",
    "country_code",
    "country",
    "phone",
    "items",
    "total_grams",
    "shipping_model",
    "tracking_number",
    "pending",
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
            "shipped" if row.is_shipped else "open",
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
