"""CSV exports are safe in every locale's spreadsheet: a cell is neutralised when any piece a
comma, semicolon or tab reader would make of it starts like a formula (issue 9 §6).

The downloads are checked as a German Excel (";") or a pasted sheet ("\t") reads their raw
bytes, both honouring quotes (``csv.reader``) and ignoring them (a naive importer)."""

import csv
import io
import re

import pytest

from flickrocket import PriceModel
from frapp.spreadsheets import csv_safe, csv_safe_row
from fulfillment.prices.selectors import csv_text

pytestmark = pytest.mark.django_db

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What German, Austrian and French customers (or attackers posing as them) type.
SEPARATED = {
    "name": "Bob;=2+5",
    "address1": 'Rue de la Paix, =HYPERLINK("https://evil.example")',
    "address2": "c/o Meier;@SUM(1+1)",
    "city": "Wien;  +cmd|' /C calc'!A0",
    "province": 'Île;"=1+1"',
    "phone": "0176 1234\t=1+1",
}


def dangerous_pieces(cell: str) -> list[str]:
    """The pieces a spreadsheet splitting on , ; tab or a line break would evaluate. A quote in
    front of the whole cell does not help a piece after a separator: only its own does."""
    return [
        piece
        for piece in re.split(r"[,;\t\r\n]", cell)
        if piece.lstrip(' "')[:1] in FORMULA_STARTS and not re.fullmatch(r"-\d+(\.\d+)?", piece)
    ]


def body_of(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body.decode("utf-8-sig")


def formula_cells(body: str) -> list[str]:
    """Cells starting like a formula when the raw CSV is split on ";" or tab."""
    found = []
    for delimiter in (";", "\t"):
        quoted = [cell for row in csv.reader(io.StringIO(body), delimiter=delimiter) for cell in row]
        naive = [cell for line in body.splitlines() for cell in line.split(delimiter)]
        found += [cell for cell in quoted + naive if cell.lstrip(" ")[:1] in FORMULA_STARTS]
    return found


def test_formula_cells_finds_what_the_old_writer_let_through():
    # The guard's own check: the old output (whole cell prefixed, minimal quoting).
    assert "=2+5" in formula_cells("id,name\r\n1,'Bob;=2+5\r\n")
    assert '=2+5"' in formula_cells('id,name\r\n1,"\'Bob\t=2+5"\r\n')


@pytest.mark.parametrize("text", [*SEPARATED.values(), "x\r=1+1", "a,b;c\t-1+1"])
def test_a_formula_after_any_separator_is_neutralised(text):
    # Each dangerous piece gets its own quote (was: one quote in front of the whole cell, which
    # a semicolon reader leaves on the first piece only); nothing else changes.
    safe = csv_safe(text)
    assert dangerous_pieces(safe) == []
    assert safe != text and safe.replace("'", "") == text.replace("'", "")


@pytest.mark.parametrize(
    "text", ["Müller GmbH; Berlin", "1 x Book; 2 x DVD (EU)", "TRK-1, TRK-2", "2016-04-07T16:16:17", ""]
)
def test_ordinary_texts_with_separators_are_left_alone(text):
    assert csv_safe(text) == text


def test_numbers_and_numeric_columns_stay_numbers():
    assert csv_safe(-500) == -500
    assert csv_safe_row(["-5.00", "-5.00"], numeric_columns=frozenset({0})) == ["-5.00", "'-5.00"]


def test_order_export_is_safe_for_semicolon_and_tab_spreadsheets(shop, sandbox):
    order = sandbox.create_order(
        1202,
        shipping_address=SEPARATED,
        line_items=[{"id": 1, "title": "Buch;=1+1", "quantity": 1}],
    )
    response = shop.get("fulfillments/all/", {"refresh": "1", "export": "csv"})
    assert response.status_code == 200
    body = body_of(response)
    rows = list(csv.reader(io.StringIO(body)))
    (row,) = [r for r in rows if r[0] == str(order["id"])]
    assert "Bob;'=2+5" in row
    assert [p for r in rows[1:] for cell in r for p in dangerous_pieces(cell)] == []
    assert formula_cells(body) == []
    assert '"Bob;\'=2+5"' in body  # quoted: a semicolon reader keeps it one cell


def test_import_result_is_safe_for_semicolon_spreadsheets(shop, sandbox):
    from django.core.files.uploadedfile import SimpleUploadedFile

    text = 'order_id|tracking_number\n"1;=1+1"|TRK1\n'
    upload = shop.post("fulfillments/import/", {"file": SimpleUploadedFile("t.csv", text.encode())})
    assert upload.status_code == 302
    result = shop.client.get(upload["Location"].rstrip("/") + "/result.csv")
    body = body_of(result)
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[1][1] == "1;'=1+1"
    assert [p for r in rows[1:] for cell in r for p in dangerous_pieces(cell)] == []
    assert formula_cells(body) == []


def test_price_export_is_safe_for_semicolon_spreadsheets(shop, sandbox):
    hostile = PriceModel.from_api(
        {
            "id": 7,
            "name": "Standard;=1+1",
            "valid": 1,
            "countries": [{"country_name": "Deutschland;@SUM(A1)", "country_code": "DE", "price": -500}],
            "currencies": [],
            "created_at": "2016-04-07T16:16:17",
            "updated_at": "2016-04-07T16:16:17",
        }
    )
    text = csv_text([hostile])
    rows = list(csv.reader(io.StringIO(text)))
    assert [p for r in rows[1:] for cell in r for p in dangerous_pieces(cell)] == []
    assert rows[1][6] == "-5.00"  # the amount column stays a number
    assert formula_cells(text) == []
    download = shop.get("prices/export.csv")
    assert download.status_code == 200
    assert formula_cells(body_of(download)) == []
