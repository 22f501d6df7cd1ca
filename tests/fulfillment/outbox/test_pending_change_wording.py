"""The pending change on the order page ("A change is saved here and still being sent…") names
the change in the page's language, not always in English."""

import re

import pytest
from django.utils import translation

from fulfillment.outbox import services as outbox

pytestmark = pytest.mark.django_db


def open_order_id(sandbox) -> int:
    return next(o["id"] for o in sandbox.fulfillments(1202) if o["status"] == 0)


def test_pending_change_is_described_in_german_on_the_german_order_page(shop, sandbox):
    order_id = open_order_id(sandbox)
    outbox.mark_shipped(company_id=1202, user_id="4711", order_id=order_id, tracking_number="JX-77")
    html = shop.get(f"/fulfillments/{order_id}/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    banner = re.search(r'id="pending-banner">(.*?)</div>', html, re.S)[1]
    assert "als versendet markieren, Sendungsnummer „JX-77“" in banner
    assert "mark shipped" not in banner and "tracking “JX-77”" not in banner


def test_each_kind_of_pending_change_has_its_german_wording(shop, sandbox):
    order_id = open_order_id(sandbox)
    update = outbox.mark_shipped(company_id=1202, user_id="4711", order_id=order_id, tracking_number="JX-78")
    with translation.override("de"):
        update.status, update.tracking_number = 0, ""
        assert update.describe() == "als nicht versendet markieren, Sendungsnummer entfernen"
    with translation.override("en"):
        assert update.describe() == "mark not shipped, clear tracking"
