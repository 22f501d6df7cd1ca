"""The receiver's write path: verify, one short INSERT, answer (docs/flickrocket.md, Webhook deliveries).

Acting happens in the worker (``fulfillment.webhooks.processing``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connections, router, transaction
from django.db.models import F
from django.utils import timezone

import flickrocket as fr
from flickrocket.signing import webhook_is_valid
from oauth.models import Installation

from .models import WebhookDelivery, WebhookRefusalWindow
from .queue import wake_worker

logger = logging.getLogger(__name__)


# Refused attempts are unauthenticated writes: at most this many a minute are recorded, by all
# processes together (WebhookRefusalWindow); the rest are only logged.
REFUSALS_RECORDED_PER_MINUTE = 60
REFUSAL_WINDOWS_KEPT = 5  # minutes of counters kept; older ones are deleted as new ones open
# Acting twice on these is wrong or pointless, and their body identifies the event: an order is
# created once; an uninstall notice belongs to one install (see _install_epoch). Every other
# topic (app/update, order/update, ...) names only the object, so the same body later is a new
# event, acted on or recorded every time.
DEDUPLICATED_TOPICS = frozenset({"order/create", "app/uninstalled"})


@dataclass(frozen=True)
class Receipt:
    """What the receiver answers. ``status`` is the HTTP status; ``reason`` goes to the log."""

    status: int
    reason: str
    delivery_id: int | None = None


def receive_delivery(*, raw: bytes) -> Receipt:
    """Verify, store once and enqueue one delivery's raw body (docs/flickrocket.md, Webhook deliveries).

    Never acts here: a 2xx must come back fast, and acting may need FlickRocket.
    """
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return Receipt(400, "body is not JSON")
    if not isinstance(body, dict):
        return Receipt(400, "body is not a JSON object")
    received_hash = body.get("hash")
    if not isinstance(received_hash, str) or not received_hash.strip():
        _record_refusal(body, "no signature")
        return Receipt(401, "unsigned")
    try:
        valid = webhook_is_valid(secret=settings.FLICKROCKET_CLIENT_SECRET, body=body)
    except RecursionError:
        return Receipt(400, "body nested too deeply")
    if not valid:
        _record_refusal(body, "signature does not match")
        return Receipt(401, "bad signature")

    company_id = _company_id(body.get("company_id"))
    topic = body.get("scope")
    if company_id is None or not isinstance(topic, str) or not topic.strip():
        return Receipt(400, "company_id or scope missing")

    payload = {k: v for k, v in body.items() if k != "hash"}
    topic = fr.canonical_topic(topic)[:64]
    key = _delivery_key(payload, company_id=company_id, topic=topic)
    try:
        with _one_writer_per_process():
            delivery_id = _insert(company_id=company_id, topic=topic, payload=payload, dedupe_key=key)
            # After the commit, so a waiting drain is sure to see the row (queue.py); robust:
            # the row is committed either way, and a failed wake-up is resumed later.
            transaction.on_commit(wake_worker, robust=True)
    except IntegrityError:
        return Receipt(200, "duplicate")
    return Receipt(200, "stored", delivery_id)


def _insert(*, company_id: int, topic: str, payload: dict, dedupe_key: str) -> int:
    """One INSERT, its values prepared by the model's own fields; returns the new id.

    ``objects.create()`` spent more time building the statement than SQLite took to run it, and
    its transaction around a single statement a BEGIN and COMMIT of their own: outside a
    transaction the INSERT commits by itself. Inside one (tests, a caller's atomic block) it
    runs in a savepoint, so a duplicate does not break the caller's transaction.
    """
    alias = router.db_for_write(WebhookDelivery)
    connection = connections[alias]
    values = {
        "company_id": company_id,
        "topic": topic,
        "payload": payload,
        "dedupe_key": dedupe_key,
        "received_at": timezone.now(),
        "signature_ok": True,
        "outcome": WebhookDelivery.Outcome.PENDING,
        "action": "",
        "error": "",
        "attempts": 0,
    }
    fields = [WebhookDelivery._meta.get_field(name) for name in values]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(WebhookDelivery._meta.db_table)} "  # noqa: S608
        f"({', '.join(quote(f.column) for f in fields)}) VALUES ({', '.join(['%s'] * len(fields))}) "
        f"RETURNING {quote(WebhookDelivery._meta.pk.column)}"
    )
    params = [f.get_db_prep_save(values[f.name], connection) for f in fields]
    if not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


# SQLite lets one writer in at a time; the others poll with growing sleeps (up to 100 ms each,
# no queue), so under a burst of 12 threads some deliveries lost the race for a second. Threads
# of one process queue here instead (woken the moment the lock is free), leaving SQLite one
# contender per process. PostgreSQL writes concurrently and does not wait here.
_sqlite_writer = threading.Lock()


@contextmanager
def _one_writer_per_process():
    if connections[router.db_for_write(WebhookDelivery)].vendor != "sqlite":
        yield
        return
    with _sqlite_writer:
        yield


def dedupe_key(payload: dict, *, epoch: str = "") -> str:
    """The same event delivered again has the same key, whatever the key order or spacing."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((epoch + canonical).encode("utf-8")).hexdigest()


def _delivery_key(payload: dict, *, company_id: int, topic: str) -> str:
    if topic not in DEDUPLICATED_TOPICS:
        return dedupe_key(payload, epoch=uuid.uuid4().hex)  # never equal to another delivery's
    return dedupe_key(payload, epoch=_install_epoch(company_id, topic))


def _install_epoch(company_id: int, topic: str) -> str:
    """App notices carry no event id: the same app/uninstalled body comes again after every
    reinstall. Keyed by the install they belong to, a retry is still a duplicate while a new
    notice after a reinstall is not."""
    if not topic.startswith("app/"):
        return ""
    installed_at = (
        Installation.objects.filter(company_id=company_id).values_list("installed_at", flat=True).first()
    )
    return installed_at.isoformat() if installed_at else ""


def _company_id(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**63 else None
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 19:
        return int(value)
    return None


def _record_refusal(body: dict, reason: str) -> None:
    """Keep a trace for the owner's deliveries page, never the body (it is unverified)."""
    company_id = _company_id(body.get("company_id"))
    topic = body.get("scope") if isinstance(body.get("scope"), str) else ""
    logger.warning("webhook refused (%s) claiming company %s topic %r", reason, company_id, topic[:64])
    if company_id is None:
        return
    try:
        if not _take_refusal_slot():
            return
        now = timezone.now()
        WebhookDelivery.objects.create(
            company_id=company_id,
            topic=topic[:64],
            signature_ok=False,
            dedupe_key=None,
            received_at=now,
            processed_at=now,
            outcome=WebhookDelivery.Outcome.REFUSED,
            error=f"Refused: {reason}.",
        )
    except DatabaseError:
        # A diagnostic trace only: the sender gets its 401 whether or not it was written.
        logger.warning("webhook refusal not recorded: the database refused the write", exc_info=True)


# The minute this process found full. A full minute stays full, so the rest of a forged flood
# costs no write transaction (on SQLite, the one write lock every delivery needs).
_full_minute: int | None = None


def _take_refusal_slot() -> bool:
    """One of this minute's REFUSALS_RECORDED_PER_MINUTE, shared by every process.

    The conditional UPDATE is atomic on SQLite and PostgreSQL alike: two processes can never
    both take the last slot.
    """
    global _full_minute
    minute = int(time.time() // 60)
    if minute == _full_minute:
        return False
    taken = _take_slot_in(minute)
    if not taken:
        _full_minute = minute
    return taken


def _take_slot_in(minute: int) -> bool:
    with transaction.atomic():
        taken = WebhookRefusalWindow.objects.filter(
            minute=minute, recorded__lt=REFUSALS_RECORDED_PER_MINUTE
        ).update(recorded=F("recorded") + 1)
        if taken:
            return True
        if WebhookRefusalWindow.objects.filter(minute=minute).exists():
            return False  # this minute is full
        try:
            with transaction.atomic():
                WebhookRefusalWindow.objects.create(minute=minute, recorded=1)
        except IntegrityError:  # another process opened the minute first: take a slot in it
            return bool(
                WebhookRefusalWindow.objects.filter(
                    minute=minute, recorded__lt=REFUSALS_RECORDED_PER_MINUTE
                ).update(recorded=F("recorded") + 1)
            )
        WebhookRefusalWindow.objects.filter(minute__lt=minute - REFUSAL_WINDOWS_KEPT).delete()
        return True


def enqueue_delivery(delivery_id: int, *, run_after=None) -> None:
    from .tasks import process_webhook_delivery

    task = process_webhook_delivery
    if run_after is not None:
        task = task.using(run_after=run_after)
    task.enqueue(delivery_id)
