"""Installs with fewer permissions than the app asks for, and FlickRocket refusing list calls.

Every page that needs a permission the installation lacks says which one and offers the
re-install that asks for it (403, never a 500); a refused list call is a page quoting
FlickRocket. Two ways to lack a permission are covered: the installation's recorded scopes
say so in advance ("recorded"), or they claim it and FlickRocket's 403 tells ("refused").
"""

import html
import re
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest

import flickrocket as fr
from fulfillment.outbox.models import PendingUpdate
from fulfillment.outbox.sender import send_pending_updates
from oauth.clients import client_for
from oauth.crypto import encrypt
from oauth.models import Installation
from tests.factories import make_installation
from tests.oauth.test_install import consent

pytestmark = pytest.mark.django_db

ALL = "orders,products,webhooks"
WITHOUT = {
    "orders": "products,webhooks",
    "products": "orders,webhooks",
    "webhooks": "orders,products",
}
SENTENCE = {
    "orders": "This page needs the permission to read and update orders (<code>orders</code>). "
    "Your installation of the app does not have it.",
    "products": "This page needs the permission to read products and price models "
    "(<code>products</code>). Your installation of the app does not have it.",
    "webhooks": "This page needs the permission to manage webhooks (<code>webhooks</code>). "
    "Your installation of the app does not have it.",
}


def install_lacking(sandbox, scope: str, how: str, company_id: int = 1202) -> None:
    """An installation whose grant lacks ``scope``; its record says so only when ``how`` is
    "recorded" (with "refused" it claims every scope, as a stale record would)."""
    code = sandbox.grant(company_id, WITHOUT[scope])
    make_installation(company_id, refresh_token=code, scopes=WITHOUT[scope] if how == "recorded" else ALL)


def lose_scope(sandbox, scope: str, company_id: int = 1202) -> None:
    """The shop's grant is replaced by one without ``scope``; our record still claims it."""
    code = sandbox.grant(company_id, WITHOUT[scope])
    Installation.objects.filter(company_id=company_id).update(
        refresh_token_encrypted=encrypt(code), access_token_encrypted="", access_token_expires_at=None
    )


def an_open_order(sandbox, company_id=1202):
    return next(o for o in sandbox.fulfillments(company_id) if o["status"] == 0)


def text(response) -> str:
    return response.content.decode()


def assert_asks_for(response, scope: str, status: int = 403) -> None:
    body = text(response)
    assert response.status_code == status, body[:500]
    assert SENTENCE[scope] in body
    # The button re-runs the install (a top-level POST) asking for exactly what is missing.
    form = re.search(r'<form method="post" action="([^"]+)" target="_top">(.*?)</form>', body, re.S)
    assert form, "no re-install form"
    assert form.group(1).endswith("/oauth/install")
    assert f'<input type="hidden" name="scope" value="{scope}">' in form.group(2)
    assert "csrfmiddlewaretoken" in form.group(2)


def reinstall_from(shop, response, sandbox, client) -> None:
    """Press the page's re-install button and approve in FlickRocket, like the owner does."""
    scope = re.search(r'name="scope" value="(\w+)"', text(response)).group(1)
    started = shop.post("oauth/install", {"scope": scope})
    assert started.status_code == 302
    assert scope in parse_qs(urlsplit(started["Location"]).query)["scope"][0].split(",")
    assert client.get(consent(sandbox, started["Location"])).status_code == 302


@pytest.mark.parametrize("how", ["recorded", "refused"])
@pytest.mark.parametrize("path", ["fulfillments/", "fulfillments/shipped/", "fulfillments/all/", "ORDER"])
def test_order_pages_without_the_orders_permission_ask_for_it(flickrocket, embedded, how, path):
    install_lacking(flickrocket, "orders", how)
    if path == "ORDER":
        path = f"fulfillments/{an_open_order(flickrocket)['id']}/"
    assert_asks_for(embedded(1202).get(path), "orders")


@pytest.mark.parametrize("how", ["recorded", "refused"])
def test_price_pages_without_the_products_permission_ask_for_it(flickrocket, embedded, how):
    install_lacking(flickrocket, "products", how)
    shop = embedded(1202)
    assert_asks_for(shop.get("prices/"), "products")
    assert_asks_for(shop.get("prices/export.csv"), "products")


@pytest.mark.parametrize("how", ["recorded", "refused"])
def test_webhooks_page_without_the_webhooks_permission_asks_for_it(flickrocket, embedded, how):
    install_lacking(flickrocket, "webhooks", how)
    shop = embedded(1202)
    assert_asks_for(shop.get("subscriptions/"), "webhooks")
    response = shop.post("subscriptions/", {"topic": "order/create", "address": "https://example.com/hook"})
    assert_asks_for(response, "webhooks")
    assert 'value="https://example.com/hook"' in text(response)


def test_pages_needing_other_permissions_still_work_without_one(flickrocket, embedded):
    install_lacking(flickrocket, "webhooks", "refused")
    shop = embedded(1202)
    assert shop.get("fulfillments/").status_code == 200
    assert shop.get("prices/").status_code == 200


