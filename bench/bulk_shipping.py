"""Bulk shipping at the issue's full sizes, against a real sandbox; prints measured figures.

    .venv/bin/python bench/bulk_shipping.py            # both scenarios
    .venv/bin/python bench/bulk_shipping.py csv        # 500-row CSV, 30% write failures
    .venv/bin/python bench/bulk_shipping.py paced      # 1,000 updates, bucket 40 leaking 20/s
    .venv/bin/python bench/bulk_shipping.py list       # page cost of 1,000 open orders

Runs in a throwaway SQLite database and calls the outbox sender in-process (as one worker).
"""

import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
_db = Path(tempfile.mkdtemp()) / "bench.sqlite3"
os.environ["DATABASE_URL"] = f"sqlite:///{_db}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frapp.settings")
os.environ["FULFILLMENT_OUTBOX_BACKOFF_BASE"] = "0.2"
os.environ["FULFILLMENT_OUTBOX_BATCH"] = "200"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from fulfillment.imports import apply, services  # noqa: E402
from fulfillment.orders import services as order_services  # noqa: E402
from fulfillment.outbox.bulk import mark_many_shipped  # noqa: E402
from fulfillment.outbox.models import AuditEntry, PendingUpdate  # noqa: E402
from fulfillment.outbox.sender import send_pending_updates  # noqa: E402
from tests.factories import launch, make_installation  # noqa: E402
from tests.sandbox_server import TEST_DEFAULTS, SandboxServer  # noqa: E402

COMPANY = 1202


def setup(sandbox, **overrides):
    sandbox.reset(**overrides)
    PendingUpdate.objects.all().delete()
    AuditEntry.objects.all().delete()
    from fulfillment.imports.models import CsvImport
    from fulfillment.orders.models import ListCache
    from fulfillment.outbox.models import CompanyOutbox
    from oauth.models import Installation

    for model in (CompanyOutbox, CsvImport, ListCache, Installation):
        model.objects.all().delete()
    make_installation(COMPANY, refresh_token=sandbox.grant(COMPANY))


def drain(label):
    started = time.perf_counter()
    runs = 0
    while PendingUpdate.objects.filter(state__in=PendingUpdate.ACTIVE).exists():
        send_pending_updates(company_id=COMPANY)
        runs += 1
        due = PendingUpdate.objects.filter(state="queued").order_by("next_attempt_at").first()
        if due is not None:
            from django.utils import timezone

            wait = (due.next_attempt_at - timezone.now()).total_seconds()
            if wait > 0:
                time.sleep(min(wait, 2))
    return time.perf_counter() - started, runs


def verify(sandbox, wanted, before):
    after = {o["id"]: o for o in sandbox.fulfillments(COMPANY)}
    wrong = [i for i, t in wanted.items() if (after[i]["status"], after[i]["tracking_number"]) != (100, t)]
    touched = [i for i in after if i not in wanted and after[i] != before[i]]
    calls = sandbox.calls()
    puts = {}
    for call in calls["calls"]:
        if call["method"] == "PUT":
            puts.setdefault(call["path"], []).append(call)
    after_accept = sum(
        len(p) - 1 - next(i for i, c in enumerate(p) if c["status"] == 200) for p in puts.values()
    )
    return {
        "wrong": len(wrong),
        "other_orders_touched": len(touched),
        "puts": sum(len(p) for p in puts.values()),
        "sent_again_after_accepted": after_accept,
        "lost_answers": sum(1 for c in calls["calls"] if c["fault"] == "lost_answer"),
        "write_errors": sum(1 for c in calls["calls"] if c["fault"] == "error"),
        "rate_limited_429": calls["rate_limited"],
        "audit_rows": AuditEntry.objects.count(),
        "accepted": PendingUpdate.objects.filter(state="accepted").count(),
    }


