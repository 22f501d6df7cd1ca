"""The public receiver: what it answers, what it stores, what it refuses."""

import json

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from fulfillment.webhooks.models import WebhookDelivery
from fulfillment.webhooks.tasks import drain_webhook_deliveries, process_webhook_delivery
from tests.factories import VECTORS, deliver_webhook, make_installation, webhook_body

pytestmark = pytest.mark.django_db


def run_queued_tasks():
    """Run what the receiver queued, in this test's transaction (the real worker process is
    proven in test_webhook_delivery_e2e.py)."""
    for result in DBTaskResult.objects.filter(task_path=process_webhook_delivery.module_path):
        process_webhook_delivery.call(*result.args_kwargs["args"])
    for _ in DBTaskResult.objects.filter(task_path=drain_webhook_deliveries.module_path):
        drain_webhook_deliveries.call()


def drains_queued() -> int:
    return DBTaskResult.objects.filter(task_path=drain_webhook_deliveries.module_path).count()


def verified():
    return WebhookDelivery.objects.filter(signature_ok=True)


def test_valid_delivery_is_stored_and_queued_and_answered_at_once(client, django_capture_on_commit_callbacks):
    body = webhook_body(1202, "order/create", {"type": "order", "id": "267300"})
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver_webhook(client, body)

    assert response.status_code == 200
    delivery = verified().get()
    assert (delivery.company_id, delivery.topic) == (1202, "order/create")
    assert delivery.payload["data"] == {"type": "order", "id": "267300"}
    assert "hash" not in delivery.payload
    assert delivery.processed_at is None  # acting is the worker's job, not the request's
    # The stored row is the queue: the receiver wakes the worker with one drain task.
    assert drains_queued() == 1


def test_wrong_signature_is_refused_with_401_and_never_acted_on(client, django_capture_on_commit_callbacks):
    body = webhook_body(1202, "app/uninstalled", {"type": "app", "id": "fr-fulfillment"})
    body["hash"] = "0" * 64
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver_webhook(client, body)

    assert response.status_code == 401
    assert not verified().exists()
    refused = WebhookDelivery.objects.get()
    assert refused.outcome == "refused" and refused.payload == {}
    assert not DBTaskResult.objects.exists()


def test_body_signed_with_another_secret_is_refused(client):
    body = webhook_body(1202, secret="someone-elses-secret")
    assert deliver_webhook(client, body).status_code == 401
    assert not verified().exists()


def test_changed_body_after_signing_is_refused(client):
    body = webhook_body(1202, data={"type": "order", "id": "1"})
    body["data"]["id"] = "2"
    assert deliver_webhook(client, body).status_code == 401


@pytest.mark.parametrize("hash_value", [None, "", "   "], ids=["missing", "empty", "blank"])
def test_unsigned_delivery_is_refused_with_401(client, hash_value):
    body = webhook_body(1202)
    if hash_value is None:
        del body["hash"]
    else:
        body["hash"] = hash_value
    assert deliver_webhook(client, body).status_code == 401
    assert not verified().exists()


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"", b"[1, 2]", b'"text"', b"\xff\xfe{}", b"[" * 5000 + b"]" * 5000],
    ids=["text", "empty", "array", "string", "not-utf8", "deeply-nested"],
)
def test_body_that_is_not_a_json_object_is_refused_with_400(client, raw):
    assert deliver_webhook(client, raw).status_code == 400
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize("missing", ["company_id", "scope"])
def test_signed_body_without_company_or_topic_is_refused_with_400(client, missing):
    from sandbox.signing import sign_webhook

    body = {k: v for k, v in webhook_body(1202).items() if k not in ("hash", missing)}
    response = deliver_webhook(client, sign_webhook("sandbox-app-secret", body))
    assert response.status_code == 400
    assert not WebhookDelivery.objects.exists()


