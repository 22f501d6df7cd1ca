"""Factories shared by the tests: installations, signed launches, embedded sessions."""

import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.utils import timezone

from flickrocket.signing import launch_hmac
from oauth.crypto import encrypt
from oauth.models import Installation

VECTORS = json.loads((Path(__file__).resolve().parent / "vectors.json").read_text())


def make_installation(
    company_id: int = 1202,
    *,
    refresh_token: str = "refresh-token-not-real",
    access_token: str = "",
    expires_in: int = 1799,
    status: str = Installation.Status.INSTALLED,
    scopes: str = "orders,products,webhooks",
) -> Installation:
    return Installation.objects.create(
        company_id=company_id,
        status=status,
        scopes=scopes,
        installed_by="4711",
        installed_at=timezone.now(),
        refresh_token_encrypted=encrypt(refresh_token) if refresh_token else "",
        access_token_encrypted=encrypt(access_token) if access_token else "",
        access_token_expires_at=timezone.now() + timedelta(seconds=expires_in) if access_token else None,
    )


def launch_query(company_id: int | str, user_id: str = "4711", secret: str | None = None) -> str:
    secret = settings.FLICKROCKET_CLIENT_SECRET if secret is None else secret
    signature = launch_hmac(secret=secret, user_id=str(user_id), company_id=str(company_id))
    return "/?" + urlencode({"UserID": user_id, "CompanyID": company_id, "hmac": signature})


def launch(client, company_id: int = 1202, user_id: str = "4711") -> str:
    """Launch like FlickRocket does and return the embedded session's URL prefix (``/s/<key>``)."""
    response = client.get(launch_query(company_id, user_id))
    assert response.status_code == 302, response.status_code
    location = response["Location"]
    assert location.startswith("/s/")
    return location.rstrip("/")


def webhook_body(
    company_id: int = 1202,
    topic: str = "order/create",
    data: dict | None = None,
    *,
    secret: str | None = None,
) -> dict:
    """A delivery as FlickRocket sends it, signed by the sandbox's own (independent) signer."""
    from sandbox.signing import sign_webhook

    secret = settings.FLICKROCKET_CLIENT_SECRET if secret is None else secret
    body = {
        "company_id": company_id,
        "producer": "shop",
        "scope": topic,
        "data": data if data is not None else {"type": "order", "id": "267227"},
    }
    return sign_webhook(secret, body)


def deliver_webhook(client, body, **extra):
    """POST a delivery (a dict, or raw bytes/str) to the public receiver like FlickRocket."""
    raw = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post("/webhooks/flickrocket", data=raw, content_type="application/json", **extra)


def make_pending_update(company_id: int = 1202, order_id: int = 1, **fields):
    """A queued shipment of ours, written straight to the outbox (no FlickRocket involved)."""
    from fulfillment.outbox.models import PendingUpdate

    values = {
        "user_id": "4711",
        "tracking_number": "1Z",
        "status": 100,
        "source": "single",
        "next_attempt_at": timezone.now(),
        **fields,
    }
    return PendingUpdate.objects.create(company_id=company_id, order_id=order_id, **values)
