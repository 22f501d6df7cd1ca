"""Acting on stored deliveries, in the worker.

Guarded so that running a delivery twice acts once, and so that a delivery stored by a process
that then died is still picked up (``resume_deliveries``, run when the worker starts and now
and then after a task).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

import flickrocket as fr
from frapp.errors import AppError
from fulfillment.orders.services import invalidate_lists
from oauth import tokens as oauth_tokens
from oauth.clients import client_for
from oauth.models import Installation

from . import queue
from .models import WebhookDelivery
from .receiver import enqueue_delivery

logger = logging.getLogger(__name__)


CLAIM_LEASE = timedelta(minutes=2)  # a killed worker's claim runs out after this


MAX_ATTEMPTS = 8


ORPHAN_AGE = timedelta(minutes=1)  # stored but never enqueued (the web process died)


SWEEP_INTERVAL_SECONDS = 60


@dataclass(frozen=True)
class Action:
    outcome: str
    text: str


def _installation(company_id: int) -> Installation | None:
    return Installation.objects.filter(company_id=company_id).first()


def _not_installed(delivery: WebhookDelivery) -> Action:
    return Action(
        WebhookDelivery.Outcome.NOT_INSTALLED,
        "Acknowledged and recorded; the app is not installed for this shop.",
    )


def _on_app_uninstalled(delivery: WebhookDelivery) -> Action:
    installation = _installation(delivery.company_id)
    if installation is None or installation.status == Installation.Status.UNINSTALLED:
        return _not_installed(delivery)
    # A late retry of an old notice must not undo an install made after it was sent.
    if installation.installed_at and installation.installed_at > delivery.received_at:
        return Action(
            WebhookDelivery.Outcome.RECORDED,
            "Ignored: the app was installed again after this notice was sent.",
        )
    # The webhook signature (docs/flickrocket.md, Webhook deliveries) has no separators, so a
    # captured body can be re-split to name another company; act only once FlickRocket itself
    # confirms the grant is gone.
    try:
        client_for(delivery.company_id, purpose="worker").token_info()
    except (fr.NeedsReinstall, fr.NotInstalled):
        pass
    else:
        return Action(
            WebhookDelivery.Outcome.RECORDED,
            "Ignored: FlickRocket still accepts the app's permission for this shop.",
        )
    oauth_tokens.disconnect(company_id=delivery.company_id, reason="app/uninstalled webhook")
    return Action(
        WebhookDelivery.Outcome.ACTED,
        "App disconnected: tokens deleted; opening the app asks to install it again.",
    )


def _on_order_create(delivery: WebhookDelivery) -> Action:
    installation = _installation(delivery.company_id)
    if installation is None or installation.status == Installation.Status.UNINSTALLED:
        return _not_installed(delivery)
    invalidate_lists(company_id=delivery.company_id)
    return new_order_action(delivery)


def new_order_action(delivery: WebhookDelivery) -> Action:
    """What acting on an order/create for an installed shop records (the lists are refreshed)."""
    order = delivery.payload.get("data", {}) if isinstance(delivery.payload, dict) else {}
    order_id = order.get("id") if isinstance(order, dict) else None
    return Action(
        WebhookDelivery.Outcome.ACTED,
        f"New order {order_id}: order lists refreshed." if order_id else "Order lists refreshed.",
    )


def _on_app_update(delivery: WebhookDelivery) -> Action:
    installation = _installation(delivery.company_id)
    if installation is None or not installation.is_usable:
        return _not_installed(delivery)
    scopes = oauth_tokens.refresh_granted_scopes(company_id=delivery.company_id)
    return Action(
        WebhookDelivery.Outcome.ACTED,
        f"Permissions re-read: {', '.join(scopes) or 'none reported'}.",
    )


def _record_only(delivery: WebhookDelivery) -> Action:
    return Action(WebhookDelivery.Outcome.RECORDED, "Recorded; this app does not act on it.")


HANDLERS: dict[str, Callable[[WebhookDelivery], Action]] = {
    "app/uninstalled": _on_app_uninstalled,
    "order/create": _on_order_create,
    "app/update": _on_app_update,
}


def _claim(delivery_id: int) -> WebhookDelivery | None:
    """Take a delivery for this worker; None when it is done or someone else holds it."""
    now = timezone.now()
    claimed = (
        WebhookDelivery.objects.filter(id=delivery_id, signature_ok=True, processed_at__isnull=True)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .update(claimed_until=now + CLAIM_LEASE, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    return WebhookDelivery.objects.get(id=delivery_id)


def _finish(delivery: WebhookDelivery, outcome: str, action: str, error: str = "") -> bool:
    done = WebhookDelivery.objects.filter(id=delivery.id, processed_at__isnull=True).update(
        processed_at=timezone.now(),
        claimed_until=None,
        outcome=outcome,
        action=action[:300],
        error=error,
    )
    return bool(done)


def process_delivery(*, delivery_id: int) -> str | None:
    """Act on one stored delivery, once. Returns the outcome, or None if there was nothing to do.

    Safe to run twice and from several workers: the claim is a conditional UPDATE, and the
    handlers themselves are idempotent, so a worker killed mid-way is simply repeated.
    """
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    return act_on(delivery)


def drain_deliveries() -> int:
    """Act on every waiting delivery, claimed in batches (``fulfillment.webhooks.queue``)."""
    from .batch import act_on_batch

    return queue.drain(act_batch=act_on_batch, lease=CLAIM_LEASE)


def act_on(delivery: WebhookDelivery) -> str:
    """Act on a delivery this worker has claimed; returns the outcome."""
    handler = HANDLERS.get(delivery.topic, _record_only)
    try:
        action = handler(delivery)
    except fr.FlickRocketError as exc:
        if exc.retryable and delivery.attempts < MAX_ATTEMPTS:
            return _retry_later(delivery, str(exc))
        _finish(delivery, WebhookDelivery.Outcome.FAILED, "Not done.", str(exc))
        return WebhookDelivery.Outcome.FAILED
    except AppError as exc:
        _finish(delivery, WebhookDelivery.Outcome.FAILED, "Not done.", str(exc))
        return WebhookDelivery.Outcome.FAILED
    except Exception:
        logger.exception("webhook delivery %s (%s) failed", delivery.id, delivery.topic)
        if delivery.attempts < MAX_ATTEMPTS:
            return _retry_later(delivery, "An unexpected error occurred; it will be tried again.")
        _finish(
            delivery,
            WebhookDelivery.Outcome.FAILED,
            "Not done.",
            "An unexpected error occurred; the team has the details in the logs.",
        )
        return WebhookDelivery.Outcome.FAILED
    _finish(delivery, action.outcome, action.text)
    logger.info("webhook delivery %s (%s): %s", delivery.id, delivery.topic, action.outcome)
    return action.outcome


def _retry_later(delivery: WebhookDelivery, error: str) -> str:
    delay = fr.backoff(delivery.attempts, base=5.0, cap=600.0)
    when = timezone.now() + timedelta(seconds=delay)
    # The claim now means "not before": neither the sweep nor a stray task takes it early.
    WebhookDelivery.objects.filter(id=delivery.id, processed_at__isnull=True).update(
        claimed_until=when, error=error[:1000]
    )
    enqueue_delivery(delivery.id, run_after=when)
    return WebhookDelivery.Outcome.PENDING


def resume_deliveries(*, older_than: timedelta | None = None, limit: int | None = None) -> int:
    """Enqueue every verified delivery not yet acted on (after a crash, on worker start).

    A delivery another worker holds is enqueued for when its claim runs out.
    """
    now = timezone.now()
    pending = WebhookDelivery.objects.filter(signature_ok=True, processed_at__isnull=True)
    if older_than is not None:
        pending = pending.filter(received_at__lte=now - older_than)
    rows = pending.order_by("received_at").values_list("id", "claimed_until")
    if limit is not None:
        rows = rows[:limit]
    count = 0
    for delivery_id, claimed_until in rows:
        enqueue_delivery(
            delivery_id, run_after=claimed_until if claimed_until and claimed_until > now else None
        )
        count += 1
    return count


_last_sweep = 0.0


def sweep_orphans() -> int:
    """Now and then, from the worker: queue deliveries whose task never got queued."""
    global _last_sweep
    if time.monotonic() - _last_sweep < SWEEP_INTERVAL_SECONDS:
        return 0
    _last_sweep = time.monotonic()
    now = timezone.now()
    orphans = list(
        WebhookDelivery.objects.filter(
            signature_ok=True, processed_at__isnull=True, received_at__lte=now - ORPHAN_AGE
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .order_by("received_at")
        .values_list("id", flat=True)[:100]
    )
    for delivery_id in orphans:
        enqueue_delivery(delivery_id)  # each in its own task; processing claims, so twice is safe
    return len(orphans)


def prune_deliveries(*, older_than_days: int | None = None) -> int:
    days = settings.WEBHOOK_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    # Unprocessed deliveries stay whatever their age: pruning must never lose work.
    deleted, _ = (
        WebhookDelivery.objects.filter(received_at__lt=cutoff)
        .exclude(signature_ok=True, processed_at__isnull=True)
        .delete()
    )
    return deleted
