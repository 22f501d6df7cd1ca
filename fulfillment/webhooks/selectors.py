"""Reads for the deliveries page."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q

import flickrocket as fr

from .models import WebhookDelivery, WebhookHealth

DELIVERIES_PER_PAGE = 50


def deliveries_page(
    *, company_id: int, show: str = "", topic: str = "", page: int = 1
) -> tuple[Page, dict[str, int]]:
    """The shop's deliveries, or with ``show="refused"`` the refused attempts, which are never
    mixed in with them: anyone can send one naming any shop."""
    base = WebhookDelivery.objects.filter(company_id=company_id)
    counts = base.aggregate(
        total=Count("id", filter=Q(signature_ok=True)),
        pending=Count("id", filter=Q(processed_at__isnull=True, signature_ok=True)),
        failed=Count("id", filter=Q(outcome=WebhookDelivery.Outcome.FAILED)),
        refused=Count("id", filter=Q(signature_ok=False)),
    )
    rows = base.filter(signature_ok=show != "refused")
    if show == "pending":
        rows = rows.filter(processed_at__isnull=True, signature_ok=True)
    elif show == "recorded":
        rows = rows.filter(
            outcome__in=[WebhookDelivery.Outcome.RECORDED, WebhookDelivery.Outcome.NOT_INSTALLED]
        )
    elif show in (WebhookDelivery.Outcome.ACTED, WebhookDelivery.Outcome.FAILED):
        rows = rows.filter(outcome=show)
    if topic:
        rows = rows.filter(topic=fr.canonical_topic(topic))
    rows = rows.order_by("-received_at", "-id").only(
        "id",
        "company_id",
        "topic",
        "payload",
        "signature_ok",
        "received_at",
        "processed_at",
        "outcome",
        "action",
        "error",
        "attempts",
    )
    return Paginator(rows, DELIVERIES_PER_PAGE).get_page(page), counts


def webhook_health(*, company_id: int) -> WebhookHealth | None:
    """The last automatic check of the app's own hooks, if one ran."""
    return WebhookHealth.objects.filter(company_id=company_id, checked_at__isnull=False).first()
