"""A page client's pause (flickrocket.Pause): after a 429 it does not ask again before the
platform's Retry-After ends; a worker's client, which sleeps it out, is not paused."""

import pytest

import flickrocket as fr
from oauth.clients import client_for, page_pause

pytestmark = pytest.mark.django_db


def test_after_a_429_page_views_do_not_ask_again_until_retry_after_ends(shop, sandbox):
    shop.get("fulfillments/")
    sandbox.settings(bucket_size=1, leak_rate=0.001)  # the next refusal says: an hour
    sandbox.clear_calls()
    for _ in range(3):
        with pytest.raises(fr.RateLimited) as refused:
            client_for(1202).open_fulfillments()
    assert sandbox.calls()["rate_limited"] == 1
    assert refused.value.retry_after > 50  # at most a minute (MAX_PAUSE_SECONDS)
    assert page_pause(1202).remaining() > 50
    assert page_pause(4711).remaining() <= 0  # another shop is not paused


def test_a_worker_client_is_not_held_by_the_page_pause(shop, sandbox):
    page_pause(1202).hold(3600)
    sandbox.clear_calls()
    client_for(1202, purpose="worker").fulfillment_count()
    assert sum(v["count"] for v in sandbox.calls()["by_endpoint"].values()) >= 1


def test_a_pause_lasts_at_most_a_minute_whatever_retry_after_says():
    pause = fr.Pause()
    pause.hold(86400)
    assert 59 < pause.remaining() <= 60
    other = fr.Pause()
    other.hold(float("inf"))
    assert 59 < other.remaining() <= 60
