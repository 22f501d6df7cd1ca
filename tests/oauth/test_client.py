"""The FlickRocket client against the sandbox: data in, typed errors out, never a Response."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from oauth import client as fr

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(installed):
    installed(1202)
    return fr.FlickRocketClient(1202, max_rate_wait=5)


def list_calls(sandbox, endpoint):
    return sandbox.calls()["by_endpoint"].get(endpoint, {}).get("count", 0)


def test_open_fulfillments_come_back_as_dataclasses_in_one_call(installed, flickrocket):
    flickrocket.reset(open_orders=120)
    installed(1202)
    api = fr.FlickRocketClient(1202)
    orders = api.open_fulfillments()
    assert len(orders) == 120
    assert all(isinstance(o, fr.Fulfillment) and not o.is_shipped for o in orders)
    first = orders[0]
    assert isinstance(first.shipping_address, fr.ShippingAddress)
    assert first.line_items and isinstance(first.line_items[0], fr.LineItem)
    assert first.total_grams == sum(i.grams * i.quantity for i in first.line_items)
    assert list_calls(flickrocket, "GET /api/fulfillments/open.json") == 1


def test_a_full_page_of_fifty_makes_the_client_ask_for_more(installed, flickrocket):
    flickrocket.reset(open_orders=50)
    installed(1202)
    api = fr.FlickRocketClient(1202)
    assert len(api.open_fulfillments()) == 50
    # 50 could be a silently paged answer: the client asks for page 2, gets a short page, stops.
    assert list_calls(flickrocket, "GET /api/fulfillments/open.json") == 2


def test_update_with_a_too_long_tracking_number_raises_invalid_with_field_messages(api, flickrocket):
    order = api.open_fulfillments()[0]
    with pytest.raises(fr.Invalid) as caught:
        api.update_fulfillment(order.id, tracking_number="X" * 65, status=100)
    assert "tracking_number" in caught.value.field_errors
    assert caught.value.retryable is False
    assert flickrocket.fulfillment(1202, order.id)["status"] == 0


def test_update_ships_the_order(api, flickrocket):
    order = api.open_fulfillments()[0]
    updated = api.update_fulfillment(order.id, tracking_number="1Z999, 1Z998", status=100)
    assert updated.is_shipped and updated.tracking_numbers == ["1Z999", "1Z998"]
    assert flickrocket.fulfillment(1202, order.id)["tracking_number"] == "1Z999, 1Z998"


def test_another_companys_order_is_not_found(api, flickrocket):
    other = flickrocket.fulfillments(1305)[0]["id"]
    with pytest.raises(fr.NotFound):
        api.fulfillment(other)


def test_server_errors_are_retried_then_reported_as_unavailable(api, flickrocket):
    api.fulfillment_count()
    flickrocket.clear_calls()
    flickrocket.faults(error_rate=1.0)
    with pytest.raises(fr.Unavailable) as caught:
        api.fulfillment_count()
    assert caught.value.retryable is True
    assert list_calls(flickrocket, "GET /api/fulfillments/count.json") == api.max_attempts


def test_a_write_that_fails_is_never_blindly_repeated_as_a_post(api, flickrocket):
    api.webhooks()
    flickrocket.clear_calls()
    flickrocket.faults(error_rate=1.0, error_codes=[503])
    with pytest.raises(fr.Unavailable):
        api.create_webhook(topic="order/create", address="https://example.com/hook")
    assert list_calls(flickrocket, "POST /admin/webhooks.json") == 1


def test_timeouts_become_unavailable(installed, flickrocket, settings):
    installed(1202)
    fr.FlickRocketClient(1202).fulfillment_count()
    flickrocket.faults(timeout_rate=1.0, timeout_seconds=2)
    api = fr.FlickRocketClient(1202, read_timeout=0.3, max_attempts=1)
    with pytest.raises(fr.Unavailable, match="did not answer in time"):
        api.fulfillment_count()


def test_outage_is_unavailable(api, flickrocket):
    api.fulfillment_count()
    flickrocket.faults(outage=True)
    with pytest.raises(fr.Unavailable):
        api.open_fulfillments()


def test_rate_limit_waits_for_retry_after_and_gets_through(api, flickrocket):
    flickrocket.settings(bucket_size=3, leak_rate=2)
    counts = [api.fulfillment_count() for _ in range(6)]
    assert len(set(counts)) == 1
    assert flickrocket.calls()["rate_limited"] >= 1
    assert api.last_call_limit is not None and api.last_call_limit.size == 3


def test_rate_limit_longer_than_the_caller_may_wait_raises_rate_limited(installed, flickrocket):
    installed(1202)
    flickrocket.settings(bucket_size=2, leak_rate=0.1)
    api = fr.FlickRocketClient(1202, max_rate_wait=0.5)
    with pytest.raises(fr.RateLimited) as caught:
        for _ in range(5):
            api.fulfillment_count()
    assert caught.value.retry_after > 0.5


def test_webhook_fields_are_read_in_the_docs_spelling(api, flickrocket):
    created = api.create_webhook(topic="orders/create", address="https://example.com/hook")
    assert created.topic == "order/create"  # plural accepted, singular stored
    assert created.is_active is True
    assert [h.id for h in api.webhooks()] == [created.id]


class PluginStylePlatform(BaseHTTPRequestHandler):
    """What the live platform may do instead (docs/flickrocket.md, Fulfillments): pages of 50
    without being asked, the plugin's webhook field names, extra keys. Only this cannot run here,
    so it is faked."""

    orders = [{"id": i, "status": 0, "extra": {"new": True}} for i in range(1, 121)]

    def do_GET(self):  # noqa: N802
        from urllib.parse import parse_qs, urlsplit

        url = urlsplit(self.path)
        page = int(parse_qs(url.query).get("page", ["1"])[0])
        if url.path == "/api/fulfillments/open.json":
            body = {"fulfillments": self.orders[(page - 1) * 50 : page * 50]}
        elif url.path == "/api/webhooks.json":
            body = {
                "webhooks": [
                    {"id": 7, "scope": "orders/create", "destination": "https://x.test/h", "is_valid": False}
                ]
            }
        else:
            self.send_response(404)
            self.end_headers()
            return
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def plugin_platform(installed, flickrocket, settings):
    installed(1202)
    fr.FlickRocketClient(1202).fulfillment_count()  # a valid token stored first, from the sandbox
    server = ThreadingHTTPServer(("127.0.0.1", 0), PluginStylePlatform)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.FLICKROCKET_API_BASE = f"http://127.0.0.1:{server.server_port}"
    settings.FLICKROCKET_WEBHOOKS_PATH = "/api/webhooks"
    yield
    server.shutdown()


def test_a_platform_that_pages_silently_is_read_to_the_end(plugin_platform):
    orders = fr.FlickRocketClient(1202).open_fulfillments()
    assert [o.id for o in orders] == list(range(1, 121))


def test_the_plugins_webhook_field_names_are_understood(plugin_platform):
    (hook,) = fr.FlickRocketClient(1202).webhooks()
    assert (hook.topic, hook.address, hook.is_active) == ("order/create", "https://x.test/h", False)


def test_a_deadline_bounds_the_whole_call_including_retries(installed, flickrocket):
    import time

    installed(1202)
    fr.FlickRocketClient(1202).fulfillment_count()
    flickrocket.faults(timeout_rate=1.0, timeout_seconds=3)
    api = fr.FlickRocketClient(1202, read_timeout=2.5, max_attempts=3)
    api.deadline = time.monotonic() + 0.5
    started = time.monotonic()
    with pytest.raises(fr.Unavailable):
        api.fulfillment_count()
    assert time.monotonic() - started < 2.5  # without the deadline: at least one 2.5 s read
