"""Resources: typed straight from the response bytes, lenient where the platform is odd, and
stored and read back by the app without loss."""

import json

import msgspec
import pytest

import flickrocket as fr
from flickrocket.resources import decode_list, decode_one

ORDER = {
    "id": "267227",
    "created_at": "2026-01-02T03:04:05",
    "company_id": 1202,
    "status": "0",
    "shipping_address": {"name": "Ada", "city": "Köln", "country_code": "DE", "extra": 1},
    "line_items": [{"id": 1, "product_id": "P-1", "title": "Disc", "quantity": "2", "grams": 120}],
    "shipping_model": "DHL",
    "tracking_number": "1Z9, 1Z8",
    "tracking_url": "",
    "unknown": {"new": True},
}


def test_numbers_sent_as_text_are_numbers_on_the_typed_path():
    (order,) = decode_list(json.dumps({"fulfillments": [ORDER]}).encode(), "fulfillments", fr.Fulfillment)
    assert (order.id, order.status, order.line_items[0].quantity) == (267227, 0, 2)
    assert order.total_grams == 240 and order.tracking_numbers == ["1Z9", "1Z8"]
    assert order.shipping_address.city == "Köln"


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("id", None, 0),
        ("id", "abc", 0),
        ("id", " 12 ", 12),
        ("id", 3.7, 3),
        ("id", True, 1),
        ("status", None, 0),
        ("tracking_number", None, ""),
        ("tracking_number", 42, "42"),
        ("created_at", False, "False"),
        ("shipping_address", None, fr.ShippingAddress()),
        ("line_items", None, ()),
        ("line_items", [], ()),
    ],
)
def test_nulls_and_odd_values_read_as_before(field, value, expected):
    # The values the hand-written helpers gave (``int(x)`` else 0, ``str(x)`` else ""), kept.
    assert getattr(fr.Fulfillment.from_api({field: value}), field) == expected


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({}, 1),
        ({"quantity": None}, 1),
        ({"quantity": "many"}, 1),
        ({"quantity": "3"}, 3),
    ],
)
def test_a_line_item_without_a_readable_quantity_counts_once(item, expected):
    assert fr.LineItem.from_api(item).quantity == expected


def test_one_odd_order_does_not_cost_the_list():
    odd = {**ORDER, "id": 7, "shipping_address": None, "line_items": [{"product_id": 42, "grams": None}]}
    body = json.dumps({"fulfillments": [ORDER, odd, {"id": 8}]}).encode()
    orders = decode_list(body, "fulfillments", fr.Fulfillment)
    assert [o.id for o in orders] == [267227, 7, 8]
    assert orders[1].shipping_address == fr.ShippingAddress()
    assert orders[1].line_items[0].product_id == "42" and orders[1].line_items[0].grams == 0


@pytest.mark.parametrize(
    "body",
    [
        {"fulfillments": [ORDER, "not an order"]},
        {"fulfillments": [{**ORDER, "line_items": ["x"]}]},
        {"fulfillments": {"id": 1}},
        {"orders": []},
    ],
)
def test_an_answer_that_is_not_a_list_of_objects_is_a_bad_response(body):
    # Formerly an AttributeError deep in the parser: a 500 instead of "try again later".
    with pytest.raises(fr.BadResponse):
        decode_list(json.dumps(body).encode(), "fulfillments", fr.Fulfillment)


def test_garbled_bytes_are_a_bad_response():
    with pytest.raises(fr.BadResponse):
        decode_list(b"<html>", "fulfillments", fr.Fulfillment)
    with pytest.raises(fr.BadResponse):
        decode_one(b"{", "fulfillment", fr.Fulfillment)


def test_price_codes_are_normalised_and_validity_read_from_a_number():
    model = fr.PriceModel.from_api(
        {
            "id": "5",
            "valid": "1",
            "countries": [{"country_name": "Germany", "country_code": "de", "price": "499"}],
            "currencies": [{"currency": "EUR", "price": 499}],
        }
    )
    assert (model.id, model.valid) == (5, True)
    assert model.countries[0].country_code == "DE" and model.countries[0].price == 499
    assert model.currencies[0].currency == "eur"
    assert fr.PriceModel.from_api({"valid": 0}).valid is False
    assert fr.PriceModel.from_api({"valid": None}).valid is False


def test_webhooks_read_either_spelling_and_the_docs_spelling_wins():
    plugin = fr.Webhook.from_api(
        {"id": 1, "scope": "orders/create", "destination": "https://x", "is_valid": 0}
    )
    assert (plugin.topic, plugin.address, plugin.is_active, plugin.format) == (
        "order/create",
        "https://x",
        False,
        "json",
    )
    both = fr.Webhook.from_api({"topic": "app/update", "scope": "order/create", "format": None})
    assert (both.topic, both.is_active, both.format) == ("app/update", True, "json")
    assert fr.Webhook.from_api({"is_active": None}).is_active is False


@pytest.mark.parametrize("kind", ["fulfillment", "price"])
def test_what_the_app_stores_reads_back_identical(kind):
    if kind == "fulfillment":
        resource = fr.Fulfillment.from_api(ORDER)
    else:
        resource = fr.PriceModel.from_api(
            {"id": 1, "valid": 1, "countries": [{"country_code": "at", "price": 3}], "currencies": [{}]}
        )
    stored = json.loads(json.dumps(msgspec.to_builtins(resource)))  # a JSONField's round trip
    assert type(resource).from_api(stored) == resource
    assert fr.parse_list(type(resource), [stored]) == [resource]
    assert msgspec.json.decode(msgspec.json.encode(resource), type=type(resource)) == resource


def test_a_shipped_copy_of_an_order_is_a_new_value():
    order = fr.Fulfillment.from_api(ORDER)
    shipped = msgspec.structs.replace(order, status=fr.Fulfillment.SHIPPED)
    assert shipped.is_shipped and not order.is_shipped and shipped.id == order.id


def test_ten_thousand_orders_decode_straight_from_the_bytes():
    body = json.dumps({"fulfillments": [{**ORDER, "id": i} for i in range(1, 10_001)]}).encode()
    orders = decode_list(body, "fulfillments", fr.Fulfillment)
    assert len(orders) == 10_000 and orders[-1].id == 10_000
    assert orders[0].line_items[0] == fr.LineItem(id=1, product_id="P-1", title="Disc", quantity=2, grams=120)
