"""Changes whose access is gone (the app uninstalled, or installed without ``orders``) wait for
the reinstall with a plain reason, without a hot loop; ``scheduling.wake_after_reinstall`` sends
them once the app is installed again."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from .models import PendingUpdate, UpdateEvent

logger = logging.getLogger(__name__)
State = PendingUpdate.State
Event = UpdateEvent.Kind

# Changes waiting for a reinstall are woken by it (``wake_after_reinstall``); this slow
# re-check only covers a reinstall nobody opened the app after.
ACCESS_RECHECK_SECONDS = 15 * 60


def access_removed_reason() -> str:
    return gettext("Access was removed: reinstall the app.")


def permission_missing_reason() -> str:
    return gettext(
        "The app lacks the permission to read and update orders (orders): reinstall the app to grant it."
    )


def _park_for_access(company_id: int, reason: str) -> int:
    """Every change of the company due soon waits for a reinstall, with ``reason`` to show.

    One refusal speaks for all of them: sending the next row would fail the same way.
    """
    now = timezone.now()
    until = now + timedelta(seconds=ACCESS_RECHECK_SECONDS)
    with transaction.atomic():
        rows = list(
            PendingUpdate.objects.select_for_update()
            .filter(company_id=company_id, state=State.QUEUED, next_attempt_at__lt=until)
            .only("id", "last_error")
        )
        if not rows:
            return 0
        PendingUpdate.objects.filter(pk__in=[row.pk for row in rows]).update(
            next_attempt_at=until, last_error=reason[:500], updated_at=now
        )
        # One event per change when it starts waiting, not one per re-check.
        UpdateEvent.objects.bulk_create(
            [
                UpdateEvent(update_id=row.pk, kind=Event.WAITING, detail=reason[:500])
                for row in rows
                if row.last_error != reason
            ],
            batch_size=500,
        )
    logger.info("company %s: %s changes wait for a reinstall", company_id, len(rows))
    return len(rows)
