"""A drained batch: deliveries that need only our database are acted on in one transaction, once
each, in the order received; the receiver's one-statement store keeps every column it had."""

import json
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fulfillment.orders.selectors import list_version
from fulfillment.webhooks import batch, processing, queue
from fulfillment.webhooks.models import WebhookDelivery
from fulfillment.webhooks.receiver import receive_delivery
from fulfillment.webhooks.tasks import drain_webhook_deliveries
from tests.factories import make_installation, webhook_body

pytestmark = pytest.mark.django_db


def store(company_id: int, topic: str, n: int) -> WebhookDelivery:
    body = webhook_body(company_id, topic, {"type": "order", "id": str(700_000 + n)})
    receipt = receive_delivery(raw=json.dumps(body).encode())
    assert receipt.status == 200, receipt
    return WebhookDelivery.objects.get(id=receipt.delivery_id)


def claimed() -> list[WebhookDelivery]:
    return queue.claim_batch(lease=processing.CLAIM_LEASE)


def test_a_batch_of_new_orders_bumps_each_shops_version_once_by_its_count(db):
    make_installation(1202)
    make_installation(1203)
    for n in range(8):
        store(1202, "order/create", n)
    for n in range(8, 12):
        store(1203, "order/create", n)
    store(1202, "customer/update", 12)
    store(990_001, "order/create", 13)  # no installation

    with CaptureQueriesContext(connection) as queries:
        assert drain_webhook_deliveries.call() == 14

    bumps = [q["sql"] for q in queries if q["sql"].startswith("UPDATE") and "list_version" in q["sql"]]
    assert len(bumps) == 2
    assert (list_version(company_id=1202), list_version(company_id=1203)) == (8, 4)
    outcomes = dict(WebhookDelivery.objects.values_list("company_id", "outcome").filter(company_id=990_001))
    assert outcomes == {990_001: "not_installed"}
    assert WebhookDelivery.objects.filter(topic="customer/update").get().outcome == "recorded"
    assert not WebhookDelivery.objects.filter(processed_at__isnull=True).exists()
    assert set(WebhookDelivery.objects.values_list("action", flat=True).filter(company_id=1203)) == {
        f"New order {700_000 + n}: order lists refreshed." for n in range(8, 12)
    }


def test_an_order_another_worker_finished_meanwhile_is_not_acted_on_again(db):
    """A claim that ran out lets a second worker finish the delivery; the first must not bump too."""
    make_installation(1202)
    for n in range(3):
        store(1202, "order/create", n)
    deliveries = claimed()
    WebhookDelivery.objects.filter(id=deliveries[0].id).update(
        processed_at=timezone.now(), outcome="acted", claimed_until=None
    )

    batch.act_on_batch(deliveries)

    assert list_version(company_id=1202) == 2


def test_a_topic_that_calls_flickrocket_is_acted_on_after_the_orders_received_before_it(db, monkeypatch):
    make_installation(1202)
    store(1202, "order/create", 1)
    store(1202, "app/update", 2)
    store(1202, "order/create", 3)
    seen = []

    def on_app_update(delivery):
        seen.append(list_version(company_id=1202))
        return processing.Action(WebhookDelivery.Outcome.RECORDED, "checked")

    monkeypatch.setitem(processing.HANDLERS, "app/update", on_app_update)

    batch.act_on_batch(claimed())

    assert seen == [1]
    assert list_version(company_id=1202) == 2


def test_a_batch_whose_transaction_fails_is_acted_on_one_by_one(db, monkeypatch):
    make_installation(1202)
    for n in range(3):
        store(1202, "order/create", n)

    def refuse(**kwargs):
        raise DatabaseError("database is locked")

    monkeypatch.setattr(batch, "invalidate_lists", refuse)

    batch.act_on_batch(claimed())

    assert list_version(company_id=1202) == 3
    assert set(WebhookDelivery.objects.values_list("outcome", flat=True)) == {"acted"}


def test_the_receiver_stores_a_delivery_with_every_column_as_the_model_defines_it(db):
    before = timezone.now()
    delivery = store(1202, "order/create", 1)

    assert delivery.payload["data"] == {"type": "order", "id": "700001"}
    assert "hash" not in delivery.payload
    assert delivery.signature_ok and delivery.outcome == "pending" and delivery.attempts == 0
    assert delivery.action == delivery.error == ""
    assert delivery.processed_at is None and delivery.claimed_until is None
    assert before - timedelta(seconds=1) <= delivery.received_at <= timezone.now()


def test_a_duplicate_inside_a_callers_transaction_leaves_that_transaction_usable(db):
    body = json.dumps(webhook_body(1202, "order/create", {"type": "order", "id": "1"})).encode()
    with transaction.atomic():
        assert receive_delivery(raw=body).reason == "stored"
        assert receive_delivery(raw=body).reason == "duplicate"
        assert WebhookDelivery.objects.count() == 1


@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="the pause is SQLite's (one writer)")
def test_on_sqlite_the_drain_pauses_after_each_batch_so_receivers_get_the_write_lock(db, monkeypatch):
    make_installation(1202)
    for n in range(queue.DRAIN_BATCH + 3):
        store(1202, "order/create", n)
    pauses = []
    monkeypatch.setattr(queue.time, "sleep", pauses.append)

    assert drain_webhook_deliveries.call() == queue.DRAIN_BATCH + 3

    assert pauses == [queue.SQLITE_PAUSE_BETWEEN_BATCHES] * 2
    assert list_version(company_id=1202) == queue.DRAIN_BATCH + 3
