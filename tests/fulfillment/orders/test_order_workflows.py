"""Order flows around the lists: activity, new-order notice, updates (packing: tests/fulfillment/packing)."""

import pytest

from fulfillment.orders.services import invalidate_lists
from fulfillment.outbox.models import AuditEntry
from fulfillment.outbox.sender import send_pending_updates

pytestmark = pytest.mark.django_db


def open_orders(sandbox, company_id=1202):
    return [o for o in sandbox.fulfillments(company_id) if o["status"] == 0]


def test_activity_lists_who_changed_what_and_how(shop, sandbox):
    order = open_orders(sandbox)[0]
    shop.get("fulfillments/")
    shop.post(f"fulfillments/{order['id']}/ship", {"tracking_number": "ACT-1", "action": "ship"})
    html = shop.get("fulfillments/activity/").content.decode()
    assert f"#{order['id']}" in html and "ACT-1" in html and "4711" in html and "Order page" in html
    assert AuditEntry.objects.count() == 1


def test_new_orders_are_announced_to_an_open_list(shop, sandbox):
    page = shop.get("fulfillments/")
    version = page.context["listing"].version
    assert b"New orders" not in shop.get(f"fulfillments/version?v={version}").content
    new = sandbox.create_order(1202)
    invalidate_lists(company_id=1202)
    assert b"New orders have arrived" in shop.get(f"fulfillments/version?v={version}").content
    rows = shop.get("fulfillments/?size=100").context["page"].object_list
    assert new["id"] in [row.id for row in rows]  # the invalidated list was fetched again


def test_updates_page_lists_changes_not_yet_accepted(shop, sandbox):
    order = open_orders(sandbox)[0]
    shop.get("fulfillments/")
    shop.post(f"fulfillments/{order['id']}/ship", {"tracking_number": "UPD-1", "action": "ship"})
    html = shop.get("fulfillments/updates/").content.decode()
    assert f"#{order['id']}" in html and "Pending" in html
    send_pending_updates(company_id=1202)
    assert 'id="all-clear"' in shop.get("fulfillments/updates/").content.decode()
