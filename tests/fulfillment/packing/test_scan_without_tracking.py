"""Scan & ship ships without a tracking number only when the owner says so (issue 9 §6)."""

import pytest

from fulfillment.outbox.models import PendingUpdate
from fulfillment.outbox.sender import send_pending_updates

pytestmark = pytest.mark.django_db


@pytest.fixture
def scanned(shop, sandbox):
    order = next(o for o in sandbox.fulfillments(1202) if o["status"] == 0 and not o.get("tracking_number"))
    step_one = shop.post("fulfillments/scan/", {"order_id": str(order["id"]), "form_key": "s1"})
    assert step_one.status_code == 200
    assert 'name="without_tracking"' in step_one.content.decode()
    return order["id"]


def test_an_empty_tracking_box_is_an_error_and_the_order_stays_selected(shop, sandbox, scanned):
    response = shop.post(
        "fulfillments/scan/", {"order_id": str(scanned), "tracking_number": "", "form_key": "s1"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Scan the tracking number, or press “Ship without tracking”." in html
    assert 'id="scan-order"' in html and f'value="{scanned}"' in html and "readonly" in html
    assert 'id="scan-done"' not in html
    assert not PendingUpdate.objects.exists()
    # Whitespace is what a scanner that read nothing may send: still empty.
    response = shop.post("fulfillments/scan/", {"order_id": str(scanned), "tracking_number": "  "})
    assert response.status_code == 400 and not PendingUpdate.objects.exists()


def test_ship_without_tracking_ships_the_order_with_no_tracking_number(shop, sandbox, scanned):
    response = shop.post(
        "fulfillments/scan/",
        {"order_id": str(scanned), "tracking_number": "", "without_tracking": "1", "form_key": "s1"},
    )
    assert response.status_code == 200
    assert f"Order #{scanned} shipped" in response.content.decode()
    update = PendingUpdate.objects.get(order_id=scanned)
    assert (update.source, update.status, update.tracking_number) == ("scan", 100, None)
    send_pending_updates(company_id=1202)
    at_sandbox = sandbox.fulfillment(1202, scanned)
    assert at_sandbox["status"] == 100 and not at_sandbox.get("tracking_number")


def test_ship_without_tracking_with_a_number_in_the_box_asks_which_was_meant(shop, sandbox, scanned):
    response = shop.post(
        "fulfillments/scan/",
        {"order_id": str(scanned), "tracking_number": "SCAN-9", "without_tracking": "1"},
    )
    assert response.status_code == 400
    assert "You entered a tracking number" in response.content.decode()
    assert 'id="scan-order"' in response.content.decode()
    assert not PendingUpdate.objects.exists()
