"""Kept pages (frapp/pagecache.py): served again only while nothing they show has changed.

Transactional tests: the page cache never serves inside a transaction (on PostgreSQL a
transaction's own writes bump the data version only at commit), so these run like production,
each write committed on its own.
"""

import re
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frapp import pagecache
from frapp.dataversion import current_version, drop_triggers, install_triggers
from fulfillment.outbox.models import PendingUpdate
from oauth.clients import client_for
from tests.factories import deliver_webhook, webhook_body

pytestmark = pytest.mark.django_db(transaction=True)


def form_keys(response) -> list[str]:
    return re.findall(r'name="form_key" value="([^"]+)"', response.content.decode())


def csrf_tokens(response) -> set[str]:
    return set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode()))


def open_order(sandbox) -> int:
    return min(o["id"] for o in sandbox.fulfillments(1202) if o["status"] == 0)


def test_a_warm_open_list_is_served_again_with_three_queries_and_no_flickrocket_call(shop, sandbox):
    first = shop.get("fulfillments/")  # the launch's fresh fetch
    kept = shop.get("fulfillments/")  # rendered from the stored list, and kept
    sandbox.clear_calls()
    with CaptureQueriesContext(connection) as queries:
        again = shop.get("fulfillments/")
    assert again.status_code == 200
    # The session, the installation, the company's data version: nothing the page shows.
    assert len(queries) == 3, [q["sql"][:80] for q in queries.captured_queries]
    assert sandbox.calls()["token_exchanges"] == 0
    assert sum(v["count"] for v in sandbox.calls()["by_endpoint"].values()) == 0
    rows = re.findall(r'id="order-(\d+)"', again.content.decode())
    assert rows and rows == re.findall(r'id="order-(\d+)"', first.content.decode())
    assert again.content.replace(b"\n", b"") != b""
    assert csrf_tokens(again) == csrf_tokens(kept)  # the session's token still works


def test_every_view_of_a_kept_page_gets_new_form_keys(shop):
    shop.get("fulfillments/")
    one = form_keys(shop.get("fulfillments/"))
    two = form_keys(shop.get("fulfillments/"))
    assert len(one) == len(two) > 1
    assert not set(one) & set(two)  # two tabs never share an idempotency key
    assert len(set(two)) == len(two)  # and no two forms of one view do


def test_a_kept_page_with_new_form_keys_still_ships(shop, sandbox):
    shop.get("fulfillments/")
    shop.get("fulfillments/")
    page = shop.get("fulfillments/")
    order_id = open_order(sandbox)
    key = re.search(
        rf'action="[^"]*/fulfillments/{order_id}/ship".*?name="form_key" value="([^"]+)"',
        page.content.decode(),
        re.S,
    )[1]
    token = next(iter(csrf_tokens(page)))
    response = shop.post(
        f"fulfillments/{order_id}/ship",
        {
            "tracking_number": "1Z999AA10123456784",
            "action": "ship",
            "form_key": key,
            "csrfmiddlewaretoken": token,
        },
    )
    assert response.status_code == 302
    assert PendingUpdate.objects.filter(company_id=1202, order_id=order_id, idempotency_key=key).exists()


def test_shipping_an_order_changes_the_next_view_of_the_list(shop, sandbox):
    shop.get("fulfillments/")
    shop.get("fulfillments/")
    order_id = open_order(sandbox)
    assert b"being sent to FlickRocket" not in shop.get("fulfillments/").content
    shop.post(f"fulfillments/{order_id}/ship", {"tracking_number": "1Z999AA10123456784", "action": "ship"})
    page = shop.get("fulfillments/").content.decode()
    row = re.search(rf'id="order-{order_id}".*?</tr>', page, re.S)
    assert row is None or "1Z999AA10123456784" in row[0]


