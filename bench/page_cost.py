"""Page cost: server time of the open list, an order page, the price list and the webhooks page,
split into time waiting on FlickRocket and our own time, with ``/healthz`` (one query through the
same middleware) as the yardstick, plus FlickRocket calls, 429 answers and token exchanges per
page view (from the sandbox's call log). ``--empty-bucket`` then empties the rate-limit bucket
and measures the same pages again: no view may sleep on it. ``--page-cache-bytes 0`` switches
the kept pages off (frapp/pagecache.py): every view is rendered, as the first view after a
change is. ``--floor`` adds the fixed cost of an embedded request: a constant page served
through the session, the installation check and every middleware (``bench/floor_urls.py``,
loaded only by the benchmark).

    .venv/bin/python bench/page_cost.py [--orders 1000] [--repeat 40] [--workers 2]
        [--empty-bucket] [--page-cache-bytes 0] [--floor] [--bucket 40]
        [--database-url postgres://postgres@127.0.0.1:5432/frbench]  (flushes that database)
"""

import argparse
import os

from harness import measure, percentile, running, summary

PAGES = {
    "healthz": None,
    "open list": "/fulfillments/",
    "open, fetch": "/fulfillments/?refresh=1",
    "order page": "/fulfillments/{order_id}/",
    "price list": "/prices/",
    "webhooks": "/subscriptions/",
}


def run(sandbox, app, session, order_id, repeat, title, pages=PAGES):
    print(title)
    print(
        f"{'page':<12} {'total':>32} {'waiting on FlickRocket':>34} {'our own':>32} "
        f"{'own p50/healthz':>15} {'own p99/healthz':>15} {'calls/view':>10} {'429s/view':>9} "
        f"{'exchanges/view':>14}"
    )
    healthz_p50 = healthz_p99 = None
    first_views = []
    for name, path in pages.items():
        # One view first: a warm page is one the process has seen (and kept, frapp/pagecache.py).
        if path is None:
            first = measure(session, app, "", 1, absolute="/healthz")
        else:
            first = measure(session, app, path.format(order_id=order_id), 1)
        sandbox.clear_calls()
        if path is None:
            result = measure(session, app, "", repeat, absolute="/healthz")
        else:
            result = measure(session, app, path.format(order_id=order_id), repeat)
        first_views.append((name, first["own"][0]))
        calls = sandbox.calls()
        api_calls = sum(v["count"] for v in calls["by_endpoint"].values())
        refused = sum(v["statuses"].get("429", 0) for v in calls["by_endpoint"].values())
        p50, p99 = percentile(result["own"], 50), percentile(result["own"], 99)
        if healthz_p50 is None:
            healthz_p50, healthz_p99 = p50, p99
        print(
            f"{name:<12} {summary(result['total']):>32} {summary(result['flickrocket']):>34} "
            f"{summary(result['own']):>32} {p50 / healthz_p50:>15.1f} {p99 / healthz_p50:>15.1f} "
            f"{api_calls / repeat:>10.2f} {refused / repeat:>9.2f} {calls['token_exchanges'] / repeat:>14.2f}"
        )
    load = os.getloadavg()[0]
    print(f"(/healthz own time: p50 {healthz_p50:.2f} ms, p99 {healthz_p99:.2f} ms; load average {load:.2f})")
    print("first view of each page before the measured ones (own time, rendered and kept):")
    print("  " + ", ".join(f"{name} {ms:.1f} ms" for name, ms in first_views))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--empty-bucket", action="store_true")
    parser.add_argument("--page-cache-bytes", default=None, help="PAGE_CACHE_BYTES for the app (0: off)")
    parser.add_argument("--floor", action="store_true")
    parser.add_argument("--bucket", type=int, default=None, help="the sandbox's bucket size (default: 40)")
    args = parser.parse_args()

    pages, extra_env = PAGES, {}
    if args.floor:
        pages = {"healthz": None, "floor": "/floor/", **{k: v for k, v in PAGES.items() if v}}
        extra_env["DJANGO_SETTINGS_MODULE"] = "bench.floor_settings"
    if args.page_cache_bytes is not None:
        extra_env["PAGE_CACHE_BYTES"] = args.page_cache_bytes
    options = {"workers": args.workers, "database_url": args.database_url, "extra_env": extra_env}
    if args.bucket:
        options["sandbox_overrides"] = {"bucket_size": args.bucket}
    with running(args.orders, **options) as (sandbox, app):
        app.install(1202)
        session = app.launch(1202)
        order_id = next(o["id"] for o in sandbox.fulfillments(1202) if o["status"] == 0)
        session.get(app.url + session.app_prefix + "/fulfillments/", timeout=60)  # first token
        session.get(app.url + session.app_prefix + "/prices/", timeout=60)  # a stored copy
        where = "PostgreSQL" if app.database_url.startswith("postgres") else "SQLite"
        run(
            sandbox,
            app,
            session,
            order_id,
            args.repeat,
            f"Page cost with {args.orders} open orders, {args.repeat} views each "
            f"(gunicorn {args.workers} x 4 threads, {where}, sandbox on loopback)",
            pages,
        )
        if args.empty_bucket:
            # A bucket that never leaks: every call is a 429 with a long Retry-After.
            sandbox.settings(bucket_size=1, leak_rate=0.001)
            session.get(app.url + session.app_prefix + "/subscriptions/", timeout=60)
            run(sandbox, app, session, order_id, args.repeat, "The same pages with the bucket empty", pages)


if __name__ == "__main__":
    main()