@pytest.mark.parametrize("how", ["recorded", "refused"])
def test_scan_without_the_orders_permission_asks_for_it_and_keeps_what_was_scanned(
    flickrocket, embedded, how
):
    install_lacking(flickrocket, "orders", how)
    shop = embedded(1202)
    if how == "recorded":  # the empty scan box asks FlickRocket nothing, so only a record can tell
        assert_asks_for(shop.get("fulfillments/scan/"), "orders")
    order = an_open_order(flickrocket)
    response = shop.post(
        "fulfillments/scan/", {"order_id": str(order["id"]), "tracking_number": "1Z999AA10123456784"}
    )
    assert_asks_for(response, "orders")
    body = text(response)
    assert 'name="tracking_number" value="1Z999AA10123456784"' in body
    assert f'name="order_id" value="{order["id"]}"' in body
    assert not PendingUpdate.objects.exists()


def test_order_page_ship_without_the_orders_permission_hands_back_the_typed_number(flickrocket, embedded):
    install_lacking(flickrocket, "orders", "recorded")
    order = an_open_order(flickrocket)
    response = embedded(1202).post(
        f"fulfillments/{order['id']}/ship", {"tracking_number": "JJD0099", "action": "ship", "form_key": "k"}
    )
    assert_asks_for(response, "orders")
    assert 'name="tracking_number" value="JJD0099"' in text(response)
    assert f"Tracking number(s) for order {order['id']}" in text(response)


def test_inline_ship_without_the_orders_permission_shows_the_page_in_place_of_the_list(flickrocket, embedded):
    install_lacking(flickrocket, "orders", "recorded")
    order = an_open_order(flickrocket)
    response = embedded(1202).post(
        f"fulfillments/{order['id']}/ship",
        {"tracking_number": "JJD0099", "action": "ship", "from": "list", "kind": "open", "form_key": "k"},
        headers={"HX-Request": "true", "HX-Target": f"order-{order['id']}"},
    )
    # htmx swaps only 2xx answers: the fragment comes as 200 and retargets the page's main area.
    assert_asks_for(response, "orders", status=200)
    assert (response["HX-Retarget"], response["HX-Reswap"]) == ("#main", "innerHTML")
    assert "<html" not in text(response)
    assert 'name="tracking_number" value="JJD0099"' in text(response)


def test_bulk_ship_without_the_orders_permission_hands_back_every_typed_number(flickrocket, embedded):
    install_lacking(flickrocket, "orders", "recorded")
    first, second = [o for o in flickrocket.fulfillments(1202) if o["status"] == 0][:2]
    response = embedded(1202).post(
        "fulfillments/bulk/ship",
        {
            "ids": [first["id"], second["id"]],
            f"tracking_{first['id']}": "AAA111",
            f"tracking_{second['id']}": "BBB222",
            "confirm": "1",
            "form_key": "bulk",
        },
    )
    assert_asks_for(response, "orders")
    assert f'name="tracking_{first["id"]}" value="AAA111"' in text(response)
    assert f'name="tracking_{second["id"]}" value="BBB222"' in text(response)


def test_a_ship_sent_after_the_permission_went_is_kept_and_the_order_page_asks_for_it(shop, sandbox):
    order = an_open_order(sandbox)
    shop.get("fulfillments/")  # the list is cached; then the shop's grant loses `orders`
    lose_scope(sandbox, "orders")
    response = shop.post(
        f"fulfillments/{order['id']}/ship",
        {"tracking_number": "JJD0099", "action": "ship", "form_key": "k1"},
        follow=True,
    )
    assert_asks_for(response, "orders")
    update = PendingUpdate.objects.get(order_id=order["id"])
    assert (update.state, update.tracking_number) == (PendingUpdate.State.QUEUED, "JJD0099")


def test_the_reinstall_button_grants_the_permission_and_the_page_works_again(flickrocket, embedded, client):
    install_lacking(flickrocket, "orders", "refused")
    shop = embedded(1202)
    response = shop.get("fulfillments/")
    assert_asks_for(response, "orders")
    reinstall_from(shop, response, flickrocket, client)
    assert "orders" in Installation.objects.get(company_id=1202).scope_list
    assert shop.get("fulfillments/").status_code == 200


# --- FlickRocket refusing a list call --------------------------------------------------------


def test_a_date_before_the_year_1000_is_a_form_error_not_a_500(shop, sandbox):
    sandbox.clear_calls()
    response = shop.get("fulfillments/all/", {"created_from": "0999-01-01", "created_to": "2030-01-01"})
    assert response.status_code == 200
    assert "Enter a date from 1000-01-01 on." in html.unescape(text(response))
    assert 'id="id_created_from" value="0999-01-01" class="form-control form-control-sm is-invalid"' in text(
        response
    )


def test_list_dates_go_to_flickrocket_with_four_digit_years(installed):
    installed(1202)
    assert fr.format_platform_time(datetime(999, 1, 2, 3, 4, 5)) == "0999-01-02T03:04:05"
    assert fr.format_platform_time(datetime(2015, 7, 1)) == "2015-07-01T00:00:00"
    # FlickRocket accepts the padded year; the unpadded "999-01-02T…" was refused.
    orders = client_for(1202, purpose="worker").all_fulfillments(created_at_min=datetime(999, 1, 2))
    assert len(orders) == 100


