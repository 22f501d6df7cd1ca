"""Reads for the outbox pages: the audit log, changes not yet accepted, an order's history."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from .models import AuditEntry, PendingUpdate

State = PendingUpdate.State


def order_history(*, company_id: int, order_id: int) -> list[PendingUpdate]:
    return list(
        PendingUpdate.objects.filter(company_id=company_id, order_id=order_id)
        .prefetch_related("events")
        .order_by("-id")[:50]
    )


def audit_log(*, company_id: int, order_id: int | None = None, user_id: str = "", source: str = ""):
    entries = AuditEntry.objects.filter(company_id=company_id).select_related("update")
    if order_id:
        entries = entries.filter(order_id=order_id)
    if user_id:
        entries = entries.filter(user_id=user_id)
    if source:
        entries = entries.filter(source=source)
    return entries


def outbox_rows(*, company_id: int, which: str = "attention"):
    rows = PendingUpdate.objects.filter(company_id=company_id)
    if which == "attention":
        rows = rows.filter(state__in=[State.QUEUED, State.SENDING, State.REFUSED])
    return rows.order_by("-id")


def stuck_after() -> datetime:
    return timezone.now() - timedelta(seconds=settings.FULFILLMENT_STUCK_SECONDS)
