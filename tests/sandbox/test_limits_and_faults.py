"""§5 leaky bucket, fault injection and the call log."""

import time

import requests

COUNT = "/api/fulfillments/count.json"


def test_bucket_header_on_every_response(sandbox, api):
    client = api(1202)
    first = client.get(COUNT)
    assert first.headers["X-FlickRocket-Api-Call-Limit"] == "1/40"
    second = client.get("/api/fulfillments/999.json")  # a 404 still costs a drop
    assert second.status_code == 404
    assert second.headers["X-FlickRocket-Api-Call-Limit"] == "2/40"
    forbidden = client.get("/api/customers.json")
    assert forbidden.headers["X-FlickRocket-Api-Call-Limit"].endswith("/40")


def test_burst_past_the_bucket_gets_429_then_retry_after_works(sandbox, api):
    sandbox.settings(bucket_size=5, leak_rate=1)
    client = api(1202)
    statuses = [client.get(COUNT) for _ in range(7)]
    assert [r.status_code for r in statuses[:5]] == [200] * 5
    limited = statuses[5]
    assert limited.status_code == 429
    assert limited.json() == {"errors": "Exceeded call limit"}
    assert limited.headers["X-FlickRocket-Api-Call-Limit"] == "5/5"
    retry_after = int(limited.headers["Retry-After"])
    assert retry_after == 1
    assert statuses[6].status_code == 429
    time.sleep(retry_after)
    again = client.get(COUNT)
    assert again.status_code == 200
    assert again.headers["X-FlickRocket-Api-Call-Limit"] == "5/5"
    calls = sandbox.calls()
    assert calls["rate_limited"] == 2
    assert calls["by_endpoint"]["GET /api/fulfillments/count.json"]["statuses"]["429"] == 2


def test_buckets_are_per_company(sandbox, api):
    sandbox.settings(bucket_size=2, leak_rate=0.5)
    a, b = api(1202), api(1305)
    assert [a.get(COUNT).status_code for _ in range(3)] == [200, 200, 429]
    assert b.get(COUNT).status_code == 200
    assert int(a.get(COUNT).headers["Retry-After"]) == 2  # 1 drop over at 0.5/s


def test_outage(sandbox, api):
    client = api(1202)
    code = sandbox.grant(1202)
    sandbox.faults(outage=True)
    down = client.get(COUNT)
    assert down.status_code == 503 and "errors" in down.json()
    assert sandbox.exchange(code).status_code == 503
    sandbox.faults()
    assert client.get(COUNT).status_code == 200
    assert sandbox.exchange(code).status_code == 200  # the outage did not consume it


def test_error_rate_does_not_apply_writes(sandbox, api):
    client = api(1202)
    order_id = client.get("/api/fulfillments/open.json").json()["fulfillments"][0]["id"]
    sandbox.faults(error_rate=1.0, error_codes=[502], error_rate_writes_only=True)
    assert client.get(COUNT).status_code == 200  # reads pass
    put = client.put(f"/api/fulfillments/{order_id}.json", {"fulfillment": {"status": 100}})
    assert put.status_code == 502
    assert put.headers["X-FlickRocket-Api-Call-Limit"]
    assert sandbox.fulfillment(1202, order_id)["status"] == 0
    sandbox.faults(error_rate=1.0)
    assert client.get(COUNT).status_code in (500, 502, 503)
    sandbox.faults(error_rate=0.5)
    seen = {client.get(COUNT).status_code for _ in range(30)}
    assert 200 in seen and seen - {200}


def test_lost_answer_applies_the_write(sandbox, api):
    client = api(1202)
    order_id = client.get("/api/fulfillments/open.json").json()["fulfillments"][0]["id"]
    sandbox.faults(apply_then_fail_rate=1.0)
    put = client.put(
        f"/api/fulfillments/{order_id}.json",
        {"fulfillment": {"tracking_number": "T1", "status": 100}},
    )
    assert put.status_code == 502
    stored = sandbox.fulfillment(1202, order_id)
    assert stored["status"] == 100 and stored["tracking_number"] == "T1"
    assert client.get(COUNT).status_code == 200  # reads are unaffected


def test_latency_and_timeout(sandbox, api):
    client = api(1202)
    sandbox.faults(latency_ms=300)
    started = time.monotonic()
    assert client.get(COUNT).status_code == 200
    assert time.monotonic() - started >= 0.3
    sandbox.faults(timeout_rate=1.0, timeout_seconds=2)
    try:
        client.get(COUNT, timeout=0.5)
        raise AssertionError("expected a client timeout")
    except requests.Timeout:
        pass


def test_fault_validation(sandbox):
    response = requests.post(sandbox.url + "/_control/faults", json={"error_rate": 2})
    assert response.status_code == 400
    response = requests.post(sandbox.url + "/_control/faults", json={"bogus": 1})
    assert response.status_code == 400


def test_call_log(sandbox, api):
    client = api(1202)
    sandbox.clear_calls()
    order_id = client.get("/api/fulfillments.json").json()["fulfillments"][0]["id"]
    client.get(f"/api/fulfillments/{order_id}.json")
    client.put(f"/api/fulfillments/{order_id}.json", {"fulfillment": {"status": 100}})
    requests.get(sandbox.url + COUNT)  # 401, no company
    sandbox.exchange(sandbox.grant(1305))
    log = sandbox.calls()
    endpoints = [(c["method"], c["endpoint"], c["company_id"], c["status"]) for c in log["calls"]]
    assert endpoints == [
        ("GET", "GET /api/fulfillments.json", 1202, 200),
        ("GET", "GET /api/fulfillments/{id}.json", 1202, 200),
        ("PUT", "PUT /api/fulfillments/{id}.json", 1202, 200),
        ("GET", "GET /api/fulfillments/count.json", None, 401),
        ("POST", "POST /token", 1305, 200),
    ]
    assert log["calls"][1]["path"] == f"/api/fulfillments/{order_id}.json"
    assert log["by_endpoint"]["GET /api/fulfillments/{id}.json"] == {
        "count": 1,
        "statuses": {"200": 1},
    }
    assert log["token_exchanges"] == 1
    sandbox.clear_calls()
    assert sandbox.calls()["calls"] == []
