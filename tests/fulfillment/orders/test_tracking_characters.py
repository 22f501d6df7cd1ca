"""NUL, control and invisible characters in tracking numbers are refused on every path, each
with the one message ``tracking_character_problem`` words (issue 9 §3)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.html import escape

from fulfillment.imports.models import CsvImport
from fulfillment.orders.tracking import normalize_tracking, tracking_character_problem
from fulfillment.outbox.models import PendingUpdate

pytestmark = pytest.mark.django_db

INVISIBLE = {
    "nul": "\x00",
    "bell": "\x07",
    "zero-width space": "\u200b",
    "zero-width joiner": "\u200d",
    "word joiner": "\u2060",
    "bom inside": "\ufeff",
    "right-to-left override": "\u202e",
    "left-to-right isolate": "\u2066",
    "soft hyphen": "\u00ad",
}
CASES = pytest.mark.parametrize("invisible", INVISIBLE.values(), ids=INVISIBLE.keys())


def open_ids(sandbox, count):
    return [o["id"] for o in sandbox.fulfillments(1202) if o["status"] == 0][:count]


def expected(typed: str) -> str:
    message = tracking_character_problem(typed)
    assert message.startswith("A tracking number contains an invisible or control character (U+")
    return message


@CASES
def test_the_rule_itself_refuses_and_plain_numbers_pass(invisible):
    assert tracking_character_problem("1Z999AA10123456784, JJD000390007") == ""
    assert normalize_tracking("  1Z999AA1, JJD0003  ") == "1Z999AA1, JJD0003"
    assert tracking_character_problem(f"TRK{invisible}1") != ""


@CASES
def test_order_page_refuses_them(shop, sandbox, invisible):
    (order_id,) = open_ids(sandbox, 1)
    typed = f"TRK{invisible}1"
    response = shop.post(f"fulfillments/{order_id}/ship", {"tracking_number": typed, "action": "ship"})
    assert response.status_code == 400
    assert escape(expected(typed)) in response.content.decode()
    assert not PendingUpdate.objects.exists()


@CASES
def test_inline_list_row_refuses_them(shop, sandbox, invisible):
    (order_id,) = open_ids(sandbox, 1)
    shop.get("fulfillments/")
    typed = f"TRK{invisible}1"
    response = shop.post(
        f"fulfillments/{order_id}/ship",
        {"tracking_number": typed, "action": "ship", "from": "list", "kind": "open"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert escape(expected(typed)) in response.content.decode()
    assert not PendingUpdate.objects.exists()


@CASES
def test_scan_box_refuses_them_and_keeps_the_order(shop, sandbox, invisible):
    (order_id,) = open_ids(sandbox, 1)
    typed = f"TRK{invisible}1"
    response = shop.post("fulfillments/scan/", {"order_id": str(order_id), "tracking_number": typed})
    assert response.status_code == 400
    html = response.content.decode()
    assert escape(expected(typed)) in html
    assert 'id="scan-order"' in html and f"#{order_id}" in html
    assert not PendingUpdate.objects.exists()


@CASES
def test_bulk_ship_refuses_them(shop, sandbox, invisible):
    a, b = open_ids(sandbox, 2)
    shop.get("fulfillments/")
    typed = f"TRK{invisible}1"
    response = shop.post(
        "fulfillments/bulk/ship", {"ids": [a, b], "confirm": "1", f"tracking_{b}": typed, "form_key": "k"}
    )
    assert response.status_code == 400
    assert escape(expected(typed)) in response.content.decode()
    assert not PendingUpdate.objects.exists()


@CASES
def test_csv_import_refuses_them_with_the_same_words(shop, sandbox, invisible):
    (order_id,) = open_ids(sandbox, 1)
    typed = f"TRK{invisible}1"
    file = SimpleUploadedFile("t.csv", f"{order_id},{typed}\n".encode(), content_type="text/csv")
    assert shop.post("fulfillments/import/", {"file": file, "ship": "on"}).status_code == 302
    row = CsvImport.objects.get().rows.get()
    assert (row.verdict, row.reason) == ("invalid", expected(typed))
