"""A fresh fetch that brings the list stored last writes only its new timestamp; a changed list,
or one another process stored meanwhile, is written whole: the stored list is always the one
FlickRocket sent last."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fulfillment.orders import services
from fulfillment.orders.models import ListCache

pytestmark = pytest.mark.django_db


def stored() -> ListCache:
    return ListCache.objects.get(company_id=1202, kind="open")


def stored_ids() -> list[int]:
    return sorted(order.id for order in services.decode_orders(bytes(stored().body)))


def open_ids(sandbox) -> list[int]:
    return sorted(o["id"] for o in sandbox.fulfillments(1202) if o["status"] == 0)


def test_a_refetch_of_the_same_list_writes_its_timestamp_and_not_its_bytes_again(shop, sandbox):
    shop.get("fulfillments/")
    before = stored()
    with CaptureQueriesContext(connection) as queries:
        response = shop.get("fulfillments/?refresh=1&sort=id")
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert writes and not [sql for sql in writes if '"body"' in sql]
    after = stored()
    assert after.fetched_at > before.fetched_at
    assert bytes(after.body) == bytes(before.body) and stored_ids() == open_ids(sandbox)
    assert [row.id for row in response.context["page"].object_list] == open_ids(sandbox)[:50]


def test_a_refetch_of_a_changed_list_stores_and_shows_the_change(shop, sandbox):
    shop.get("fulfillments/")
    order = sandbox.create_order(1202, shipping_address={"name": "Refetched Newcomer"})
    response = shop.get(f"fulfillments/?refresh=1&q={order['id']}")
    assert stored_ids() == open_ids(sandbox) and order["id"] in stored_ids()
    assert stored().count == len(open_ids(sandbox))
    assert "Refetched Newcomer" in response.content.decode()


def test_a_list_another_process_stored_during_the_fetch_is_replaced_by_the_one_fetched(
    shop, sandbox, monkeypatch
):
    shop.get("fulfillments/")
    fetch = services._fetch

    def fetch_while_another_process_stores(*args):
        orders = fetch(*args)
        ListCache.objects.filter(pk=stored().pk).update(body=b"[]", count=0, fetched_at=timezone.now())
        return orders

    monkeypatch.setattr(services, "_fetch", fetch_while_another_process_stores)
    response = shop.get("fulfillments/?refresh=1")
    assert stored_ids() == open_ids(sandbox)
    assert stored().count == len(open_ids(sandbox))
    assert len(response.context["page"].object_list) == 50
