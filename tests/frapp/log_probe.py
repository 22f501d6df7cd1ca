"""Run by tests/frapp/test_logs.py as its own process: the app behind Django's development server
(runserver's request handler, so ``django.server`` logs too), hit with a 404, a CSRF failure, a
500, an expired session and a line-break path on embedded URLs.

Every log record is written to stderr: by whatever handlers the settings configure, and by a
plain handler on the root logger at DEBUG that knows nothing of the app's filters. stdout gets
one JSON line: the session keys used and what the responses were.
"""

import json
import logging
import sys
import threading

import django

django.setup()

import requests  # noqa: E402
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer, get_internal_wsgi_application  # noqa: E402

from fulfillment.webhooks import selectors as webhook_selectors  # noqa: E402
from oauth.models import Installation  # noqa: E402
from tests.factories import launch_query, make_installation  # noqa: E402

UNKNOWN_KEY = "zz" + "k3y" * 10  # key-shaped, matches no session


def main() -> None:
    app = get_internal_wsgi_application()  # sets Django up again, logging included
    foreign = logging.StreamHandler(sys.stderr)
    foreign.setFormatter(logging.Formatter("RAW %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(foreign)
    root.setLevel(logging.DEBUG)
    # SQL debug lines name the session key bare, with no /s/ before it.
    logging.getLogger("django.db.backends").setLevel(logging.DEBUG)

    server = WSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
    server.set_app(app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    http = requests.Session()

    if not Installation.objects.filter(company_id=1202).exists():
        make_installation(1202)
    location = http.get(base + launch_query(1202), allow_redirects=False).headers["Location"]
    key = location.split("/")[2]
    home = f"{base}/s/{key}"

    def broken(**kwargs):
        raise RuntimeError(f"deliveries failed for /s/{key}/subscriptions/deliveries/ (session {key})")

    webhook_selectors.deliveries_page = broken
    responses = {
        "not_found": http.get(home + "/no-such-page/"),
        "csrf": http.post(home + "/oauth/disconnect", headers={"Referer": home + "/oauth/connection"}),
        "server_error": http.get(home + "/subscriptions/deliveries/", headers={"Accept": "text/html"}),
        "expired": http.get(f"{base}/s/{UNKNOWN_KEY}/fulfillments/"),
        "forged_crlf": http.get(base + "/foo%0d%0aINFO fake line"),
        "forged_separators": http.get(base + "/foo%E2%80%A8INFO fake line%C2%85INFO fake line"),
        "key_in_query": http.get(home + f"/no-such-page/?again={key}"),
        # Django decodes the path before routing, so this opens the session; the request line
        # (runserver's access log) carries it encoded.
        "key_percent_encoded": raw_get(http, f"{base}/s/%{ord(key[0]):02x}{key[1:]}/no-such-page/"),
        "key_slashes_encoded": raw_get(http, f"{base}/%2Fs%2F{key}/no-such-page/"),
    }
    server.shutdown()
    logging.shutdown()
    print(json.dumps({
        "keys": [key, UNKNOWN_KEY, key[1:]],
        "status": {name: r.status_code for name, r in responses.items()},
        "referrer_policy": {name: r.headers.get("Referrer-Policy") for name, r in responses.items()},
        "server_error_body": responses["server_error"].text,
    }))  # fmt: skip


def raw_get(http: requests.Session, url: str) -> requests.Response:
    """GET ``url`` exactly as written: requests would decode ``%6b`` back to ``k`` on its own."""
    prepared = requests.Request("GET", url).prepare()
    prepared.url = url
    return http.send(prepared)


if __name__ == "__main__":
    main()
