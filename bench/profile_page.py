"""Where one page's own time goes: database queries per view, and a profile of many views.

Runs the app in this process (Django's test client, a throwaway SQLite file) against a real
sandbox process, so what it counts is deterministic: queries, FlickRocket calls and function
calls per view do not depend on what else the machine is doing. Wall times it prints do.

    .venv/bin/python bench/profile_page.py [--orders 1000] [--repeat 30] [--page open]
        [--profiler cprofile|pyinstrument|none] [--top 25] [--sort cumulative|tottime|ncalls]
        [--empty-bucket]

Pages: open (warm open list), fetch (open list, fresh fetch), fetch-new (the same with a new
order in FlickRocket before each view, outside the measure except with pyinstrument), order,
prices, webhooks, healthz, floor (the fixed cost of an embedded request: a constant page served
through the session, the installation check and every middleware, from bench/floor_urls.py).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.sandbox_server import SandboxServer  # noqa: E402

PAGES = {
    "open": "/fulfillments/",
    "fetch": "/fulfillments/?refresh=1",
    "fetch-new": "/fulfillments/?refresh=1",  # a new order before each view: the list changed
    "order": "/fulfillments/{order_id}/",
    "prices": "/prices/",
    "webhooks": "/subscriptions/",
    "healthz": None,
    "floor": "/floor/",  # only with bench.floor_settings, which this script then loads
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--page", choices=sorted(PAGES), default="open")
    parser.add_argument("--profiler", choices=["cprofile", "pyinstrument", "none"], default="cprofile")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", choices=["cumulative", "tottime", "ncalls"], default="cumulative")
    parser.add_argument(
        "--empty-bucket", action="store_true", help="every FlickRocket call answered 429 (rate limited)"
    )
    args = parser.parse_args()

    with SandboxServer() as sandbox:
        # A big bucket: this counts our own work, the rate limit is another benchmark's business.
        sandbox.reset(open_orders=args.orders, bucket_size=100000, leak_rate=1000)
        tmp = tempfile.mkdtemp(prefix="frprofile-")
        os.environ.update(
            DJANGO_SETTINGS_MODULE="bench.floor_settings" if args.page == "floor" else "frapp.settings",
            DATABASE_URL=f"sqlite:///{tmp}/profile.sqlite3",
            FLICKROCKET_AUTH_BASE=sandbox.url,
            FLICKROCKET_API_BASE=sandbox.url,
            FLICKROCKET_ADMIN_ORIGIN=sandbox.url,
            LOG_LEVEL="WARNING",
            DEBUG="false",
            ALLOWED_HOSTS="testserver,localhost",
        )
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext, setup_test_environment

        setup_test_environment()
        call_command("migrate", verbosity=0)
        from tests.factories import launch, make_installation

        make_installation(1202, refresh_token=sandbox.grant(1202))
        client = Client()
        prefix = launch(client, 1202, "4711")
        client.get(prefix + "/fulfillments/")  # first token, first list
        order_id = sandbox.fulfillments(1202)[0]["id"]
        path = PAGES[args.page]
        url = "/healthz" if path is None else prefix + path.format(order_id=order_id)
        if args.empty_bucket:
            sandbox.settings(bucket_size=1, leak_rate=0.001)
            client.get(url)  # takes the one call the bucket has
        client.get(url)  # warm: templates compiled, caches filled

        def before_view():
            if args.page == "fetch-new":
                sandbox.create_order(1202)

        before_view()
        sandbox.clear_calls()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        calls = sandbox.calls()
        print(f"{args.page}: {url.replace(prefix, '/s/<key>')} -> {response.status_code}")
        print(f"queries per view: {len(queries)}")
        for query in queries.captured_queries:
            print(f"   {query['sql'][:150]}")
        print(
            f"FlickRocket calls per view: {sum(v['count'] for v in calls['by_endpoint'].values())}, "
            f"token exchanges: {calls['token_exchanges']}"
        )

        # Unprofiled CPU time per view (test client included): steadier than wall time under load.
        cpu_started = time.process_time()
        for _ in range(args.repeat):
            client.get(url)
        cpu_ms = (time.process_time() - cpu_started) / args.repeat * 1000
        print(f"CPU time per view (unprofiled, in-process, test client included): {cpu_ms:.3f} ms")

        started = time.perf_counter()
        if args.profiler == "none":
            # This process's CPU (the app and the test client, never the sandbox): far steadier
            # than wall time on a shared machine.
            cpu = 0.0
            for _ in range(args.repeat):
                before_view()
                cpu -= time.process_time()
                client.get(url)
                cpu += time.process_time()
            print(f"CPU per view (unprofiled): {cpu / args.repeat * 1000:.1f} ms")
        elif args.profiler == "pyinstrument":
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            profiler.start()
            for _ in range(args.repeat):
                before_view()
                client.get(url)
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False, show_all=False))
        else:
            profile = cProfile.Profile()
            for _ in range(args.repeat):
                before_view()
                profile.enable()
                client.get(url)
                profile.disable()
            out = io.StringIO()
            stats = pstats.Stats(profile, stream=out)
            total_calls = stats.total_calls
            stats.sort_stats(args.sort).print_stats(args.top)
            print(f"function calls per view: {total_calls / args.repeat:,.0f}")
            print(out.getvalue())
        elapsed = (time.perf_counter() - started) / args.repeat * 1000
        how = "unprofiled" if args.profiler == "none" else "profiled"
        print(f"wall time per view ({how}, machine-dependent): {elapsed:.1f} ms")


if __name__ == "__main__":
    main()
