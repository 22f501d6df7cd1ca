"""Call pacing per company (docs/flickrocket.md, Rate limit), shared by every worker through the
company's ``CompanyOutbox`` row."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

import flickrocket as fr

from .models import CompanyOutbox


def _outbox_for_update(company_id: int) -> CompanyOutbox:
    CompanyOutbox.objects.get_or_create(company_id=company_id)
    return CompanyOutbox.objects.select_for_update().get(company_id=company_id)


def _assumed_leak_rate() -> float:
    return max(0.1, float(settings.FULFILLMENT_ASSUMED_LEAK_RATE))


def _reserve_call(company_id: int) -> float:
    """Seconds to wait before the next call; 0 means go, and the call is counted.

    The bucket's level is what FlickRocket's call-limit header last said, leaked at an assumed
    rate since then, plus the calls reserved since. A little headroom stays free so page views
    of the same shop never meet a full bucket because of bulk work.
    """
    now = timezone.now()
    with transaction.atomic():
        outbox = _outbox_for_update(company_id)
        if outbox.not_before and outbox.not_before > now:
            return (outbox.not_before - now).total_seconds()
        if outbox.calls_size:
            elapsed = (now - outbox.observed_at).total_seconds() if outbox.observed_at else 0
            level = max(0.0, outbox.calls_used - elapsed * _assumed_leak_rate())
            limit = outbox.calls_size - max(1, outbox.calls_size // 10)
            if level + 1 > limit:
                return (level + 1 - limit) / _assumed_leak_rate()
            outbox.calls_used = level + 1
            outbox.observed_at = now
            outbox.save(update_fields=["calls_used", "observed_at", "updated_at"])
    return 0.0


def _give_back_reservation(company_id: int) -> None:
    CompanyOutbox.objects.filter(company_id=company_id, calls_used__gte=1).update(
        calls_used=F("calls_used") - 1
    )


def _observe_call_limit(company_id: int, limit: fr.CallLimit) -> None:
    CompanyOutbox.objects.filter(company_id=company_id).update(
        calls_used=limit.used, calls_size=limit.size, observed_at=timezone.now()
    )


def _hold_company(company_id: int, seconds: float) -> None:
    """FlickRocket said Retry-After: every worker of this company waits that long."""
    until = timezone.now() + timedelta(seconds=max(seconds, 0.5))
    CompanyOutbox.objects.filter(company_id=company_id).filter(
        Q(not_before__isnull=True) | Q(not_before__lt=until)
    ).update(not_before=until)
