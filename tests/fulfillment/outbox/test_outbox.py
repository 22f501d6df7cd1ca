"""Every change goes through the outbox: saved first, sent once, retried, refused visibly."""

import pytest

from fulfillment.outbox.models import AuditEntry, PendingUpdate, UpdateEvent
from fulfillment.outbox.sender import send_pending_updates

pytestmark = pytest.mark.django_db

State = PendingUpdate.State


def an_open_order(sandbox, n=0, company_id=1202):
    return [o for o in sandbox.fulfillments(company_id) if o["status"] == 0][n]


def puts_for(sandbox, order_id):
    return [
        c
        for c in sandbox.calls()["calls"]
        if c["method"] == "PUT" and c["path"].endswith(f"/{order_id}.json")
    ]


@pytest.fixture
def fast_retries(settings):
    settings.FULFILLMENT_OUTBOX_BACKOFF_BASE = 0


def test_shipping_from_the_order_page_is_saved_then_sent_once(shop, sandbox):
    order = an_open_order(sandbox)
    shop.get("fulfillments/")
    response = shop.post(
        f"fulfillments/{order['id']}/ship",
        {"tracking_number": " 1Z999AA10123456784 ,JJD0099 ", "action": "ship", "form_key": "k1"},
    )
    assert response.status_code == 302
    update = PendingUpdate.objects.get(order_id=order["id"])
    assert (update.state, update.status, update.tracking_number) == (
        State.QUEUED,
        100,
        "1Z999AA10123456784, JJD0099",
    )
    assert sandbox.fulfillment(1202, order["id"])["status"] == 0  # nothing sent yet
    audit = AuditEntry.objects.get(order_id=order["id"])
    assert (audit.user_id, audit.source, audit.old_status, audit.new_status) == ("4711", "single", 0, 100)

    assert send_pending_updates(company_id=1202) == 1
    at_sandbox = sandbox.fulfillment(1202, order["id"])
    assert (at_sandbox["status"], at_sandbox["tracking_number"]) == (100, "1Z999AA10123456784, JJD0099")
    update.refresh_from_db()
    assert update.state == State.ACCEPTED
    assert [e.kind for e in update.events.all()] == ["queued", "sent", "accepted"]
    assert len(puts_for(sandbox, order["id"])) == 1

    html = shop.get(f"fulfillments/{order['id']}/").content.decode()
    assert "Accepted" in html and "JJD0099" in html


def test_a_double_submitted_form_queues_and_sends_one_change(shop, sandbox):
    order = an_open_order(sandbox)
    shop.get("fulfillments/")
    data = {"tracking_number": "AB123", "action": "ship", "form_key": "same-key"}
    shop.post(f"fulfillments/{order['id']}/ship", data)
    shop.post(f"fulfillments/{order['id']}/ship", data)
    assert PendingUpdate.objects.filter(order_id=order["id"]).count() == 1
    send_pending_updates(company_id=1202)
    send_pending_updates(company_id=1202)
    assert len(puts_for(sandbox, order["id"])) == 1


@pytest.mark.parametrize(
    "typed, rule",
    [
        ("A" * 30 + "," + "B" * 33, "Too long: 65 characters"),
        ("AB1,,CD2", "empty"),
        ("AB1, ab1", "listed twice"),
        ("AB1 CD2", "space"),
    ],
)
def test_invalid_tracking_is_refused_with_the_rule_and_kept_as_typed(shop, sandbox, typed, rule):
    order = an_open_order(sandbox)
    shop.get("fulfillments/")
    response = shop.post(f"fulfillments/{order['id']}/ship", {"tracking_number": typed, "action": "ship"})
    assert response.status_code == 400
    html = response.content.decode()
    assert rule in html
    assert f'value="{typed}"' in html
    assert not PendingUpdate.objects.exists()


def test_exactly_64_characters_as_flickrocket_counts_them_is_accepted(shop, sandbox):
    order = an_open_order(sandbox)
    shop.get("fulfillments/")
    typed = "A" * 30 + "," + "B" * 32  # normalised "A…, B…" is 64 characters
    shop.post(f"fulfillments/{order['id']}/ship", {"tracking_number": typed, "action": "ship"})
    send_pending_updates(company_id=1202)
    assert sandbox.fulfillment(1202, order["id"])["tracking_number"] == "A" * 30 + ", " + "B" * 32


