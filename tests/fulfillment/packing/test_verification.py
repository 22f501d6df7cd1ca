"""Pack verification: with the shop's setting on, every item is scanned (or confirmed by hand)
before the tracking number ships the order; with it off the two-scan bench is unchanged."""

import pytest
from stdnum import ean

from fulfillment.outbox.models import AuditEntry, PendingUpdate
from fulfillment.outbox.sender import send_pending_updates
from fulfillment.packing.models import PackingSettings, Verification, VerifiedLine
from oauth.clients import client_for

pytestmark = pytest.mark.django_db

SCAN = "fulfillments/scan/"


def gtin13(body: str) -> str:
    return body + ean.calc_check_digit(body)


BOOK = gtin13("400638133393")  # 4006381333931
MUG = gtin13("401234567890")
FOREIGN_ITEM = gtin13("590123412345")  # a valid GTIN that is in no order here


def misread(code: str) -> str:
    return code[:-1] + str((int(code[-1]) + 1) % 10)


@pytest.fixture
def verifying(shop):
    response = shop.post("fulfillments/scan/settings", {"verify_items": "on"})
    assert response.status_code == 302
    assert PackingSettings.objects.get(company_id=1202).verify_items
    return shop


@pytest.fixture
def order(sandbox):
    """Two books (stored as GTIN-14: an EAN-13 scan must match), one mug, one leaflet without GTIN."""
    return sandbox.create_order(
        1202,
        shipping_model="DHL Paket",
        line_items=[
            {"id": 1, "title": "Book", "version": "1", "quantity": 2, "gtin": "0" + BOOK},
            {"id": 2, "title": "Mug", "version": "2", "quantity": 1, "gtin": MUG},
            {"id": 3, "title": "Leaflet", "version": "", "quantity": 1, "gtin": ""},
        ],
    )


def scan(shop, order_id, **fields):
    return shop.post(SCAN, {"order_id": str(order_id), **fields})


def counts(order_id):
    lines = VerifiedLine.objects.filter(verification__order_id=order_id).order_by("position")
    return [line.scanned for line in lines]


def pack_everything(shop, order_id):
    assert scan(shop, order_id).status_code == 200
    for code in (BOOK, BOOK, MUG):
        assert scan(shop, order_id, code=code).status_code == 200
    assert scan(shop, order_id, confirm_line="3").status_code == 200


def test_with_verification_off_the_scan_page_is_the_two_scan_bench(shop, order):
    page = shop.get(SCAN).content.decode()
    assert 'id="pack-bench"' not in page and 'id="packing-settings"' in page
    step_one = scan(shop, order["id"]).content.decode()
    assert 'name="tracking_number"' in step_one and 'id="pack-items"' not in step_one
    assert scan(shop, order["id"], tracking_number="SCAN-OFF").status_code == 200
    assert PendingUpdate.objects.get(order_id=order["id"]).tracking_number == "SCAN-OFF"
    assert not Verification.objects.exists()


def test_the_setting_is_per_shop_and_can_be_switched_off_again(verifying, embedded, installed, order):
    installed(1305)
    assert 'id="pack-bench"' not in embedded(1305, "99").get(SCAN).content.decode()
    assert verifying.post("fulfillments/scan/settings", {}).status_code == 302
    assert 'id="pack-bench"' not in verifying.get(SCAN).content.decode()


def test_scanning_every_item_then_the_tracking_number_ships_it(verifying, sandbox, order):
    shop, order_id = verifying, order["id"]
    html = scan(shop, order_id).content.decode()
    assert 'data-testid="scan-input"' in html and 'name="code"' in html and "autofocus" in html
    assert f'data-gtin="0{BOOK}" data-scanned="0" data-expected="2"' in html
    html = scan(shop, order_id, code=BOOK).content.decode()  # EAN-13 scan, GTIN-14 in the order
    assert f'data-gtin="0{BOOK}" data-scanned="1" data-expected="2"' in html
    scan(shop, order_id, code=BOOK)
    html = scan(shop, order_id, code=MUG).content.decode()
    assert 'name="code"' in html  # the leaflet is still missing
    html = scan(shop, order_id, confirm_line="3").content.decode()
    assert 'data-step="tracking"' in html and 'name="tracking_number"' in html
    response = scan(shop, order_id, tracking_number="1Z999AA10123456784", form_key="k1")
    html = response.content.decode()
    assert response.status_code == 200 and 'id="scan-done"' in html
    assert 'name="order_id" id="scan-input"' in html  # ready for the next order
    update = PendingUpdate.objects.get(order_id=order_id)
    assert (update.source, update.status, update.user_id) == ("scan", 100, "4711")
    send_pending_updates(company_id=1202)
    assert sandbox.fulfillment(1202, order_id)["status"] == 100


def test_a_wrong_item_is_an_alarm_and_counts_nothing(verifying, order):
    scan(verifying, order["id"])
    response = scan(verifying, order["id"], code=FOREIGN_ITEM)
    html = response.content.decode()
    assert response.status_code == 422
    assert 'data-testid="pack-alert" data-kind="wrong_item"' in html and FOREIGN_ITEM in html
    assert counts(order["id"]) == [0, 0, 0]
    assert 'name="code"' in html  # the same box takes the next scan


