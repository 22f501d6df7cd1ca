"""The outbox against a failing, rate-limiting sandbox, and a real worker killed mid-job."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from fulfillment.models import AuditEntry, PendingUpdate
from fulfillment.selectors.fulfillments import order_list
from fulfillment.services.fulfillments import mark_many_shipped, send_pending_updates

REPO = Path(__file__).resolve().parents[2]
State = PendingUpdate.State


def puts_by_order(calls):
    by_order = {}
    for call in calls:
        if call["method"] == "PUT" and "/api/fulfillments/" in call["path"]:
            order_id = int(call["path"].rsplit("/", 1)[1].split(".")[0])
            by_order.setdefault(order_id, []).append(call)
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
    assert repeats <= allowed_repeats
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


def worker_env(sandbox, **extra):
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        url = f"sqlite:///{db['NAME']}"
    else:
        host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        url = f"postgres://{db['USER']}:{db['PASSWORD']}@{host}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "FLICKROCKET_API_BASE": sandbox.url,
        "FLICKROCKET_AUTH_BASE": sandbox.url,
        "FULFILLMENT_OUTBOX_LEASE_SECONDS": "3",
        "FULFILLMENT_OUTBOX_BACKOFF_BASE": "0",
        "DJANGO_SETTINGS_MODULE": "frapp.settings",
    }
    env.update(extra)
    return env


def start_worker(env):
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "0.1",
         "--no-startup-delay"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def accepted_count():
    return PendingUpdate.objects.filter(state=State.ACCEPTED).count()


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_is_restarted_and_finishes_the_job_without_losing_or_repeating(installed, sandbox):
    installed(1202)
    opens = sorted(o["id"] for o in sandbox.fulfillments(1202) if o["status"] == 0)[:40]
    order_list(company_id=1202, kind="open")
    sandbox.faults(latency_ms=60)
    sandbox.clear_calls()
    env = worker_env(sandbox)
    mark_many_shipped(
        company_id=1202, user_id="4711", orders={i: f"KILL-{i}" for i in opens}, idempotency_key="k"
    )
    worker = start_worker(env)
    try:
        assert sandbox.wait_for(lambda: accepted_count() >= 8, timeout=30)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        halfway = accepted_count()
        assert halfway < len(opens)
        subprocess.run(
            [sys.executable, "manage.py", "resume_outbox"], cwd=REPO, env=env, check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        worker = start_worker(env)
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