def test_body_over_the_size_limit_is_refused_with_413(client, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 512
    body = webhook_body(1202, data={"type": "order", "id": "1", "note": "x" * 600})
    assert deliver_webhook(client, body).status_code == 413
    small = webhook_body(1202)
    assert deliver_webhook(client, small).status_code == 200


def test_body_longer_than_its_declared_length_is_cut_at_the_limit(client, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 512
    raw = json.dumps(webhook_body(1202, data={"note": "x" * 2000})).encode()
    # A Content-Length under the limit that the body then exceeds: read stops at the limit.
    response = client.generic(
        "POST",
        "/webhooks/flickrocket",
        raw,
        content_type="application/json",
        CONTENT_LENGTH="100",
    )
    assert response.status_code == 400  # the first 100 bytes are not JSON
    assert not WebhookDelivery.objects.exists()


def test_receiver_needs_no_csrf_token_and_no_session():
    strict = Client(enforce_csrf_checks=True)
    assert deliver_webhook(strict, webhook_body(1202)).status_code == 200


def test_receiver_only_accepts_post(client):
    assert client.get("/webhooks/flickrocket").status_code == 405


def test_duplicate_delivery_is_acknowledged_and_acted_on_once(client, django_capture_on_commit_callbacks):
    make_installation(1202)
    body = webhook_body(1202, "order/create", {"type": "order", "id": "267301"})
    with django_capture_on_commit_callbacks(execute=True):
        first = deliver_webhook(client, body)
        again = deliver_webhook(client, body)
        # The same event again, spaced differently: still the same event.
        respaced = deliver_webhook(client, json.dumps(body, indent=2))

    assert [first.status_code, again.status_code, respaced.status_code] == [200, 200, 200]
    assert again.json()["result"] == "duplicate"
    assert verified().count() == 1
    assert DBTaskResult.objects.count() == 1
    run_queued_tasks()
    delivery = verified().get()
    assert delivery.outcome == "acted" and delivery.attempts == 1


def test_plural_topic_is_stored_in_its_canonical_form(client):
    assert deliver_webhook(client, webhook_body(1202, "orders/create")).status_code == 200
    assert verified().get().topic == "order/create"


def test_delivery_for_a_company_without_installation_is_acknowledged_and_recorded(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver_webhook(client, webhook_body(4242, "order/create"))
    assert response.status_code == 200
    run_queued_tasks()
    delivery = verified().get(company_id=4242)
    assert delivery.outcome == "not_installed"
    assert delivery.processed_at is not None


def test_extra_unknown_fields_are_kept_and_do_not_break_the_signature(client):
    body = webhook_body(
        1202,
        "product/update",
        {"type": "product", "id": 5, "long_id": "0000-2E74-D5D6-3CD7", "tags": ["a", None, True]},
    )
    assert deliver_webhook(client, body).status_code == 200
    assert verified().get().payload["data"]["long_id"] == "0000-2E74-D5D6-3CD7"


@pytest.mark.parametrize(
    "case", VECTORS["webhook"], ids=[f"vector-{i}" for i in range(len(VECTORS["webhook"]))]
)
def test_every_contract_vector_is_answered_as_marked(client, settings, case):
    settings.FLICKROCKET_CLIENT_SECRET = case["secret"]
    # Send the body exactly as the vector writes it (document order, non-ASCII as UTF-8).
    raw = json.dumps(case["body"], ensure_ascii=False).encode("utf-8")
    response = deliver_webhook(client, raw)
    assert response.status_code == (200 if case["valid"] else 401)
    assert verified().exists() is case["valid"]


# --- Refused attempts: capped for all processes together, shown apart -----------------------


def forged(company_id: int, n: int = 0) -> dict:
    return webhook_body(company_id, "order/create", {"type": "order", "id": str(n)}, secret="guessed")


def refused_rows():
    return WebhookDelivery.objects.filter(signature_ok=False)


def test_refused_attempts_recorded_a_minute_are_capped_through_the_database(client, monkeypatch):
    from django.core.cache import cache

    from fulfillment.webhooks import receiver as webhooks

    minute = 29_000_000
    monkeypatch.setattr(webhooks.time, "time", lambda: minute * 60 + 5.0)
    for n in range(webhooks.REFUSALS_RECORDED_PER_MINUTE + 15):
        cache.clear()  # what another process sees of this one's memory: nothing
        assert deliver_webhook(client, forged(1202, n)).status_code == 401
    assert refused_rows().count() == webhooks.REFUSALS_RECORDED_PER_MINUTE

    monkeypatch.setattr(webhooks.time, "time", lambda: (minute + 1) * 60 + 5.0)
    assert deliver_webhook(client, forged(1202, 999)).status_code == 401
    assert refused_rows().count() == webhooks.REFUSALS_RECORDED_PER_MINUTE + 1


def test_a_genuine_delivery_is_stored_when_the_refusal_cap_is_reached(client, monkeypatch):
    from fulfillment.webhooks import receiver as webhooks

    monkeypatch.setattr(webhooks, "REFUSALS_RECORDED_PER_MINUTE", 2)
    for n in range(5):
        assert deliver_webhook(client, forged(1202, n)).status_code == 401
    genuine = deliver_webhook(client, webhook_body(1202, "order/create", {"type": "order", "id": "5"}))
    assert genuine.status_code == 200 and genuine.json()["result"] == "stored"
    assert verified().count() == 1 and refused_rows().count() == 2


def test_refused_attempts_are_listed_apart_from_the_shops_deliveries(installed, embedded, client):
    installed(1202)
    shop = embedded(1202, "4711")
    deliver_webhook(client, webhook_body(1202, "order/create", {"type": "order", "id": "424201"}))
    forged_notice = webhook_body(1202, "app/uninstalled", {"type": "app", "id": "x"}, secret="guessed")
    deliver_webhook(client, forged_notice)

    main = shop.get("subscriptions/deliveries/").content.decode()
    assert "424201" in main
    assert "app/uninstalled" not in main and "Not valid" not in main
    assert "Refused (signature did not verify)" not in main

    refused = shop.get("subscriptions/deliveries/", {"show": "refused"}).content.decode()
    assert "Refused (signature did not verify) — not from FlickRocket, shown for diagnosis" in refused
    assert "app/uninstalled" in refused and "signature does not match" in refused
    assert "424201" not in refused
