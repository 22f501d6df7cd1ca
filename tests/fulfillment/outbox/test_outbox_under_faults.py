"""The outbox against a failing, rate-limiting sandbox, and a real worker killed mid-job."""

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fulfillment.orders.services import order_list
from fulfillment.outbox.bulk import mark_many_shipped
from fulfillment.outbox.models import AuditEntry, PendingUpdate
from fulfillment.outbox.sender import send_pending_updates
from tests.workers import process_env, start_worker

REPO = Path(__file__).resolve().parents[3]
State = PendingUpdate.State


def puts_by_order(calls):
    by_order = {}
    for call in calls:
        if call["method"] == "PUT" and "/api/fulfillments/" in call["path"]:
            order_id = int(call["path"].rsplit("/", 1)[1].split(".")[0])
            by_order.setdefault(order_id, []).append(call)
    # The log records a call when it answers; a timed-out call answers late, so order by start.
    for puts in by_order.values():
        puts.sort(key=lambda c: c["t"] - (c.get("ms") or 0) / 1000)
    return by_order


def assert_each_sent_once_after_acceptance(calls, order_ids, *, allowed_repeats=0):
    """After FlickRocket accepted an order's change (a 200), it never got that change again."""
    by_order = puts_by_order(calls)
    repeats = 0
    for order_id in order_ids:
        puts = by_order[order_id]
        accepted = [i for i, call in enumerate(puts) if call["status"] == 200]
        assert accepted, f"order {order_id} never accepted"
        repeats += len(puts) - 1 - accepted[0]
    assert repeats <= allowed_repeats, {
        order_id: [(c["status"], c["fault"], round(c["t"], 3), c["ms"]) for c in by_order[order_id]]
        for order_id in order_ids
        if len(by_order[order_id]) > 1
    }
    assert set(by_order) <= set(order_ids)  # no other order touched


@pytest.mark.django_db
def test_a_csv_sized_job_ends_exact_under_write_errors_lost_answers_and_a_tight_bucket(
    installed, sandbox, settings
):
    sandbox.reset(bucket_size=10, leak_rate=20.0, open_orders=60)
    settings.FULFILLMENT_OUTBOX_BACKOFF_BASE = 0
    installed(1202)
    before = {o["id"]: o for o in sandbox.fulfillments(1202)}
    opens = sorted(i for i, o in before.items() if o["status"] == 0)
    order_list(company_id=1202, kind="open")
    wanted = {order_id: f"FLT-{order_id}" for order_id in opens}
    sandbox.faults(error_rate=0.3, error_rate_writes_only=True, apply_then_fail_rate=0.1)
    sandbox.clear_calls()
    mark_many_shipped(company_id=1202, user_id="4711", orders=wanted, idempotency_key="faults")
    for _ in range(400):
        if not PendingUpdate.objects.filter(state__in=PendingUpdate.ACTIVE).exists():
            break
        send_pending_updates(company_id=1202)
    assert not PendingUpdate.objects.exclude(state=State.ACCEPTED).exists()

    after = {o["id"]: o for o in sandbox.fulfillments(1202)}
    for order_id, order in after.items():
        if order_id in wanted:
            assert (order["status"], order["tracking_number"]) == (100, wanted[order_id])
        else:
            assert order == before[order_id]
    calls = sandbox.calls()
    faults = {c["fault"] for c in calls["calls"]}
    assert {"error", "lost_answer"} <= faults  # the run really met both kinds of failure
    # Retries after a lost answer come before the first 200; nothing is sent after it.
    assert_each_sent_once_after_acceptance(calls["calls"], list(wanted), allowed_repeats=0)
    audit = AuditEntry.objects.filter(source="bulk")
    assert sorted(audit.values_list("order_id", flat=True)) == opens
    assert all(entry.update.state == State.ACCEPTED for entry in audit)
    assert calls["rate_limited"] <= 3  # paced from the call-limit header, not by hitting 429s


