"""What a page view costs in database queries, and that no page view sleeps on the rate limit.

Query counts are exact figures of the pages as built (session, installation, the page's own
reads, the nav's two): a new query per view, or one per row, fails here instead of slowly
showing up in bench/README.md. No timing is asserted.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from fulfillment.prices.models import PriceListCache

pytestmark = pytest.mark.django_db


@pytest.fixture
def sleeps(monkeypatch):
    """Every sleep the FlickRocket transport takes in this process (a page's own thread)."""
    taken = []
    monkeypatch.setattr("flickrocket.transport.time.sleep", taken.append)
    return taken


def fill_the_bucket(sandbox, shop, path):
    """A one-drop bucket leaking one call a second: after one call, FlickRocket answers 429 with
    ``Retry-After: 1``, which the old page policy (up to 2 s) slept out."""
    sandbox.settings(bucket_size=1, leak_rate=1.0)
    shop.get(path)


def test_the_warm_open_list_costs_at_most_ten_queries(shop, django_assert_max_num_queries):
    shop.get("fulfillments/")  # first token, first list, the launch's fresh fetch
    shop.get("fulfillments/")
    with django_assert_max_num_queries(10):
        response = shop.get("fulfillments/")
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 50


def test_the_order_page_costs_at_most_six_queries(shop, sandbox, django_assert_max_num_queries):
    shop.get("fulfillments/")
    order_id = sandbox.fulfillments(1202)[0]["id"]
    # The FlickRocket call takes its token from the installation the view already read.
    with django_assert_max_num_queries(6):
        response = shop.get(f"fulfillments/{order_id}/")
    assert response.status_code == 200


def test_the_price_list_costs_at_most_five_queries(shop, django_assert_max_num_queries):
    shop.get("prices/")
    with django_assert_max_num_queries(5):
        response = shop.get("prices/")
    assert response.status_code == 200


def test_the_webhooks_page_costs_at_most_five_queries(shop, django_assert_max_num_queries):
    shop.get("subscriptions/")
    with django_assert_max_num_queries(5):
        response = shop.get("subscriptions/")
    assert response.status_code == 200


def test_the_order_page_never_sleeps_on_the_rate_limit_and_shows_the_cached_order(shop, sandbox, sleeps):
    shop.get("fulfillments/")  # the list the page falls back on
    order_id = next(o["id"] for o in sandbox.fulfillments(1202) if o["status"] == 0)
    fill_the_bucket(sandbox, shop, f"fulfillments/{order_id}/")
    sandbox.clear_calls()
    response = shop.get(f"fulfillments/{order_id}/")
    assert response.status_code == 200
    assert b'id="stale-banner"' in response.content
    assert response.context["order"].id == order_id
    assert sleeps == []
    # Asked at most once, never again after a wait: after a 429 (here perhaps the previous
    # view's), page views do not ask again until its Retry-After ends.
    assert sandbox.calls()["rate_limited"] <= 1


def test_the_open_list_never_sleeps_on_the_rate_limit_and_shows_the_last_list(
    shop, sandbox, settings, sleeps
):
    settings.FULFILLMENT_LIST_FRESH_SECONDS = 0
    fill_the_bucket(sandbox, shop, "fulfillments/")
    response = shop.get("fulfillments/")
    assert response.status_code == 200
    assert b'id="stale-banner"' in response.content
    assert len(response.context["page"].object_list) == 50
    assert sleeps == []


def test_the_price_list_never_sleeps_on_the_rate_limit_and_shows_the_stored_copy(shop, sandbox, sleeps):
    fill_the_bucket(sandbox, shop, "prices/")
    PriceListCache.objects.update(fetched_at=timezone.now() - timedelta(hours=1))
    response = shop.get("prices/")
    assert response.status_code == 200
    assert response.context["price_list"].stale_because
    assert sleeps == []


def test_a_stored_list_reads_back_as_the_orders_fetched(shop, sandbox):
    from fulfillment.orders.models import ListCache
    from fulfillment.orders.services import decode_orders

    shop.get("fulfillments/")
    cache = ListCache.objects.get(company_id=1202, kind="open")
    orders = decode_orders(bytes(cache.body))
    expected = sorted(o["id"] for o in sandbox.fulfillments(1202) if o["status"] == 0)
    assert sorted(o.id for o in orders) == expected
    assert cache.count == len(expected)


def test_an_expired_token_the_view_read_is_exchanged_once_and_the_page_works(shop, sandbox):
    from oauth.models import Installation

    shop.get("fulfillments/")
    order_id = sandbox.fulfillments(1202)[0]["id"]
    Installation.objects.filter(company_id=1202).update(access_token_expires_at=timezone.now())
    sandbox.clear_calls()
    response = shop.get(f"fulfillments/{order_id}/")
    assert response.status_code == 200
    assert sandbox.calls()["token_exchanges"] == 1
    assert shop.get(f"fulfillments/{order_id}/").status_code == 200
    assert sandbox.calls()["token_exchanges"] == 1  # the next view uses the new token
