"""The data version under PostgreSQL concurrency: the bump runs at commit, once per company, in
ascending company order, so two transactions that wrote rows of two shops in opposite orders
(two workers' batches, a prune across shops) never lock the version rows in opposite orders.
"""

import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.db.models import F
from django.utils import timezone

from fulfillment.outbox.models import PendingUpdate
from tests.factories import make_pending_update

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'"),
]


def claim(ids: list[int], errors: list, started: threading.Event) -> None:
    """A worker's claim of a batch of changes, one at a time in the batch's order."""
    try:
        with transaction.atomic():
            for pk in ids:
                PendingUpdate.objects.filter(pk=pk).update(
                    lease_until=timezone.now(), attempts=F("attempts") + 1
                )
            started.set()
    except Exception as exc:  # noqa: BLE001 - collected for the assertion
        errors.append(exc)
    finally:
        started.set()
        connections.close_all()


def test_two_workers_claiming_changes_of_two_shops_in_opposite_orders_both_commit():
    a1, b1 = make_pending_update(1202, 1).pk, make_pending_update(4711, 1).pk
    b2, a2 = make_pending_update(4711, 2).pk, make_pending_update(1202, 2).pk
    errors: list = []
    holder_ready, release = threading.Event(), threading.Event()

    def hold_shop_a():
        # Anything that bumps shop A's version at this moment: a page's write, another worker.
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT version FROM frapp_companydataversion WHERE company_id = 1202 FOR UPDATE"
                )
            holder_ready.set()
            release.wait(10)
        connections.close_all()

    holder = threading.Thread(target=hold_shop_a)
    holder.start()
    holder_ready.wait(5)
    one_started, two_started = threading.Event(), threading.Event()
    one = threading.Thread(target=claim, args=([a1, b1], errors, one_started))  # A then B
    two = threading.Thread(target=claim, args=([b2, a2], errors, two_started))  # B then A
    one.start()
    one_started.wait(5)
    time.sleep(0.3)  # worker one's commit now waits for A
    two.start()
    two_started.wait(5)
    time.sleep(0.3)  # worker two's commit holds B and waits for A
    release.set()
    for thread in (holder, one, two):
        thread.join(15)
    assert not errors, errors
    assert PendingUpdate.objects.filter(attempts=1).count() == 4
