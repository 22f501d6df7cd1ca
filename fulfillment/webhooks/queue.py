"""The stored deliveries are the worker's queue.

Queueing one task per delivery cost the receiver a second INSERT (and the worker a claim and a
result write per delivery), which under a burst doubled the writes that SQLite serialises. So
the receiver only *wakes* the worker: it queues one ``drain_webhook_deliveries`` task unless
one is already waiting to start, and that task claims the waiting deliveries in batches.

Why skipping is safe: the receiver looks for a waiting drain only after its row is committed.
A drain that is still waiting (READY) has not started, so the query it starts with runs after
that commit and sees the row. A drain that already started is RUNNING, not waiting, so the
receiver queues a new one.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.db import connections, router, transaction
from django.db.models import F, Q
from django.tasks import TaskResultStatus
from django.utils import timezone

from .models import WebhookDelivery

# Small enough that a batch is acted on well within CLAIM_LEASE even when some deliveries
# wait on FlickRocket; large enough that claiming costs one write per batch, not per delivery.
DRAIN_BATCH = 20
# A drain hands over to a fresh task after this long, so one burst never holds a worker forever.
DRAIN_BUDGET_SECONDS = 60.0


# SQLite has no queue for its write lock: a drain that claims its next batch the moment it
# commits keeps winning it, while the receivers' threads wait in sleeps growing to 100 ms, so
# deliveries waited on the drain to be answered (a burst's p99 376-533 ms; 297-330 ms with a
# 50 ms pause; 242-285 ms with 150 ms while deliveries keep arriving). Acting waits instead: the
# rest stays stored and is acted on right after the burst (bench/README.md, Webhooks).
SQLITE_PAUSE_BETWEEN_BATCHES = 0.15
# A delivery received this recently means the receivers are at work (a burst is arriving).
RECEIVERS_BUSY_WITHIN = timedelta(seconds=0.5)


# The drain this process queued last. Looking up that one row by its key costs a fraction of
# queueing a task (a write, which SQLite serialises) or of searching the task table.
_last_drain_id: str | None = None


def wake_worker() -> None:
    """Make sure a drain will run after this moment (call it after the delivery is committed)."""
    global _last_drain_id
    from .tasks import drain_webhook_deliveries as drain

    if _last_drain_id is not None and _still_waiting(drain, _last_drain_id):
        return
    # Two threads may both get here: an extra drain finds nothing to do, which is harmless.
    _last_drain_id = drain.enqueue().id


def _still_waiting(drain, task_id: str) -> bool:
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    if not isinstance(drain.get_backend(), DatabaseBackend):
        return False  # another backend: nothing to look at, queue one each time
    connection = connections[router.db_for_read(DBTaskResult)]
    table = connection.ops.quote_name(DBTaskResult._meta.db_table)
    # Drains are queued without run_after, so READY means it starts as soon as a worker is free.
    sql = f"SELECT 1 FROM {table} WHERE id = %s AND status = %s"  # noqa: S608
    params = [DBTaskResult._meta.pk.get_db_prep_value(task_id, connection), TaskResultStatus.READY]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


def claim_batch(*, limit: int = DRAIN_BATCH, lease) -> list[WebhookDelivery]:
    """Take up to ``limit`` waiting deliveries for this worker, oldest first.

    One transaction: on SQLite it holds the write lock (IMMEDIATE), on PostgreSQL the rows are
    locked and other workers skip them, so no delivery is claimed by two workers.
    """
    now = timezone.now()
    waiting = WebhookDelivery.objects.filter(signature_ok=True, processed_at__isnull=True).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
    )
    with transaction.atomic():
        ids = list(
            waiting.select_for_update(skip_locked=True)
            .order_by("received_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        if not ids:
            return []
        WebhookDelivery.objects.filter(id__in=ids).update(
            claimed_until=now + lease, attempts=F("attempts") + 1
        )
        return list(WebhookDelivery.objects.filter(id__in=ids).order_by("received_at", "id"))


def _leave_the_lock_to_the_receivers() -> None:
    """Only while deliveries are still coming in: after a burst, acting catches up at full speed."""
    if connections[router.db_for_write(WebhookDelivery)].vendor != "sqlite":
        return
    latest = WebhookDelivery.objects.order_by("-id").values_list("received_at", flat=True).first()
    if latest is not None and timezone.now() - latest < RECEIVERS_BUSY_WITHIN:
        time.sleep(SQLITE_PAUSE_BETWEEN_BATCHES)


def drain(*, act_batch, lease) -> int:
    """Act on waiting deliveries until none is left (or the budget is spent); returns how many."""
    deadline = time.monotonic() + DRAIN_BUDGET_SECONDS
    done = 0
    while True:
        batch = claim_batch(lease=lease)
        if batch:
            act_batch(batch)
            done += len(batch)
            _leave_the_lock_to_the_receivers()
        if not batch:
            return done
        if time.monotonic() > deadline:
            wake_worker()  # what is left goes to the next drain
            return done
