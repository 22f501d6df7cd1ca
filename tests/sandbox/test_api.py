"""§3: fulfillments, prices, paging, validation, scopes and per-company isolation."""

from sandbox.seed import XSS_TITLE

FULFILLMENT_FIELDS = {
    "id",
    "created_at",
    "company_id",
    "status",
    "shipping_address",
    "line_items",
    "shipping_model",
    "tracking_number",
    "tracking_url",
}
ADDRESS_FIELDS = {
    "name",
    "address1",
    "address2",
    "zip",
    "city",
    "province",
    "country_name",
    "country_code",
    "phone",
}
LINE_FIELDS = {"id", "product_id", "title", "version", "quantity", "gtin", "grams"}


def test_fulfillment_lists_and_fields(sandbox, api):
    client = api(1202)
    everything = client.get("/api/fulfillments.json")
    assert everything.status_code == 200
    assert everything.headers["Content-Type"].startswith("application/json")
    orders = everything.json()["fulfillments"]
    assert len(orders) == 100
    assert client.get("/api/fulfillments/count.json").json() == {"count": 100}
    open_ = client.get("/api/fulfillments/open.json").json()["fulfillments"]
    done = client.get("/api/fulfillments/complete.json").json()["fulfillments"]
    assert len(open_) == 60 and len(done) == 40
    assert {o["status"] for o in open_} == {0} and {o["status"] for o in done} == {100}
    for order in orders:
        assert set(order) == FULFILLMENT_FIELDS
        assert set(order["shipping_address"]) == ADDRESS_FIELDS
        assert 1 <= len(order["line_items"]) <= 5
        for line in order["line_items"]:
            assert set(line) == LINE_FIELDS
            assert len(line["gtin"]) == 13 and line["gtin"].isdigit()
        assert order["company_id"] == 1202
    assert all(o["tracking_number"] for o in done)
    assert not any(o["tracking_number"] for o in open_)
    ids = [o["id"] for o in orders]
    assert ids == sorted(ids) and len(set(ids)) == 100


def test_one_fulfillment_and_xss_order(sandbox, api):
    client = api(1202)
    open_ = client.get("/api/fulfillments/open.json").json()["fulfillments"]
    oldest_open = min(open_, key=lambda o: o["id"])
    one = client.get(f"/api/fulfillments/{oldest_open['id']}.json").json()["fulfillment"]
    assert one == oldest_open
    assert one["line_items"][0]["title"] == XSS_TITLE


def test_created_at_filters(sandbox, api):
    client = api(1305)
    orders = client.get("/api/fulfillments.json").json()["fulfillments"]
    middle = sorted(o["created_at"] for o in orders)[50]
    newer = client.get("/api/fulfillments.json", params={"created_at_min": middle}).json()
    assert {o["id"] for o in newer["fulfillments"]} == {o["id"] for o in orders if o["created_at"] >= middle}
    older = client.get("/api/fulfillments.json", params={"created_at_max": middle}).json()
    assert len(older["fulfillments"]) == sum(1 for o in orders if o["created_at"] <= middle)
    # An offset is converted to UTC: midnight +02:00 is 22:00 the day before.
    day = middle[:10]
    shifted = client.get(
        "/api/fulfillments/count.json", params={"created_at_min": f"{day}T02:00:00+02:00"}
    ).json()
    plain = client.get("/api/fulfillments/count.json", params={"created_at_min": f"{day}T00:00:00"}).json()
    assert shifted == plain
    bad = client.get("/api/fulfillments.json", params={"created_at_min": "yesterday"})
    assert bad.status_code == 400 and "created_at_min" in bad.json()["errors"]


def test_paging(sandbox, api):
    sandbox.reset(open_orders=70, shipped_orders=50)
    client = api(1202)
    all_ids = [o["id"] for o in client.get("/api/fulfillments.json").json()["fulfillments"]]
    assert len(all_ids) == 120
    pages = []
    for n in (1, 2, 3, 4):
        key = "page" if n % 2 else "Page"
        pages.append(client.get("/api/fulfillments.json", params={key: n}).json()["fulfillments"])
    assert [len(p) for p in pages] == [50, 50, 20, 0]
    assert [o["id"] for p in pages for o in p] == all_ids
    open_page = client.get("/api/fulfillments/open.json", params={"page": 2}).json()
    assert len(open_page["fulfillments"]) == 20
    bad = client.get("/api/fulfillments.json", params={"page": "0"})
    assert bad.status_code == 400 and "page" in bad.json()["errors"]