def test_one_too_many_is_an_alarm_on_its_row(verifying, order):
    scan(verifying, order["id"])
    scan(verifying, order["id"], code=MUG)
    response = scan(verifying, order["id"], code=MUG)
    html = response.content.decode()
    assert response.status_code == 422 and 'data-kind="too_many"' in html
    assert 'id="pack-line-2"' in html and "table-danger pack-flash" in html
    assert counts(order["id"]) == [0, 1, 0]


def test_a_bad_check_digit_is_a_misread_not_a_wrong_item(verifying, order):
    scan(verifying, order["id"])
    response = scan(verifying, order["id"], code=misread(MUG))
    html = response.content.decode()
    assert response.status_code == 422 and 'data-kind="misread"' in html
    assert "did not read correctly, scan again" in html and "Wrong item" not in html
    assert counts(order["id"]) == [0, 0, 0]


def test_an_item_without_a_gtin_is_confirmed_by_hand_and_recorded(verifying, order):
    scan(verifying, order["id"])
    for code in (BOOK, BOOK, MUG):
        scan(verifying, order["id"], code=code)
    html = scan(verifying, order["id"]).content.decode()
    assert html.count('data-testid="confirm-by-hand"') == 1 and 'data-step="items"' in html
    refused = scan(verifying, order["id"], confirm_line="2")  # the mug has a barcode
    assert refused.status_code == 400 and "scan it instead" in refused.content.decode()
    html = scan(verifying, order["id"], confirm_line="3").content.decode()
    assert "confirmed by hand" in html and 'data-testid="confirm-by-hand"' not in html
    leaflet = VerifiedLine.objects.get(verification__order_id=order["id"], position=3)
    assert (leaflet.scanned, leaflet.confirmed_by, leaflet.by_hand) == (1, "4711", True)


def test_shipping_is_refused_until_everything_is_packed_even_by_a_crafted_post(verifying, order):
    response = scan(verifying, order["id"], tracking_number="1Z999AA10123456784")
    assert response.status_code == 400 and "not packed yet" in response.content.decode()
    for code in (BOOK, BOOK, MUG):
        scan(verifying, order["id"], code=code)
    response = scan(verifying, order["id"], tracking_number="", without_tracking="1")
    assert response.status_code == 400 and "1 item is not packed yet" in response.content.decode()
    assert not PendingUpdate.objects.filter(order_id=order["id"]).exists()
    assert not AuditEntry.objects.filter(order_id=order["id"]).exists()


def test_the_audit_log_records_who_verified_the_order(verifying, order):
    pack_everything(verifying, order["id"])
    scan(verifying, order["id"], tracking_number="1Z999AA10123456784")
    verified = AuditEntry.objects.get(order_id=order["id"], kind=AuditEntry.Kind.VERIFIED)
    assert verified.user_id == "4711" and verified.update.order_id == order["id"]
    assert Verification.objects.get(order_id=order["id"]).verified_by == "4711"
    activity = verifying.get("fulfillments/activity/").content.decode()
    assert "Items verified by 4711" in activity


def test_a_foreign_order_id_is_404_and_starts_nothing(verifying, sandbox):
    foreign = sandbox.fulfillments(1305)[0]["id"]
    for fields in ({}, {"code": BOOK}, {"confirm_line": "1"}, {"tracking_number": "X1"}):
        response = scan(verifying, foreign, **fields)
        assert response.status_code == 404, fields
        assert "not one of this shop" in response.content.decode()
    assert not Verification.objects.exists() and not PendingUpdate.objects.exists()


def test_progress_is_kept_across_a_reload_and_another_session(verifying, embedded, order):
    scan(verifying, order["id"])
    scan(verifying, order["id"], code=BOOK)
    other_bench = embedded(1202, "4712")
    html = scan(other_bench, order["id"]).content.decode()
    assert f'data-gtin="0{BOOK}" data-scanned="1" data-expected="2"' in html
    assert counts(order["id"]) == [1, 0, 0]


def test_an_order_shipped_elsewhere_meanwhile_is_detected_before_shipping_again(verifying, order):
    pack_everything(verifying, order["id"])
    client_for(1202).update_fulfillment(order["id"], status=100, tracking_number="ELSEWHERE-1")
    response = scan(verifying, order["id"], tracking_number="1Z999AA10123456784")
    assert response.status_code == 400 and "shipped elsewhere" in response.content.decode()
    assert not PendingUpdate.objects.filter(order_id=order["id"]).exists()
    # Told once: the packer checked it and scans again to replace the tracking.
    assert scan(verifying, order["id"], tracking_number="1Z999AA10123456784").status_code == 200
    assert PendingUpdate.objects.get(order_id=order["id"]).tracking_number == "1Z999AA10123456784"


def test_a_surplus_item_scanned_into_the_tracking_box_is_not_shipped_as_its_tracking(verifying, order):
    pack_everything(verifying, order["id"])
    response = scan(verifying, order["id"], tracking_number=MUG)
    assert response.status_code == 422 and 'data-kind="too_many"' in response.content.decode()
    assert not PendingUpdate.objects.filter(order_id=order["id"]).exists()


def test_carrier_warnings_for_the_tracking_number_are_shown_after_shipping(verifying, order):
    pack_everything(verifying, order["id"])
    html = scan(verifying, order["id"], tracking_number="1Z999AA10123456784").content.decode()
    assert 'id="scan-done"' in html and 'id="scan-warning"' in html and "tracking-warning" in html
    assert "DHL Paket" in html
