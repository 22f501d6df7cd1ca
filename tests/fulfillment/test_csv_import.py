"""CSV import of tracking numbers: preview with a verdict per row, confirm, background apply."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fulfillment.models import CsvImport, CsvImportRow, PendingUpdate
from fulfillment.services.fulfillments import send_pending_updates

pytestmark = pytest.mark.django_db


def upload(shop, text: str, *, encoding="utf-8", ship=True, name="tracking.csv"):
    data = {"file": SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")}
    if ship:
        data["ship"] = "on"
    return shop.post("fulfillments/import/", data)


def test_preview_marks_every_kind_of_row(shop, sandbox):
    orders = sandbox.fulfillments(1202)
    opens = [o["id"] for o in orders if o["status"] == 0]
    shipped = next(o["id"] for o in orders if o["status"] == 100)
    foreign = sandbox.fulfillments(1305)[0]["id"]
    text = "\n".join([
        "order_id;tracking_number",
        f"{opens[0]};TRK-1",
        f"{opens[1]};TRK-2, TRK-3",
        f"{foreign};TRK-4",
        "999999999;TRK-5",
        f"{shipped};TRK-6",
        "abc;TRK-7",
        f"{opens[2]};" + "X" * 65,
        f"{opens[3]};",
        f"{opens[0]};TRK-8",
    ])  # fmt: skip
    response = upload(shop, "\ufeff" + text)
    assert response.status_code == 302
    job = CsvImport.objects.get()
    verdicts = list(job.rows.values_list("line", "verdict"))
    assert verdicts == [
        (2, "ready"), (3, "ready"), (4, "unknown"), (5, "unknown"), (6, "shipped"),
        (7, "invalid"), (8, "invalid"), (9, "invalid"), (10, "duplicate"),
    ]  # fmt: skip
    page = shop.get(f"fulfillments/import/{job.pk}/").content.decode()
    assert "Apply 2 rows" in page and "Too long" in page and "already on line 2" in page
    assert not PendingUpdate.objects.exists()  # nothing before the owner confirms


def test_confirm_applies_ready_rows_in_the_background_with_progress_and_a_result_file(shop, sandbox):
    opens = [o["id"] for o in sandbox.fulfillments(1202) if o["status"] == 0][:5]
    text = "\n".join(f"{order_id},CSV-{n}" for n, order_id in enumerate(opens)) + "\n12,NOPE\n"
    upload(shop, text)
    job = CsvImport.objects.get()
    shop.post(f"fulfillments/import/{job.pk}/confirm", {})
    shop.post(f"fulfillments/import/{job.pk}/confirm", {})  # a second click changes nothing
    assert PendingUpdate.objects.filter(csv_import=job).count() == 5
    progress = shop.get(f"fulfillments/import/{job.pk}/progress").content.decode()
    assert "0 accepted" in progress and "hx-trigger" in progress

    send_pending_updates(company_id=1202)
    progress = shop.get(f"fulfillments/import/{job.pk}/progress").content.decode()
    assert "5 accepted" in progress and "Import finished" in progress and "hx-trigger" not in progress
    after = {o["id"]: o for o in sandbox.fulfillments(1202)}
    assert [after[i]["tracking_number"] for i in opens] == [f"CSV-{n}" for n in range(5)]
    assert all(after[i]["status"] == 100 for i in opens)

    result = shop.get(f"fulfillments/import/{job.pk}/result.csv")
    lines = b"".join(result.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert lines[0] == "line,order_id,tracking_number,result,detail"
    assert sum("Accepted" in line for line in lines) == 5
    assert "Unknown order" in lines[-1]


def test_the_progress_poll_reloads_the_page_once_when_the_import_is_done(shop, sandbox):
    opens = [o["id"] for o in sandbox.fulfillments(1202) if o["status"] == 0][:2]
    upload(shop, "".join(f"{order_id},DONE-{order_id}\n" for order_id in opens))
    job = CsvImport.objects.get()
    shop.post(f"fulfillments/import/{job.pk}/confirm", {})
    polling = shop.get(f"fulfillments/import/{job.pk}/progress", headers={"HX-Request": "true"})
    assert "HX-Refresh" not in polling

    send_pending_updates(company_id=1202)
    finished = shop.get(f"fulfillments/import/{job.pk}/progress", headers={"HX-Request": "true"})
    # The rows below the bar still say "Pending" until the page is loaded again.
    assert finished["HX-Refresh"] == "true"
    page = shop.get(f"fulfillments/import/{job.pk}/").content.decode()
    assert page.count("Accepted") == 2 and "Pending" not in page


def test_tracking_only_import_leaves_the_status_alone(shop, sandbox):
    shipped = [o for o in sandbox.fulfillments(1202) if o["status"] == 100][0]
    upload(shop, f"{shipped['id']},FIXED-1", ship=False)
    job = CsvImport.objects.get()
    assert job.rows.get().verdict == CsvImportRow.Verdict.READY
    shop.post(f"fulfillments/import/{job.pk}/confirm", {})
    send_pending_updates(company_id=1202)
    at_sandbox = sandbox.fulfillment(1202, shipped["id"])
    assert (at_sandbox["status"], at_sandbox["tracking_number"]) == (100, "FIXED-1")


@pytest.mark.parametrize(
    "payload, message",
    [(b"\xff\xfe1\x002\x00", "not UTF-8"), (b"order_id,tracking_number\n", "no rows")],
)
def test_unreadable_files_are_refused_in_plain_words(shop, sandbox, payload, message):
    file = SimpleUploadedFile("bad.csv", payload, content_type="text/csv")
    response = shop.post("fulfillments/import/", {"file": file, "ship": "on"})
    assert response.status_code == 400
    assert message in response.content.decode()


def test_another_companys_import_is_not_found(shop, sandbox):
    job = CsvImport.objects.create(company_id=1305, filename="x.csv")
    assert shop.get(f"fulfillments/import/{job.pk}/").status_code == 404
    assert shop.post(f"fulfillments/import/{job.pk}/confirm", {}).status_code == 404
