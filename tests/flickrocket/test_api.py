"""The FlickRocket client's endpoints against the sandbox: data in, typed errors out, never a
Response; and against a fake of what the live platform may do instead."""

import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings

import flickrocket as fr
from oauth.clients import client_for
from tests.flickrocket.conftest import list_calls

pytestmark = pytest.mark.django_db


def test_open_fulfillments_come_back_as_dataclasses_in_one_call(installed, flickrocket):
    flickrocket.reset(open_orders=120)
    installed(1202)
    api = client_for(1202, purpose="worker")
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
    api = client_for(1202, purpose="worker")
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
    client_for(1202, purpose="worker").fulfillment_count()  # a valid token stored first, from the sandbox
    server = ThreadingHTTPServer(("127.0.0.1", 0), PluginStylePlatform)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.FLICKROCKET_API_BASE = f"http://127.0.0.1:{server.server_port}"
    settings.FLICKROCKET_WEBHOOKS_PATH = "/api/webhooks"
    yield
    server.shutdown()


def test_a_platform_that_pages_silently_is_read_to_the_end(plugin_platform):
    orders = client_for(1202, purpose="worker").open_fulfillments()
    assert [o.id for o in orders] == list(range(1, 121))


def test_the_plugins_webhook_field_names_are_understood(plugin_platform):
    (hook,) = client_for(1202, purpose="worker").webhooks()
    assert (hook.topic, hook.address, hook.is_active) == ("order/create", "https://x.test/h", False)


def test_dates_go_out_with_a_four_digit_year(fake_platform):
    from datetime import datetime

    platform = fake_platform(lambda method, path, query: (200, {}, {"fulfillments": []}))
    client = fr.FlickRocketClient(base_url=platform.url, token=lambda stale: "t")
    client.all_fulfillments(
        created_at_min=datetime(999, 1, 2, 3, 4, 5), created_at_max=datetime(2026, 12, 31)
    )
    ((_, path, query, _, _),) = platform.requests
    assert path == "/api/fulfillments.json"
    # strftime("%Y") writes 999 on Linux, which the platform cannot read as a date.
    assert query == {"created_at_min": "0999-01-02T03:04:05", "created_at_max": "2026-12-31T00:00:00"}


def test_a_refused_token_is_reported_through_on_refused(flickrocket):
    refusals = []
    client = fr.FlickRocketClient(
        base_url=flickrocket.url, token=lambda stale: "forged", on_refused=refusals.append
    )
    with pytest.raises(fr.NeedsReinstall):
        client.fulfillment_count()
    assert refusals == ["token refused"]


def test_an_expired_token_is_exchanged_once_through_the_provider(fake_platform):
    def answer(method, path, query):
        return (401, {}, {"error": "expired"}) if len(platform.requests) == 1 else (200, {}, {"count": 3})

    platform = fake_platform(answer)
    asked = []
    client = fr.FlickRocketClient(
        base_url=platform.url, token=lambda stale: asked.append(stale) or f"t{len(asked)}"
    )
    assert client.fulfillment_count() == 3
    assert asked == [None, "t1"]  # the expired token is named, so it is never handed out again
    assert [headers["Authorization"] for *_, headers in platform.requests] == ["Bearer t1", "Bearer t2"]


def test_the_app_catches_every_platform_error_as_its_own():
    from frapp.errors import AppError

    assert AppError is fr.Error
    for error in (fr.NotFound, fr.Invalid, fr.Unavailable, fr.RateLimited, fr.BadResponse, fr.NeedsReinstall):
        assert issubclass(error, AppError)
    assert {e for e in (fr.Unavailable, fr.RateLimited, fr.BadResponse) if issubclass(e, fr.Transient)} == {
        fr.Unavailable,
        fr.RateLimited,
        fr.BadResponse,
    }
    assert not issubclass(fr.NotFound, fr.Transient) and not issubclass(fr.NeedsReinstall, fr.RequestFailed)
    with pytest.raises(AppError, match="not answering"):
        raise fr.Unavailable()


def test_the_platform_package_imports_nothing_from_the_project_nor_django():
    import subprocess
    import sys

    code = (
        "import sys, flickrocket, flickrocket.signing; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'django', 'oauth', 'fulfillment', 'frapp'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_a_403_names_the_permission_its_path_needs_and_is_no_request_failed(fake_platform):
    platform = fake_platform(lambda method, path, query: (403, {}, {"errors": "no scope"}))
    client = fr.FlickRocketClient(base_url=platform.url, token=lambda stale: "t", webhooks_path="/hooks")
    calls = {
        "orders": client.fulfillment_count,
        "products": client.price_model_count,
        "webhooks": client.webhooks,
        None: client.token_info,
    }
    for scope, call in calls.items():
        with pytest.raises(fr.Forbidden) as caught:
            call()
        assert caught.value.scope == scope and caught.value.status == 403
    # Views catch RequestFailed and let a 403 through to embedded_view's missing-permission page.
    assert issubclass(fr.Forbidden, fr.FlickRocketError) and not issubclass(fr.Forbidden, fr.RequestFailed)


def test_scope_for_path_reads_the_path_alone():
    assert fr.scope_for_path("/api/fulfillments/open.json?page=2") == "orders"
    assert fr.scope_for_path("/api/prices/7.json") == "products"
    assert fr.scope_for_path("/api/webhooks.json") == "webhooks"
    assert fr.scope_for_path("/hooks/3.json", webhooks_path="/hooks") == "webhooks"
    assert fr.scope_for_path("/api/tokeninfo") is None
    assert fr.format_platform_time(datetime(999, 1, 2, 3, 4, 5)) == "0999-01-02T03:04:05"


def test_a_grant_reader_samples_open_then_shipped_with_its_own_token(fake_platform):
    from oauth.clients import grant_reader

    def answer(method, path, query):
        rows = [{"id": 5, "company_id": 1305}] if path.endswith("complete.json") else []
        return (200, {}, {"fulfillments": rows})

    platform = fake_platform(answer)
    with override_settings(FLICKROCKET_API_BASE=platform.url):
        rows = grant_reader("grant-token").fulfillment_sample()
    assert [(row.id, row.company_id) for row in rows] == [(5, 1305)]
    assert [(path, query) for _, path, query, _, _ in platform.requests] == [
        ("/api/fulfillments/open.json", {"page": "1"}),
        ("/api/fulfillments/complete.json", {"page": "1"}),
    ]
    assert {headers["Authorization"] for *_, headers in platform.requests} == {"Bearer grant-token"}


@pytest.mark.parametrize("body", [{"error": "expired"}, {"error": "invalid_token"}])
def test_a_grant_reader_never_refreshes_nor_marks_a_shop_on_a_401(fake_platform, installed, body):
    from oauth.clients import grant_reader
    from oauth.models import Installation

    installation = installed(1202)
    platform = fake_platform(lambda method, path, query: (401, {}, body))
    with override_settings(FLICKROCKET_API_BASE=platform.url), pytest.raises(fr.NeedsReinstall):
        grant_reader("grant-token").fulfillment_sample()
    assert len(platform.requests) == 1
    assert Installation.objects.get(pk=installation.pk).status == Installation.Status.INSTALLED
