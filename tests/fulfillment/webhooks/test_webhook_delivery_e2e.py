"""End to end: subscribe through the app, the sandbox delivers to the running app over HTTP,
and a real worker process acts on what arrived."""

import pytest

from fulfillment.orders.selectors import list_version
from fulfillment.webhooks.models import WebhookDelivery
from oauth.models import Installation
from tests.workers import start_worker

pytestmark = pytest.mark.django_db(transaction=True)


def run_worker_until_idle():
    worker = start_worker("--batch")
    _, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err


def delivered(sandbox, topic):
    return sandbox.wait_for(
        lambda: [d for d in sandbox.deliveries() if d["topic"] == topic and d["state"] == "delivered"],
        timeout=10,
    )


def test_sandbox_delivers_new_orders_and_the_uninstall_and_the_app_acts_on_them(
    live_server, settings, flickrocket, installed, embedded
):
    settings.APP_BASE_URL = live_server.url
    installed(1202)
    shop = embedded(1202, "4711")

    assert shop.post("subscriptions/essentials/").status_code == 302
    receiver = live_server.url + "/webhooks/flickrocket"
    hooks = {h["topic"]: h for h in flickrocket.state()["hooks"] if h["company_id"] == 1202}
    assert set(hooks) == {"order/create", "app/uninstalled", "app/update"}
    assert {h["address"] for h in hooks.values()} == {receiver}

    order = flickrocket.create_order(1202)
    assert delivered(flickrocket, "order/create"), flickrocket.deliveries()
    stored = WebhookDelivery.objects.get(topic="order/create")
    assert stored.processed_at is None  # answered first, acted on by the worker

    run_worker_until_idle()

    stored.refresh_from_db()
    assert stored.outcome == "acted" and stored.attempts == 1
    assert str(order["id"]) in stored.action
    assert list_version(company_id=1202) == 1

    flickrocket.revoke(1202)
    assert delivered(flickrocket, "app/uninstalled"), flickrocket.deliveries()
    run_worker_until_idle()

    installation = Installation.objects.get(company_id=1202)
    assert installation.status == Installation.Status.UNINSTALLED
    assert installation.refresh_token_encrypted == ""
    relaunched = embedded(1202, "4711").get("fulfillments/")
    assert "oauth/install.html" in [t.name for t in relaunched.templates]
    # Every delivery the sandbox made was acknowledged on the first try.
    assert all(d["status_codes"] == [200] for d in flickrocket.deliveries())
