"""The sender: delivers a company's due changes to FlickRocket, one claimed row at a time.

The sender claims one row at a time with a lease, so a killed worker's row becomes due again,
and paces every call through the company's ``CompanyOutbox`` row, which all workers share.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Min
from django.utils import timezone

import flickrocket as fr
from oauth.clients import client_for
from oauth.selectors import installation_for

from .access import ACCESS_RECHECK_SECONDS, _park_for_access, access_removed_reason, permission_missing_reason
from .models import CompanyOutbox, PendingUpdate, UpdateEvent
from .outcomes import _finish, _release_expired_leases, _requeue
from .pacing import _give_back_reservation, _hold_company, _observe_call_limit, _reserve_call
from .scheduling import schedule_sending, wake_after_reinstall

logger = logging.getLogger(__name__)
State = PendingUpdate.State
Event = UpdateEvent.Kind


def send_pending_updates(*, company_id: int) -> int:
    """Deliver up to one batch of this company's due changes; schedule the rest.

    Returns how many reached a final answer (accepted or refused).
    """
    now = timezone.now()
    CompanyOutbox.objects.filter(company_id=company_id, scheduled_for__lte=now).update(scheduled_for=None)
    _release_expired_leases(company_id=company_id)
    wake_after_reinstall(company_id=company_id)
    installation = installation_for(company_id=company_id)
    if installation is None or not installation.is_usable:
        # Without access every call would fail the same way: wait for the reinstall instead.
        _park_for_access(company_id, access_removed_reason())
        _schedule_next(company_id, after_pace=False)
        return 0
    batch = settings.FULFILLMENT_OUTBOX_BATCH
    max_wait = settings.FULFILLMENT_OUTBOX_MAX_PACE_WAIT
    client = _worker_client(company_id)
    done = 0
    stop_reason = ""
    for _ in range(batch):
        wait = _reserve_call(company_id)
        while 0 < wait <= max_wait:
            time.sleep(wait)
            wait = _reserve_call(company_id)
        if wait > 0:
            stop_reason = "pace"
            break
        update = _claim_next(company_id)
        if update is None:
            _give_back_reservation(company_id)
            break
        started = time.monotonic()
        # Leave a margin so the result is recorded while the lease is still ours.
        client.deadline = started + settings.FULFILLMENT_OUTBOX_LEASE_SECONDS * 0.9
        outcome = _send(client, update)
        if time.monotonic() - started > settings.FULFILLMENT_OUTBOX_LEASE_SECONDS:
            logger.warning("order %s: the send outlasted its lease", update.order_id)
        if outcome in ("accepted", "refused"):
            done += 1
        else:
            # FlickRocket is down, limiting us or no longer installed: hammering the next row
            # would fail the same way. The backoff decides when this company is tried again.
            stop_reason = outcome
            break
    _schedule_next(company_id, after_pace=stop_reason == "pace")
    return done


WORKER_ATTEMPTS = 2


def _worker_client(company_id: int) -> fr.FlickRocketClient:
    """A client whose worst case fits inside one lease.

    One send is at most a PUT and a fallback GET, each up to ``WORKER_ATTEMPTS`` tries plus
    one after a token refresh, each try up to connect + read timeout (Retry-After is never
    slept on: ``max_rate_wait=0``). The read timeout shrinks if the lease is too short for
    that; with the defaults (lease 120 s, 3.05 + 15 s per try) the worst case is ~110 s.
    Each send also gets a deadline inside its lease; the claim token fences whatever overruns.
    """
    tries = 2 * (WORKER_ATTEMPTS + 1)
    connect = settings.FLICKROCKET_CONNECT_TIMEOUT
    fitting = settings.FULFILLMENT_OUTBOX_LEASE_SECONDS / tries - connect - 1.0
    read = min(settings.FLICKROCKET_READ_TIMEOUT, max(1.0, fitting))
    return client_for(
        company_id,
        purpose="worker",
        read_timeout=read,
        max_attempts=WORKER_ATTEMPTS,
        max_rate_wait=0,
        on_call_limit=_observe_call_limit,
    )


def _claim_next(company_id: int) -> PendingUpdate | None:
    """Move the oldest due row to "sending" under a lease; skip orders already in flight.

    The claim bumps ``attempts``, which is the claim's token: ``_finish``/``_requeue`` only
    touch the row while it is still "sending" under that same attempt, so a worker whose lease
    ran out and whose row was claimed again cannot overwrite the newer claim's result.
    """
    # Expired leases first: what is still "sending" afterwards is under a live lease, and a
    # newer change to that order must wait for it (the constraint allows one sending per order).
    _release_expired_leases(company_id=company_id)
    now = timezone.now()
    lease = timedelta(seconds=settings.FULFILLMENT_OUTBOX_LEASE_SECONDS)
    with transaction.atomic():
        in_flight = PendingUpdate.objects.filter(company_id=company_id, state=State.SENDING)
        candidates = (
            PendingUpdate.objects.select_for_update(skip_locked=True)
            .filter(company_id=company_id, state=State.QUEUED, next_attempt_at__lte=now)
            .exclude(order_id__in=in_flight.values("order_id"))
            .order_by("next_attempt_at", "id")
        )
        update = candidates.first()
        if update is None:
            return None
        update.state = State.SENDING
        update.lease_until = now + lease
        update.attempts = F("attempts") + 1
        update.save(update_fields=["state", "lease_until", "attempts", "updated_at"])
        update.refresh_from_db()
        UpdateEvent.objects.create(update=update, kind=Event.SENT, detail=f"attempt {update.attempts}")
    return update


def _send(client: fr.FlickRocketClient, update: PendingUpdate) -> str:
    try:
        result = client.update_fulfillment(
            update.order_id, tracking_number=update.tracking_number, status=update.status
        )
    except (fr.NotInstalled, fr.NeedsReinstall, fr.Forbidden) as exc:
        reason = permission_missing_reason() if isinstance(exc, fr.Forbidden) else access_removed_reason()
        _requeue(update, fr.NeedsReinstall(reason), delay=ACCESS_RECHECK_SECONDS)
        _park_for_access(update.company_id, reason)
        return "not_installed"
    except fr.RateLimited as exc:
        _hold_company(update.company_id, exc.retry_after)
        _requeue(update, exc, delay=exc.retry_after)
        return "retry"
    except fr.Transient as exc:
        # A garbled or missing answer to a PUT may hide an applied write; the same PUT again
        # is harmless, so both are retried like an outage.
        _requeue(update, exc, delay=_backoff(update.attempts))
        return "retry"
    except fr.FlickRocketError as exc:
        _finish(update, State.REFUSED, Event.REFUSED, str(exc))
        return "refused"
    _finish(update, State.ACCEPTED, Event.ACCEPTED, _accepted_detail(result))
    return "accepted"


def _accepted_detail(result: fr.Fulfillment) -> str:
    status = "shipped" if result.is_shipped else "not shipped"
    tracking = f", tracking “{result.tracking_number}”" if result.tracking_number else ""
    return f"FlickRocket now has: {status}{tracking}"


def _backoff(attempts: int) -> float:
    return fr.backoff(attempts, base=settings.FULFILLMENT_OUTBOX_BACKOFF_BASE, cap=900.0)


def _schedule_next(company_id: int, *, after_pace: bool) -> None:
    now = timezone.now()
    nexts = [
        PendingUpdate.objects.filter(company_id=company_id, state=State.QUEUED).aggregate(
            first=Min("next_attempt_at")
        )["first"],
        PendingUpdate.objects.filter(company_id=company_id, state=State.SENDING).aggregate(
            first=Min("lease_until")
        )["first"],
    ]
    outbox = CompanyOutbox.objects.filter(company_id=company_id).first()
    if after_pace and outbox is not None and outbox.not_before:
        nexts.append(outbox.not_before)
    due = [when for when in nexts if when is not None]
    if due:
        schedule_sending(company_id=company_id, at=max(min(due), now))
