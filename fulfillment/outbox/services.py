"""Owner changes -> the outbox: one change to one order is committed as a ``PendingUpdate``
(plus its audit entry) before anything talks to FlickRocket; ``fulfillment.outbox.sender``
then delivers it.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

import flickrocket as fr
from frapp.errors import AppError
from fulfillment.imports.models import CsvImport
from fulfillment.imports.settling import _import_row_settled
from fulfillment.orders.selectors import cached_order_index
from fulfillment.orders.tracking import normalize_tracking

from .checks import _confirm_order_exists, _seen, ship_at_the_bench_message, ships_unverified
from .models import AuditEntry, PendingUpdate, Source, UpdateEvent
from .scheduling import schedule_sending

logger = logging.getLogger(__name__)


SHIPPED, OPEN = fr.Fulfillment.SHIPPED, fr.Fulfillment.OPEN


State = PendingUpdate.State


Event = UpdateEvent.Kind


def change_order(
    *,
    company_id: int,
    user_id: str,
    order_id: int,
    tracking_number: str | None,
    ship: bool | None,
    source: str,
    idempotency_key: str | None = None,
    csv_import: CsvImport | None = None,
    verify_order: bool = True,
    schedule: bool = True,
    index: dict[int, dict] | None = None,
    order: fr.Fulfillment | None = None,
    verified: bool = False,
) -> PendingUpdate:
    """Queue one change to one order (tracking and/or status) and schedule its sending.

    ``tracking_number=None`` leaves tracking alone; ``ship=None`` leaves the status alone.
    ``verified=True`` only from the packing bench once every item is packed: with the shop's
    pack verification on, any other change that ships an open order raises ``AppError``.
    The same ``idempotency_key`` (one per rendered form) always yields the same row, so a
    double click or a resubmitted form queues one change.
    """
    if idempotency_key:
        existing = PendingUpdate.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.company_id != company_id:
                raise AppError(gettext("This form was already used. Reload the page and try again."))
            return existing
    if tracking_number is not None:
        tracking_number = normalize_tracking(tracking_number)
    status = None if ship is None else (SHIPPED if ship else OPEN)
    if tracking_number is None and status is None:
        raise AppError(gettext("Nothing to change: enter a tracking number or mark the order shipped."))
    if index is None:
        index = cached_order_index(company_id)
    if verify_order:
        _confirm_order_exists(company_id, order_id, index, order)
    if status == SHIPPED and not verified and ships_unverified(company_id, order_id, index, order):
        raise AppError(ship_at_the_bench_message(order_id))
    for _ in range(3):
        try:
            update = _queue(
                company_id=company_id,
                user_id=user_id,
                order_id=order_id,
                tracking_number=tracking_number,
                status=status,
                source=source,
                idempotency_key=idempotency_key,
                csv_import=csv_import,
                index=index,
            )
            break
        except IntegrityError:
            # Another tab queued for the same order (or used the same key) at the same moment.
            if idempotency_key:
                existing = PendingUpdate.objects.filter(idempotency_key=idempotency_key).first()
                if existing is not None:
                    return existing
    else:
        raise AppError(gettext("Another change to this order is being saved. Please try again."))
    if schedule:
        schedule_sending(company_id=company_id)
    return update


@transaction.atomic
def _queue(
    *,
    company_id,
    user_id,
    order_id,
    tracking_number,
    status,
    source,
    idempotency_key,
    csv_import,
    index,
) -> PendingUpdate:
    old_tracking, old_status = _seen(company_id, order_id, index)
    queued = (
        PendingUpdate.objects.select_for_update()
        .filter(company_id=company_id, order_id=order_id, state=State.QUEUED)
        .first()
    )
    if queued is not None:
        # Still unsent: the newer change replaces it. Fields it set and this one leaves alone
        # are carried over, so "ship" then "add tracking" sends both.
        if tracking_number is None:
            tracking_number = queued.tracking_number
        if status is None:
            status = queued.status
        queued.state = State.SUPERSEDED
        queued.finished_at = timezone.now()
        queued.save(update_fields=["state", "finished_at", "updated_at"])
        UpdateEvent.objects.create(update=queued, kind=Event.SUPERSEDED)
        _import_row_settled(queued.csv_import_id)
    now = timezone.now()
    update = PendingUpdate.objects.create(
        company_id=company_id,
        order_id=order_id,
        tracking_number=tracking_number,
        status=status,
        previous_tracking_number=old_tracking or "",
        previous_status=old_status,
        source=source,
        user_id=user_id or "",
        next_attempt_at=now,
        idempotency_key=idempotency_key or None,
        csv_import=csv_import,
    )
    UpdateEvent.objects.create(update=update, kind=Event.QUEUED, detail=update.describe())
    AuditEntry.objects.create(
        company_id=company_id,
        order_id=order_id,
        user_id=user_id or "",
        source=source,
        old_tracking_number=old_tracking or "",
        new_tracking_number=tracking_number,
        old_status=old_status,
        new_status=status,
        update=update,
    )
    return update


def mark_shipped(
    *,
    company_id: int,
    user_id: str,
    order_id: int,
    tracking_number: str = "",
    source: str = Source.SINGLE,
    idempotency_key: str | None = None,
    order: fr.Fulfillment | None = None,
    verified: bool = False,
) -> PendingUpdate:
    """Ship one order, with the tracking numbers typed (blank leaves tracking unchanged).

    ``order`` is the order as the caller just fetched it, if it did: no second look-up.
    ``verified``: see ``change_order`` (the packing bench's item verification passed).
    """
    tracking = tracking_number.strip() or None
    return change_order(
        company_id=company_id,
        user_id=user_id,
        order_id=order_id,
        tracking_number=tracking,
        ship=True,
        source=source,
        idempotency_key=idempotency_key,
        order=order,
        verified=verified,
    )


def save_tracking(
    *,
    company_id: int,
    user_id: str,
    order_id: int,
    tracking_number: str,
    source: str = Source.SINGLE,
    idempotency_key: str | None = None,
    order: fr.Fulfillment | None = None,
) -> PendingUpdate:
    """Store tracking numbers without changing the shipped status."""
    return change_order(
        company_id=company_id,
        user_id=user_id,
        order_id=order_id,
        tracking_number=tracking_number,
        ship=None,
        source=source,
        idempotency_key=idempotency_key,
        order=order,
    )


def retry_update(*, company_id: int, user_id: str, update_id: int) -> PendingUpdate:
    """Send a refused change again (after the owner fixed what FlickRocket objected to)."""
    # Outside the transaction: telling whether the order is shipped may call FlickRocket, and a
    # token exchange must never wait on an outer transaction to be stored.
    candidate = PendingUpdate.objects.filter(company_id=company_id, pk=update_id).first()
    if (
        candidate is not None
        and candidate.status == SHIPPED
        and not AuditEntry.objects.filter(update=candidate, kind=AuditEntry.Kind.VERIFIED).exists()
        and ships_unverified(company_id, candidate.order_id, cached_order_index(company_id))
    ):
        raise AppError(ship_at_the_bench_message(candidate.order_id))
    with transaction.atomic():
        update = PendingUpdate.objects.select_for_update().filter(company_id=company_id, pk=update_id).first()
        if update is None:
            raise AppError(gettext("This change does not exist."))
        if update.state != State.REFUSED:
            raise AppError(gettext("Only a refused change can be retried."))
        if PendingUpdate.objects.filter(
            company_id=company_id, order_id=update.order_id, state__in=PendingUpdate.ACTIVE
        ).exists():
            raise AppError(gettext("A newer change to this order is already on its way."))
        if PendingUpdate.objects.filter(
            company_id=company_id, order_id=update.order_id, state=State.ACCEPTED, pk__gt=update.pk
        ).exists():
            # Sending the old values now would undo what FlickRocket confirmed since.
            raise AppError(
                gettext(
                    "A newer change to this order was already accepted by FlickRocket, so this older "
                    "one cannot be sent again. Make the change again from the order page if needed."
                )
            )
        old_tracking, old_status = _seen(company_id, update.order_id, cached_order_index(company_id))
        update.state = State.QUEUED
        update.next_attempt_at = timezone.now()
        update.last_error = ""
        update.finished_at = None
        update.save()
        UpdateEvent.objects.create(update=update, kind=Event.RETRIED, detail=f"by user {user_id}")
        AuditEntry.objects.create(
            company_id=company_id,
            order_id=update.order_id,
            user_id=user_id or "",
            source=Source.RETRY,
            old_tracking_number=old_tracking or "",
            new_tracking_number=update.tracking_number,
            old_status=old_status,
            new_status=update.status,
            update=update,
        )
        schedule_sending(company_id=company_id)
    return update
