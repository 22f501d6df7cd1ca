"""Carrier recognition on the order pages (issue 11 §4): warnings where a number is typed, the
carrier's name and tracking page next to every number. Warnings never block: the change is queued."""

from html import escape

import pytest

from fulfillment.outbox.models import PendingUpdate

pytestmark = pytest.mark.django_db

UPS_VALID = "1Z999AA10123456784"
DHL_PAKET_BAD_CHECK = "00340433836442636598"  # 00340433836442636597 with its last digit changed


def an_open_order(sandbox, **fields):
    return sandbox.create_order(1202, **fields)


def test_inline_gtin_looking_number_is_queued_and_warned_under_the_input(shop, sandbox):
    order = an_open_order(sandbox)
    gtin = order["line_items"][0]["gtin"]
    shop.get("fulfillments/?refresh=1")
    response = shop.post(
        f"fulfillments/{order['id']}/ship",
        {"tracking_number": gtin, "action": "ship", "from": "list", "kind": "open", "form_key": "g1"},
        headers={"HX-Request": "true", "HX-Target": f"order-{order['id']}"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "tracking-warning" in html and "Saved." in html
    assert escape(f"{gtin} is the barcode of an item in this order, not a tracking number.") in html
    # The input stays, holding the number, so it can be corrected in place.
    assert f'name="tracking_number" value="{gtin}"' in html
    update = PendingUpdate.objects.get(order_id=order["id"])
    assert update.tracking_number == gtin and update.status == 100


def test_inline_recognised_number_is_queued_without_a_warning(shop, sandbox):
    order = an_open_order(sandbox, shipping_model="UPS Standard")
    shop.get("fulfillments/?refresh=1")
    response = shop.post(
        f"fulfillments/{order['id']}/ship",
        {"tracking_number": UPS_VALID, "action": "ship", "from": "list", "kind": "open", "form_key": "u1"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert "tracking-warning" not in html and 'name="tracking_number"' not in html
    assert "carrier-name" in html and ">UPS<" in html
    assert PendingUpdate.objects.get(order_id=order["id"]).tracking_number == UPS_VALID


def test_order_page_check_digit_failure_is_warned_after_saving(shop, sandbox):
    order = an_open_order(sandbox, shipping_model="DHL Paket", tracking_url="")
    response = shop.post(
        f"fulfillments/{order['id']}/ship",
        {"tracking_number": DHL_PAKET_BAD_CHECK, "action": "ship", "form_key": "d1"},
        follow=True,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "tracking-warning" in html
    assert "looks like a DHL Paket number, but its check digit is wrong" in html
    assert PendingUpdate.objects.get(order_id=order["id"]).tracking_number == DHL_PAKET_BAD_CHECK


def test_order_page_shows_the_carrier_and_links_its_tracking_page_without_a_flickrocket_url(shop, sandbox):
    order = an_open_order(
        sandbox, status=100, tracking_number=UPS_VALID, tracking_url="", shipping_model="UPS Standard"
    )
    html = shop.get(f"fulfillments/{order['id']}/").content.decode()
    link = (
        f'<a href="https://www.ups.com/track?tracknum={UPS_VALID}" target="_blank" rel="noopener noreferrer">'
    )
    assert link in html
    assert '<span class="small text-secondary carrier-name">UPS</span>' in html
    assert "tracking-warning" not in html


def test_shipped_list_links_to_the_carrier_where_flickrocket_gives_no_url(shop, sandbox):
    order = an_open_order(
        sandbox, status=100, tracking_number=UPS_VALID, tracking_url="", shipping_model="UPS Standard"
    )
    html = shop.get("fulfillments/shipped/", {"q": str(order["id"]), "refresh": "1"}).content.decode()
    link = (
        f'<a href="https://www.ups.com/track?tracknum={UPS_VALID}" target="_blank" rel="noopener noreferrer">'
    )
    assert link in html
    assert '<span class="text-secondary carrier-name">UPS</span>' in html


def test_shipped_list_uses_flickrocket_tracking_url_when_it_gives_one(shop, sandbox):
    order = an_open_order(
        sandbox, status=100, tracking_number=UPS_VALID, tracking_url="https://track.example/t/{tracking}"
    )
    html = shop.get("fulfillments/shipped/", {"q": str(order["id"]), "refresh": "1"}).content.decode()
    assert f'<a href="https://track.example/t/{UPS_VALID}" target="_blank" rel="noopener noreferrer">' in html
    assert "www.ups.com/track" not in html
    assert '<span class="text-secondary carrier-name">UPS</span>' in html


def test_unrecognised_number_without_flickrocket_url_is_shown_unlinked(shop, sandbox):
    order = an_open_order(sandbox, status=100, tracking_number="NOTACARRIER", tracking_url="")
    html = shop.get("fulfillments/shipped/", {"q": str(order["id"]), "refresh": "1"}).content.decode()
    assert '<div class="text-break">NOTACARRIER</div>' in html
