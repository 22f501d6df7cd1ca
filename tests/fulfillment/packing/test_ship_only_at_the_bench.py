"""With pack verification on, an open order ships only from the packing bench: the inline row,
the order page, bulk ship and the CSV import refuse it; tracking-only changes and undo stay."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fulfillment.imports.apply import apply_tracking_csv
from fulfillment.imports.models import CsvImport, CsvImportRow
from fulfillment.outbox.models import PendingUpdate
from fulfillment.packing.models import PackingSettings

pytestmark = pytest.mark.django_db

REFUSED = "This shop verifies items before shipping: ship order #{} at the packing bench."


@pytest.fixture
def verifying(shop):
    PackingSettings.objects.create(company_id=1202, verify_items=True)
    return shop


@pytest.fixture(autouse=True)
def listed(shop, sandbox):
    shop.get("fulfillments/")  # the list rows (inline, bulk) come from the cached list


def opens(sandbox):
    return [o["id"] for o in sandbox.fulfillments(1202) if o["status"] == 0]


def shipped(sandbox):
    return [o["id"] for o in sandbox.fulfillments(1202) if o["status"] == 100]


def ship_inline(shop, order_id, tracking="INL-1"):
    return shop.post(
        f"fulfillments/{order_id}/ship",
        {"tracking_number": tracking, "action": "ship", "from": "list", "kind": "open", "form_key": ""},
        headers={"HX-Request": "true"},
    )


def ship_on_page(shop, order_id, tracking="PAGE-1", action="ship"):
    return shop.post(f"fulfillments/{order_id}/ship", {"tracking_number": tracking, "action": action})


def test_the_inline_row_refuses_to_ship_an_unverified_order(verifying, sandbox):
    order_id = opens(sandbox)[0]
    response = ship_inline(verifying, order_id)
    assert response.status_code == 200
    assert REFUSED.format(order_id) in response.content.decode()
    assert not PendingUpdate.objects.filter(order_id=order_id).exists()


def test_the_order_page_refuses_to_ship_an_unverified_order(verifying, sandbox):
    order_id = opens(sandbox)[0]
    response = ship_on_page(verifying, order_id)
    assert REFUSED.format(order_id) in response.content.decode()
    assert not PendingUpdate.objects.filter(order_id=order_id).exists()


def test_tracking_only_and_undo_stay_allowed(verifying, sandbox):
    open_id, shipped_id, undone_id = opens(sandbox)[0], *shipped(sandbox)[:2]
    ship_on_page(verifying, open_id, "SAVED-1", action="tracking")  # no status change
    assert PendingUpdate.objects.get(order_id=open_id).status is None
    ship_on_page(verifying, shipped_id, "NEW-1")  # "ship" an order shipped already: new tracking
    assert PendingUpdate.objects.get(order_id=shipped_id).tracking_number == "NEW-1"
    ship_inline(verifying, shipped_id, "NEW-2")
    assert PendingUpdate.objects.filter(order_id=shipped_id, tracking_number="NEW-2").exists()
    from fulfillment.orders.services import reopen_order

    assert reopen_order(company_id=1202, user_id="4711", order_id=undone_id).status == 0


def test_bulk_ship_refuses_the_unverified_orders_and_queues_nothing(verifying, sandbox):
    chosen = opens(sandbox)[:2]
    data = {"ids": chosen, "confirm": "1", "form_key": "bv1", f"tracking_{chosen[0]}": "BULK-V"}
    response = verifying.post("fulfillments/bulk/ship", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert all(REFUSED.format(i) in html for i in chosen)
    assert not PendingUpdate.objects.exists()


def upload(shop, text):
    file = SimpleUploadedFile("tracking.csv", text.encode(), content_type="text/csv")
    return shop.post("fulfillments/import/", {"file": file, "ship": "on"})


def test_the_csv_import_refuses_rows_that_would_ship_an_unverified_order(verifying, sandbox):
    order_id = opens(sandbox)[0]
    upload(verifying, f"{order_id},CSV-V\n")
    row = CsvImportRow.objects.get()
    assert row.verdict == CsvImportRow.Verdict.INVALID and row.reason == REFUSED.format(order_id)


def test_an_import_previewed_before_the_setting_was_switched_on_refuses_its_rows(shop, sandbox):
    first, second = opens(sandbox)[:2]
    upload(shop, f"{first},CSV-A\n{second},CSV-B\n")
    job = CsvImport.objects.get()
    assert job.ready_rows == 2
    PackingSettings.objects.create(company_id=1202, verify_items=True)
    CsvImport.objects.filter(pk=job.pk).update(state=CsvImport.State.APPLYING)
    assert apply_tracking_csv(import_id=job.pk) == 2
    assert not PendingUpdate.objects.exists()
    assert {r.reason for r in CsvImportRow.objects.all()} == {REFUSED.format(first), REFUSED.format(second)}
    job.refresh_from_db()
    assert job.state == CsvImport.State.DONE


def test_with_the_setting_off_every_path_ships_as_before(shop, sandbox):
    first, second, third, fourth = opens(sandbox)[:4]
    ship_inline(shop, first)
    ship_on_page(shop, second)
    assert (
        shop.post("fulfillments/bulk/ship", {"ids": [third], "confirm": "1", "form_key": "b"}).status_code
        == 302
    )
    upload(shop, f"{fourth},CSV-OFF\n")
    job = CsvImport.objects.get()
    CsvImport.objects.filter(pk=job.pk).update(state=CsvImport.State.APPLYING)
    apply_tracking_csv(import_id=job.pk)
    assert set(PendingUpdate.objects.filter(status=100).values_list("order_id", flat=True)) == {
        first,
        second,
        third,
        fourth,
    }


def test_the_bench_ship_call_is_not_refused_without_its_explicit_flag(verifying, sandbox):
    from frapp.errors import AppError
    from fulfillment.outbox.models import Source
    from fulfillment.outbox.services import mark_shipped

    order_id = opens(sandbox)[0]
    with pytest.raises(AppError):  # the scan source alone does not pass
        mark_shipped(company_id=1202, user_id="4711", order_id=order_id, source=Source.SCAN)
    update = mark_shipped(
        company_id=1202, user_id="4711", order_id=order_id, source=Source.SCAN, verified=True
    )
    assert update.status == 100
