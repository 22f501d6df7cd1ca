"""The app keeps its own hooks subscribed and switched on, without a click.

After each install every essential hook is subscribed; after a launch, at most once per
``WEBHOOK_HEALTH_CHECK_INTERVAL``, they are checked and repaired (FlickRocket switches a hook
off after 48 hours of failed deliveries). Both run in the worker; the outcome is kept in
``WebhookHealth`` for the Webhooks page.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

import flickrocket as fr
from oauth.models import Installation

from . import services
from .models import WebhookHealth

logger = logging.getLogger(__name__)

Status = WebhookHealth.Status

CHECK_LEASE = timedelta(minutes=2)  # longer than a check with the worker's retries can take


def queue_check(*, company_id: int, force: bool = False) -> bool:
    """Queue a check unless one was queued within the interval (``force``: queue it anyway).

    The claim is one conditional UPDATE, so any number of web processes queue one check.
    """
    now = timezone.now()
    WebhookHealth.objects.get_or_create(company_id=company_id)
    rows = WebhookHealth.objects.filter(company_id=company_id)
    if not force:
        due = now - timedelta(seconds=settings.WEBHOOK_HEALTH_CHECK_INTERVAL)
        rows = rows.filter(Q(queued_at__isnull=True) | Q(queued_at__lte=due))
    if not rows.update(queued_at=now):
        return False
    from .tasks import ensure_webhooks

    transaction.on_commit(partial(ensure_webhooks.enqueue, company_id), robust=True)
    return True


def on_installed(sender, *, company_id: int, **kwargs) -> None:
    queue_check(company_id=company_id, force=True)


def on_launched(sender, *, company_id: int, **kwargs) -> None:
    if Installation.objects.filter(company_id=company_id, status=Installation.Status.INSTALLED).exists():
        queue_check(company_id=company_id)


def check_hooks(*, company_id: int) -> WebhookHealth | None:
    """Subscribe or switch on what is missing and record the outcome; never raises for
    FlickRocket's answers (a missing permission is recorded, not retried in a loop).

    Fixed reasons are stored untranslated (the page translates them); FlickRocket's own
    messages are stored as they came.
    """
    now = timezone.now()
    WebhookHealth.objects.get_or_create(company_id=company_id)
    leased = (
        WebhookHealth.objects.filter(company_id=company_id)
        .filter(Q(checking_until__isnull=True) | Q(checking_until__lt=now))
        .update(checking_until=now + CHECK_LEASE)
    )
    if not leased:
        return None  # another worker is checking this shop right now
    try:
        changes = _check(company_id)
    finally:
        WebhookHealth.objects.filter(company_id=company_id).update(checking_until=None)
    WebhookHealth.objects.filter(company_id=company_id).update(checked_at=timezone.now(), **changes)
    return WebhookHealth.objects.get(company_id=company_id)


def _check(company_id: int) -> dict:
    installation = Installation.objects.filter(company_id=company_id).first()
    if installation is None or not installation.is_usable:
        return {"status": Status.FAILED, "error": gettext_noop("The app is not installed for this shop.")}
    granted = installation.scope_list
    if granted and "webhooks" not in granted:
        return _missing_permission()
    try:
        result = services.subscribe_essentials(company_id=company_id, purpose="worker")
    except fr.Forbidden:
        return _missing_permission()
    except (fr.NotInstalled, fr.NeedsReinstall):
        return {
            "status": Status.FAILED,
            "error": gettext_noop("FlickRocket no longer accepts this app's access."),
        }
    except fr.FlickRocketError as exc:
        logger.warning("webhook check of company %s failed: %s", company_id, exc)
        return {"status": Status.FAILED, "error": str(exc)[:500]}
    now = timezone.now()
    changes = {"status": Status.OK, "ok_at": now, "error": ""}
    if result.changed:
        repaired = {"created": result.created, "reactivated": result.reactivated}
        logger.info("webhooks of company %s repaired: %s", company_id, repaired)
        changes.update(status=Status.REPAIRED, repaired=repaired, repaired_at=now)
    return changes


def _missing_permission() -> dict:
    return {
        "status": Status.MISSING_PERMISSION,
        "error": gettext_noop("This app was installed without the permission to manage webhooks."),
    }
