"""Acting on a drained batch: what needs only our own database is done in one transaction.

Acted on one at a time, each order/create cost the worker an installation read, two writes
(the list version, then the delivery's outcome) and their commits: about 1.4 ms of CPU per
delivery, and two turns of SQLite's one write lock, which the receiver needs for every
delivery it answers. Here a run of such deliveries takes one read of the installations, one
version bump per shop (by its number of new orders) and one transaction.

Only deliveries whose outcome row is still open are counted, in the same transaction as the
bump: a delivery another worker finished meanwhile (its claim ran out) is not acted on twice.
Topics that call FlickRocket (app/uninstalled, app/update) are acted on one by one, in order,
by ``processing.act_on``; so is a run whose transaction fails (with its retries and failure
records), since the rollback left nothing of it behind.
"""

from __future__ import annotations

import logging
from collections import Counter

from django.db import DatabaseError, connections, router, transaction
from django.utils import timezone

from fulfillment.orders.services import invalidate_lists
from oauth.models import Installation

from . import processing
from .models import WebhookDelivery

logger = logging.getLogger(__name__)

ORDER_CREATE = "order/create"


def is_local(topic: str) -> bool:
    """Acting on it reads and writes our database only (no FlickRocket call)."""
    return topic == ORDER_CREATE or topic not in processing.HANDLERS


def act_on_batch(deliveries: list[WebhookDelivery]) -> None:
    """Act on claimed deliveries in the order they were received."""
    run: list[WebhookDelivery] = []
    for delivery in deliveries:
        if is_local(delivery.topic):
            run.append(delivery)
            continue
        _act_locally(run)
        run = []
        processing.act_on(delivery)
    _act_locally(run)


def _act_locally(deliveries: list[WebhookDelivery]) -> None:
    if not deliveries:
        return
    try:
        with transaction.atomic():
            _act_in_transaction(deliveries)
    except DatabaseError:
        logger.warning("a batch of %s deliveries was rolled back; acting one by one", len(deliveries))
        for delivery in deliveries:
            processing.act_on(delivery)


def _act_in_transaction(deliveries: list[WebhookDelivery]) -> None:
    companies = {d.company_id for d in deliveries if d.topic == ORDER_CREATE}
    installed = set(
        Installation.objects.filter(company_id__in=companies)
        .exclude(status=Installation.Status.UNINSTALLED)
        .values_list("company_id", flat=True)
    )
    new_orders: Counter[int] = Counter()
    finish = _Finisher()
    for delivery in deliveries:
        if delivery.topic != ORDER_CREATE:
            action = processing._record_only(delivery)
        elif delivery.company_id in installed:
            action = processing.new_order_action(delivery)
        else:
            action = processing._not_installed(delivery)
        if finish(delivery, action) and action.outcome == WebhookDelivery.Outcome.ACTED:
            new_orders[delivery.company_id] += 1
    for company_id, count in new_orders.items():
        invalidate_lists(company_id=company_id, new_orders=count)


class _Finisher:
    """The outcome UPDATE of ``processing._finish``, prepared once for the whole batch: through
    the ORM, building the statement cost ten times more than running it."""

    def __init__(self):
        self.connection = connections[router.db_for_write(WebhookDelivery)]
        quote = self.connection.ops.quote_name
        column = {f.name: quote(f.column) for f in WebhookDelivery._meta.concrete_fields}
        self.sql = (
            f"UPDATE {quote(WebhookDelivery._meta.db_table)} SET {column['processed_at']} = %s, "  # noqa: S608
            f"{column['claimed_until']} = NULL, {column['outcome']} = %s, {column['action']} = %s, "
            f"{column['error']} = '' WHERE {column['id']} = %s AND {column['processed_at']} IS NULL"
        )
        self.now = self.connection.ops.adapt_datetimefield_value(timezone.now())

    def __call__(self, delivery: WebhookDelivery, action: processing.Action) -> bool:
        """True if this worker finished it (the row was still open)."""
        with self.connection.cursor() as cursor:
            cursor.execute(self.sql, [self.now, action.outcome, action.text[:300], delivery.id])
            return cursor.rowcount == 1