def test_put_tracking_and_status(sandbox, api):
    client = api(1202)
    order = client.get("/api/fulfillments/open.json").json()["fulfillments"][3]
    body = {"fulfillment": {"tracking_number": "122ur4538ef29, 122fr4539gh27", "status": 100}}
    response = client.put(f"/api/fulfillments/{order['id']}.json", body)
    assert response.status_code == 200
    updated = response.json()["fulfillment"]
    assert updated["status"] == 100
    assert updated["tracking_number"] == "122ur4538ef29, 122fr4539gh27"
    assert sandbox.fulfillment(1202, order["id"]) == updated
    # Read-only fields are ignored, not applied.
    client.put(f"/api/fulfillments/{order['id']}.json", {"fulfillment": {"shipping_model": "X"}})
    assert sandbox.fulfillment(1202, order["id"])["shipping_model"] == order["shipping_model"]


def test_put_validation(sandbox, api):
    client = api(1202)
    order_id = client.get("/api/fulfillments/open.json").json()["fulfillments"][0]["id"]
    url = f"/api/fulfillments/{order_id}.json"
    assert client.put(url, {"fulfillment": {"tracking_number": "x" * 64}}).status_code == 200
    too_long = client.put(url, {"fulfillment": {"tracking_number": "x" * 65, "status": 100}})
    assert too_long.status_code == 422
    assert list(too_long.json()["errors"]) == ["tracking_number"]
    assert isinstance(too_long.json()["errors"]["tracking_number"][0], str)
    for status in (50, "100", True, None):
        bad = client.put(url, {"fulfillment": {"status": status}})
        assert bad.status_code == 422, status
        assert list(bad.json()["errors"]) == ["status"]
    both = client.put(url, {"fulfillment": {"tracking_number": 5, "status": 1}}).json()
    assert set(both["errors"]) == {"tracking_number", "status"}
    # Nothing of the rejected writes landed.
    stored = sandbox.fulfillment(1202, order_id)
    assert stored["status"] == 0 and stored["tracking_number"] == "x" * 64
    assert client.put(url, {"nope": {}}).status_code == 422
    garbage = client.request("PUT", url, data=b"{not json", headers={"Content-Type": "application/json"})
    assert garbage.status_code == 400


def test_company_isolation(sandbox, api):
    northwind, alpine = api(1202), api(1305)
    theirs = alpine.get("/api/fulfillments.json").json()["fulfillments"][0]
    mine = {o["id"] for o in northwind.get("/api/fulfillments.json").json()["fulfillments"]}
    assert theirs["id"] not in mine
    url = f"/api/fulfillments/{theirs['id']}.json"
    assert northwind.get(url).status_code == 404
    assert northwind.get(url).json() == {"errors": "Not found"}
    put = northwind.put(url, {"fulfillment": {"tracking_number": "stolen", "status": 100}})
    assert put.status_code == 404
    assert sandbox.fulfillment(1305, theirs["id"]) == theirs
    assert northwind.get("/api/fulfillments/999999999.json").status_code == 404
    price = alpine.get("/api/prices.json").json()["prices"][0]
    assert northwind.get(f"/api/prices/{price['id']}.json").status_code == 404


def test_prices(sandbox, api):
    client = api(1410)
    prices = client.get("/api/prices.json").json()["prices"]
    assert 5 <= len(prices) <= 8
    assert client.get("/api/prices/count.json").json() == {"count": len(prices)}
    for price in prices:
        assert set(price) == {
            "id",
            "name",
            "valid",
            "countries",
            "currencies",
            "created_at",
            "updated_at",
        }
        assert price["valid"] in (0, 1)
        assert all(set(c) == {"country_name", "country_code", "price"} for c in price["countries"])
        assert all(c["currency"] in {"eur", "gbp", "usd", "jpy", "chf"} for c in price["currencies"])
    one = client.get(f"/api/prices/{prices[0]['id']}.json").json()
    assert one == {"price": prices[0]}


def test_scopes(sandbox, api):
    products_only = api(1202, "products")
    denied = products_only.get("/api/fulfillments.json")
    assert denied.status_code == 403 and isinstance(denied.json()["errors"], str)
    assert products_only.get("/admin/webhooks.json").status_code == 403
    assert products_only.get("/api/prices.json").status_code == 200
    orders_only = api(1202, "orders")
    assert orders_only.get("/api/prices/count.json").status_code == 403


def test_unknown_paths_and_methods(sandbox, api):
    client = api(1202)
    missing = client.get("/api/customers.json")
    assert missing.status_code == 404 and missing.json() == {"errors": "Not found"}
    assert client.delete("/api/fulfillments.json").status_code == 405