def test_inline_ship_in_the_list_swaps_the_row_and_shows_it_pending(shop, sandbox):
    order = an_open_order(sandbox, 3)
    shop.get("fulfillments/")
    response = shop.post(
        f"fulfillments/{order['id']}/ship",
        {"tracking_number": "INL1", "action": "ship", "from": "list", "kind": "open", "form_key": "x"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="order-{order["id"]}"')
    assert "Pending" in html and "INL1" in html
    assert PendingUpdate.objects.get(order_id=order["id"]).source == "inline"
    send_pending_updates(company_id=1202)
    ids = [row.id for row in shop.get("fulfillments/?size=100").context["page"].object_list]
    assert order["id"] not in ids  # shipped: gone from the open list without a refetch


def test_inline_ship_with_bad_tracking_returns_the_row_with_the_error(shop, sandbox):
    order = an_open_order(sandbox)
    shop.get("fulfillments/")
    response = shop.post(
        f"fulfillments/{order['id']}/ship",
        {"tracking_number": "A,,B", "action": "ship", "from": "list"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200 and "is-invalid" in html and 'value="A,,B"' in html


def test_save_tracking_without_shipping_keeps_the_order_open(shop, sandbox):
    order = an_open_order(sandbox)
    shop.get("fulfillments/")
    shop.post(f"fulfillments/{order['id']}/ship", {"tracking_number": "TRK9", "action": "tracking"})
    send_pending_updates(company_id=1202)
    at_sandbox = sandbox.fulfillment(1202, order["id"])
    assert (at_sandbox["status"], at_sandbox["tracking_number"]) == (0, "TRK9")
    assert puts_for(sandbox, order["id"])


def test_outage_keeps_the_change_pending_and_a_later_run_delivers_it(shop, sandbox, fast_retries):
    order = an_open_order(sandbox)
    shop.get("fulfillments/")
    shop.post(f"fulfillments/{order['id']}/ship", {"tracking_number": "OUT1", "action": "ship"})
    sandbox.faults(outage=True)
    send_pending_updates(company_id=1202)
    update = PendingUpdate.objects.get(order_id=order["id"])
    assert update.state == State.QUEUED and update.attempts == 1
    assert UpdateEvent.objects.filter(update=update, kind="waiting").exists()
    sandbox.faults()
    html = shop.get(f"fulfillments/{order['id']}/").content.decode()
    assert 'id="pending-banner"' in html
    send_pending_updates(company_id=1202)
    update.refresh_from_db()
    assert update.state == State.ACCEPTED
    assert sandbox.fulfillment(1202, order["id"])["tracking_number"] == "OUT1"


def test_a_refusal_shows_the_reason_on_the_order_and_can_be_retried(shop, sandbox):
    order = an_open_order(sandbox)
    shop.get("fulfillments/")
    shop.post(f"fulfillments/{order['id']}/ship", {"tracking_number": "REF1", "action": "ship"})
    sandbox.faults(error_rate=1.0, error_codes=[422], error_rate_writes_only=True)
    send_pending_updates(company_id=1202)
    update = PendingUpdate.objects.get(order_id=order["id"])
    assert update.state == State.REFUSED and update.last_error
    html = shop.get(f"fulfillments/{order['id']}/").content.decode()
    assert 'id="refused-banner"' in html
    assert "need attention" in html  # the navigation counts it

    sandbox.faults()
    response = shop.post(f"fulfillments/updates/{update.pk}/retry", {})
    assert response.status_code == 302
    send_pending_updates(company_id=1202)
    update.refresh_from_db()
    assert update.state == State.ACCEPTED
    assert sandbox.fulfillment(1202, order["id"])["status"] == 100


def test_a_newer_change_replaces_an_unsent_one_and_only_the_last_is_sent(shop, sandbox):
    order = an_open_order(sandbox)
    shop.get("fulfillments/")
    shop.post(f"fulfillments/{order['id']}/ship", {"tracking_number": "FIRST", "action": "ship"})
    shop.post(f"fulfillments/{order['id']}/ship", {"tracking_number": "SECOND", "action": "tracking"})
    states = dict(PendingUpdate.objects.values_list("tracking_number", "state"))
    assert states == {"FIRST": State.SUPERSEDED, "SECOND": State.QUEUED}
    send_pending_updates(company_id=1202)
    at_sandbox = sandbox.fulfillment(1202, order["id"])
    assert (at_sandbox["status"], at_sandbox["tracking_number"]) == (100, "SECOND")
    assert len(puts_for(sandbox, order["id"])) == 1


def test_a_lost_answer_is_retried_and_the_order_ends_right(shop, sandbox, fast_retries):
    order = an_open_order(sandbox)
    shop.get("fulfillments/")
    shop.post(f"fulfillments/{order['id']}/ship", {"tracking_number": "LOST1", "action": "ship"})
    sandbox.faults(apply_then_fail_rate=1.0)
    send_pending_updates(company_id=1202)  # applied at FlickRocket, answer lost (client retries)
    sandbox.faults()
    send_pending_updates(company_id=1202)
    assert PendingUpdate.objects.get(order_id=order["id"]).state == State.ACCEPTED
    assert sandbox.fulfillment(1202, order["id"])["tracking_number"] == "LOST1"