def accepted_count():
    return PendingUpdate.objects.filter(state=State.ACCEPTED).count()


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_is_restarted_and_finishes_the_job_without_losing_or_repeating(installed, sandbox):
    installed(1202)
    opens = sorted(o["id"] for o in sandbox.fulfillments(1202) if o["status"] == 0)[:40]
    order_list(company_id=1202, kind="open")
    sandbox.faults(latency_ms=60)
    sandbox.clear_calls()
    env = {"FULFILLMENT_OUTBOX_LEASE_SECONDS": "3", "FULFILLMENT_OUTBOX_BACKOFF_BASE": "0"}
    mark_many_shipped(
        company_id=1202, user_id="4711", orders={i: f"KILL-{i}" for i in opens}, idempotency_key="k"
    )
    worker = start_worker(**env)
    try:
        assert sandbox.wait_for(lambda: accepted_count() >= 8, timeout=30)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        halfway = accepted_count()
        assert halfway < len(opens)
        subprocess.run(
            [sys.executable, "manage.py", "resume_outbox"],
            cwd=REPO,
            env=process_env(**env),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        worker = start_worker(**env)
        assert sandbox.wait_for(lambda: accepted_count() == len(opens), timeout=60)
    finally:
        if worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
    after = {o["id"]: o for o in sandbox.fulfillments(1202)}
    assert all(after[i]["tracking_number"] == f"KILL-{i}" and after[i]["status"] == 100 for i in opens)
    # Only the one change in flight when the worker died may have reached FlickRocket twice.
    assert_each_sent_once_after_acceptance(sandbox.calls()["calls"], opens, allowed_repeats=1)
    assert PendingUpdate.objects.count() == len(opens)


def drain(limit=400):
    for _ in range(limit):
        if not PendingUpdate.objects.filter(state__in=PendingUpdate.ACTIVE).exists():
            return
        send_pending_updates(company_id=1202)


def ship_all_open(installed, sandbox, count, key):
    installed(1202)
    opens = sorted(o["id"] for o in sandbox.fulfillments(1202) if o["status"] == 0)[:count]
    order_list(company_id=1202, kind="open")
    wanted = {i: f"{key}-{i}" for i in opens}
    mark_many_shipped(company_id=1202, user_id="4711", orders=wanted, idempotency_key=key)
    return wanted


def assert_exactly_shipped(sandbox, wanted, before):
    for order_id, order in ((o["id"], o) for o in sandbox.fulfillments(1202)):
        if order_id in wanted:
            assert (order["status"], order["tracking_number"]) == (100, wanted[order_id])
        else:
            assert order == before[order_id]


@pytest.mark.django_db
def test_an_outage_in_the_middle_of_a_bulk_job_pauses_it_and_it_finishes_exactly(
    installed, sandbox, settings, embedded
):
    settings.FULFILLMENT_OUTBOX_BACKOFF_BASE = 0
    before = {o["id"]: o for o in sandbox.fulfillments(1202)}
    wanted = ship_all_open(installed, sandbox, 30, "OUTAGE")
    sandbox.clear_calls()
    send_pending_updates(company_id=1202)  # part of the job goes out
    sent_before = PendingUpdate.objects.filter(state=State.ACCEPTED).count()
    assert 0 < sent_before < len(wanted)
    sandbox.faults(outage=True)
    for _ in range(3):
        send_pending_updates(company_id=1202)
    # Nothing is given up or marked failed while FlickRocket is down.
    assert not PendingUpdate.objects.filter(state=State.REFUSED).exists()
    assert PendingUpdate.objects.filter(state=State.ACCEPTED).count() == sent_before
    page = embedded(1202).get("fulfillments/?refresh=1")
    assert page.status_code == 200  # the last list we fetched, with a banner, not an error page
    assert 'id="stale-banner"' in page.content.decode()
    sandbox.faults()
    drain()
    assert not PendingUpdate.objects.exclude(state=State.ACCEPTED).exists()
    assert_exactly_shipped(sandbox, wanted, before)
    assert_each_sent_once_after_acceptance(sandbox.calls()["calls"], list(wanted))


@pytest.mark.django_db
def test_timeouts_are_retried_and_the_job_ends_exact(installed, sandbox, settings):
    settings.FULFILLMENT_OUTBOX_BACKOFF_BASE = 0
    settings.FLICKROCKET_READ_TIMEOUT = 1.0  # generous: only the faulted calls may time out
    before = {o["id"]: o for o in sandbox.fulfillments(1202)}
    wanted = ship_all_open(installed, sandbox, 12, "TIMEOUT")
    sandbox.faults(timeout_rate=0.3, timeout_seconds=2.5, error_rate_writes_only=True)
    sandbox.clear_calls()
    drain()
    assert not PendingUpdate.objects.exclude(state=State.ACCEPTED).exists()
    assert "timeout" in {c["fault"] for c in sandbox.calls()["calls"]}
    assert_exactly_shipped(sandbox, wanted, before)
    # A timed-out PUT was applied without us hearing it: only such a call may be followed by
    # the same body again. Once an acceptance reached us, the order is never sent again.
    by_order = puts_by_order(sandbox.calls()["calls"])
    for order_id in wanted:
        heard = [
            i for i, c in enumerate(by_order[order_id]) if c["status"] == 200 and c["fault"] != "timeout"
        ]
        assert heard and heard[0] == len(by_order[order_id]) - 1, [
            (c["status"], c["fault"], round(c["t"], 2)) for c in by_order[order_id]
        ]


@pytest.mark.django_db
def test_a_429_storm_is_waited_out_and_the_job_ends_exact(installed, sandbox, settings):
    import threading

    import requests

    settings.FULFILLMENT_OUTBOX_BACKOFF_BASE = 0
    sandbox.reset(bucket_size=5, leak_rate=10.0)
    before = {o["id"]: o for o in sandbox.fulfillments(1202)}
    wanted = ship_all_open(installed, sandbox, 15, "STORM")
    # Another client of the same shop keeps the shared bucket full: the app meets 429s it did
    # not cause and must wait them out.
    token = sandbox.access_token(1202)
    stop = threading.Event()

    def storm():
        import time

        ends = time.monotonic() + 2.0  # a storm, not a siege
        with requests.Session() as http:
            while not stop.is_set() and time.monotonic() < ends:
                http.get(
                    sandbox.url + "/api/fulfillments/count.json",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=5,
                )

    hammer = threading.Thread(target=storm, daemon=True)
    sandbox.clear_calls()
    hammer.start()
    try:
        drain()
    finally:
        stop.set()
        hammer.join(timeout=10)
    calls = sandbox.calls()["calls"]
    app_puts = [c for c in calls if c["method"] == "PUT"]
    assert any(c["status"] == 429 for c in app_puts)  # the storm really reached the app
    assert not PendingUpdate.objects.exclude(state=State.ACCEPTED).exists()
    assert_exactly_shipped(sandbox, wanted, before)
    assert_each_sent_once_after_acceptance(calls, list(wanted))
