"""Bulk ship: many orders from one form, all validated before any is queued."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext

from frapp.errors import AppError
from fulfillment.orders.selectors import cached_order_index
from fulfillment.orders.tracking import normalize_tracking

from .checks import _confirm_order_exists, ship_at_the_bench_message, ships_unverified
from .models import PendingUpdate, Source
from .scheduling import schedule_sending
from .services import change_order


@dataclass(frozen=True)
class BulkResult:
    queued: list[PendingUpdate]  # changes this call created
    already: list[int]  # order ids this same form had queued before (a resubmission)


def _bulk_key(company_id: int, form_key: str, order_id: int) -> str:
    # A hash keeps any form key within the column's 64 characters and apart per company.
    digest = hashlib.sha256(f"{company_id}:{form_key}".encode()).hexdigest()[:32]
    return f"bulk:{digest}:{order_id}"


def mark_many_shipped(
    *, company_id: int, user_id: str, orders: dict[int, str], idempotency_key: str | None = None
) -> BulkResult:
    """Bulk ship: ``orders`` maps order id -> tracking numbers ("" keeps what is there).

    Everything is validated before anything is queued; one bad tracking number queues nothing
    and its error names the order. With a form key, an order this same form already queued is
    skipped (a double submit), while orders added to the selection since are queued.
    """
    if not orders:
        raise AppError(gettext("Select at least one order."))
    keys = {
        order_id: _bulk_key(company_id, idempotency_key, order_id) if idempotency_key else None
        for order_id in orders
    }
    already = set(
        PendingUpdate.objects.filter(
            company_id=company_id, idempotency_key__in=[k for k in keys.values() if k]
        ).values_list("order_id", flat=True)
    )
    errors: dict[str, list[str]] = {}
    cleaned: dict[int, str | None] = {}
    for order_id, raw in orders.items():
        if order_id in already:
            continue
        try:
            cleaned[order_id] = normalize_tracking(raw) or None
        except AppError as exc:
            errors[f"tracking_{order_id}"] = [exc.message]
    index = cached_order_index(company_id)
    for order_id in cleaned:
        # With pack verification on, an open order ships only from the packing bench.
        if ships_unverified(company_id, order_id, index):
            errors.setdefault(f"tracking_{order_id}", []).append(ship_at_the_bench_message(order_id))
    if errors:
        first = next(iter(errors))
        message = gettext("Order %(order_id)s: %(error)s") % {
            "order_id": first.removeprefix("tracking_"),
            "error": errors[first][0],
        }
        raise AppError(message, field_errors=errors)
    for order_id in cleaned:
        _confirm_order_exists(company_id, order_id, index)
    with transaction.atomic():
        updates = [
            change_order(
                company_id=company_id,
                user_id=user_id,
                order_id=order_id,
                tracking_number=tracking,
                ship=True,
                source=Source.BULK,
                idempotency_key=keys[order_id],
                verify_order=False,
                schedule=False,
                index=index,
            )
            for order_id, tracking in cleaned.items()
        ]
        if updates:
            schedule_sending(company_id=company_id)
    return BulkResult(queued=updates, already=sorted(already))
