"""The order pages against a real sandbox: lists, search, filters, paging, detail, IDOR."""

import pytest

from fulfillment.orders.models import ListCache
from fulfillment.outbox.models import PendingUpdate

pytestmark = pytest.mark.django_db


def open_ids(sandbox, company_id=1202):
    return sorted(o["id"] for o in sandbox.fulfillments(company_id) if o["status"] == 0)


def test_open_list_shows_every_unshipped_order_oldest_first(shop, sandbox):
    response = shop.get("fulfillments/?size=100")
    assert response.status_code == 200
    html = response.content.decode()
    ids = open_ids(sandbox)
    assert len(ids) == 60
    for order_id in ids:
        assert f'id="order-{order_id}"' in html
    rows = response.context["page"].object_list
    dates = [row.order.created_at for row in rows]
    assert dates == sorted(dates)
    assert "1–60 of 60" in html


def test_stored_markup_in_order_data_is_escaped(shop):
    html = shop.get("fulfillments/?size=100").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_search_finds_orders_by_id_name_city_title_and_gtin(shop, sandbox):
    order = next(o for o in sandbox.fulfillments(1202) if o["status"] == 0)
    address = order["shipping_address"]
    for needle in (str(order["id"]), address["name"], address["city"], order["line_items"][0]["title"]):
        rows = shop.get("fulfillments/", {"q": needle}).context["page"].object_list
        assert order["id"] in [row.id for row in rows], needle
    gtin = next((i["gtin"] for i in order["line_items"] if i["gtin"]), None)
    if gtin:
        rows = shop.get("fulfillments/", {"q": gtin}).context["page"].object_list
        assert order["id"] in [row.id for row in rows]


def test_filters_by_country_and_shipping_model_and_sorts_by_weight(shop, sandbox):
    opens = [o for o in sandbox.fulfillments(1202) if o["status"] == 0]
    country = opens[0]["shipping_address"]["country_code"]
    model = opens[0]["shipping_model"]
    rows = shop.get("fulfillments/", {"country": country, "size": 100}).context["page"].object_list
    assert {row.id for row in rows} == {
        o["id"] for o in opens if o["shipping_address"]["country_code"] == country
    }
    rows = shop.get("fulfillments/", {"shipping_model": model, "size": 100}).context["page"].object_list
    assert {row.id for row in rows} == {o["id"] for o in opens if o["shipping_model"] == model}
    rows = shop.get("fulfillments/", {"sort": "weight", "desc": "1", "size": 100}).context["page"].object_list
    weights = [row.order.total_grams for row in rows]
    assert weights == sorted(weights, reverse=True)


def test_paging_happens_in_the_app_over_one_fetched_list(shop, sandbox):
    first = shop.get("fulfillments/", {"size": 25}).context["page"]
    third = shop.get("fulfillments/", {"size": 25, "page": 3}).context["page"]
    assert (first.paginator.count, first.paginator.num_pages) == (60, 3)
    assert len(third.object_list) == 10
    assert not {r.id for r in first.object_list} & {r.id for r in third.object_list}
    list_calls = [
        c for c in sandbox.calls()["calls"] if c["endpoint"].startswith("GET /api/fulfillments/open")
    ]
    assert len(list_calls) == 1  # the second page came from the list fetched moments before


