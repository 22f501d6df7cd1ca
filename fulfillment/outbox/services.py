"""Writes for the fulfillment workflow: the outbox, its sender, audit, list caches, CSV imports.

An owner's change is committed as a ``PendingUpdate`` (plus its audit entry) before anything
talks to FlickRocket; ``send_pending_updates`` then delivers it. The sender claims one row at
a time with a lease, so a killed worker's row becomes due again, and paces every call through
the company's ``CompanyOutbox`` row, which all workers share.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import random
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from frapp.errors import AppError
from oauth import client as fr

from ..models import (
    AuditEntry,
    CompanyOutbox,
    CsvImport,
    CsvImportRow,
    ListCache,
    PendingUpdate,
    UpdateEvent,
)
from ..models.fulfillments import Source

logger = logging.getLogger(__name__)

MAX_TRACKING_LENGTH = 64  # CONTRACT.md §3, counted on the normalised "a, b" text
SHIPPED, OPEN = fr.Fulfillment.SHIPPED, fr.Fulfillment.OPEN
State = PendingUpdate.State
Event = UpdateEvent.Kind


# --- Tracking numbers ------------------------------------------------------------------------


def normalize_tracking(raw: str) -> str:
    """The one tracking-number rule set, for every path (form, scan, bulk, CSV).

    Split on commas, trim, refuse empty entries and duplicates, join as ``a, b``; the joined
    text is what FlickRocket stores, so the 64-character limit applies to it.
    """
    text = (raw or "").strip()
    if not text:
        return ""
    numbers = [part.strip() for part in text.split(",")]
    if any(not number for number in numbers):
        raise _tracking_error("A tracking number is empty: remove the extra comma.")
    seen: set[str] = set()
    for number in numbers:
        if number.casefold() in seen:
            raise _tracking_error(f"“{number}” is listed twice.")
        seen.add(number.casefold())
    if any(any(ch.isspace() for ch in number) for number in numbers):
        raise _tracking_error("A tracking number contains a space: separate numbers with commas.")
    joined = ", ".join(numbers)
    if len(joined) > MAX_TRACKING_LENGTH:
        raise _tracking_error(
            f"Too long: {len(joined)} characters as FlickRocket counts them (“a, b”), "
            f"at most {MAX_TRACKING_LENGTH}."
        )
    return joined


def _tracking_error(message: str) -> AppError:
    return AppError(message, field_errors={"tracking_number": [message]})


# --- Owner changes -> outbox ---------------------------------------------------------------


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


def cached_order_index(company_id: int) -> dict[int, dict]:
    """Every order we hold for the company as FlickRocket sent it, the freshest copy of each."""
    index: dict[int, dict] = {}
    for cache in ListCache.objects.filter(company_id=company_id).order_by("fetched_at"):
        for item in cache.payload:
            index[item.get("id")] = item
    return index


def cached_order(*, company_id: int, order_id: int) -> fr.Fulfillment | None:
    """The order as found in the freshest list we fetched for this company, if any."""
    item = cached_order_index(company_id).get(order_id)
    return fr.Fulfillment.from_api(item) if item else None


def _confirm_order_exists(
    company_id: int, order_id: int, index: dict[int, dict], order: fr.Fulfillment | None = None
) -> None:
    """A forged or mistyped id never becomes an outbox row: it must be one of this shop's orders.

    When FlickRocket cannot say (down, limiting, garbled), the change is queued anyway: the
    company comes from the session, so the worst a bad id can do is end as a visible "refused",
    while refusing to save would lose what the owner typed.
    """
    if order is not None and order.id == order_id:
        return
    if order_id in index:
        return
    if PendingUpdate.objects.filter(company_id=company_id, order_id=order_id, state=State.ACCEPTED).exists():
        return
    try:
        fr.FlickRocketClient.for_page_view(company_id).fulfillment(order_id)
    except fr.NotFound:
        raise AppError(f"Order {order_id} is not one of this shop's orders.") from None
    except (fr.Unavailable, fr.RateLimited, fr.BadResponse) as exc:
        logger.info("order %s of company %s not verified (%s); queued anyway", order_id, company_id, exc)


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
) -> PendingUpdate:
    """Queue one change to one order (tracking and/or status) and schedule its sending.

    ``tracking_number=None`` leaves tracking alone; ``ship=None`` leaves the status alone.
    The same ``idempotency_key`` (one per rendered form) always yields the same row, so a
    double click or a resubmitted form queues one change.
    """
    if idempotency_key:
        existing = PendingUpdate.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.company_id != company_id:
                raise AppError("This form was already used. Reload the page and try again.")
            return existing
    if tracking_number is not None:
        tracking_number = normalize_tracking(tracking_number)
    status = None if ship is None else (SHIPPED if ship else OPEN)
    if tracking_number is None and status is None:
        raise AppError("Nothing to change: enter a tracking number or mark the order shipped.")
    if index is None:
        index = cached_order_index(company_id)
    if verify_order:
        _confirm_order_exists(company_id, order_id, index, order)
    for _ in range(3):
        try:
            update = _queue(
                company_id=company_id, user_id=user_id, order_id=order_id,
                tracking_number=tracking_number, status=status, source=source,
                idempotency_key=idempotency_key, csv_import=csv_import, index=index,
            )  # fmt: skip
            break
        except IntegrityError:
            # Another tab queued for the same order (or used the same key) at the same moment.
            if idempotency_key:
                existing = PendingUpdate.objects.filter(idempotency_key=idempotency_key).first()
                if existing is not None:
                    return existing
    else:
        raise AppError("Another change to this order is being saved. Please try again.")
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
    *, company_id: int, user_id: str, order_id: int, tracking_number: str = "",
    source: str = Source.SINGLE, idempotency_key: str | None = None,
    order: fr.Fulfillment | None = None,
) -> PendingUpdate:  # fmt: skip
    """Ship one order, with the tracking numbers typed (blank leaves tracking unchanged).

    ``order`` is the order as the caller just fetched it, if it did: no second look-up.
    """
    tracking = tracking_number.strip() or None
    return change_order(
        company_id=company_id, user_id=user_id, order_id=order_id, tracking_number=tracking,
        ship=True, source=source, idempotency_key=idempotency_key, order=order,
    )  # fmt: skip


def save_tracking(
    *, company_id: int, user_id: str, order_id: int, tracking_number: str,
    source: str = Source.SINGLE, idempotency_key: str | None = None,
    order: fr.Fulfillment | None = None,
) -> PendingUpdate:  # fmt: skip
    """Store tracking numbers without changing the shipped status."""
    return change_order(
        company_id=company_id, user_id=user_id, order_id=order_id,
        tracking_number=tracking_number, ship=None, source=source,
        idempotency_key=idempotency_key, order=order,
    )  # fmt: skip


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
        raise AppError("Select at least one order.")
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
    if errors:
        first = next(iter(errors))
        raise AppError(f"Order {first.removeprefix('tracking_')}: {errors[first][0]}", field_errors=errors)
    index = cached_order_index(company_id)
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
            )  # fmt: skip
            for order_id, tracking in cleaned.items()
        ]
        if updates:
            schedule_sending(company_id=company_id)
    return BulkResult(queued=updates, already=sorted(already))


def retry_update(*, company_id: int, user_id: str, update_id: int) -> PendingUpdate:
    """Send a refused change again (after the owner fixed what FlickRocket objected to)."""
    with transaction.atomic():
        update = PendingUpdate.objects.select_for_update().filter(company_id=company_id, pk=update_id).first()
        if update is None:
            raise AppError("This change does not exist.")
        if update.state != State.REFUSED:
            raise AppError("Only a refused change can be retried.")
        if PendingUpdate.objects.filter(
            company_id=company_id, order_id=update.order_id, state__in=PendingUpdate.ACTIVE
        ).exists():
            raise AppError("A newer change to this order is already on its way.")
        if PendingUpdate.objects.filter(
            company_id=company_id, order_id=update.order_id, state=State.ACCEPTED, pk__gt=update.pk
        ).exists():
            # Sending the old values now would undo what FlickRocket confirmed since.
            raise AppError(
                "A newer change to this order was already accepted by FlickRocket, so this older "
                "one cannot be sent again. Make the change again from the order page if needed."
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


# --- Sending ----------------------------------------------------------------------------------


def schedule_sending(*, company_id: int, at: datetime | None = None) -> None:
    """Make sure a send task for this company runs at ``at`` (now by default), once.

    A task already scheduled no later than ``at`` is enough; one scheduled long ago and never
    started (its worker died) is not trusted and a new one is enqueued.
    """
    from ..tasks.fulfillments import send_company_updates

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


def _outbox_for_update(company_id: int) -> CompanyOutbox:
    CompanyOutbox.objects.get_or_create(company_id=company_id)
    return CompanyOutbox.objects.select_for_update().get(company_id=company_id)


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


def kick_if_idle(*, company_id: int) -> None:
    """Page views call this: due work whose task is missing or long overdue gets one."""
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


def send_pending_updates(*, company_id: int) -> int:
    """Deliver up to one batch of this company's due changes; schedule the rest.

    Returns how many reached a final answer (accepted or refused).
    """
    now = timezone.now()
    CompanyOutbox.objects.filter(company_id=company_id, scheduled_for__lte=now).update(scheduled_for=None)
    _release_expired_leases(company_id=company_id)
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
    return fr.FlickRocketClient(
        company_id, read_timeout=read, max_attempts=WORKER_ATTEMPTS, max_rate_wait=0,
        on_call_limit=_observe_call_limit,
    )  # fmt: skip


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
    except (fr.NotInstalled, fr.NeedsReinstall) as exc:
        _requeue(update, exc, delay=settings.FULFILLMENT_OUTBOX_REINSTALL_DELAY)
        return "not_installed"
    except fr.RateLimited as exc:
        _hold_company(update.company_id, exc.retry_after)
        _requeue(update, exc, delay=exc.retry_after)
        return "retry"
    except (fr.Unavailable, fr.BadResponse) as exc:
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
    base = settings.FULFILLMENT_OUTBOX_BACKOFF_BASE
    return min(900.0, base * 2 ** max(0, attempts - 1)) * random.uniform(0.5, 1.0)


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
            update.order_id, update.company_id, update.attempts,
        )  # fmt: skip
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


# --- Pacing (CONTRACT.md §5) ----------------------------------------------------------------


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


# --- Lists ------------------------------------------------------------------------------------


def remember_list(
    *, company_id: int, kind: str, params: str, orders: list[fr.Fulfillment], version: int
) -> ListCache:
    cache, _ = ListCache.objects.update_or_create(
        company_id=company_id,
        kind=kind,
        params=params,
        defaults={
            "payload": [asdict(order) for order in orders],
            "count": len(orders),
            "fetched_at": timezone.now(),
            "version": version,
        },
    )
    return cache


def invalidate_lists(*, company_id: int) -> None:
    """A new order arrived (webhook): the next list view fetches fresh, open pages are told."""
    CompanyOutbox.objects.get_or_create(company_id=company_id)
    CompanyOutbox.objects.filter(company_id=company_id).update(list_version=F("list_version") + 1)


# --- CSV import -------------------------------------------------------------------------------

CSV_MAX_BYTES = 2 * 1024 * 1024
CSV_MAX_ROWS = 10_000


def _csv_rows(data: bytes) -> Iterable[tuple[int, list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AppError(
            "The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again.",
            field_errors={"file": ["Not UTF-8 text."]},
        ) from None
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    for number, row in enumerate(reader, start=1):
        if any(cell.strip() for cell in row):
            yield number, row


def preview_tracking_csv(
    *, company_id: int, user_id: str, filename: str, data: bytes, ship: bool,
    orders: dict[int, fr.Fulfillment],
) -> CsvImport:  # fmt: skip
    """Check every row against the shop's orders and keep the verdicts; nothing is sent yet.

    ``orders`` is every order of the shop, by id, as the owner sees them now.
    """
    if len(data) > CSV_MAX_BYTES:
        raise AppError("The file is larger than 2 MB.", field_errors={"file": ["Too large."]})
    rows = list(_csv_rows(data))
    if rows and rows[0][1] and not rows[0][1][0].strip().lstrip("#").isdigit():
        rows = rows[1:]  # a header line
    if not rows:
        raise AppError("The file has no rows.", field_errors={"file": ["No rows."]})
    if len(rows) > CSV_MAX_ROWS:
        raise AppError(
            f"The file has {len(rows)} rows; at most {CSV_MAX_ROWS} at a time.",
            field_errors={"file": ["Too many rows."]},
        )
    pending = _pending_ships(company_id)
    seen: dict[int, int] = {}
    built = []
    for line, cells in rows:
        raw_id = cells[0].strip() if cells else ""
        raw_tracking = ",".join(cells[1:]).strip() if len(cells) > 1 else ""
        row = CsvImportRow(line=line, raw_order_id=raw_id[:100], tracking_number=raw_tracking[:200])
        order_id = int(raw_id.lstrip("#")) if raw_id.lstrip("#").isdigit() else None
        row.order_id = order_id if order_id is not None and order_id < 2**62 else None
        if row.order_id is None:
            row.verdict, row.reason = CsvImportRow.Verdict.INVALID, "The order id is not a number."
        elif row.order_id in seen:
            row.verdict = CsvImportRow.Verdict.DUPLICATE
            row.reason = f"Order {row.order_id} is already on line {seen[row.order_id]}."
        elif row.order_id not in orders:
            row.verdict, row.reason = CsvImportRow.Verdict.UNKNOWN, "No such order in this shop."
        elif ship and (orders[row.order_id].is_shipped or row.order_id in pending):
            row.verdict, row.reason = CsvImportRow.Verdict.SHIPPED, "Already shipped."
        else:
            try:
                row.tracking_number = normalize_tracking(raw_tracking)
            except AppError as exc:
                row.verdict, row.reason = CsvImportRow.Verdict.INVALID, exc.message
            else:
                if not row.tracking_number:
                    row.verdict = CsvImportRow.Verdict.INVALID
                    row.reason = "The tracking number is missing."
                else:
                    row.verdict = CsvImportRow.Verdict.READY
        if row.order_id is not None and row.order_id not in seen:
            seen[row.order_id] = line
        built.append(row)
    with transaction.atomic():
        job = CsvImport.objects.create(
            company_id=company_id,
            user_id=user_id or "",
            filename=filename[:255],
            ship=ship,
            total_rows=len(built),
            ready_rows=sum(1 for r in built if r.verdict == CsvImportRow.Verdict.READY),
        )
        for row in built:
            row.csv_import = job
        CsvImportRow.objects.bulk_create(built, batch_size=500)
    return job


def _pending_ships(company_id: int) -> set[int]:
    return set(
        PendingUpdate.objects.filter(
            company_id=company_id, status=SHIPPED, state__in=[*PendingUpdate.ACTIVE, State.ACCEPTED]
        ).values_list("order_id", flat=True)
    )


CSV_APPLY_CHUNK = 200


def confirm_tracking_csv(*, company_id: int, user_id: str, import_id: int) -> CsvImport:
    """Start applying a previewed import (once, however often it is confirmed).

    The rows are queued by a task, not in this request: thousands of changes in one web
    transaction would hold the database's write lock and be rolled back whole by a timeout.
    The changes are attributed to whoever confirmed.
    """
    from ..tasks.fulfillments import apply_tracking_csv as apply_task

    with transaction.atomic():
        job = CsvImport.objects.select_for_update().filter(company_id=company_id, pk=import_id).first()
        if job is None:
            raise AppError("This import does not exist.")
        if job.state != CsvImport.State.PREVIEW:
            return job
        job.state = CsvImport.State.APPLYING
        job.confirmed_at = timezone.now()
        job.user_id = user_id or ""
        job.save(update_fields=["state", "confirmed_at", "user_id"])
        transaction.on_commit(lambda: apply_task.enqueue(job.pk))
    return job


def apply_tracking_csv(*, import_id: int) -> int:
    """Queue a confirmed import's ready rows, a chunk per transaction; returns how many.

    Safe to run twice or after a crash halfway: a row already linked to its change is skipped,
    and each row's idempotency key yields the same change again.
    """
    job = CsvImport.objects.filter(pk=import_id, state=CsvImport.State.APPLYING).first()
    if job is None:
        return 0
    index = cached_order_index(job.company_id)
    queued = 0
    while True:
        with transaction.atomic():
            chunk = list(
                job.rows.select_for_update()
                .filter(verdict=CsvImportRow.Verdict.READY, update__isnull=True)
                .order_by("line")[:CSV_APPLY_CHUNK]
            )
            if not chunk:
                break
            for row in chunk:
                row.update = change_order(
                    company_id=job.company_id, user_id=job.user_id, order_id=row.order_id,
                    tracking_number=row.tracking_number, ship=True if job.ship else None,
                    source=Source.CSV, idempotency_key=f"csv:{job.pk}:{row.line}",
                    csv_import=job, verify_order=False, schedule=False, index=index,
                )  # fmt: skip
                row.save(update_fields=["update"])
            schedule_sending(company_id=job.company_id)
        queued += len(chunk)
    _import_row_settled(job.pk)
    return queued


def cancel_tracking_csv(*, company_id: int, import_id: int) -> None:
    CsvImport.objects.filter(company_id=company_id, pk=import_id, state=CsvImport.State.PREVIEW).update(
        state=CsvImport.State.CANCELLED
    )


def _import_row_settled(import_id: int | None) -> None:
    """One of an import's rows left the outbox: the import is done when all are queued and
    none is still on its way. Called by whoever ends a row, so reading a page never writes."""
    if import_id is None:
        return
    unqueued = CsvImportRow.objects.filter(
        csv_import_id=import_id, verdict=CsvImportRow.Verdict.READY, update__isnull=True
    )
    active = PendingUpdate.objects.filter(csv_import_id=import_id, state__in=PendingUpdate.ACTIVE)
    if not unqueued.exists() and not active.exists():
        CsvImport.objects.filter(pk=import_id, state=CsvImport.State.APPLYING).update(
            state=CsvImport.State.DONE
        )
