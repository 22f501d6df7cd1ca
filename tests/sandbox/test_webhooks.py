"""§3 webhook subscriptions and §4 deliveries: signing, retries, switch-off."""

from sandbox.signing import webhook_hash
from sandbox.state import RETRY_SCHEDULE

HOOKS = "/admin/webhooks.json"


def _hook(client, address, topic="order/create"):
    response = client.post(HOOKS, {"webhook": {"topic": topic, "address": address, "format": "json"}})
    assert response.status_code == 201, response.text
    return response.json()["webhook"]


def test_crud(sandbox, api):
    client = api(1202)
    created = client.post(
        HOOKS, {"webhook": {"topic": "orders/create", "address": "https://app.example/hooks"}}
    )
    assert created.status_code == 201
    hook = created.json()["webhook"]
    assert set(hook) == {"id", "topic", "address", "format", "is_active", "created_at", "updated_at"}
    assert hook["topic"] == "order/create"  # plural accepted, singular stored
    assert hook["is_active"] is True and hook["format"] == "json"
    url = f"/admin/webhooks/{hook['id']}.json"
    assert client.get(HOOKS).json() == {"webhooks": [hook]}
    assert client.get(url).json() == {"webhook": hook}
    moved = client.put(url, {"webhook": {"address": "https://other.example/h"}})
    assert moved.status_code == 200
    assert moved.json()["webhook"]["address"] == "https://other.example/h"
    assert client.delete(url).status_code == 200
    assert client.get(url).status_code == 404
    assert client.get(HOOKS).json() == {"webhooks": []}


def test_validation(sandbox, api):
    client = api(1202)
    cases = [
        ({"topic": "order/explode", "address": "https://a.example/"}, {"topic"}),
        ({"address": "https://a.example/"}, {"topic"}),
        ({"topic": "order/create", "address": "ftp://a.example/"}, {"address"}),
        ({"topic": "order/create", "address": "not a url"}, {"address"}),
        ({"topic": "order/create"}, {"address"}),
        ({"topic": "order/create", "address": "https://a.example/", "format": "xml"}, {"format"}),
        ({"topic": "nope", "address": "nope"}, {"topic", "address"}),
    ]
    for body, fields in cases:
        response = client.post(HOOKS, {"webhook": body})
        assert response.status_code == 422, body
        assert set(response.json()["errors"]) == fields, body
        assert all(isinstance(v, list) for v in response.json()["errors"].values())
    assert client.post(HOOKS, {"topic": "order/create"}).status_code == 422
    _hook(client, "https://a.example/")
    duplicate = client.post(HOOKS, {"webhook": {"topic": "order/create", "address": "https://a.example/"}})
    assert duplicate.status_code == 422 and "address" in duplicate.json()["errors"]


def test_hooks_are_per_company(sandbox, api):
    a, b = api(1202), api(1305)
    hook = _hook(a, "https://a.example/")
    assert b.get(HOOKS).json() == {"webhooks": []}
    assert b.get(f"/admin/webhooks/{hook['id']}.json").status_code == 404
    assert b.delete(f"/admin/webhooks/{hook['id']}.json").status_code == 404


def test_order_create_delivery_only_to_its_company(sandbox, api, receiver):
    _hook(api(1202), receiver.url)
    sandbox.create_order(1305)  # another shop: nothing
    order = sandbox.create_order(1202)
    (request,) = receiver.wait(1)
    body = request["json"]
    assert body["company_id"] == 1202 and body["scope"] == "order/create"
    assert body["producer"] == "shop"
    assert body["hash"] == webhook_hash("sandbox-app-secret", body)
    assert body["data"]["id"] == str(order["id"])
    assert sandbox.wait_for(lambda: sandbox.deliveries()[0]["state"] == "delivered")
    assert len(receiver.wait(2, timeout=0.3)) == 1
    # The new order is visible through the API, open.
    assert order["status"] == 0
    assert any(o["id"] == order["id"] for o in sandbox.fulfillments(1202))