def test_shipped_and_all_views_with_a_date_range(shop, sandbox):
    shipped = shop.get("fulfillments/shipped/", {"size": 100}).context["page"]
    assert shipped.paginator.count == 40
    everything = sandbox.fulfillments(1202)
    day = sorted(o["created_at"][:10] for o in everything)[len(everything) // 2]
    response = shop.get("fulfillments/all/", {"created_from": day, "created_to": day, "size": 250})
    assert {r.id for r in response.context["page"].object_list} == {
        o["id"] for o in everything if o["created_at"][:10] == day
    }
    call = [c for c in sandbox.calls()["calls"] if c["endpoint"] == "GET /api/fulfillments.json"][-1]
    assert "created_at_min" in call["path"] or call["path"].endswith("fulfillments.json")
    assert ListCache.objects.filter(company_id=1202, kind="all").exclude(params="").exists()


def test_order_detail_shows_address_items_and_tracking_links(shop, sandbox):
    order = next(o for o in sandbox.fulfillments(1202) if o["status"] == 100 and o["tracking_url"])
    html = shop.get(f"fulfillments/{order['id']}/").content.decode()
    address = order["shipping_address"]
    assert address["city"] in html and address["zip"] in html
    for item in order["line_items"]:
        assert item["product_id"] in html
    first_number = order["tracking_number"].split(",")[0].strip()
    assert first_number in html
    assert 'rel="noopener noreferrer"' in html and 'target="_blank"' in html


def test_another_companys_order_is_not_found(shop, sandbox):
    foreign = sandbox.fulfillments(1305)[0]["id"]
    assert shop.get(f"fulfillments/{foreign}/").status_code == 404
    response = shop.post(f"fulfillments/{foreign}/ship", {"tracking_number": "X1", "action": "ship"})
    assert response.status_code in (400, 404)
    assert sandbox.fulfillment(1305, foreign)["tracking_number"] != "X1"
    assert not PendingUpdate.objects.filter(order_id=foreign).exists()


def test_a_page_view_costs_one_list_call_and_no_token_exchange(shop, sandbox, settings):
    settings.FULFILLMENT_LIST_FRESH_SECONDS = 0
    shop.get("fulfillments/")  # first view: the one exchange of the install's code
    sandbox.clear_calls()
    shop.get("fulfillments/")
    calls = sandbox.calls()
    assert calls["token_exchanges"] == 0
    assert len([c for c in calls["calls"] if c["endpoint"].startswith("GET /api/fulfillments")]) == 1
    assert len(calls["calls"]) == 1


def test_when_flickrocket_is_down_the_last_list_is_shown_with_a_banner(shop, sandbox, settings):
    settings.FULFILLMENT_LIST_FRESH_SECONDS = 0
    assert shop.get("fulfillments/").status_code == 200
    sandbox.faults(outage=True)
    response = shop.get("fulfillments/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="stale-banner"' in html
    assert len(response.context["page"].object_list) == 50


def test_when_flickrocket_is_down_and_nothing_is_cached_the_page_says_so(shop, sandbox):
    sandbox.faults(outage=True)
    response = shop.get("fulfillments/")
    assert response.status_code == 200
    assert b'id="unavailable-banner"' in response.content


def test_export_csv_has_every_row_of_the_current_view(shop, sandbox):
    response = shop.get("fulfillments/", {"export": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = body.strip().splitlines()
    # Every cell is quoted, so a semicolon or tab reader keeps each cell whole (issue 11 review).
    assert lines[0].startswith('"order_id","created_at","status"')
    assert len(lines) == 61


def test_reopening_the_app_after_its_permission_was_removed_shows_the_install_page(shop, sandbox, embedded):
    assert shop.get("fulfillments/").status_code == 200  # the list is now cached here
    sandbox.revoke(1202)
    response = embedded(1202).get("fulfillments/")  # a new launch, well within the cache time
    assert "oauth/install.html" in [t.name for t in response.templates]
    assert b"Reconnect FlickRocket Fulfillment" in response.content


def test_the_first_list_after_a_launch_is_read_fresh_and_later_ones_from_the_cache(shop, sandbox):
    shop.get("fulfillments/")
    sandbox.clear_calls()
    shop.get("fulfillments/")
    assert sandbox.calls()["by_endpoint"] == {}


def test_nav_counts_fill_in_shipped_from_open_and_all_without_a_call(shop, sandbox):
    from fulfillment.orders.selectors import nav_counts

    shop.get("fulfillments/")
    shop.get("fulfillments/all/")
    sandbox.clear_calls()
    counts = nav_counts(company_id=1202)
    orders = sandbox.fulfillments(1202)
    assert counts["open"] == sum(1 for o in orders if o["status"] == 0)
    assert counts["all"] == len(orders)
    assert counts["shipped"] == sum(1 for o in orders if o["status"] == 100)
    assert sandbox.calls()["by_endpoint"] == {}
