"""Review fixes: a crafted ship step without the tracking box, two benches starting one order."""

import pytest
from stdnum import ean

from fulfillment.orders import detail as one_order
from fulfillment.outbox.models import PendingUpdate
from fulfillment.packing import services
from fulfillment.packing.models import PackingSettings, Verification

pytestmark = pytest.mark.django_db

SCAN = "fulfillments/scan/"
MUG = "401234567890" + ean.calc_check_digit("401234567890")


@pytest.fixture
def order(sandbox):
    return sandbox.create_order(
        1202, line_items=[{"id": 1, "title": "Mug", "version": "", "quantity": 1, "gtin": MUG}]
    )


def test_a_ship_step_without_the_tracking_box_needs_ship_without_tracking(shop, order):
    PackingSettings.objects.create(company_id=1202, verify_items=True)
    order_id = str(order["id"])
    assert shop.post(SCAN, {"order_id": order_id}).status_code == 200
    assert shop.post(SCAN, {"order_id": order_id, "code": MUG}).status_code == 200
    response = shop.post(SCAN, {"order_id": order_id, "without_tracking": "false"})
    assert response.status_code == 400
    assert not PendingUpdate.objects.exists()


def test_two_requests_starting_one_order_share_its_row(shop, order, monkeypatch):
    row = one_order.order_detail(company_id=1202, order_id=order["id"]).row
    services._restart(None, 1202, "other", row)  # the other request created it after our read
    real = Verification.objects.select_for_update
    calls = []

    def first_read_finds_nothing():
        calls.append(1)
        return Verification.objects.none() if len(calls) == 1 else real()

    monkeypatch.setattr(Verification.objects, "select_for_update", first_read_finds_nothing)
    begun = services.begin(company_id=1202, user_id="4711", order_id=order["id"])
    assert begun.progress.verification.user_id == "other"
    assert Verification.objects.filter(order_id=order["id"]).count() == 1
    assert len(begun.progress.lines) == 1
