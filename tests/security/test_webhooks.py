"""The public receiver: forged, tampered, replayed, oversized and malformed deliveries."""

import json

import pytest
from django.conf import settings

from flickrocket.signing import webhook_is_valid
from fulfillment.webhooks.models import WebhookDelivery
from fulfillment.webhooks.processing import process_delivery
from oauth.models import Installation
from tests.factories import deliver_webhook, make_installation, webhook_body

pytestmark = pytest.mark.django_db


def _acted_rows():
    return WebhookDelivery.objects.filter(signature_ok=True)


def test_delivery_signed_with_another_secret_is_refused(client):
    make_installation(1202)
    response = deliver_webhook(client, webhook_body(1202, "app/uninstalled", secret="guessed"))
    assert response.status_code == 401
    assert not _acted_rows().exists()
    assert Installation.objects.get(company_id=1202).is_usable


@pytest.mark.parametrize(
    "change",
    [
        lambda b: b.update(company_id=1305),
        lambda b: b.update(scope="app/uninstalled"),
        lambda b: b["data"].update(id="1"),
        lambda b: b.update(extra="added"),
        lambda b: b.pop("producer"),
        lambda b: b.update(hash=b["hash"].upper()[:-1] + "0"),
        lambda b: b.update(hash=""),
        lambda b: b.pop("hash"),
        lambda b: b.update(hash=None),
        lambda b: b.update(hash=["x"]),
    ],
    ids=[
        "company",
        "topic",
        "data",
        "extra key",
        "key removed",
        "hash changed",
        "hash empty",
        "hash missing",
        "hash null",
        "hash not text",
    ],
)
def test_tampered_delivery_is_refused(change, client):
    body = webhook_body(1202, "order/create")
    change(body)
    response = deliver_webhook(client, body)
    assert response.status_code == 401
    assert not _acted_rows().exists()


def test_signature_is_checked_with_the_configured_app_secret(client, settings):
    settings.FLICKROCKET_CLIENT_SECRET = "rotated-secret"
    assert deliver_webhook(client, webhook_body(1202, secret="sandbox-app-secret")).status_code == 401
    assert deliver_webhook(client, webhook_body(1202, secret="rotated-secret")).status_code == 200


def test_replayed_delivery_is_stored_and_acted_on_once(client):
    body = webhook_body(1202, "order/create")
    first = deliver_webhook(client, body)
    reordered = json.dumps(body, indent=2)  # same event, other spacing
    again = [deliver_webhook(client, body), deliver_webhook(client, reordered)]
    assert first.status_code == 200 and first.json()["result"] == "stored"
    assert [r.status_code for r in again] == [200, 200]
    assert [r.json()["result"] for r in again] == ["duplicate", "duplicate"]
    assert _acted_rows().count() == 1


def test_a_re_split_or_replayed_uninstall_notice_cannot_remove_a_working_shop(client, installed):
    """The webhook signature (docs/flickrocket.md, Webhook deliveries) joins keys and values with
    nothing between them, so a captured body can be re-split to name another company (1202's
    notice becomes one for company 12) and still verify.
    The app therefore disconnects only once FlickRocket confirms the grant is gone."""
    legit = webhook_body(1202, "app/uninstalled", {"type": "app", "id": "1"})
    forged = {
        "company_id": 12,
        "02producershop": "",
        "scope": "app/uninstalled",
        "data": {"type": "app", "id": "1"},
        "hash": legit["hash"],
    }
    assert webhook_is_valid(secret=settings.FLICKROCKET_CLIENT_SECRET, body=forged)

    installed(1202)  # a working grant at FlickRocket (the sandbox)
    assert deliver_webhook(client, legit).status_code == 200
    delivery = WebhookDelivery.objects.get(company_id=1202)
    assert process_delivery(delivery_id=delivery.id) == "recorded"
    assert Installation.objects.get(company_id=1202).is_usable


def test_oversized_body_is_refused_before_it_is_read(client, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 2048
    body = webhook_body(1202, "order/create", {"type": "order", "id": "1", "pad": "x" * 4000})
    assert deliver_webhook(client, body).status_code == 413
    # A body that lies about its length is cut at the limit, never read whole.
    raw = json.dumps(body)
    response = client.post(
        "/webhooks/flickrocket", data=raw, content_type="application/json", CONTENT_LENGTH="100"
    )
    assert response.status_code == 400
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'"text"',
        b"null",
        b"\xff\xfe\x00",
        b"[" * 60000,
        b'{"a":' * 20000 + b"1" + b"}" * 20000,
        b'{"hash": "' + b"a" * 64 + b'", "company_id": "x"}',
        b'{"company_id": 1202, "scope": "order/create", "hash": 5}',
    ],
    ids=[
        "empty",
        "not json",
        "array",
        "string",
        "null",
        "not utf-8",
        "deep array",
        "deep object",
        "bad company",
        "numeric hash",
    ],
)
def test_malformed_bodies_get_a_4xx_not_a_500(raw, client):
    response = client.post("/webhooks/flickrocket", data=raw, content_type="application/json")
    assert 400 <= response.status_code < 500
    assert not _acted_rows().exists()


def test_signed_body_with_a_bad_company_or_topic_is_refused(client):
    for company, topic in (
        ("12a", "order/create"),
        (True, "order/create"),
        (-5, "order/create"),
        (1202, ""),
        (1202, None),
        (10**30, "order/create"),
    ):
        body = webhook_body(company, topic)
        assert deliver_webhook(client, body).status_code == 400, (company, topic)
    assert not _acted_rows().exists()


def test_receiver_takes_only_post(client):
    for method in ("get", "put", "delete", "patch"):
        assert getattr(client, method)("/webhooks/flickrocket").status_code == 405


@pytest.mark.django_db(transaction=True)
def test_forged_deliveries_record_at_most_the_cap_across_all_web_processes():
    """Two gunicorn servers of two processes each: a per-process cap would let four times
    the limit onto the shop's page."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    import requests

    from fulfillment.webhooks.receiver import REFUSALS_RECORDED_PER_MINUTE
    from tests.workers import AppServer

    with AppServer(LOG_LEVEL="ERROR") as first, AppServer(LOG_LEVEL="ERROR") as second:
        if time.time() % 60 > 40:  # all attempts inside one minute window
            time.sleep(61 - time.time() % 60)
        bodies = [
            json.dumps(webhook_body(1202, "order/create", {"type": "order", "id": str(n)}, secret="guessed"))
            for n in range(3 * REFUSALS_RECORDED_PER_MINUTE)
        ]

        def send(pair):
            n, body = pair
            url = (first, second)[n % 2].url + "/webhooks/flickrocket"
            headers = {"Content-Type": "application/json", "Connection": "close"}
            return requests.post(url, data=body, headers=headers, timeout=30).status_code

        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(send, enumerate(bodies)))
    assert statuses == [401] * len(bodies)
    assert WebhookDelivery.objects.filter(signature_ok=False).count() == REFUSALS_RECORDED_PER_MINUTE
    assert not _acted_rows().exists()
