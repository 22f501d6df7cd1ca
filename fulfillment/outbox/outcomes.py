"""Recording what became of one send, fenced by the claim: accepted, refused, retried later, or
replaced by a newer change; and releasing rows whose worker died mid-send."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

import flickrocket as fr
from fulfillment.imports.settling import _import_row_settled

from .models import PendingUpdate, UpdateEvent

logger = logging.getLogger(__name__)
State = PendingUpdate.State
Event = UpdateEvent.Kind


def _release_expired_leases(*, company_id: int | None) -> None:
    """A row still "sending" after its lease belongs to a worker that died: queue it again."""
    now = timezone.now()
    expired = PendingUpdate.objects.filter(state=State.SENDING, lease_until__lt=now)
    if company_id is not None:
        expired = expired.filter(company_id=company_id)
    for update_id in list(expired.values_list("id", flat=True)):
        with transaction.atomic():
            update = (
                PendingUpdate.objects.select_for_update()
                .filter(pk=update_id, state=State.SENDING, lease_until__lt=now)
                .first()
            )
            if update is None:
                continue
            # It may or may not have reached FlickRocket; sending the same values again is
            # harmless, but a newer queued change replaces it (and takes over its fields).
            newer = _newer_queued(update)
            if newer is not None:
                _supersede(update, newer, detail="the worker stopped while sending")
                continue
            update.state = State.QUEUED
            update.lease_until = None
            update.next_attempt_at = now
            update.save()
            UpdateEvent.objects.create(
                update=update, kind=Event.RESUMED, detail="the worker stopped while sending"
            )


def _claimed(update: PendingUpdate) -> PendingUpdate | None:
    """The row locked, if this worker's claim on it still stands; else None (and logged)."""
    row = (
        PendingUpdate.objects.select_for_update()
        .filter(pk=update.pk, state=State.SENDING, attempts=update.attempts)
        .first()
    )
    if row is None:
        # Our lease ran out and the row was released or claimed again: the result of this late
        # call is not ours to record (the same values are sent again, or a newer change is).
        logger.warning(
            "order %s of company %s: late result of attempt %s ignored",
            update.order_id,
            update.company_id,
            update.attempts,
        )
    return row


def _newer_queued(row: PendingUpdate) -> PendingUpdate | None:
    return (
        PendingUpdate.objects.select_for_update()
        .filter(company_id=row.company_id, order_id=row.order_id, state=State.QUEUED, pk__gt=row.pk)
        .first()
    )


def _carry_into(newer: PendingUpdate, older: PendingUpdate) -> str:
    """``older`` is replaced by ``newer`` before FlickRocket confirmed it: what the owner set
    there and did not set again must still be sent. Newer fields win, older ones fill gaps.
    """
    changed = []
    if newer.tracking_number is None and older.tracking_number is not None:
        newer.tracking_number = older.tracking_number
        changed.append("tracking_number")
    if newer.status is None and older.status is not None:
        newer.status = older.status
        changed.append("status")
    if changed:
        newer.save(update_fields=[*changed, "updated_at"])
    carried = f", which now also sends: {older.describe()}" if changed else ""
    return f"replaced by change {newer.pk}{carried}"


def _supersede(row: PendingUpdate, newer: PendingUpdate, *, detail: str, error: str = "") -> None:
    """Both rows locked by the caller's transaction."""
    carried = _carry_into(newer, row)
    row.state = State.SUPERSEDED
    row.lease_until = None
    row.finished_at = timezone.now()
    if error:
        row.last_error = error[:500]
    row.save()
    UpdateEvent.objects.create(update=row, kind=Event.SUPERSEDED, detail=f"{detail} ({carried})"[:500])
    _import_row_settled(row.csv_import_id)


def _requeue(update: PendingUpdate, exc: fr.FlickRocketError, *, delay: float) -> None:
    when = timezone.now() + timedelta(seconds=delay)
    with transaction.atomic():
        row = _claimed(update)
        if row is None:
            return
        newer = _newer_queued(row)
        if newer is not None:
            _supersede(row, newer, detail=str(exc), error=str(exc))
            return
        row.state = State.QUEUED
        row.lease_until = None
        row.next_attempt_at = when
        row.last_error = str(exc)[:500]
        row.finished_at = None
        row.save()
        UpdateEvent.objects.create(
            update=row, kind=Event.WAITING, detail=f"{exc} Next try at {timezone.localtime(when):%H:%M:%S}."
        )


def _finish(update: PendingUpdate, state: str, event: str, detail: str) -> None:
    with transaction.atomic():
        row = _claimed(update)
        if row is None:
            return
        row.state = state
        row.lease_until = None
        row.finished_at = timezone.now()
        row.last_error = detail[:500] if state == State.REFUSED else ""
        row.save()
        UpdateEvent.objects.create(update=row, kind=event, detail=detail[:500])
        _import_row_settled(row.csv_import_id)
    logger.info("order %s of company %s: %s", update.order_id, update.company_id, state)
