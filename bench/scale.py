"""Scale: how page cost grows from 100 to 10,000 open orders, and the peak memory of a web
process at 10,000.

    .venv/bin/python bench/scale.py [--sizes 100,1000,5000,10000] [--repeat 15] [--page-cache-bytes 0]

Warm views are served from the page each process keeps (frapp/pagecache.py) after the first;
``--page-cache-bytes 0`` renders every view, as the first view after a change is.
"""

import argparse

from harness import measure, percentile, running


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,5000,10000")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--page-cache-bytes", default=None, help="PAGE_CACHE_BYTES for the app (0: off)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    rows = []
    baseline = None
    for size in sizes:
        # one gunicorn worker, so its peak memory is the page's own
        extra_env = {} if args.page_cache_bytes is None else {"PAGE_CACHE_BYTES": args.page_cache_bytes}
        with running(size, workers=1, threads=2, extra_env=extra_env) as (sandbox, app):
            app.install(1202)
            session = app.launch(1202)
            session.get(app.url + session.app_prefix + "/fulfillments/", timeout=120)
            cold = measure(session, app, "/fulfillments/?refresh=1", 3)
            warm = measure(session, app, "/fulfillments/", args.repeat)
            search = measure(session, app, "/fulfillments/?q=berlin", args.repeat)
            memory = app.peak_rss_mb()
            p50 = percentile(warm["total"], 50)
            baseline = baseline or p50
            rows.append(
                (
                    size,
                    percentile(cold["total"], 50),
                    percentile(cold["flickrocket"], 50),
                    p50,
                    percentile(warm["total"], 99),
                    percentile(search["total"], 50),
                    p50 / baseline,
                    memory,
                )
            )
    print(
        "Open list cost by number of open orders (ms; ratio = warm p50 / warm p50 at the "
        "smallest size, same run)"
    )
    print(
        f"{'orders':>7} {'fetch p50':>10} {'of which FR':>12} {'warm p50':>9} {'warm p99':>9} "
        f"{'search p50':>11} {'ratio':>6} {'peak RSS MB':>12}"
    )
    for size, cold, cold_fr, p50, p99, search, ratio, memory in rows:
        print(
            f"{size:>7} {cold:>10.1f} {cold_fr:>12.1f} {p50:>9.1f} {p99:>9.1f} {search:>11.1f} "
            f"{ratio:>6.2f} {memory:>12.1f}"
        )


if __name__ == "__main__":
    main()