def test_retry_schedule_is_time_scaled(sandbox, api, receiver):
    sandbox.settings(time_scale=0.001)  # 60 s -> 60 ms ...
    hook = _hook(api(1202), receiver.url)
    receiver.respond(500, 302, 404)  # 3xx counts as a failure too
    sandbox.create_order(1202)
    requests_ = receiver.wait(4, timeout=5)
    assert [r["status"] for r in requests_] == [500, 302, 404, 200]
    gaps = [b["t"] - a["t"] for a, b in zip(requests_, requests_[1:], strict=False)]
    for gap, scheduled in zip(gaps, RETRY_SCHEDULE, strict=False):
        assert gap >= scheduled * 0.001 * 0.9, (gaps, scheduled)
    assert gaps[2] > gaps[0]  # the schedule grows
    # Same event each time, same signature.
    assert len({r["raw"] for r in requests_}) == 1
    delivery = sandbox.wait_for(
        lambda: [d for d in sandbox.deliveries(hook["id"]) if d["state"] == "delivered"]
    )
    assert delivery[0]["status_codes"] == [500, 302, 404, 200]
    assert [a["attempt"] for a in delivery[0]["attempts"]] == [1, 2, 3, 4]


def test_failing_hook_queues_later_events_then_flushes(sandbox, api, receiver):
    sandbox.settings(time_scale=0.002)
    _hook(api(1202), receiver.url)
    receiver.respond(500)
    first = sandbox.create_order(1202)
    receiver.wait(1)
    second = sandbox.create_order(1202)  # while the hook is blocked
    requests_ = receiver.wait(3, timeout=5)
    ids = [r["json"]["data"]["id"] for r in requests_]
    assert ids == [str(first["id"]), str(first["id"]), str(second["id"])]


def test_permanently_failing_hook_is_switched_off_and_can_be_reactivated(sandbox, api, receiver):
    sandbox.settings(time_scale=0.00001)  # the 48 h schedule in ~1.7 s
    client = api(1202)
    hook = _hook(client, receiver.url)
    receiver.respond(then=503)
    sandbox.create_order(1202)
    requests_ = receiver.wait(len(RETRY_SCHEDULE) + 1, timeout=10)
    assert len(requests_) == len(RETRY_SCHEDULE) + 1  # first try + every retry
    url = f"/admin/webhooks/{hook['id']}.json"
    off = sandbox.wait_for(lambda: client.get(url).json()["webhook"]["is_active"] is False)
    assert off
    (delivery,) = sandbox.deliveries(hook["id"])
    assert delivery["state"] == "abandoned"
    assert len(delivery["attempts"]) == len(RETRY_SCHEDULE) + 1
    # Switched off: new events are not sent.
    sandbox.create_order(1202)
    assert len(receiver.wait(len(RETRY_SCHEDULE) + 2, timeout=0.3)) == len(RETRY_SCHEDULE) + 1
    # PUT is_active reactivates; the next event goes out.
    receiver.respond(then=200)
    back = client.put(url, {"webhook": {"is_active": True}})
    assert back.json()["webhook"]["is_active"] is True
    sandbox.create_order(1202)
    assert len(receiver.wait(len(RETRY_SCHEDULE) + 2)) == len(RETRY_SCHEDULE) + 2


def test_unreachable_address_fails_like_a_timeout(sandbox, api):
    sandbox.settings(time_scale=0.001, delivery_timeout=0.5)
    hook = _hook(api(1202), "http://127.0.0.1:9/nothing-listens-here")
    sandbox.create_order(1202)
    delivery = sandbox.wait_for(lambda: [d for d in sandbox.deliveries(hook["id"]) if d["attempts"]])
    attempt = delivery[0]["attempts"][0]
    assert attempt["ok"] is False and attempt["status"] is None and attempt["error"]


def test_events_only_for_installed_apps(sandbox, api, receiver):
    _hook(api(1202), receiver.url)
    sandbox.revoke(1202)
    sandbox.create_order(1202)
    assert receiver.wait(1, timeout=0.3) == []


def test_reset_clears_hooks_and_deliveries(sandbox, api, receiver):
    _hook(api(1202), receiver.url)
    sandbox.create_order(1202)
    receiver.wait(1)
    sandbox.reset()
    assert sandbox.deliveries() == []
    assert sandbox.state()["hooks"] == []


def test_slow_receiver_counts_as_failure(sandbox, api, receiver):
    sandbox.settings(time_scale=0.001, delivery_timeout=0.2)
    hook = _hook(api(1202), receiver.url)
    receiver.delay = 0.5
    sandbox.create_order(1202)
    delivery = sandbox.wait_for(
        lambda: [d for d in sandbox.deliveries(hook["id"]) if d["attempts"]], timeout=3
    )
    attempt = delivery[0]["attempts"][0]
    assert attempt["ok"] is False and attempt["status"] is None
    assert attempt["error"].startswith("timeout")
    receiver.delay = 0
    done = sandbox.wait_for(
        lambda: [d for d in sandbox.deliveries(hook["id"]) if d["state"] == "delivered"], timeout=3
    )
    assert done