@pytest.mark.parametrize("code", [400, 404, 422])
def test_any_refusal_of_a_list_call_is_a_clear_page(shop, sandbox, code):
    shop.get("fulfillments/")  # a token first: the fault below also hits the token endpoint
    sandbox.faults(error_rate=1.0, error_codes=[code])
    response = shop.get("fulfillments/all/", {"created_from": "2020-01-01"})
    assert response.status_code == 502
    body = text(response)
    assert "FlickRocket refused this request:" in body
    assert f"HTTP {code}" in body
    assert "fulfillments/all/" in body  # a way back without the filter


def test_a_refused_table_refresh_replaces_the_page_area_for_htmx(shop, sandbox):
    shop.get("fulfillments/")
    sandbox.faults(error_rate=1.0, error_codes=[422])
    response = shop.get(
        "fulfillments/all/",
        {"created_from": "2020-01-01"},
        headers={"HX-Request": "true", "HX-Target": "order-table"},
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#main"
    assert "FlickRocket refused this request:" in text(response)
    assert "<html" not in text(response)


def test_an_invalid_filter_in_a_table_refresh_shows_its_error_next_to_the_filter(shop, sandbox):
    response = shop.get(
        "fulfillments/all/",
        {"created_from": "0500-01-01"},
        headers={"HX-Request": "true", "HX-Target": "order-table"},
    )
    assert response.status_code == 200
    assert (response["HX-Retarget"], response["HX-Reselect"]) == ("#main", "#main")
    assert "Enter a date from 1000-01-01 on." in html.unescape(text(response))


# --- A change sent after access is gone (the worker) -----------------------------------------


def puts(sandbox, order_id):
    return [c for c in sandbox.calls()["calls"] if c["method"] == "PUT" and f"/{order_id}.json" in c["path"]]


def ship(shop, sandbox):
    order = an_open_order(sandbox)
    shop.get("fulfillments/")
    response = shop.post(
        f"fulfillments/{order['id']}/ship", {"tracking_number": "JJD0099", "action": "ship", "form_key": "w1"}
    )
    assert response.status_code == 302
    return order


@pytest.mark.parametrize("removal", ["revoked", "orders scope removed"])
def test_a_change_sent_after_access_is_gone_waits_and_is_delivered_after_the_reinstall(
    shop, sandbox, client, removal
):
    order = ship(shop, sandbox)
    if removal == "revoked":
        sandbox.revoke(1202)
        reason = "Access was removed: reinstall the app."
    else:
        lose_scope(sandbox, "orders")
        reason = (
            "The app lacks the permission to read and update orders (orders): reinstall the app to grant it."
        )
    sandbox.clear_calls()

    assert send_pending_updates(company_id=1202) == 0  # no exception, nothing final
    update = PendingUpdate.objects.get(order_id=order["id"])
    assert update.state == PendingUpdate.State.QUEUED  # pending, not "sending", not refused
    assert update.last_error == reason
    assert update.events.last().kind == "waiting" and reason in update.events.last().detail
    assert len(puts(sandbox, order["id"])) <= 1

    # No hot loop: running again right away asks FlickRocket nothing and keeps one event.
    sandbox.clear_calls()
    events = update.events.count()
    assert send_pending_updates(company_id=1202) == 0
    assert sandbox.calls()["calls"] == []
    assert update.events.count() == events
    update.refresh_from_db()
    assert (update.next_attempt_at - update.updated_at).total_seconds() > 600
    assert update.state == PendingUpdate.State.QUEUED

    # The owner reinstalls from the page that asks for it; the first page view kicks the change.
    page = shop.get("fulfillments/updates/")
    if removal == "revoked":  # no access at all: the install page stands in for every page
        assert "pending changes are sent as soon as the app is reconnected" in text(page)
    else:
        assert reason in text(page)
    started = shop.post("oauth/install", {"scope": "orders"})
    assert client.get(consent(sandbox, started["Location"])).status_code == 302
    assert shop.get("fulfillments/").status_code == 200
    update.refresh_from_db()
    assert update.next_attempt_at <= update.updated_at  # due again

    assert send_pending_updates(company_id=1202) == 1
    update.refresh_from_db()
    assert update.state == PendingUpdate.State.ACCEPTED
    at_sandbox = sandbox.fulfillment(1202, order["id"])
    assert (at_sandbox["status"], at_sandbox["tracking_number"]) == (100, "JJD0099")


def test_changes_queued_while_the_app_is_not_installed_wait_without_calling_flickrocket(shop, sandbox):
    order = ship(shop, sandbox)
    Installation.objects.filter(company_id=1202).update(status=Installation.Status.NEEDS_REINSTALL)
    sandbox.clear_calls()
    assert send_pending_updates(company_id=1202) == 0
    assert sandbox.calls()["calls"] == []
    update = PendingUpdate.objects.get(order_id=order["id"])
    assert (update.state, update.last_error) == (
        PendingUpdate.State.QUEUED,
        "Access was removed: reinstall the app.",
    )
