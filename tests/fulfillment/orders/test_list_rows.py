"""List pages build and render only the rows they show, and rows kept rendered between views
stay right: a fresh form key and the request's CSRF token each view, our changes shown at once,
the active language's text."""

import re

import pytest
from django.test import Client

from fulfillment.orders import listindex
from fulfillment.outbox.models import PendingUpdate
from tests.conftest import EmbeddedClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def decoded(monkeypatch):
    """Every order decoded from a stored list in this process."""
    seen = []
    original = listindex.decode_one

    def counting(raw):
        seen.append(raw)
        return original(raw)

    monkeypatch.setattr(listindex, "decode_one", counting)
    return seen


def test_a_warm_list_view_decodes_only_the_orders_on_its_page(shop, sandbox, decoded):
    shop.get("fulfillments/")
    shop.get("fulfillments/")
    decoded.clear()
    response = shop.get("fulfillments/?size=25&sort=weight&desc=1&page=2")
    assert len(response.context["page"].object_list) == 25
    assert len(decoded) <= 25


def test_search_and_sort_on_the_compact_list_give_the_orders_they_name(shop, sandbox):
    open_orders = [o for o in sandbox.fulfillments(1202) if o["status"] == 0]
    city = open_orders[0]["shipping_address"]["city"]
    response = shop.get(f"fulfillments/?q={city.upper()}&size=250&sort=id&desc=1")
    rows = response.context["page"].object_list
    expected = sorted(
        (o["id"] for o in open_orders if city.casefold() in o["shipping_address"]["city"].casefold()),
        reverse=True,
    )
    assert [row.id for row in rows][: len(expected)] == expected[:250]


def form_keys(html: str) -> list[str]:
    return re.findall(r'name="form_key" value="([^"]+)"', html)


def test_kept_rows_get_a_fresh_form_key_and_a_working_csrf_token_every_view(shop, sandbox):
    first = shop.get("fulfillments/").content.decode()
    strict = EmbeddedClient(Client(enforce_csrf_checks=True), shop.prefix, 1202, "4711")
    second = strict.get("fulfillments/").content.decode()
    keys = form_keys(first) + form_keys(second)
    assert len(keys) > 50 and len(set(keys)) == len(keys)
    assert "slot" not in second
    order_id = int(re.search(r'<tr id="order-(\d+)"', second)[1])
    row = second[second.index(f'<tr id="order-{order_id}"') :]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', row)[1]
    response = strict.post(
        f"fulfillments/{order_id}/ship",
        {"tracking_number": "KEPT1", "action": "ship", "from": "list", "kind": "open", "form_key": "k1"},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert response.status_code == 200
    assert PendingUpdate.objects.filter(order_id=order_id, tracking_number="KEPT1").exists()


def test_a_kept_row_shows_a_change_queued_after_it_was_rendered(shop, sandbox):
    first = shop.get("fulfillments/")
    order_id = first.context["page"].object_list[0].id
    shop.post(
        f"fulfillments/{order_id}/ship",
        {"tracking_number": "LATER1", "action": "tracking", "from": "list", "kind": "open", "form_key": "l1"},
        headers={"HX-Request": "true"},
    )
    html = shop.get("fulfillments/").content.decode()
    row = html[html.index(f'<tr id="order-{order_id}"') :]
    row = row[: row.index("</tr>")]
    assert "LATER1" in row and "Pending" in row


def test_kept_rows_follow_the_language(shop):
    english = shop.get("fulfillments/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    german = shop.get("fulfillments/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    placeholder = 'placeholder="{}"'
    assert english.count(placeholder.format("Tracking no.")) == 50
    assert german.count(placeholder.format("Tracking no.")) == 0


def test_a_rendered_list_page_lets_go_of_the_stored_list(shop):
    response = shop.get("fulfillments/")
    assert len(response.context["page"].object_list) == 50  # the rows shown stay readable
    assert len(response.context["listing"].rows) == 0
    assert len(response.context["page"].paginator.object_list) == 0


def test_a_fresh_fetch_stores_the_list_without_reading_the_old_one_back(shop):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    shop.get("fulfillments/")
    with CaptureQueriesContext(connection) as queries:
        response = shop.get("fulfillments/?refresh=1")
    assert response.status_code == 200
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert not [sql for sql in reads if '"orders_listcache"."body"' in sql]


def test_sorts_are_kept_per_stored_list_and_descending_is_the_exact_reverse(shop, sandbox):
    open_orders = [o for o in sandbox.fulfillments(1202) if o["status"] == 0]

    def weight(o):
        return sum(i["grams"] * i["quantity"] for i in o["line_items"])

    expected = [o["id"] for o in sorted(open_orders, key=lambda o: (weight(o), o["id"]))]
    up = [r.id for r in shop.get("fulfillments/?sort=weight&size=250").context["page"].object_list]
    down = [r.id for r in shop.get("fulfillments/?sort=weight&desc=1&size=250").context["page"].object_list]
    assert up == expected[:250]
    assert down == expected[::-1][:250]
    held = next(reversed(listindex._held.values()))[1]  # the one this view used last
    assert [e.id for e in held.sorted_by["weight"]] == expected


def test_order_data_containing_an_old_fixed_slot_name_is_not_filled_in(shop, sandbox):
    order = sandbox.create_order(1202, shipping_address={"name": "csrf-slot-4f1c9a form-key-slot-8b2e7d"})
    url = f"fulfillments/?q={order['id']}"
    shop.get(url)
    html = shop.get(url).content.decode()  # the second view renders from the kept rows
    row = html[html.index(f'<tr id="order-{order["id"]}"') :]
    assert "csrf-slot-4f1c9a form-key-slot-8b2e7d" in row[: row.index("</tr>")]


@pytest.fixture
def rendered(monkeypatch):
    """Order ids of the list rows rendered from the template in this process."""
    from fulfillment.orders import rowcache

    seen = []
    original = rowcache.get_template

    def counting(name):
        template = original(name)

        class Counting:
            def render(self, context):
                seen.append(context["row"].id)
                return template.render(context)

        return Counting()

    monkeypatch.setattr(rowcache, "get_template", counting)
    return seen


def test_a_fresh_fetch_renders_again_only_the_rows_whose_order_changed(shop, sandbox, rendered):
    from oauth.clients import client_for

    first = shop.get("fulfillments/?sort=id")
    ids = [row.id for row in first.context["page"].object_list]
    client_for(1202).update_fulfillment(ids[3], tracking_number="CHANGED-1")
    rendered.clear()
    html = shop.get("fulfillments/?sort=id&refresh=1").content.decode()
    assert rendered == [ids[3]]
    row = html[html.index(f'<tr id="order-{ids[3]}"') :]
    assert "CHANGED-1" in row[: row.index("</tr>")]
