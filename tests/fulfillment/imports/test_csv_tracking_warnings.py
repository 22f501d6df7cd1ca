"""The CSV import preview warns per row about tracking numbers that look wrong (issue 11 §4),
and counts those rows in its summary; warned rows stay ready: warn, never block."""

import time
from html import escape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fulfillment.imports.models import CsvImport, CsvImportRow

pytestmark = pytest.mark.django_db


def upload(shop, text: str):
    data = {"file": SimpleUploadedFile("tracking.csv", text.encode(), content_type="text/csv"), "ship": "on"}
    return shop.post("fulfillments/import/", data)


def test_preview_shows_warnings_per_row_and_their_count(shop, sandbox):
    gtin_order = sandbox.create_order(1202, shipping_model="DHL Paket")
    gtin = gtin_order["line_items"][0]["gtin"]
    bad_check = sandbox.create_order(1202, shipping_model="DHL Paket")
    mismatch = sandbox.create_order(1202, shipping_model="DHL Paket")
    clean = sandbox.create_order(1202, shipping_model="UPS Standard")
    text = "\n".join(
        [
            "order_id,tracking_number",
            f"{gtin_order['id']},{gtin}",
            f"{bad_check['id']},00340433836442636598",
            f"{mismatch['id']},1Z999AA10123456784",
            f"{clean['id']},1Z999AA10123456784",
        ]
    )
    response = upload(shop, text)
    assert response.status_code == 302
    job = CsvImport.objects.get()
    rows = {row.order_id: row for row in job.rows.all()}
    assert all(row.verdict == CsvImportRow.Verdict.READY for row in rows.values())
    assert job.ready_rows == 4
    assert "barcode of an item in this order" in rows[gtin_order["id"]].warnings
    assert "check digit is wrong" in rows[bad_check["id"]].warnings
    assert "looks like a UPS number, but the order ships with" in rows[mismatch["id"]].warnings
    assert rows[clean["id"]].warnings == ""

    html = shop.get(f"fulfillments/import/{job.pk}/").content.decode()
    assert "<th>Warnings</th>" in html
    assert escape(rows[gtin_order["id"]].warnings) in html
    assert escape(rows[mismatch["id"]].warnings) in html
    assert "3 rows with a warning" in html
    assert 'id="warning-summary"' in html and "3 ready rows have a tracking number that looks wrong" in html

    only = shop.get(f"fulfillments/import/{job.pk}/", {"show": "warnings"})
    assert only.context["page"].paginator.count == 3
    assert clean["id"] not in {row.order_id for row in only.context["page"]}


def test_preview_of_every_order_of_the_shop_stays_fast(shop, sandbox):
    orders = sandbox.fulfillments(1202)[:2000]
    text = "\n".join(f"{o['id']},00340434{i:012d}" for i, o in enumerate(orders))
    started = time.perf_counter()
    assert upload(shop, text).status_code == 302
    assert time.perf_counter() - started < 10
    assert CsvImport.objects.get().total_rows == len(orders)