def test_a_write_the_page_did_not_make_is_seen_on_the_next_view(shop, sandbox):
    """A queryset update (the worker's path) bypasses every model signal: the database's own
    trigger still moves the version."""
    shop.get("fulfillments/")
    order_id = open_order(sandbox)
    shop.post(f"fulfillments/{order_id}/ship", {"tracking_number": "1Z999AA10123456784", "action": "ship"})
    shop.get(f"fulfillments/{order_id}/")
    before = shop.get(f"fulfillments/{order_id}/").content
    PendingUpdate.objects.filter(company_id=1202, order_id=order_id).update(
        state=PendingUpdate.State.REFUSED, last_error="Refused by FlickRocket."
    )
    after = shop.get(f"fulfillments/{order_id}/").content
    assert after != before
    assert b"Refused by FlickRocket." in after


def test_the_order_page_shows_what_flickrocket_answers_now(shop, sandbox):
    shop.get("fulfillments/")
    order_id = open_order(sandbox)
    shop.get(f"fulfillments/{order_id}/")
    assert b"JJD0099999999" not in shop.get(f"fulfillments/{order_id}/").content
    # Changed at FlickRocket, not through the app: nothing of ours moved.
    client_for(1202).update_fulfillment(order_id, tracking_number="JJD0099999999")
    assert b"JJD0099999999" in shop.get(f"fulfillments/{order_id}/").content


def test_a_flash_message_is_shown_once_and_never_kept(shop, sandbox):
    shop.get("fulfillments/")
    order_id = open_order(sandbox)
    shop.get(f"fulfillments/{order_id}/")
    shop.post(f"fulfillments/{order_id}/ship", {"tracking_number": "1Z999AA10123456784", "action": "ship"})
    assert b"marked shipped" in shop.get(f"fulfillments/{order_id}/").content
    assert b"marked shipped" not in shop.get(f"fulfillments/{order_id}/").content
    assert b"marked shipped" not in shop.get(f"fulfillments/{order_id}/").content


