"""The receiver skips the browser middleware (session, CSRF, locale, auth, messages) and loses
none of its own protection: signatures, method, body limit and security headers still apply."""

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from fulfillment.webhooks.models import WebhookDelivery
from tests.factories import deliver_webhook, launch, webhook_body

pytestmark = pytest.mark.django_db


def test_receiver_skips_the_browser_middleware_without_weakening_anything(settings):
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="de")
    client.cookies["django_language"] = "de"
    sessions = Session.objects.count()

    genuine = deliver_webhook(client, webhook_body(1202, "order/create", {"type": "order", "id": "1"}))
    forged = deliver_webhook(client, webhook_body(1202, "app/uninstalled", secret="guessed"))
    unsigned = {k: v for k, v in webhook_body(1202, "app/uninstalled").items() if k != "hash"}
    settings.WEBHOOK_MAX_BODY_BYTES = 512
    oversized = deliver_webhook(client, webhook_body(1202, data={"pad": "x" * 1000}))

    assert genuine.status_code == 200 and genuine.json() == {"ok": True, "result": "stored"}
    assert forged.status_code == 401
    assert deliver_webhook(client, unsigned).status_code == 401
    assert oversized.status_code == 413
    assert client.get("/webhooks/flickrocket").status_code == 405
    assert client.put("/webhooks/flickrocket", b"{}", content_type="application/json").status_code == 405
    assert WebhookDelivery.objects.filter(signature_ok=True).count() == 1
    # Nothing of a browser's: no session row, no cookie, no language negotiation.
    assert Session.objects.count() == sessions
    assert not genuine.cookies
    assert "Content-Language" not in genuine.headers
    assert "Accept-Language" not in genuine.headers.get("Vary", "")
    # What protects every response still does.
    assert genuine.headers["X-Content-Type-Options"] == "nosniff"
    assert genuine.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in genuine.headers["Content-Security-Policy"]
    assert genuine.headers["X-Request-ID"]


def test_pages_still_get_the_browser_middleware(client):
    login = client.get("/staff/login/", HTTP_ACCEPT_LANGUAGE="de")
    assert login.headers["Content-Language"] == "de"
    assert "csrftoken" in login.cookies

    # The receiver's path inside an embedded session is a browser's request, not a machine's.
    prefix = launch(client, 1202)
    embedded = client.get(prefix.rstrip("/") + "/webhooks/flickrocket")
    assert embedded.status_code == 405
    assert "Content-Language" in embedded.headers
