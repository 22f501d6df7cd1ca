"""Undo a shipment: an order marked shipped by mistake goes back to open, through the outbox."""

import pytest

from fulfillment.outbox.models import AuditEntry, PendingUpdate
from fulfillment.outbox.sender import send_pending_updates

pytestmark = pytest.mark.django_db

State = PendingUpdate.State


def a_shipped_order(sandbox, n=0, company_id=1202):
    shipped = [o for o in sandbox.fulfillments(company_id) if o["status"] == 100 and o["tracking_number"]]
    return shipped[n]


def confirm_key(shop, order_id) -> str:
    page = shop.get(f"fulfillments/{order_id}/reopen")
    assert page.status_code == 200
    return page.context["form"]["form_key"].value()


def test_order_page_offers_the_undo_only_for_a_shipped_order(shop, sandbox):
    shipped = a_shipped_order(sandbox)
    opened = next(o for o in sandbox.fulfillments(1202) if o["status"] == 0)
    assert 'id="reopen-link"' in shop.get(f"fulfillments/{shipped['id']}/").content.decode()
    assert 'id="reopen-link"' not in shop.get(f"fulfillments/{opened['id']}/").content.decode()


def test_undo_asks_first_and_a_get_changes_nothing(shop, sandbox):
    order = a_shipped_order(sandbox)
    page = shop.get(f"fulfillments/{order['id']}/reopen")
    text = page.content.decode()
    assert page.status_code == 200
    assert 'id="reopen-confirm"' in text and "Yes, set it back to open" in text
    assert f'method="post" action="{shop.url(f"fulfillments/{order['id']}/reopen")}"' in text
    assert not PendingUpdate.objects.exists() and not AuditEntry.objects.exists()
    assert sandbox.fulfillment(1202, order["id"])["status"] == 100


def test_undo_queues_status_0_sends_it_and_keeps_the_tracking_number(shop, sandbox):
    order = a_shipped_order(sandbox)
    shop.get("fulfillments/shipped/")
    key = confirm_key(shop, order["id"])

    response = shop.post(f"fulfillments/{order['id']}/reopen", {"form_key": key})

    assert response.status_code == 302
    assert response["Location"].endswith(f"fulfillments/{order['id']}/")
    update = PendingUpdate.objects.get(order_id=order["id"])
    assert (update.state, update.status, update.tracking_number) == (State.QUEUED, 0, None)
    audit = AuditEntry.objects.get(order_id=order["id"])
    assert (audit.user_id, audit.old_status, audit.new_status) == ("4711", 100, 0)
    assert audit.old_tracking_number == order["tracking_number"] and audit.new_tracking_number is None
    assert sandbox.fulfillment(1202, order["id"])["status"] == 100  # nothing sent yet

    assert send_pending_updates(company_id=1202) == 1

    at_sandbox = sandbox.fulfillment(1202, order["id"])
    assert at_sandbox["status"] == 0
    assert at_sandbox["tracking_number"] == order["tracking_number"]  # kept: it was not sent
    update.refresh_from_db()
    assert update.state == State.ACCEPTED
    activity = shop.get("fulfillments/activity/").content.decode()
    assert "reopened by 4711" in activity


def test_undo_can_clear_the_tracking_number_when_asked(shop, sandbox):
    order = a_shipped_order(sandbox)
    key = confirm_key(shop, order["id"])
    shop.post(f"fulfillments/{order['id']}/reopen", {"form_key": key, "clear_tracking": "on"})

    update = PendingUpdate.objects.get(order_id=order["id"])
    assert (update.status, update.tracking_number) == (0, "")
    send_pending_updates(company_id=1202)
    at_sandbox = sandbox.fulfillment(1202, order["id"])
    assert (at_sandbox["status"], at_sandbox["tracking_number"]) == (0, "")


def test_a_resubmitted_confirmation_queues_one_change(shop, sandbox):
    order = a_shipped_order(sandbox)
    key = confirm_key(shop, order["id"])
    shop.post(f"fulfillments/{order['id']}/reopen", {"form_key": key})
    shop.post(f"fulfillments/{order['id']}/reopen", {"form_key": key})
    assert PendingUpdate.objects.filter(order_id=order["id"]).count() == 1
    assert AuditEntry.objects.filter(order_id=order["id"]).count() == 1


def test_lists_show_the_order_open_as_soon_as_the_undo_is_queued(shop, sandbox):
    order = a_shipped_order(sandbox)
    shop.get("fulfillments/shipped/")
    opened = shop.get("fulfillments/?size=250")
    assert f'id="order-{order["id"]}"' not in opened.content.decode()

    shop.post(f"fulfillments/{order['id']}/reopen", {"form_key": confirm_key(shop, order["id"])})

    opened = shop.get("fulfillments/?size=250").content.decode()
    assert f'id="order-{order["id"]}"' in opened  # not in FlickRocket's open list yet, shown anyway
    row = opened.split(f'id="order-{order["id"]}"', 1)[1].split("</tr>", 1)[0]
    assert "Pending" in row and 'name="tracking_number"' in row  # open: it can be shipped again
    shipped = shop.get("fulfillments/shipped/?size=250").content.decode()
    row = shipped.split(f'id="order-{order["id"]}"', 1)[1].split("</tr>", 1)[0]
    assert "Pending" in row and "Shipped" not in row

    send_pending_updates(company_id=1202)
    opened = shop.get("fulfillments/?size=250&refresh=1").content.decode()
    assert opened.count(f'id="order-{order["id"]}"') == 1  # FlickRocket's copy, not twice


def test_undo_of_another_shops_order_is_404_and_changes_nothing(installed, embedded, sandbox):
    installed(1202)
    installed(1305)
    theirs = a_shipped_order(sandbox, company_id=1305)
    mine = embedded(1202, "4711")

    assert mine.get(f"fulfillments/{theirs['id']}/reopen").status_code == 404
    assert mine.post(f"fulfillments/{theirs['id']}/reopen", {"form_key": "x1"}).status_code == 404
    assert not PendingUpdate.objects.exists()
    assert sandbox.fulfillment(1305, theirs["id"])["status"] == 100


def test_undo_of_an_open_order_says_so_and_queues_nothing(shop, sandbox):
    order = next(o for o in sandbox.fulfillments(1202) if o["status"] == 0)
    response = shop.post(f"fulfillments/{order['id']}/reopen", {"form_key": "k-open"}, follow=True)
    assert "there is no shipment to undo" in response.content.decode()
    assert not PendingUpdate.objects.exists()
