"""Carrier recognition at the packing bench (issue 11 §4): scan & ship and bulk ship queue the
change and then warn about a tracking number that looks wrong, so the packer can correct it."""

from html import escape

import pytest

from fulfillment.outbox.models import PendingUpdate

pytestmark = pytest.mark.django_db

UPS_VALID = "1Z999AA10123456784"
DHL_PAKET_VALID = "00340433836442636597"


def test_scan_of_another_carriers_number_ships_and_warns_on_the_next_screen(shop, sandbox):
    order = sandbox.create_order(1202, shipping_model="DHL Paket")
    shop.get("fulfillments/scan/")
    response = shop.post(
        "fulfillments/scan/", {"order_id": str(order["id"]), "tracking_number": UPS_VALID, "form_key": "m1"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="scan-done"' in html and 'id="scan-warning"' in html
    assert escape(f"{UPS_VALID} looks like a UPS number, but the order ships with “DHL Paket”.") in html
    # The next scan still goes to the order box; the correction form holds the scanned number.
    assert 'name="order_id" id="id_order_id" value="" class' in html and "autofocus" in html
    assert f'name="tracking_number" value="{UPS_VALID}"' in html
    update = PendingUpdate.objects.get(order_id=order["id"])
    assert (update.tracking_number, update.status, update.source) == (UPS_VALID, 100, "scan")


def test_scan_correction_replaces_the_queued_number_and_the_warning_goes(shop, sandbox):
    order = sandbox.create_order(1202, shipping_model="DHL Paket")
    shop.post(
        "fulfillments/scan/", {"order_id": str(order["id"]), "tracking_number": UPS_VALID, "form_key": "c1"}
    )
    corrected = shop.post(
        "fulfillments/scan/",
        {"order_id": str(order["id"]), "tracking_number": DHL_PAKET_VALID, "form_key": "c2"},
    )
    html = corrected.content.decode()
    assert 'id="scan-done"' in html and 'id="scan-warning"' not in html
    active = PendingUpdate.objects.filter(order_id=order["id"], state__in=PendingUpdate.ACTIVE)
    assert [u.tracking_number for u in active] == [DHL_PAKET_VALID]


def test_scan_of_a_recognised_number_shows_no_warning(shop, sandbox):
    order = sandbox.create_order(1202, shipping_model="UPS Standard")
    response = shop.post(
        "fulfillments/scan/", {"order_id": str(order["id"]), "tracking_number": UPS_VALID, "form_key": "ok"}
    )
    assert 'id="scan-done"' in response.content.decode()
    assert 'id="scan-warning"' not in response.content.decode()


def test_bulk_ship_queues_every_order_and_warns_about_the_odd_numbers(shop, sandbox):
    gtin_order = sandbox.create_order(1202, shipping_model="DHL Paket")
    gtin = gtin_order["line_items"][0]["gtin"]
    mismatch = sandbox.create_order(1202, shipping_model="DHL Paket")
    fine = sandbox.create_order(1202, shipping_model="UPS Standard")
    ids = [gtin_order["id"], mismatch["id"], fine["id"]]
    shop.get("fulfillments/?refresh=1")
    data = {
        "ids": ids,
        "confirm": "1",
        "form_key": "bw",
        f"tracking_{gtin_order['id']}": gtin,
        f"tracking_{mismatch['id']}": UPS_VALID,
        f"tracking_{fine['id']}": UPS_VALID,
    }
    response = shop.post("fulfillments/bulk/ship", data, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert escape(f"Order {gtin_order['id']}: {gtin} is the barcode of an item in this order") in html
    assert escape(f"Order {mismatch['id']}: {UPS_VALID} looks like a UPS number") in html
    assert f"Order {fine['id']}:" not in html
    assert "alert-warning" in html
    assert set(PendingUpdate.objects.filter(source="bulk").values_list("order_id", flat=True)) == set(ids)
