"""The stored deliveries are the worker's queue: the receiver wakes one drain, the drain acts on
every waiting delivery exactly once, and a refusal flood past the cap costs no write."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from fulfillment.orders.selectors import list_version
from fulfillment.webhooks import queue
from fulfillment.webhooks.models import WebhookDelivery
from fulfillment.webhooks.receiver import receive_delivery
from fulfillment.webhooks.tasks import drain_webhook_deliveries, process_webhook_delivery
from tests.factories import deliver_webhook, make_installation, webhook_body

pytestmark = pytest.mark.django_db


def order(n: int) -> dict:
    return webhook_body(1202, "order/create", {"type": "order", "id": str(700_000 + n)})


def store(body) -> WebhookDelivery:
    """A delivery stored as the receiver stores it (no on-commit wake-up in this transaction)."""
    receipt = receive_delivery(raw=json.dumps(body).encode())
    assert receipt.status == 200, receipt
    return WebhookDelivery.objects.get(id=receipt.delivery_id)


def drains() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=drain_webhook_deliveries.module_path))


def test_a_burst_of_deliveries_wakes_the_worker_with_one_task_not_one_each(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(5):
            assert deliver_webhook(client, order(n)).status_code == 200

    assert WebhookDelivery.objects.filter(signature_ok=True).count() == 5
    assert len(drains()) == 1
    assert not DBTaskResult.objects.filter(task_path=process_webhook_delivery.module_path).exists()


def test_a_delivery_while_a_drain_waits_costs_one_write_and_no_new_task(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        deliver_webhook(client, order(1))
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        assert deliver_webhook(client, order(2)).status_code == 200

    writes = [q["sql"] for q in queries if q["sql"].split()[0] in {"INSERT", "UPDATE", "DELETE"}]
    assert len(writes) == 1 and "webhooks_webhookdelivery" in writes[0]
    assert len(drains()) == 1


def test_a_delivery_after_the_drain_started_queues_a_new_one(client, django_capture_on_commit_callbacks):
    """A running drain may already have looked for work: the next delivery must not rely on it."""
    with django_capture_on_commit_callbacks(execute=True):
        deliver_webhook(client, order(1))
    DBTaskResult.objects.filter(task_path=drain_webhook_deliveries.module_path).update(status="RUNNING")

    with django_capture_on_commit_callbacks(execute=True):
        deliver_webhook(client, order(2))

    assert sorted(d.status for d in drains()) == ["READY", "RUNNING"]


def test_drain_acts_on_every_waiting_delivery_exactly_once(db):
    make_installation(1202)
    stored = [store(order(n)) for n in range(queue.DRAIN_BATCH * 2 + 5)]

    assert drain_webhook_deliveries.call() == len(stored)
    assert drain_webhook_deliveries.call() == 0  # a second drain finds nothing to do

    rows = WebhookDelivery.objects.filter(id__in=[d.id for d in stored])
    assert {(d.outcome, d.attempts) for d in rows} == {("acted", 1)}
    assert all(d.processed_at is not None and d.claimed_until is None for d in rows)
    assert list_version(company_id=1202) == len(stored)


def test_drain_leaves_deliveries_another_worker_holds_or_that_wait_for_a_retry(db):
    make_installation(1202)
    held = store(order(1))
    later = timezone.now() + timedelta(minutes=1)
    WebhookDelivery.objects.filter(id=held.id).update(claimed_until=later, attempts=1)
    free = store(order(2))

    assert drain_webhook_deliveries.call() == 1

    held.refresh_from_db()
    free.refresh_from_db()
    assert held.processed_at is None and held.attempts == 1
    assert free.outcome == "acted"


def test_a_drain_that_spent_its_budget_hands_the_rest_to_a_new_drain(db, monkeypatch):
    make_installation(1202)
    for n in range(queue.DRAIN_BATCH + 3):
        store(order(n))
    monkeypatch.setattr(queue, "DRAIN_BUDGET_SECONDS", -1.0)

    assert drain_webhook_deliveries.call() == queue.DRAIN_BATCH

    assert [d.status for d in drains()] == ["READY"]
    assert drain_webhook_deliveries.call() == 3


def test_forged_deliveries_past_the_minutes_cap_cost_no_write(client, monkeypatch):
    from fulfillment.webhooks import receiver

    monkeypatch.setattr(receiver, "REFUSALS_RECORDED_PER_MINUTE", 2)
    forged = [webhook_body(1202, "order/create", {"id": str(n)}, secret="guessed") for n in range(4)]
    for body in forged[:3]:
        assert deliver_webhook(client, body).status_code == 401

    with CaptureQueriesContext(connection) as queries:
        assert deliver_webhook(client, forged[3]).status_code == 401

    assert [q["sql"] for q in queries] == []
    assert WebhookDelivery.objects.filter(signature_ok=False).count() == 2
