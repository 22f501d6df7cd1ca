"""When a company's send task runs: once per due time, resumed after crashes, from page views
and after a reinstall."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone
from django.utils.translation import gettext

from oauth.models import Installation
from oauth.selectors import installation_for

from .models import CompanyOutbox, PendingUpdate, UpdateEvent
from .outcomes import _release_expired_leases
from .pacing import _outbox_for_update

logger = logging.getLogger(__name__)
State = PendingUpdate.State
Event = UpdateEvent.Kind


def schedule_sending(*, company_id: int, at: datetime | None = None) -> None:
    """Make sure a send task for this company runs at ``at`` (now by default), once.

    A task already scheduled no later than ``at`` is enough; one scheduled long ago and never
    started (its worker died) is not trusted and a new one is enqueued.
    """
    from .tasks import send_company_updates

    now = timezone.now()
    at = max(at or now, now)
    stale = now - timedelta(seconds=settings.FULFILLMENT_OUTBOX_LEASE_SECONDS)
    with transaction.atomic():
        outbox = _outbox_for_update(company_id)
        if outbox.scheduled_for is not None and stale < outbox.scheduled_for <= at:
            return
        outbox.scheduled_for = at
        outbox.save(update_fields=["scheduled_for", "updated_at"])
    task = send_company_updates if at <= now else send_company_updates.using(run_after=at)
    transaction.on_commit(lambda: task.enqueue(company_id))


def resume_due_work(*, company_id: int | None = None) -> int:
    """Schedule sending for every company with due work (worker start, cron, page views)."""
    now = timezone.now()
    _release_expired_leases(company_id=company_id)
    due = PendingUpdate.objects.filter(state=State.QUEUED)
    if company_id is not None:
        due = due.filter(company_id=company_id)
    firsts = due.values("company_id").annotate(first=Min("next_attempt_at"))
    count = 0
    for row in firsts:
        schedule_sending(company_id=row["company_id"], at=max(row["first"], now))
        count += 1
    return count


def kick_if_idle(*, company_id: int, installation: Installation | None = None) -> None:
    """Page views call this: due work whose task is missing or long overdue gets one.

    ``installation`` is the one the page already read (``request.installation``), saving a query.
    """
    if wake_after_reinstall(company_id=company_id, installation=installation):
        return
    now = timezone.now()
    stale = now - timedelta(seconds=settings.FULFILLMENT_OUTBOX_LEASE_SECONDS)
    outbox = CompanyOutbox.objects.filter(company_id=company_id).first()
    if outbox is not None and outbox.scheduled_for is not None and outbox.scheduled_for > stale:
        return
    has_due = PendingUpdate.objects.filter(
        Q(state=State.QUEUED, next_attempt_at__lte=now) | Q(state=State.SENDING, lease_until__lt=now),
        company_id=company_id,
    ).exists()
    if has_due:
        resume_due_work(company_id=company_id)


def wake_after_reinstall(*, company_id: int, installation: Installation | None = None) -> int:
    """Changes that were waiting when the app was (re)installed are sent now; returns how many.

    A change waits with a future ``next_attempt_at``; an install newer than its last touch is
    the access it waited for. Waking touches it, so the same install wakes it only once.
    """
    if installation is None:
        installation = installation_for(company_id=company_id)
    if installation is None or not installation.is_usable or installation.installed_at is None:
        return 0
    now = timezone.now()

    def waiting():
        return (
            PendingUpdate.objects.filter(
                company_id=company_id,
                state=State.QUEUED,
                next_attempt_at__gt=now,
                updated_at__lt=installation.installed_at,
            )
            .exclude(last_error="")
            .values_list("id", flat=True)
        )

    # Every page view asks; a plain read first, so the usual "nothing waits" takes no write lock
    # (on SQLite a locking transaction is BEGIN IMMEDIATE: one writer at a time, every view).
    if not waiting().exists():
        return 0
    with transaction.atomic():
        ids = list(waiting().select_for_update())
        if not ids:
            return 0
        PendingUpdate.objects.filter(pk__in=ids).update(next_attempt_at=now, updated_at=now)
        UpdateEvent.objects.bulk_create(
            [
                UpdateEvent(update_id=pk, kind=Event.RETRIED, detail=gettext("The app was installed again."))
                for pk in ids
            ],
            batch_size=500,
        )
        schedule_sending(company_id=company_id)
    logger.info("company %s: %s waiting changes resumed after an install", company_id, len(ids))
    return len(ids)
