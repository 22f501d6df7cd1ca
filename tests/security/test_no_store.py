"""Pages and files with customer data are never kept by a browser or proxy cache (issue 9 §6)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

pytestmark = pytest.mark.django_db


def test_every_page_kind_with_customer_data_is_sent_no_store(shop, sandbox):
    order_id = next(o["id"] for o in sandbox.fulfillments(1202) if o["status"] == 0)
    file = SimpleUploadedFile("t.csv", f"{order_id},NS-1\n".encode(), content_type="text/csv")
    upload = shop.post("fulfillments/import/", {"file": file, "ship": "on"})
    assert upload.status_code == 302
    import_page = upload["Location"]
    pages = {
        "open list": shop.get("fulfillments/"),
        "shipped list": shop.get("fulfillments/shipped/"),
        "all list": shop.get("fulfillments/all/"),
        "order page": shop.get(f"fulfillments/{order_id}/"),
        "packing slips": shop.get("fulfillments/slips/", {"ids": str(order_id)}),
        "pick list": shop.get("fulfillments/picklist/", {"ids": str(order_id)}),
        "order export": shop.get("fulfillments/", {"export": "csv"}),
        "scan": shop.get("fulfillments/scan/"),
        "import page": shop.get("fulfillments/import/"),
        "import preview": shop.client.get(import_page),
        "import result": shop.client.get(import_page.rstrip("/") + "/result.csv"),
        "price export": shop.get("prices/export.csv"),
        "activity": shop.get("fulfillments/activity/"),
    }
    for label, response in pages.items():
        assert response.status_code == 200, label
        cache_control = response.get("Cache-Control", "")
        assert "no-store" in cache_control and "private" in cache_control, (label, cache_control)
