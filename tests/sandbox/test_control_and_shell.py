"""The control API, the seed and the HTML shell."""

import time

import requests

from sandbox import seed


def test_state_and_reset_overrides(sandbox):
    state = sandbox.reset(open_orders=3, shipped_orders=2, bucket_size=7)
    assert state["settings"]["bucket_size"] == 7
    assert {c["id"] for c in state["companies"]} >= {1202, 1305, 1410}
    assert all(c["orders"] == 5 for c in state["companies"])
    assert all(2 <= len(c["users"]) <= 3 for c in state["companies"])
    assert sandbox.reset()["settings"]["bucket_size"] == 40
    bad = requests.post(sandbox.url + "/_control/reset", json={"nonsense": 1})
    assert bad.status_code == 400
    bad = requests.post(sandbox.url + "/_control/settings", json={"seed": 3})
    assert bad.status_code == 400  # needs a reseed


def test_seed_is_deterministic_and_ids_unique(sandbox):
    first = sandbox.fulfillments(1202)
    sandbox.reset()
    assert sandbox.fulfillments(1202) == first
    sandbox.reset(seed=7)
    assert sandbox.fulfillments(1202) != first
    ids = [o["id"] for c in (1202, 1305, 1410, 1520) for o in sandbox.fulfillments(c)]
    assert len(ids) == len(set(ids))
    countries = {o["shipping_address"]["country_code"] for o in sandbox.fulfillments(1202)}
    assert len(countries) >= 4


def test_seed_generation_is_fast():
    started = time.perf_counter()
    world = seed.generate(42, 5000, 5000)
    assert time.perf_counter() - started < 1.5
    assert sum(len(o) for o in world["orders"].values()) == 4 * 10_000


def test_reset_clears_tokens_faults_and_log(sandbox, api):
    client = api(1202)
    sandbox.faults(latency_ms=5)
    sandbox.reset()
    assert client.get("/api/fulfillments/count.json").json() == {"error": "invalid access_token"}
    assert sandbox.state()["faults"]["latency_ms"] == 0
    assert [c["status"] for c in sandbox.calls()["calls"]] == [401]


def test_create_order_with_fields(sandbox):
    order = sandbox.create_order(1410, shipping_address={"name": "Test Person"}, status=0)
    assert order["company_id"] == 1410 and order["status"] == 0
    assert order["shipping_address"]["name"] == "Test Person"
    assert order["shipping_address"]["country_code"]
    assert sandbox.fulfillments(1410)[-1] == order


def test_control_errors(sandbox):
    response = requests.post(sandbox.url + "/_control/grant", json={"company_id": 1})
    assert response.status_code == 400
    assert requests.get(sandbox.url + "/_control/grant").status_code == 405


def test_shell_pages_render_and_escape(sandbox, api, receiver):
    client = api(1202)
    client.post("/admin/webhooks.json", {"webhook": {"topic": "order/create", "address": receiver.url}})
    client.get("/api/fulfillments/count.json")
    index = requests.get(sandbox.url + "/")
    assert index.status_code == 200 and "Northwind Records" in index.text
    assert "Müller &amp; Söhne Medien" in index.text
    apps = requests.get(sandbox.url + "/shell/1202/apps", params={"user": "4711"})
    assert apps.status_code == 200
    assert 'id="app-frame"' in apps.text and 'class="pill ok">installed' in apps.text
    assert requests.get(sandbox.url + "/shell/1202/apps", params={"user": "6001"}).status_code == 404
    created = requests.post(sandbox.url + "/shell/1202/orders", data={"user": "4711"})
    assert created.status_code == 200  # followed the redirect to the tools page
    receiver.wait(1)
    tools = requests.get(sandbox.url + "/shell/1202/tools", params={"user": "4711"})
    assert tools.status_code == 200
    assert receiver.url in tools.text and "GET /api/fulfillments/count.json" in tools.text
    assert "<script>alert" not in tools.text and "<script>alert" not in apps.text


def test_shell_fault_form_and_reset(sandbox):
    requests.post(
        sandbox.url + "/shell/1202/faults",
        data={"latency_ms": "10", "error_rate": "0.5", "error_codes": "500, 503", "outage": "on"},
    )
    faults = sandbox.state()["faults"]
    assert faults["outage"] is True and faults["error_codes"] == [500, 503]
    requests.post(sandbox.url + "/shell/1202/faults", data={"clear": "1"})
    assert sandbox.state()["faults"]["outage"] is False
    sandbox.settings(bucket_size=9)
    sandbox.grant(1202)
    requests.post(sandbox.url + "/shell/reset")
    state = sandbox.state()
    assert state["settings"]["bucket_size"] == 9  # the shell's reset keeps settings
    assert not any(c["installed"] for c in state["companies"])
