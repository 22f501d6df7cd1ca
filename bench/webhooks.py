"""Webhook burst: 2,000 deliveries fired concurrently at gunicorn, then a check that every
good one was stored and acted on exactly once, every bad one refused, and none lost.

    .venv/bin/python bench/webhooks.py [--total 2000] [--concurrency 200] [--workers 3] [--warm-up 400]

The deliveries are fired by ``bench/burst.py`` (one asyncio loop, raw sockets, one connection
per delivery with ``Connection: close``): it costs the shared CPU a fraction of what 200
``requests`` threads did, and its latencies no longer include the client's own GIL waits.

SQLite (a fresh file) by default; PostgreSQL when DATABASE_URL is set (the harness flushes
that database first, so point it at a scratch one). Two ``db_worker`` processes, polling at
the Procfile's interval (1 s), act on the deliveries while the burst is still arriving, as in
production. As in production, the burst meets running processes: the workers have started up
and the web processes have served a warm-up burst (``--warm-up 400``, printed, not counted, to
a shop left out of the checks); ``--warm-up 0`` measures a cold server.

The mix: unique signed deliveries (mostly ``order/create`` for installed shops, some for a
shop without an installation, some topics the app only records), exact resends of some of
them fired at the same moment as the original, bodies with a wrong or no signature, and
malformed bodies (not JSON, not an object, signed but without a company, over the size
limit). "Acted on exactly once" is checked where it shows: every ``order/create`` bumps
the shop's list version once, so each shop's version must equal its number of unique orders.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter

from burst import cpu_seconds, fire, settled
from harness import ROOT, App, percentile
from webhook_mix import SECRET, UNINSTALLED_COMPANY, WARM_UP_COMPANY, build

from sandbox.signing import sign_webhook
from tests.sandbox_server import SandboxServer


def start_worker(app: App, interval: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay"]
        + ["--interval", str(interval)],
        cwd=ROOT,
        env=app.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--task-workers", type=int, default=2, help="db_worker processes")
    parser.add_argument(
        "--task-interval",
        type=float,
        default=1.0,
        help="db_worker's polling interval in s (the Procfile runs its default, 1 s)",
    )
    parser.add_argument(
        "--warm-up",
        type=int,
        default=400,
        help="deliveries served (and not counted) before the measured burst; 0 for a cold server",
    )
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    with SandboxServer() as sandbox:
        sandbox.reset()
        # DEBUG off, as in production: with it on, every query is also kept and formatted.
        app = App(sandbox, workers=args.workers, threads=args.threads, extra_env={"DEBUG": "false"}).start()
        workers: list[subprocess.Popen] = []
        try:
            companies = [c["id"] for c in sandbox.state()["companies"]]
            for company in companies:
                app.install(company)
            os.environ.update(DATABASE_URL=app.database_url, DJANGO_SETTINGS_MODULE="frapp.settings")
            import django

            django.setup()
            return run(args, app, companies, workers)
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.terminate()
                    worker.wait(timeout=20)
            app.stop()


def warm_up(args, app: App, url: str) -> None:
    """Serve a first burst before the measured one, as production's processes have.

    A fresh process pays once for what it loads on first use (Django's lazy parts, each thread's
    database connection): about 5 ms per delivery for its first few dozen, which made the first
    tenth of a cold burst the slowest. Its figures are printed, not counted.
    """
    from fulfillment.webhooks.models import WebhookDelivery

    bodies = [
        json.dumps(
            sign_webhook(
                SECRET,
                {
                    "company_id": WARM_UP_COMPANY,
                    "producer": "shop",
                    "scope": "order/create",
                    "data": {"type": "order", "id": f"warm-up-{i}"},
                },
            )
        ).encode()
        for i in range(args.warm_up)
    ]
    started = time.perf_counter()
    replies = fire(url, bodies, concurrency=args.concurrency)
    took = time.perf_counter() - started
    latencies = [ms for _, ms, _ in replies]
    print(
        f"warm-up (not counted): {len(bodies)} deliveries to a fresh server, {len(bodies) / took:.0f}/s, "
        f"p50 {percentile(latencies, 50):.0f} ms, p99 {percentile(latencies, 99):.0f} ms, "
        f"statuses {dict(Counter(status for status, _, _ in replies))}"
    )
    waiting = WebhookDelivery.objects.filter(company_id=WARM_UP_COMPANY, processed_at__isnull=True)
    deadline = time.monotonic() + 60
    while waiting.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    settled(app.worker_pids())


def run(args, app: App, companies: list[int], workers: list[subprocess.Popen]) -> int:
    from fulfillment.orders.selectors import list_version
    from fulfillment.webhooks.models import WebhookDelivery
    from fulfillment.webhooks.receiver import DEDUPLICATED_TOPICS, dedupe_key

    engine = "PostgreSQL" if app.database_url.startswith("postgres") else "SQLite"
    items = build(args.total, companies, random.Random(args.seed))
    url = app.url + "/webhooks/flickrocket"
    workers.extend(start_worker(app, args.task_interval) for _ in range(args.task_workers))
    # Production's workers are running when a burst comes: their start (imports, Django setup,
    # about 0.5 s of CPU each) is neither measured nor left to compete with the burst.
    settled([w.pid for w in workers] + app.worker_pids())
    if args.warm_up:
        warm_up(args, app, url)

    print(
        f"{engine}, gunicorn {args.workers}x{args.threads} threads, {args.task_workers} task "
        f"workers polling every {args.task_interval:g} s; firing {len(items)} deliveries from "
        f"{args.concurrency} connections"
    )
    # CPU time, unlike wall time, hardly depends on what else runs on the machine.
    web_pids, task_pids = app.worker_pids(), [w.pid for w in workers]
    web_cpu, task_cpu, client_cpu = cpu_seconds(web_pids), cpu_seconds(task_pids), time.process_time()
    started = time.perf_counter()
    replies = fire(url, [item["raw"] for item in items], concurrency=args.concurrency)
    burst = time.perf_counter() - started
    web_cpu = cpu_seconds(web_pids) - web_cpu
    client_cpu = time.process_time() - client_cpu
    results = [(item, status, ms, error) for item, (status, ms, error) in zip(items, replies, strict=True)]

    problems: list[str] = []
    for item, status, _, error in results:
        if status not in item["status"]:
            problems.append(f"{item['kind']} answered {status or error}, expected {item['status']}")
    answers = Counter((item["kind"], status) for item, status, _, _ in results)

    good = {json.loads(i["raw"])["hash"]: i for i, _, _, _ in results if i["kind"] == "good"}
    # order/create is one event per body: stored once however often it is sent. Other topics
    # (customer/update) name an object, not an event: every send, resends included, is a record.
    expected_keys = {
        dedupe_key({k: v for k, v in json.loads(i["raw"]).items() if k != "hash"})
        for i in good.values()
        if i["topic"] in DEDUPLICATED_TOPICS
    }
    sent_other = sum(
        1
        for i, _, _, _ in results
        if i["kind"] in ("good", "duplicate") and i["topic"] not in DEDUPLICATED_TOPICS
    )
    stored = WebhookDelivery.objects.filter(signature_ok=True).exclude(company_id=WARM_UP_COMPANY)
    stored_keys = set(stored.filter(topic__in=DEDUPLICATED_TOPICS).values_list("dedupe_key", flat=True))
    stored_other = stored.exclude(topic__in=DEDUPLICATED_TOPICS).count()
    lost = len(expected_keys - stored_keys) + max(0, sent_other - stored_other)
    if stored_keys != expected_keys:
        problems.append(
            f"stored {len(stored_keys)} deduplicated deliveries, expected {len(expected_keys)} "
            f"(missing {len(expected_keys - stored_keys)}, unexpected {len(stored_keys - expected_keys)})"
        )
    if stored_other != sent_other:
        problems.append(f"stored {stored_other} record-only deliveries, {sent_other} were sent")

    wait_started = time.perf_counter()
    deadline = time.monotonic() + 300
    while stored.filter(processed_at__isnull=True).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    drained = time.perf_counter() - started
    task_cpu = cpu_seconds(task_pids) - task_cpu
    unprocessed = stored.filter(processed_at__isnull=True).count()
    if unprocessed:
        problems.append(f"{unprocessed} stored deliveries were not acted on within 300 s")
    retried = stored.filter(attempts__gt=1).count()
    if retried:
        problems.append(f"{retried} deliveries were picked up more than once")
    outcomes = Counter(stored.values_list("outcome", flat=True))
    if outcomes.get("failed"):
        problems.append(f"{outcomes['failed']} deliveries failed")

    for company in companies:
        orders = sum(1 for i in good.values() if i["company"] == company and i["topic"] == "order/create")
        version = list_version(company_id=company)
        if version != orders:
            problems.append(f"company {company}: lists invalidated {version}x for {orders} orders")
    not_installed = stored.filter(company_id=UNINSTALLED_COMPANY).exclude(outcome="not_installed")
    if not_installed.exists():
        problems.append("deliveries for a shop without the app were acted on")

    latencies = [ms for _, _, ms, _ in results]
    print(f"answers: {dict(sorted(answers.items()))}")
    print(
        f"stored {len(stored_keys)} unique events + {stored_other} record-only deliveries; "
        f"outcomes {dict(outcomes)}; {lost} lost, {retried} picked up twice"
    )
    print(f"burst: {len(results) / burst:8.1f} deliveries/s answered ({burst:.2f} s wall)")
    print(
        f"answer time: p50 {percentile(latencies, 50):.1f} ms  p99 {percentile(latencies, 99):.1f} ms"
        f"  max {max(latencies):.1f} ms"
    )
    print(
        f"CPU: web processes {web_cpu * 1000 / len(results):.2f} ms per delivery, task workers "
        f"{task_cpu * 1000 / max(1, stored.count()):.2f} ms per stored delivery, this client "
        f"{client_cpu * 1000 / len(results):.2f} ms per delivery; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"acted on all {stored.count()} within {drained:.2f} s of the first send "
        f"({drained - (wait_started - started):.2f} s after the burst ended)"
    )
    if problems:
        print(f"FAILED: {len(problems)} problem(s)")
        for line in problems[:30]:
            print("  -", line)
        return 1
    print("OK: every good delivery stored and acted on exactly once, every bad one refused, none lost")
    return 0


if __name__ == "__main__":
    sys.exit(main())
