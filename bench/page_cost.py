"""Page cost: server time of the open list, an order page and the price list with 1,000 open
orders, split into time waiting on FlickRocket and our own time, plus FlickRocket calls and
token exchanges per page view (from the sandbox's call log).

    .venv/bin/python bench/page_cost.py [--orders 1000] [--repeat 40]
"""

import argparse

from harness import measure, running, summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()

    with running(args.orders) as (sandbox, app):
        app.install(1202)
        session = app.launch(1202)
        order_id = sandbox.fulfillments(1202)[0]["id"]
        session.get(app.url + session.app_prefix + "/fulfillments/", timeout=60)  # first token
        pages = {
            "open list": "/fulfillments/",
            "open, fetch": "/fulfillments/?refresh=1",
            "order page": f"/fulfillments/{order_id}/",
            "price list": "/prices/",
        }
        print(
            f"Page cost with {args.orders} open orders, {args.repeat} views each "
            "(gunicorn, sandbox on loopback)"
        )
        print(
            f"{'page':<12} {'total':>32} {'waiting on FlickRocket':>34} {'our own':>32} "
            f"{'calls/view':>10} {'exchanges/view':>14}"
        )
        for name, path in pages.items():
            sandbox.clear_calls()
            result = measure(session, app, path, args.repeat)
            calls = sandbox.calls()
            api_calls = sum(v["count"] for v in calls["by_endpoint"].values())
            print(
                f"{name:<12} {summary(result['total']):>32} {summary(result['flickrocket']):>34} "
                f"{summary(result['own']):>32} {api_calls / args.repeat:>10.2f} "
                f"{calls['token_exchanges'] / args.repeat:>14.2f}"
            )


if __name__ == "__main__":
    main()
