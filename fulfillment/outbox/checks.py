"""What the outbox checks before it queues a change: what the app last saw of the order, that the
order is this shop's, and the shop's pack-verification rule (an open order ships only from the
packing bench when the shop verifies items).
"""

from __future__ import annotations

import logging

from django.utils.translation import gettext

import flickrocket as fr
from frapp.errors import AppError
from fulfillment.packing.selectors import verifies_items
from oauth.clients import client_for

from .models import PendingUpdate

logger = logging.getLogger(__name__)

SHIPPED = fr.Fulfillment.SHIPPED
State = PendingUpdate.State


def _seen(company_id: int, order_id: int, index: dict[int, dict]) -> tuple[str, int | None]:
    """Tracking and status as the owner last saw them: our own latest change, else the cache."""
    latest = (
        PendingUpdate.objects.filter(company_id=company_id, order_id=order_id)
        .exclude(state__in=[State.SUPERSEDED, State.REFUSED])
        .order_by("-id")
        .first()
    )
    cached = index.get(order_id)
    tracking = (cached or {}).get("tracking_number") or ""
    status = cached.get("status") if cached else None
    if latest is not None:
        if latest.tracking_number is not None:
            tracking = latest.tracking_number
        if latest.status is not None:
            status = latest.status
    return tracking, status


def _confirm_order_exists(
    company_id: int, order_id: int, index: dict[int, dict], order: fr.Fulfillment | None = None
) -> None:
    """A forged or mistyped id never becomes an outbox row: it must be one of this shop's orders.

    When FlickRocket cannot say (down, limiting, garbled, or the app lost its ``orders``
    permission), the change is queued anyway: the company comes from the session, so the worst
    a bad id can do is end as a visible "refused", while refusing to save would lose what the
    owner typed. Without the permission it waits in the outbox for the reinstall.
    """
    if order is not None and order.id == order_id:
        return
    if order_id in index:
        return
    if PendingUpdate.objects.filter(company_id=company_id, order_id=order_id, state=State.ACCEPTED).exists():
        return
    try:
        client_for(company_id).fulfillment(order_id)
    except fr.NotFound:
        raise AppError(
            gettext("Order %(order_id)s is not one of this shop's orders.") % {"order_id": order_id}
        ) from None
    except (fr.Transient, fr.Forbidden) as exc:
        logger.info("order %s of company %s not verified (%s); queued anyway", order_id, company_id, exc)


def ships_unverified(
    company_id: int, order_id: int, index: dict[int, dict], order: fr.Fulfillment | None = None
) -> bool:
    """Whether shipping this order here skips the shop's pack verification: with the setting
    on, an open order ships only from the packing bench; one shipped already may get new tracking.
    """
    if not verifies_items(company_id=company_id):
        return False
    status = _seen(company_id, order_id, index)[1]
    if status is None and order is not None and order.id == order_id:
        status = order.status
    if status is None:
        try:
            status = client_for(company_id).fulfillment(order_id).status
        except (fr.NotFound, fr.Transient, fr.Forbidden):
            return True  # cannot tell it is shipped already: the bench decides
    return status != SHIPPED


def ship_at_the_bench_message(order_id: int) -> str:
    return gettext(
        "This shop verifies items before shipping: ship order #%(order)s at the packing bench."
    ) % {"order": order_id}
