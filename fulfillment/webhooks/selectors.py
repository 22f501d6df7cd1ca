"""Reads for the subscriptions and deliveries pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q

from fulfillment.models import WebhookDelivery
from fulfillment.services.webhooks import ESSENTIAL_TOPICS, receiver_address
from oauth import client as fr

DELIVERIES_PER_PAGE = 50


@dataclass(frozen=True)
class HookRow:
    hook: fr.Webhook
    is_ours: bool
    updated: datetime | None


@dataclass
class SubscriptionsOverview:
    rows: list[HookRow] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # essential topics with no live hook here
    switched_off: list[HookRow] = field(default_factory=list)
    error: str = ""  # FlickRocket could not be asked; the page says so instead of failing
    needs_permission: bool = False  # installed without the webhooks scope
    receiver: str = ""

    @property
    def healthy(self) -> bool:
        return not (self.error or self.missing or self.switched_off)


def platform_time(value: str) -> datetime | None:
    """The platform's ``2016-04-07T16:16:17`` (UTC, no offset) as an aware datetime."""
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def subscriptions_overview(*, company_id: int) -> SubscriptionsOverview:
    overview = SubscriptionsOverview(receiver=receiver_address())
    try:
        hooks = fr.FlickRocketClient.for_page_view(company_id).webhooks()
    except fr.Forbidden:
        overview.needs_permission = True
        overview.error = "This app was installed without the permission to manage webhooks."
        return overview
    except fr.RequestFailed as exc:
        overview.error = str(exc)
        return overview
    hooks.sort(key=lambda h: (h.topic, h.id))
    overview.rows = [
        HookRow(hook=h, is_ours=h.address == overview.receiver, updated=platform_time(h.updated_at))
        for h in hooks
    ]
    overview.switched_off = [row for row in overview.rows if not row.hook.is_active]
    overview.missing = [
        topic
        for topic in ESSENTIAL_TOPICS
        if not any(r.is_ours and r.hook.is_active and r.hook.topic == topic for r in overview.rows)
    ]
    return overview


def subscription(*, company_id: int, webhook_id: int) -> fr.Webhook:
    """One hook of this company; another company's id is NotFound at the platform."""
    return fr.FlickRocketClient.for_page_view(company_id).webhook(webhook_id)


def deliveries_page(
    *, company_id: int, show: str = "", topic: str = "", page: int = 1
) -> tuple[Page, dict[str, int]]:
    base = WebhookDelivery.objects.filter(company_id=company_id)
    counts = base.aggregate(
        total=Count("id"),
        pending=Count("id", filter=Q(processed_at__isnull=True, signature_ok=True)),
        failed=Count("id", filter=Q(outcome=WebhookDelivery.Outcome.FAILED)),
        refused=Count("id", filter=Q(signature_ok=False)),
    )
    rows = base
    if show == "pending":
        rows = rows.filter(processed_at__isnull=True, signature_ok=True)
    elif show == "recorded":
        rows = rows.filter(
            outcome__in=[WebhookDelivery.Outcome.RECORDED, WebhookDelivery.Outcome.NOT_INSTALLED]
        )
    elif show in (WebhookDelivery.Outcome.ACTED, WebhookDelivery.Outcome.FAILED):
        rows = rows.filter(outcome=show)
    elif show == "refused":
        rows = rows.filter(signature_ok=False)
    if topic:
        rows = rows.filter(topic=fr.canonical_topic(topic))
    rows = rows.order_by("-received_at", "-id").only(
        "id", "company_id", "topic", "payload", "signature_ok", "received_at", "processed_at",
        "outcome", "action", "error", "attempts",
    )  # fmt: skip
    return Paginator(rows, DELIVERIES_PER_PAGE).get_page(page), counts