def test_kept_pages_are_per_language(shop):
    shop.get("fulfillments/")
    shop.get("fulfillments/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Offene Bestellungen" in shop.get("fulfillments/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Open orders" in shop.get("fulfillments/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_another_session_never_gets_a_page_kept_for_the_first(shop, embedded):
    shop.get("fulfillments/")
    shop.get("fulfillments/")
    other = embedded(1202, "4711")
    page = other.get("fulfillments/").content.decode()
    assert other.prefix + "/" in page
    assert shop.prefix + "/" not in page


def test_a_list_due_for_a_fetch_is_fetched_even_with_a_kept_page(shop, sandbox, settings):
    settings.FULFILLMENT_LIST_FRESH_SECONDS = 0.5
    shop.get("fulfillments/")
    shop.get("fulfillments/")
    sandbox.clear_calls()
    shop.get("fulfillments/")
    assert not sandbox.calls()["by_endpoint"]  # served as kept
    time.sleep(0.6)
    shop.get("fulfillments/")
    assert sandbox.calls()["by_endpoint"], "the list was not asked for again"


def test_nothing_is_served_from_or_kept_inside_a_transaction(shop):
    pagecache.clear()
    shop.get("fulfillments/")
    with transaction.atomic():
        shop.get("fulfillments/")
        assert not pagecache._pages
    shop.get("fulfillments/")
    assert pagecache._pages


def test_a_page_cache_of_zero_bytes_keeps_nothing(shop, settings):
    settings.PAGE_CACHE_BYTES = 0
    shop.get("fulfillments/")
    shop.get("fulfillments/")
    assert not pagecache._pages


def test_while_flickrocket_asks_to_wait_the_older_copy_of_an_order_is_kept(shop, sandbox):
    shop.get("fulfillments/")  # the list the page falls back on
    order_id = open_order(sandbox)
    sandbox.settings(bucket_size=1, leak_rate=0.001)  # Retry-After: an hour
    shop.get(f"fulfillments/{order_id}/")  # the bucket's last call
    shop.get(f"fulfillments/{order_id}/")  # 429: the older copy, rendered and kept
    with CaptureQueriesContext(connection) as queries:
        again = shop.get(f"fulfillments/{order_id}/")
    assert b'id="stale-banner"' in again.content
    # Session, installation, the stored lists' revisions and age, the data version: no render,
    # and no call: FlickRocket's Retry-After has not ended.
    assert len(queries) == 4, [q["sql"][:80] for q in queries.captured_queries]
    assert sandbox.calls()["rate_limited"] == 1


def test_while_flickrocket_asks_to_wait_the_older_list_is_kept(shop, sandbox, settings):
    settings.FULFILLMENT_LIST_FRESH_SECONDS = 0
    shop.get("fulfillments/")
    sandbox.settings(bucket_size=1, leak_rate=0.001)
    shop.get("fulfillments/")  # the bucket's last call
    shop.get("fulfillments/")  # 429: the older list, rendered and kept
    with CaptureQueriesContext(connection) as queries:
        again = shop.get("fulfillments/")
    assert b'id="stale-banner"' in again.content
    assert len(queries) == 3, [q["sql"][:80] for q in queries.captured_queries]


TABLE = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "order-table"}


def test_kept_pages_hold_no_more_than_page_cache_bytes_with_the_paths_they_are_kept_under(shop, settings):
    """A page is kept under its full path: a few hundred bytes of table under kilobytes of
    search text must count as what it holds."""
    settings.PAGE_CACHE_BYTES = 64 * 1024
    shop.get("fulfillments/")
    search = "x" * 1500
    for n in range(120):
        assert shop.get(f"fulfillments/?q=nomatch{n}&pad={search}", **TABLE).status_code == 200
    held = sum(
        sum(len(part) for part in page.parts) + sum(len(k) + len(v) for k, v in page.headers) + len(key[3])
        for key, page in pagecache._pages.items()
    )
    assert pagecache._pages
    assert held <= pagecache._bytes <= settings.PAGE_CACHE_BYTES


def test_a_path_longer_than_two_kilobytes_is_served_but_never_kept(shop):
    shop.get("fulfillments/")
    assert shop.get(f"fulfillments/?q={'x' * 3000}", **TABLE).status_code == 200
    assert not any(len(key[3]) > 2048 for key in pagecache._pages)


def test_a_change_that_has_waited_too_long_shows_as_needing_attention_on_time(shop, sandbox, settings):
    """The navigation's "need attention" count moves with the clock, not with any write: a kept
    page is kept only until the oldest waiting change turns into one needing attention."""
    settings.FULFILLMENT_STUCK_SECONDS = 1
    shop.get("fulfillments/")
    PendingUpdate.objects.create(
        company_id=1202,
        order_id=open_order(sandbox),
        user_id="4711",
        tracking_number="1Z999AA10123456784",
        status=100,
        source="single",
        next_attempt_at=timezone.now() + timedelta(hours=1),
    )
    shop.get("fulfillments/")
    assert b"1 sending" in shop.get("fulfillments/").content  # kept
    time.sleep(1.1)
    assert b"1 need attention" in shop.get("fulfillments/").content


def test_a_forged_webhook_does_not_throw_away_a_shops_kept_pages(shop):
    """A refused delivery is recorded under the company its unverified body claims: no kept page
    shows deliveries, so their table moves no version."""
    shop.get("fulfillments/")
    shop.get("fulfillments/")
    before = current_version(1202)
    forged = webhook_body(1202, "order/create", {"type": "order", "id": "1"}, secret="guessed")
    assert deliver_webhook(Client(), forged).status_code == 401
    assert current_version(1202) == before


def test_without_the_version_triggers_no_page_is_kept(shop):
    drop_triggers()
    try:
        pagecache.clear()
        shop.get("fulfillments/")
        shop.get("fulfillments/")
        assert not pagecache._pages
    finally:
        install_triggers()
