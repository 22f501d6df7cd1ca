"""The packing bench: scan and ship, bulk ship, packing slips, pick list."""

import pytest

from fulfillment.outbox.models import PendingUpdate
from fulfillment.outbox.sender import send_pending_updates

pytestmark = pytest.mark.django_db


def open_orders(sandbox, company_id=1202):
    return [o for o in sandbox.fulfillments(company_id) if o["status"] == 0]


def test_scan_order_then_tracking_ships_it_and_is_ready_for_the_next(shop, sandbox):
    order = open_orders(sandbox)[0]
    shop.get("fulfillments/")
    step_one = shop.post("fulfillments/scan/", {"order_id": str(order["id"]), "form_key": "s1"})
    html = step_one.content.decode()
    assert step_one.status_code == 200
    assert 'id="scan-order"' in html and 'name="tracking_number"' in html
    assert order["shipping_address"]["city"] in html
    step_two = shop.post(
        "fulfillments/scan/",
        {"order_id": str(order["id"]), "tracking_number": "SCAN-001", "form_key": "s1"},
    )
    html = step_two.content.decode()
    assert 'id="scan-done"' in html and "SCAN-001" in html
    assert 'name="order_id" id="id_order_id" value="" class' in html and "autofocus" in html
    assert PendingUpdate.objects.get(order_id=order["id"]).source == "scan"
    send_pending_updates(company_id=1202)
    assert sandbox.fulfillment(1202, order["id"])["tracking_number"] == "SCAN-001"


def test_scanning_an_unknown_or_foreign_order_says_so(shop, sandbox):
    foreign = sandbox.fulfillments(1305)[0]["id"]
    response = shop.post("fulfillments/scan/", {"order_id": str(foreign)})
    assert response.status_code == 404
    assert "not one of this shop" in response.content.decode()
    response = shop.post("fulfillments/scan/", {"order_id": "abc"})
    assert response.status_code == 400


def test_bulk_ship_with_a_tracking_number_each_sends_exactly_the_selection(shop, sandbox):
    chosen = [o["id"] for o in open_orders(sandbox)[:3]]
    shop.get("fulfillments/")
    confirm = shop.post("fulfillments/bulk/ship", {"ids": chosen, "form_key": "b1"})
    assert confirm.status_code == 200
    assert all(f'name="tracking_{i}"' in confirm.content.decode() for i in chosen)
    data = {"ids": chosen, "confirm": "1", "form_key": "b1", f"tracking_{chosen[0]}": "BULK-A"}
    assert shop.post("fulfillments/bulk/ship", data).status_code == 302
    assert shop.post("fulfillments/bulk/ship", data).status_code == 302  # resubmitted
    assert PendingUpdate.objects.filter(source="bulk").count() == 3
    send_pending_updates(company_id=1202)
    after = {o["id"]: o for o in sandbox.fulfillments(1202)}
    assert [after[i]["status"] for i in chosen] == [100, 100, 100]
    assert after[chosen[0]]["tracking_number"] == "BULK-A"
    shipped_now = {i for i, o in after.items() if o["status"] == 100}
    assert len(shipped_now) == 40 + 3


def test_bulk_ship_with_one_bad_tracking_number_queues_nothing(shop, sandbox):
    chosen = [o["id"] for o in open_orders(sandbox)[:2]]
    shop.get("fulfillments/")
    data = {"ids": chosen, "confirm": "1", f"tracking_{chosen[1]}": "X,,Y"}
    response = shop.post("fulfillments/bulk/ship", data)
    assert response.status_code == 400
    assert f"Order {chosen[1]}" in response.content.decode()
    assert 'value="X,,Y"' in response.content.decode()
    assert not PendingUpdate.objects.exists()


def test_bulk_drops_another_companys_order_ids(shop, sandbox):
    mine = open_orders(sandbox)[0]["id"]
    foreign = sandbox.fulfillments(1305)[0]["id"]
    shop.get("fulfillments/")
    shop.post("fulfillments/bulk/ship", {"ids": [mine, foreign], "confirm": "1"})
    assert list(PendingUpdate.objects.values_list("order_id", flat=True)) == [mine]


def test_packing_slips_print_one_order_a_page_and_the_pick_list_sums_items(shop, sandbox):
    orders = open_orders(sandbox)[:4]
    ids = [o["id"] for o in orders]
    shop.get("fulfillments/")
    slips = shop.post("fulfillments/slips/", {"ids": ids}).content.decode()
    assert slips.count('class="slip ') == 4 and slips.count("page-break") == 3
    picklist = shop.post("fulfillments/picklist/", {"ids": ids})
    items = picklist.context["items"]
    expected = {}
    for order in orders:
        for line in order["line_items"]:
            key = (line["product_id"], line["version"])
            expected[key] = expected.get(key, 0) + line["quantity"]
    assert {(i.product_id, i.version): i.quantity for i in items} == expected
