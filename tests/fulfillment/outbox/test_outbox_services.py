"""Outbox invariants found in review: replaced changes keep their fields, late results are
fenced, outages do not refuse an owner's change, retries and bulk forms cannot lose work."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from frapp.errors import AppError
from fulfillment.orders.services import order_list
from fulfillment.outbox import bulk, sender, services
from fulfillment.outbox.models import AuditEntry, PendingUpdate

pytestmark = pytest.mark.django_db

State = PendingUpdate.State


def open_ids(sandbox, count=1, company_id=1202):
    return [o["id"] for o in sandbox.fulfillments(company_id) if o["status"] == 0][:count]


def drain():
    for _ in range(50):
        if not PendingUpdate.objects.filter(state__in=PendingUpdate.ACTIVE).exists():
            return
        sender.send_pending_updates(company_id=1202)


@pytest.fixture
def listed(installed, sandbox, settings):
    settings.FULFILLMENT_OUTBOX_BACKOFF_BASE = 0
    installed(1202)
    order_list(company_id=1202, kind="open")
    return sandbox


def ship(order_id, **kw):
    return services.mark_shipped(company_id=1202, user_id="4711", order_id=order_id, **kw)


def track(order_id, number):
    return services.save_tracking(company_id=1202, user_id="4711", order_id=order_id, tracking_number=number)


def expire_lease(update):
    PendingUpdate.objects.filter(pk=update.pk).update(lease_until=timezone.now() - timedelta(seconds=1))


# --- 1. a newer change replacing an in-flight one keeps its fields ---------------------------


def test_ship_survives_when_it_fails_in_flight_and_a_tracking_change_replaces_it(listed):
    (order_id,) = open_ids(listed)
    ship(order_id)
    in_flight = sender._claim_next(1202)
    newer = track(order_id, "TRK1")
    listed.faults(error_rate=1.0, error_codes=[500], error_rate_writes_only=True)
    sender._send(sender._worker_client(1202), in_flight)
    listed.faults()
    drain()
    in_flight.refresh_from_db()
    newer.refresh_from_db()
    assert (in_flight.state, newer.state) == (State.SUPERSEDED, State.ACCEPTED)
    assert (newer.status, newer.tracking_number) == (100, "TRK1")
    at_sandbox = listed.fulfillment(1202, order_id)
    assert (at_sandbox["status"], at_sandbox["tracking_number"]) == (100, "TRK1")


def test_ship_survives_when_its_worker_dies_and_a_tracking_change_replaces_it(listed):
    (order_id,) = open_ids(listed)
    ship(order_id, tracking_number="OLD")
    in_flight = sender._claim_next(1202)
    track(order_id, "NEW")
    expire_lease(in_flight)
    drain()
    at_sandbox = listed.fulfillment(1202, order_id)
    # The newer tracking wins; the older change's "ship" fills the gap.
    assert (at_sandbox["status"], at_sandbox["tracking_number"]) == (100, "NEW")
    assert PendingUpdate.objects.get(pk=in_flight.pk).state == State.SUPERSEDED


# --- 2. a lease that ran out fences the first worker's late result ---------------------------


def test_a_late_failure_from_a_worker_whose_lease_ran_out_does_not_undo_the_acceptance(listed):
    (order_id,) = open_ids(listed)
    ship(order_id, tracking_number="FENCE")
    slow = sender._claim_next(1202)
    expire_lease(slow)
    assert sender.send_pending_updates(company_id=1202) == 1  # a second worker finishes it
    listed.faults(error_rate=1.0, error_codes=[500], error_rate_writes_only=True)
    sender._send(sender._worker_client(1202), slow)  # the first worker's PUT fails late
    listed.faults()
    row = PendingUpdate.objects.get(pk=slow.pk)
    assert row.state == State.ACCEPTED
    assert [e.kind for e in row.events.all()][-1] == "accepted"


def test_a_late_result_does_not_finish_the_row_another_worker_has_claimed_since(listed):
    (order_id,) = open_ids(listed)
    ship(order_id, tracking_number="RECLAIM")
    slow = sender._claim_next(1202)
    expire_lease(slow)
    current = sender._claim_next(1202)  # released and claimed again: a new attempt
    assert (current.pk, current.attempts) == (slow.pk, slow.attempts + 1)
    sender._send(sender._worker_client(1202), slow)
    assert PendingUpdate.objects.get(pk=slow.pk).state == State.SENDING  # still the second claim's
    sender._send(sender._worker_client(1202), current)
    assert PendingUpdate.objects.get(pk=slow.pk).state == State.ACCEPTED


def test_a_newer_change_waits_while_an_older_one_is_sending_under_a_live_lease(listed):
    (order_id,) = open_ids(listed)
    ship(order_id)
    sender._claim_next(1202)
    newer = track(order_id, "WAIT")
    assert sender.send_pending_updates(company_id=1202) == 0
    assert PendingUpdate.objects.get(pk=newer.pk).state == State.QUEUED


def test_the_worker_client_gives_up_within_one_lease():
    client = sender._worker_client(1202)
    connect, read = client.timeout
    # PUT and fallback GET, each with its tries plus one after a token refresh.
    worst = 2 * (client.max_attempts + 1) * (connect + read)
    assert client.max_attempts == 2 and client.max_rate_wait == 0
    assert worst < django_settings.FULFILLMENT_OUTBOX_LEASE_SECONDS


# --- 3. FlickRocket being down does not refuse an owner's change -----------------------------


def test_a_change_to_an_uncached_order_is_saved_while_flickrocket_is_down(shop, sandbox, settings):
    settings.FULFILLMENT_OUTBOX_BACKOFF_BASE = 0
    (order_id,) = open_ids(sandbox)
    sandbox.faults(outage=True)
    response = shop.post(
        f"fulfillments/{order_id}/ship", {"action": "ship", "tracking_number": "DOWN-1", "form_key": "d1"}
    )
    assert response.status_code == 302
    assert PendingUpdate.objects.get(order_id=order_id).state == State.QUEUED
    sandbox.faults()
    drain()
    at_sandbox = sandbox.fulfillment(1202, order_id)
    assert (at_sandbox["status"], at_sandbox["tracking_number"]) == (100, "DOWN-1")


def test_a_mistyped_id_saved_during_an_outage_ends_visibly_refused(installed, sandbox, settings):
    settings.FULFILLMENT_OUTBOX_BACKOFF_BASE = 0
    installed(1202)
    sandbox.faults(outage=True)
    update = ship(987654321, tracking_number="NOPE")
    sandbox.faults()
    drain()
    update.refresh_from_db()
    assert update.state == State.REFUSED and update.last_error


def test_a_mistyped_id_is_still_refused_at_once_when_flickrocket_answers(installed, sandbox):
    installed(1202)
    with pytest.raises(AppError, match="not one of this shop's orders"):
        ship(987654321)
    assert not PendingUpdate.objects.exists()


def test_scanning_asks_flickrocket_for_the_order_once(shop, sandbox):
    (order_id,) = open_ids(sandbox)
    sandbox.clear_calls()
    response = shop.post("fulfillments/scan/", {"order_id": str(order_id), "tracking_number": "SCAN-1"})
    assert response.status_code == 200
    assert PendingUpdate.objects.get(order_id=order_id).tracking_number == "SCAN-1"
    gets = [c for c in sandbox.calls()["calls"] if c["method"] == "GET" and f"/{order_id}.json" in c["path"]]
    assert len(gets) == 1


# --- 4. retrying an old refused change ---------------------------------------------------------


def refused_then(listed, order_id):
    listed.faults(error_rate=1.0, error_codes=[422], error_rate_writes_only=True)
    old = ship(order_id, tracking_number="OLD-1")
    drain()
    listed.faults()
    old.refresh_from_db()
    assert old.state == State.REFUSED
    return old


def test_an_old_refused_change_cannot_be_retried_over_a_newer_accepted_one(listed):
    (order_id,) = open_ids(listed)
    old = refused_then(listed, order_id)
    track(order_id, "NEW-1")
    drain()
    with pytest.raises(AppError, match="newer change to this order was already accepted"):
        services.retry_update(company_id=1202, user_id="4711", update_id=old.pk)
    assert PendingUpdate.objects.get(pk=old.pk).state == State.REFUSED
    assert listed.fulfillment(1202, order_id)["tracking_number"] == "NEW-1"


def test_a_retry_is_audited_and_sent(listed):
    (order_id,) = open_ids(listed)
    old = refused_then(listed, order_id)
    services.retry_update(company_id=1202, user_id="4712", update_id=old.pk)
    audit = AuditEntry.objects.get(source="retry")
    assert (audit.order_id, audit.user_id, audit.new_status, audit.new_tracking_number) == (
        order_id,
        "4712",
        100,
        "OLD-1",
    )
    drain()
    assert listed.fulfillment(1202, order_id)["tracking_number"] == "OLD-1"


# --- 5. bulk form keys -------------------------------------------------------------------------


def test_a_resubmitted_bulk_form_with_a_grown_selection_queues_only_the_new_orders(listed):
    first, second = open_ids(listed, 2)
    key = "K" * 64  # the longest key the form accepts
    once = bulk.mark_many_shipped(company_id=1202, user_id="4711", orders={first: ""}, idempotency_key=key)
    again = bulk.mark_many_shipped(
        company_id=1202, user_id="4711", orders={first: "", second: "B-2"}, idempotency_key=key
    )
    assert [u.order_id for u in once.queued] == [first]
    assert ([u.order_id for u in again.queued], again.already) == ([second], [first])
    assert PendingUpdate.objects.count() == 2
    assert all(len(k) <= 64 for k in PendingUpdate.objects.values_list("idempotency_key", flat=True))


# --- 7. selections ------------------------------------------------------------------------------


def test_a_forged_id_in_a_selection_is_dropped_without_asking_flickrocket(shop, sandbox):
    shop.get("fulfillments/")
    (order_id,) = open_ids(sandbox)
    sandbox.clear_calls()
    response = shop.post("fulfillments/slips/", {"ids": f"{order_id},987654321"})
    assert response.status_code == 200
    assert str(order_id) in response.content.decode() and "987654321" not in response.content.decode()
    assert not [c for c in sandbox.calls()["calls"] if c["path"].startswith("/api/")]


def test_with_pack_verification_on_a_refused_unverified_ship_cannot_be_retried(listed):
    from fulfillment.packing.models import PackingSettings

    (order_id,) = open_ids(listed)
    old = refused_then(listed, order_id)
    PackingSettings.objects.create(company_id=1202, verify_items=True)
    with pytest.raises(AppError, match=f"ship order #{order_id} at the packing bench"):
        services.retry_update(company_id=1202, user_id="4711", update_id=old.pk)
    assert PendingUpdate.objects.get(pk=old.pk).state == State.REFUSED
