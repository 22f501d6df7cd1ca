"""Acting on stored deliveries: once, in the background, and nothing lost after a crash."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from fulfillment.orders.selectors import list_version
from fulfillment.webhooks.models import WebhookDelivery
from fulfillment.webhooks.processing import process_delivery
from fulfillment.webhooks.receiver import receive_delivery
from fulfillment.webhooks.tasks import process_webhook_delivery
from oauth.models import Installation
from tests.factories import deliver_webhook, make_installation, webhook_body

pytestmark = pytest.mark.django_db


def store(body) -> WebhookDelivery:
    import json

    receipt = receive_delivery(raw=json.dumps(body).encode())
    assert receipt.status == 200, receipt
    return WebhookDelivery.objects.get(id=receipt.delivery_id)


def queued_ids() -> list[int]:
    return [
        r.args_kwargs["args"][0]
        for r in DBTaskResult.objects.filter(task_path=process_webhook_delivery.module_path)
    ]


def test_app_uninstalled_deletes_tokens_and_next_launch_shows_the_install_page(shop, flickrocket):
    flickrocket.revoke(1202)  # the owner removed the app in FlickRocket
    delivery = store(webhook_body(1202, "app/uninstalled", {"type": "app", "id": "fr-fulfillment"}))

    assert process_delivery(delivery_id=delivery.id) == "acted"

    installation = Installation.objects.get(company_id=1202)
    assert installation.status == Installation.Status.UNINSTALLED
    assert installation.refresh_token_encrypted == "" and installation.access_token_encrypted == ""
    response = shop.get("fulfillments/")
    assert "oauth/install.html" in [t.name for t in response.templates]


def test_uninstall_notice_received_before_a_reinstall_does_not_undo_it(db):
    delivery = store(webhook_body(1202, "app/uninstalled", {"type": "app", "id": "x"}))
    make_installation(1202)  # installed again after the notice came in

    assert process_delivery(delivery_id=delivery.id) == "recorded"
    assert Installation.objects.get(company_id=1202).is_usable


def test_order_create_makes_the_order_lists_fresh(db):
    make_installation(1202)
    before = list_version(company_id=1202)
    delivery = store(webhook_body(1202, "order/create", {"type": "order", "id": "267999"}))

    assert process_delivery(delivery_id=delivery.id) == "acted"

    assert list_version(company_id=1202) == before + 1
    delivery.refresh_from_db()
    assert "267999" in delivery.action


def test_app_update_rereads_the_granted_scopes(installed):
    installed(1202, scope="orders,products,webhooks")
    Installation.objects.filter(company_id=1202).update(scopes="orders")
    delivery = store(webhook_body(1202, "app/update", {"type": "app", "id": "fr-fulfillment"}))

    assert process_delivery(delivery_id=delivery.id) == "acted"

    assert Installation.objects.get(company_id=1202).scope_list == ["orders", "products", "webhooks"]


def test_topics_the_app_does_not_act_on_are_recorded(db):
    make_installation(1202)
    delivery = store(webhook_body(1202, "customer/update", {"type": "customer", "id": 7}))

    assert process_delivery(delivery_id=delivery.id) == "recorded"
    assert list_version(company_id=1202) == 0


def test_processing_the_same_delivery_twice_acts_once(db):
    make_installation(1202)
    delivery = store(webhook_body(1202, "order/create"))

    assert process_delivery(delivery_id=delivery.id) == "acted"
    assert process_delivery(delivery_id=delivery.id) is None

    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert list_version(company_id=1202) == 1


def test_a_delivery_held_by_a_live_worker_is_not_taken_by_another(db):
    make_installation(1202)
    delivery = store(webhook_body(1202, "order/create"))
    WebhookDelivery.objects.filter(id=delivery.id).update(
        claimed_until=timezone.now() + timedelta(minutes=1), attempts=1
    )

    assert process_delivery(delivery_id=delivery.id) is None
    assert list_version(company_id=1202) == 0


def test_refused_deliveries_are_never_acted_on(client, db):
    make_installation(1202)
    body = webhook_body(1202, "app/uninstalled", {"type": "app", "id": "x"}, secret="wrong")
    assert deliver_webhook(client, body).status_code == 401
    refused = WebhookDelivery.objects.get()

    assert process_delivery(delivery_id=refused.id) is None
    call_command("resume_webhook_deliveries", verbosity=0)
    assert queued_ids() == []
    assert Installation.objects.get(company_id=1202).is_usable


def test_delivery_stored_but_never_queued_is_picked_up_by_the_resume_command(db):
    make_installation(1202)
    # store() runs no on-commit callbacks here: exactly a process that died after the INSERT.
    delivery = store(webhook_body(1202, "order/create"))
    assert queued_ids() == []

    call_command("resume_webhook_deliveries", verbosity=0)

    assert queued_ids() == [delivery.id]
    process_webhook_delivery.call(delivery.id)
    delivery.refresh_from_db()
    assert delivery.outcome == "acted" and delivery.processed_at is not None


def test_delivery_of_a_killed_worker_is_resumed_when_its_claim_runs_out(db):
    make_installation(1202)
    delivery = store(webhook_body(1202, "order/create"))
    lapsed = timezone.now() - timedelta(seconds=1)
    WebhookDelivery.objects.filter(id=delivery.id).update(claimed_until=lapsed, attempts=1)

    call_command("resume_webhook_deliveries", verbosity=0)
    process_webhook_delivery.call(delivery.id)

    delivery.refresh_from_db()
    assert delivery.outcome == "acted" and delivery.attempts == 2


def test_platform_outage_while_acting_leaves_the_delivery_waiting_for_a_retry(installed, flickrocket):
    installed(1202, scope="orders,products,webhooks")
    Installation.objects.filter(company_id=1202).update(scopes="orders")
    delivery = store(webhook_body(1202, "app/update", {"type": "app", "id": "fr-fulfillment"}))
    flickrocket.faults(outage=True)

    assert process_delivery(delivery_id=delivery.id) == "pending"

    delivery.refresh_from_db()
    assert delivery.processed_at is None and delivery.error
    retry = DBTaskResult.objects.get(task_path=process_webhook_delivery.module_path)
    assert retry.run_after > timezone.now()  # backs off instead of hammering the platform
    assert process_delivery(delivery_id=delivery.id) is None  # not before its time

    flickrocket.faults()
    WebhookDelivery.objects.filter(id=delivery.id).update(claimed_until=timezone.now())
    assert process_delivery(delivery_id=delivery.id) == "acted"
    assert "products" in Installation.objects.get(company_id=1202).scope_list


def test_prune_deletes_old_deliveries_but_keeps_unprocessed_and_recent_ones(db, settings):
    settings.WEBHOOK_RETENTION_DAYS = 30
    make_installation(1202)
    old_done = store(webhook_body(1202, "order/create", {"type": "order", "id": "1"}))
    old_waiting = store(webhook_body(1202, "order/create", {"type": "order", "id": "2"}))
    recent = store(webhook_body(1202, "order/create", {"type": "order", "id": "3"}))
    process_delivery(delivery_id=old_done.id)
    long_ago = timezone.now() - timedelta(days=31)
    WebhookDelivery.objects.filter(id__in=[old_done.id, old_waiting.id]).update(received_at=long_ago)

    call_command("prune_webhook_deliveries", verbosity=0)

    assert set(WebhookDelivery.objects.values_list("id", flat=True)) == {old_waiting.id, recent.id}


def test_an_uninstall_after_a_reinstall_is_acted_on_though_its_body_is_the_same(installed, flickrocket):
    from django.utils import timezone

    from oauth.crypto import encrypt

    body = webhook_body(1202, "app/uninstalled", {"type": "app", "id": "fr-fulfillment"})
    installed(1202)
    flickrocket.revoke(1202)
    assert process_delivery(delivery_id=store(body).id) == "acted"
    # The owner installs again, later removes the app again: FlickRocket sends the same body.
    Installation.objects.filter(company_id=1202).update(
        status=Installation.Status.INSTALLED,
        installed_at=timezone.now(),
        refresh_token_encrypted=encrypt(flickrocket.grant(1202)),
    )
    flickrocket.revoke(1202)
    second = store(body)
    assert process_delivery(delivery_id=second.id) == "acted"
    assert Installation.objects.get(company_id=1202).status == Installation.Status.UNINSTALLED


def test_every_app_update_notice_is_acted_on_though_its_body_is_the_same(installed):
    installed(1202, scope="orders,products,webhooks")
    body = webhook_body(1202, "app/update", {"type": "app", "id": "fr-fulfillment"})
    for _ in range(2):
        # Permissions changed at FlickRocket again: the notice looks exactly like the last one.
        Installation.objects.filter(company_id=1202).update(scopes="orders")
        assert process_delivery(delivery_id=store(body).id) == "acted"
        assert Installation.objects.get(company_id=1202).scope_list == ["orders", "products", "webhooks"]
    assert WebhookDelivery.objects.filter(topic="app/update").count() == 2


def test_a_repeated_uninstall_notice_within_one_install_is_still_a_duplicate(db):
    import json

    make_installation(1202)
    body = webhook_body(1202, "app/uninstalled", {"type": "app", "id": "fr-fulfillment"})
    store(body)
    assert receive_delivery(raw=json.dumps(body).encode()).reason == "duplicate"