def bench_csv(sandbox):
    setup(sandbox, open_orders=600)
    before = {o["id"]: o for o in sandbox.fulfillments(COMPANY)}
    opens = sorted(i for i, o in before.items() if o["status"] == 0)[:500]
    text = "order_id,tracking_number\n" + "\n".join(f"{i},CSV{i}" for i in opens)
    orders = order_services.order_index(company_id=COMPANY)
    started = time.perf_counter()
    job = services.preview_tracking_csv(
        company_id=COMPANY,
        user_id="bench",
        filename="bench.csv",
        data=text.encode(),
        ship=True,
        orders=orders,
    )
    preview = time.perf_counter() - started
    started = time.perf_counter()
    services.confirm_tracking_csv(company_id=COMPANY, user_id="bench", import_id=job.pk)
    apply.apply_tracking_csv(import_id=job.pk)  # the worker's task, run here
    confirm = time.perf_counter() - started
    sandbox.faults(error_rate=0.3, error_rate_writes_only=True, apply_then_fail_rate=0.05)
    sandbox.clear_calls()
    seconds, runs = drain("csv")
    figures = verify(sandbox, {i: f"CSV{i}" for i in opens}, before)
    leak = sandbox.state()["settings"]["leak_rate"]
    bound = max(0.0, (figures["puts"] - sandbox.state()["settings"]["bucket_size"]) / leak)
    print(
        f"500-row CSV, 30% write errors: preview {preview:.2f}s, confirm {confirm:.2f}s, "
        f"sent in {seconds:.1f}s over {runs} sender runs; the bucket alone needs {bound:.1f}s "
        f"for those {figures['puts']} PUTs at {leak}/s (ratio {seconds / bound if bound else 0:.3f})"
    )
    print("   ", figures)


def bench_paced(sandbox):
    setup(sandbox, open_orders=1000, bucket_size=40, leak_rate=20.0)
    settings.FULFILLMENT_ASSUMED_LEAK_RATE = 2.0
    before = {o["id"]: o for o in sandbox.fulfillments(COMPANY)}
    opens = sorted(i for i, o in before.items() if o["status"] == 0)[:1000]
    order_services.order_list(company_id=COMPANY, kind="open")
    wanted = {i: f"PACE{i}" for i in opens}
    sandbox.clear_calls()
    mark_many_shipped(company_id=COMPANY, user_id="bench", orders=wanted)
    seconds, runs = drain("paced")
    figures = verify(sandbox, wanted, before)
    bound = (len(wanted) - 40) / 20.0  # the bucket's own lower bound: 40 at once, then 20/s
    print(
        f"1,000 updates, bucket 40 leaking 20/s: {seconds:.1f}s "
        f"({len(wanted) / seconds:.1f} updates/s) over {runs} sender runs; "
        f"lower bound {bound:.1f}s, ratio {seconds / bound:.3f}; "
        f"lost or sent twice: {figures['wrong'] + figures['sent_again_after_accepted']}"
    )
    print("   ", figures)


def bench_list(sandbox):
    setup(sandbox, open_orders=1000)
    client = Client()
    prefix = launch(client, COMPANY)
    client.get(prefix + "/fulfillments/")  # first exchange and fetch
    timings = {}
    settings.FULFILLMENT_LIST_FRESH_SECONDS = 0
    for label, query in [
        ("fresh fetch", ""),
        ("search", "?q=berlin"),
        ("sort weight", "?sort=weight&desc=1"),
    ]:
        started = time.perf_counter()
        client.get(prefix + "/fulfillments/" + query)
        timings[label] = time.perf_counter() - started
    settings.FULFILLMENT_LIST_FRESH_SECONDS = 60
    for label, query in [("cached page 5", "?page=5"), ("cached search", "?q=a&sort=country")]:
        started = time.perf_counter()
        client.get(prefix + "/fulfillments/" + query)
        timings[label] = time.perf_counter() - started
    print(
        "1,000 open orders, page view times: "
        + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in timings.items())
    )


def main():
    which = sys.argv[1:] or ["list", "csv", "paced"]
    call_command("migrate", verbosity=0)
    with SandboxServer(env={k.upper(): v for k, v in {}.items()}) as sandbox:
        settings.FLICKROCKET_API_BASE = settings.FLICKROCKET_AUTH_BASE = sandbox.url
        sandbox.defaults = TEST_DEFAULTS
        for name in which:
            {"csv": bench_csv, "paced": bench_paced, "list": bench_list}[name](sandbox)


if __name__ == "__main__":
    main()
