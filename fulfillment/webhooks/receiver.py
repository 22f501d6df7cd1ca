"""The receiver's write path: verify, one short INSERT, answer (docs/flickrocket.md, Webhook deliveries).

Acting happens in the worker (``fulfillment.webhooks.processing``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from oauth import client as fr
from oauth.models import Installation
from oauth.signing import webhook_is_valid

from .models import WebhookDelivery

logger = logging.getLogger(__name__)


# Refused attempts are unauthenticated writes: record at most this many a minute per process.
REFUSALS_RECORDED_PER_MINUTE = 60


@dataclass(frozen=True)
class Receipt:
    """What the receiver answers. ``status`` is the HTTP status; ``reason`` goes to the log."""

    status: int
    reason: str
    delivery_id: int | None = None


def receive_delivery(*, raw: bytes) -> Receipt:
    """Verify, store once and enqueue one delivery's raw body (docs/flickrocket.md, Webhook deliveries).

    Never acts here: a 2xx must come back fast, and acting may need FlickRocket.
    """
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return Receipt(400, "body is not JSON")
    if not isinstance(body, dict):
        return Receipt(400, "body is not a JSON object")
    received_hash = body.get("hash")
    if not isinstance(received_hash, str) or not received_hash.strip():
        _record_refusal(body, "no signature")
        return Receipt(401, "unsigned")
    try:
        valid = webhook_is_valid(secret=settings.FLICKROCKET_CLIENT_SECRET, body=body)
    except RecursionError:
        return Receipt(400, "body nested too deeply")
    if not valid:
        _record_refusal(body, "signature does not match")
        return Receipt(401, "bad signature")

    company_id = _company_id(body.get("company_id"))
    topic = body.get("scope")
    if company_id is None or not isinstance(topic, str) or not topic.strip():
        return Receipt(400, "company_id or scope missing")

    payload = {k: v for k, v in body.items() if k != "hash"}
    topic = fr.canonical_topic(topic)[:64]
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                company_id=company_id,
                topic=topic,
                payload=payload,
                dedupe_key=dedupe_key(payload, epoch=_install_epoch(company_id, topic)),
            )
            # robust: the row is committed either way; a failed enqueue is resumed later.
            transaction.on_commit(partial(enqueue_delivery, delivery.id), robust=True)
    except IntegrityError:
        return Receipt(200, "duplicate")
    return Receipt(200, "stored", delivery.id)


def dedupe_key(payload: dict, *, epoch: str = "") -> str:
    """The same event delivered again has the same key, whatever the key order or spacing."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((epoch + canonical).encode("utf-8")).hexdigest()


def _install_epoch(company_id: int, topic: str) -> str:
    """App notices carry no event id: the same app/uninstalled body comes again after every
    reinstall. Keyed by the install they belong to, a retry is still a duplicate while a new
    notice after a reinstall is not."""
    if not topic.startswith("app/"):
        return ""
    installed_at = (
        Installation.objects.filter(company_id=company_id).values_list("installed_at", flat=True).first()
    )
    return installed_at.isoformat() if installed_at else ""


def _company_id(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**63 else None
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 19:
        return int(value)
    return None


def _record_refusal(body: dict, reason: str) -> None:
    """Keep a trace for the owner's deliveries page, never the body (it is unverified)."""
    company_id = _company_id(body.get("company_id"))
    topic = body.get("scope") if isinstance(body.get("scope"), str) else ""
    logger.warning("webhook refused (%s) claiming company %s topic %r", reason, company_id, topic[:64])
    if company_id is None:
        return
    minute_key = f"webhook-refusals:{int(time.time() // 60)}"
    cache.add(minute_key, 0, timeout=120)
    try:
        if cache.incr(minute_key) > REFUSALS_RECORDED_PER_MINUTE:
            return
    except ValueError:
        return
    now = timezone.now()
    WebhookDelivery.objects.create(
        company_id=company_id,
        topic=topic[:64],
        signature_ok=False,
        dedupe_key=None,
        received_at=now,
        processed_at=now,
        outcome=WebhookDelivery.Outcome.REFUSED,
        error=f"Refused: {reason}.",
    )


def enqueue_delivery(delivery_id: int, *, run_after=None) -> None:
    from .tasks import process_webhook_delivery

    task = process_webhook_delivery
    if run_after is not None:
        task = task.using(run_after=run_after)
    task.enqueue(delivery_id)
