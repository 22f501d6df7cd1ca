"""The transport under faults: retries, timeouts, the rate limit and the deadline."""

import pytest

import flickrocket as fr
from oauth.clients import client_for
from tests.flickrocket.conftest import list_calls

pytestmark = pytest.mark.django_db


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
    client_for(1202, purpose="worker").fulfillment_count()
    flickrocket.faults(timeout_rate=1.0, timeout_seconds=2)
    api = client_for(1202, purpose="worker", read_timeout=0.3, max_attempts=1)
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
    api = client_for(1202, purpose="worker", max_rate_wait=0.5)
    with pytest.raises(fr.RateLimited) as caught:
        for _ in range(5):
            api.fulfillment_count()
    assert caught.value.retry_after > 0.5


def test_a_deadline_bounds_the_whole_call_including_retries(installed, flickrocket):
    import time

    installed(1202)
    client_for(1202, purpose="worker").fulfillment_count()
    flickrocket.faults(timeout_rate=1.0, timeout_seconds=3)
    api = client_for(1202, purpose="worker", read_timeout=2.5, max_attempts=3)
    api.deadline = time.monotonic() + 0.5
    started = time.monotonic()
    with pytest.raises(fr.Unavailable):
        api.fulfillment_count()
    assert time.monotonic() - started < 2.5  # without the deadline: at least one 2.5 s read


def test_one_backoff_grows_from_its_base_jitters_and_stops_at_its_cap():
    for _ in range(200):
        assert 0.25 <= fr.backoff(1, base=0.5, cap=4.0) <= 0.5
        assert 0.5 <= fr.backoff(2, base=0.5, cap=4.0) <= 1.0
        assert 2.0 <= fr.backoff(30, base=0.5, cap=4.0) <= 4.0
    assert len({fr.backoff(3, base=5.0, cap=600.0) for _ in range(20)}) > 1  # jittered


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    assert fr.retry_after({"Retry-After": "7"}) == 7.0
    assert fr.retry_after({"Retry-After": "-3"}) == 0.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 < fr.retry_after({"Retry-After": later}) <= 30
    assert fr.retry_after({"Retry-After": "soon"}) == 1.0
    assert fr.retry_after({}) == 1.0


def _token(stale):
    return "token"


def test_a_rate_wait_of_zero_gives_up_at_once_even_on_retry_after_zero(fake_platform):
    platform = fake_platform(lambda method, path, query: (429, {"Retry-After": "0"}, {"errors": "slow"}))
    client = fr.FlickRocketClient(base_url=platform.url, token=_token, policy=fr.Policy(max_rate_wait=0))
    with pytest.raises(fr.RateLimited) as caught:
        client.fulfillment_count()
    assert caught.value.retry_after == 0.0
    assert len(platform.requests) == 1  # formerly slept 0 s and asked again, up to five times


def test_every_call_limit_header_reaches_the_callback(installed, flickrocket):
    installed(1202)
    heard = []
    client = client_for(1202, on_call_limit=lambda company_id, limit: heard.append((company_id, limit)))
    client.fulfillment_count()
    client.price_model_count()
    assert len(heard) == 2 and all(company_id == 1202 for company_id, _ in heard)
    assert heard[-1][1] == client.last_call_limit and client.last_call_limit.size > 0


def test_a_page_waits_less_than_the_worker(settings):
    page, worker = client_for(1202).policy, client_for(1202, purpose="worker").policy
    assert page.read_timeout == settings.FLICKROCKET_PAGE_READ_TIMEOUT < worker.read_timeout
    assert page.max_rate_wait < worker.max_rate_wait and page.max_attempts < worker.max_attempts


def test_calls_and_token_exchanges_are_counted_for_server_timing(installed, flickrocket):
    installed(1202)
    stats = fr.CallStats()
    token = fr.call_stats.set(stats)
    try:
        client_for(1202).fulfillment_count()
    finally:
        fr.call_stats.reset(token)
    assert (stats.calls, stats.exchanges) == (2, 1) and stats.wait_seconds > 0


def test_cookies_of_one_answer_never_travel_with_the_next_call(fake_platform):
    platform = fake_platform(
        lambda method, path, query: (200, {"Set-Cookie": "shop=1202; Path=/"}, {"count": 1})
    )
    client = fr.FlickRocketClient(base_url=platform.url, token=_token)
    client.fulfillment_count()
    client.fulfillment_count()
    assert [headers.get("Cookie") for *_, headers in platform.requests] == [None, None]
